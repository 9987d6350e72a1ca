import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;
let incDir: string;

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  incDir = path.join(
    root,
    (await c.ok('create_increment', { title: 'Recs', problem_type: 'ranking', primary_metric: 'precision@10' })).path,
  );
});
afterEach(async () => c.close());

const track = (name: string, metrics: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  c.ok('track_experiment', { increment: '1', name, metrics, ...extra });

describe('compare_experiments', () => {
  it('ranks, marks best and baselines, measures the gain and writes comparison.md', async () => {
    await track('exp-001-random', { precision_at_10: 0.08 }, { baseline: true });
    await track('exp-002-popularity', { precision_at_10: 0.18, recall_at_10: 0.1 }, { baseline: true });
    await track('exp-003-xgboost', { precision_at_10: 0.26, recall_at_10: 0.16 });
    await track('exp-004-lightgbm', { precision_at_10: 0.24, recall_at_10: 0.15 });
    await track('exp-005-nn', { precision_at_10: 0.3 }, { status: 'failed' });
    await track('exp-006-no-metric', { mrr: 0.4 });
    fs.mkdirSync(path.join(incDir, 'experiments', 'exp-007-broken'));
    fs.writeFileSync(path.join(incDir, 'experiments', 'exp-007-broken', 'metrics.json'), '{"precision_at_10": "high"}');

    const r = await c.ok('compare_experiments', { increment: '0001', primary_metric: null });
    expect(r).toMatchObject({
      primary_metric: 'precision_at_10',
      direction: 'maximize',
      direction_source: 'increment',
      ranked: 5,
      experiments_total: 7,
    });
    expect(r.top.map((t: any) => [t.experiment, t.best])).toEqual([
      ['exp-005-nn', false],
      ['exp-003-xgboost', true],
      ['exp-004-lightgbm', false],
      ['exp-002-popularity', false],
      ['exp-001-random', false],
    ]);
    expect(r.best).toMatchObject({ experiment: 'exp-003-xgboost', value: 0.26 });
    expect(r.best_baseline).toEqual({ experiment: 'exp-002-popularity', value: 0.18 });
    expect(r.improvement.rule).toBe('gap_closed');
    expect(r.improvement.absolute).toBeCloseTo(0.08, 12);
    expect(r.improvement.relative).toBeCloseTo(0.08 / 0.82, 12);
    expect(r.skipped.map((s: any) => s.experiment)).toEqual(['exp-006-no-metric', 'exp-007-broken']);
    expect(r.skipped[1].reason).toMatch(/non-numeric value "high"/);

    const md = fs.readFileSync(path.join(root, r.report), 'utf8');
    expect(md).toMatch(/\| # \| Experiment \| precision_at_10: test \| recall_at_10 \|/);
    expect(md).toMatch(
      /Selected on the test set \(precision_at_10\), because no candidate logged cv_precision_at_10_mean; no candidate logged val_precision_at_10\./,
    );
    expect(r.selection).toMatchObject({ setting: 'auto', source: 'test', key: 'precision_at_10' });
    expect(md).toMatch(/\| 2 \| exp-003-xgboost ✅ \*\*best\*\* \| 0.26 \| 0.16 \|/);
    expect(md).toMatch(/exp-002-popularity \(baseline\)/);
    expect(md).toMatch(/## Best model: exp-003-xgboost/);
    expect(md).toMatch(/Not considered \(failed or killed\): exp-005-nn/);
    expect(md).toMatch(/## Skipped\n\n- exp-006-no-metric: no precision_at_10 metric/);
  });

  it('infers the direction from the metric name and honours an explicit one', async () => {
    await track('a', { val_loss: 0.3 });
    await track('b', { val_loss: 0.2 });
    const inferred = await c.ok('compare_experiments', { increment: '1', primary_metric: 'val_loss' });
    expect(inferred).toMatchObject({ direction: 'minimize', direction_source: 'inferred' });
    expect(inferred.top[0].experiment).toBe('b');
    const forced = await c.ok('compare_experiments', { increment: '1', primary_metric: 'val_loss', direction: 'maximize' });
    expect(forced.top[0].experiment).toBe('a');
  });

  it('says what to do when nothing can be ranked', async () => {
    const fresh = await c.ok('create_increment', { title: 'Empty', primary_metric: null });
    const r = await c.ok('compare_experiments', { increment: fresh.increment });
    expect(r).toMatchObject({ ranked: 0, best: null, improvement: null });
  });

  it('keeps its result under 8 KB however many experiments there are', async () => {
    const names = Array.from({ length: 300 }, (_, i) => `candidate-with-a-rather-long-name-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(names.slice(i, i + 50).map((n, j) => track(n, { precision_at_10: (i + j) / 1000, a: 1, b: 2, cccccccccc: 3 })));
    }
    for (let i = 0; i < 40; i += 1) fs.mkdirSync(path.join(incDir, 'experiments', `broken-${i}`));
    fs.readdirSync(path.join(incDir, 'experiments'))
      .filter((d) => d.startsWith('broken'))
      .forEach((d) => fs.writeFileSync(path.join(incDir, 'experiments', d, 'metrics.json'), '[1]'));
    const raw = await c.call('compare_experiments', { increment: '1', top: 100 });
    const text = (raw.content[0] as { text: string }).text;
    expect(Buffer.byteLength(text)).toBeLessThan(8192);
    expect(Buffer.byteLength(JSON.stringify(raw.structuredContent))).toBeLessThan(16384);
    expect((raw.structuredContent as any).skipped_total).toBe(40);
    const md = fs.readFileSync(path.join(incDir, 'experiments', 'comparison.md'), 'utf8');
    expect(md.split('\n').filter((l) => l.startsWith('| ') && /candidate-with/.test(l))).toHaveLength(300);
  });
});
