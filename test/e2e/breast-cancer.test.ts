/**
 * The example of issue 3, end to end: the increment is created through the spawned server, examples/breast-cancer/
 * train.py trains and logs with the Python client under Debian's scikit-learn, and the server then evaluates,
 * compares, validates and documents the result. Skipped (with the reason) where scikit-learn is not installed;
 * `npm test` installs it when run as root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { stdioClient } from '../helpers/client.js';
import { gitProject } from '../helpers/project.js';

const PYTHON = '/usr/bin/python3';
const TRAIN = path.resolve(__dirname, '../../examples/breast-cancer/train.py');
const hasSklearn = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import sklearn']).status === 0;
if (!hasSklearn) console.warn('breast-cancer example skipped: /usr/bin/python3 cannot import sklearn (apt-get install python3-sklearn)');

describe.skipIf(!hasSklearn)('examples/breast-cancer through the server', () => {
  it('records five experiments from Python, and the server evaluates, validates and documents them', async () => {
    const root = gitProject();
    const c = await stdioClient(['--root', root]);
    const inc = await c.ok('create_increment', {
      title: 'Breast cancer classifier',
      primary_metric: 'roc_auc',
      success_criteria: ['ROC AUC >= 0.95', 'recall >= 0.9'],
    });

    const out = execFileSync(PYTHON, [TRAIN, '--increment', inc.increment], {
      cwd: root,
      env: { ...process.env, SPECWEAVE_ROOT: root },
      encoding: 'utf8',
      timeout: 300_000,
    });
    expect(out).toMatch(/logistic-regression/);
    const experiments = path.join(root, inc.path, 'experiments');
    const names = fs.readdirSync(experiments).sort();
    expect(names).toHaveLength(5);
    expect(names).toEqual(
      expect.arrayContaining(['baseline-most-frequent', 'baseline-stratified', 'logistic-regression', 'random-forest']),
    );
    for (const name of names) {
      const meta = load(fs.readFileSync(path.join(experiments, name, 'metadata.yaml'), 'utf8')) as any;
      expect(meta).toMatchObject({ status: 'completed', baseline: name.startsWith('baseline-'), source: { tool: 'python' } });
      expect(meta.environment['scikit-learn']).toMatch(/^\d+\.\d+/);
      expect(meta.git.commit).toMatch(/^[0-9a-f]{40}$/);
    }

    // The server's exact metrics agree with what scikit-learn computed in the training script.
    const logged = JSON.parse(fs.readFileSync(path.join(experiments, 'logistic-regression', 'metrics.json'), 'utf8'));
    const ev = await c.ok('evaluate_predictions', {
      increment: inc.increment,
      experiment: 'logistic-regression',
      predictions: 'predictions.csv',
      task: 'binary',
      bootstrap_resamples: 200,
    });
    for (const m of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc']) expect(ev.metrics[m]).toBeCloseTo(logged[m], 9);

    const cmp = await c.ok('compare_experiments', { increment: inc.increment });
    expect(cmp.best_baseline.experiment).toMatch(/^baseline-/);
    expect(cmp.best.experiment).not.toMatch(/^baseline-/);
    expect(cmp.improvement.relative).toBeGreaterThan(0.5);

    for (let i = 1; i <= 9; i += 1) await c.ok('update_task', { increment: inc.increment, task: `T-00${i}`, status: 'completed' });
    const v = await c.ok('validate_increment', { increment: inc.increment });
    const failed = v.checks.filter((x: any) => x.status !== 'pass');
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(v.verdict).toBe('pass');

    const docs = await c.ok('sync_docs', { increment: inc.increment });
    expect(docs.changes.map((x: any) => x.action)).toEqual(['create', 'create', 'create']);
    expect((await c.ok('sync_docs', { increment: inc.increment })).changes.map((x: any) => x.action)).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    await c.close();
  }, 300_000);
});
