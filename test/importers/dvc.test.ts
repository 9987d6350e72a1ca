import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, scanDvc, scanSource } from '../../mcp-server/src/core/importers/index.js';
import { parseTsv } from '../../mcp-server/src/core/importers/dvc.js';
import type { ImportScan } from '../../mcp-server/src/core/importers/types.js';
import { cleanTemps, copyFixture, describeWithShared, SHARED_FIXTURES, tempDir } from './helpers.js';

afterAll(cleanTemps);

const FIXTURE = path.join(SHARED_FIXTURES, 'dvc-experiments');
const EXPS = ['cnn-128', 'cnn-32', 'cnn-64', 'cnn-96', 'exp-ab780'];

/** The facts of the fixture's committed experiments, read from exps/<name>/ by hand. */
const EXPECTED: Record<string, { conv: number; acc: number; loss: number; points: number }> = {
  'cnn-32': { conv: 32, acc: 0.9873999953269958, loss: 0.038970574736595154, points: 40 },
  'cnn-64': { conv: 64, acc: 0.9879999756813049, loss: 0.036963850259780884, points: 40 },
  'cnn-96': { conv: 96, acc: 0.9897000193595886, loss: 0.03476184606552124, points: 40 },
  'cnn-128': { conv: 128, acc: 0.987500011920929, loss: 0.03909822553396225, points: 40 },
  'exp-ab780': { conv: 16, acc: 0.988099992275238, loss: 0.0349835641682148, points: 0 },
};

describeWithShared('DVC workspace and exported experiment folders (dvc-experiments)', () => {
  let project: string;
  let scan: ImportScan;
  beforeAll(async () => {
    project = await copyFixture(FIXTURE);
    scan = await scanSource(project, { sourceLabel: 'dvc-experiments' });
  });

  it('detects DVC', async () => {
    expect(scan.format).toBe('dvc');
    expect(await detectFormat(project)).toBe('dvc');
  });

  it('reads the workspace: flattened params, declared metrics first, dvclive histories', () => {
    const ws = scan.runs.find((r) => r.source.kind === 'workspace')!;
    expect(ws.key).toMatch(/^dvc:workspace:dvc-experiments:[0-9a-f]{12}$/);
    expect(ws.suggestedName).toBe('workspace');
    expect(ws.params).toEqual({ 'train.epochs': 10, 'model.conv_units': 16 });
    // metrics.json (declared in dvc.yaml) wins over dvclive.json for loss/acc; val_* come from dvclive.json; no "step".
    expect(ws.metrics).toEqual({
      loss: 0.0349835641682148,
      acc: 0.988099992275238,
      val_loss: 0.0349835641682148,
      val_acc: 0.988099992275238,
    });
    expect(ws.history).toHaveLength(40);
    expect(ws.history[0]).toEqual({ metric: 'acc', value: 0.9057999849319458, step: 0, timestamp: new Date(1644420777053).toISOString() });
    expect(ws.started).toBe(new Date(1644420777053).toISOString());
    expect(ws.source.files).toEqual([
      'dvc.yaml',
      'params.yaml',
      'metrics.json',
      'dvclive.json',
      'dvclive/acc.tsv',
      'dvclive/loss.tsv',
      'dvclive/val_acc.tsv',
      'dvclive/val_loss.tsv',
    ]);
  });

  it('reads the five experiments under exps/<name>/', () => {
    const exps = scan.runs.filter((r) => r.source.kind === 'exported-experiment');
    expect(exps.map((r) => r.suggestedName)).toEqual(EXPS);
    for (const run of exps) {
      const e = EXPECTED[run.suggestedName]!;
      expect(run.params['model.conv_units']).toBe(e.conv);
      expect(run.metrics.acc).toBe(e.acc);
      expect(run.metrics.loss).toBe(e.loss);
      expect(run.history).toHaveLength(e.points);
      expect(run.key).toBe(`dvc:snapshot:dvc-experiments/exps/${run.suggestedName}`);
    }
    // cnn-32 has no val_* in metrics.json: the summary is the last step of its dvclive history.
    const cnn32 = exps.find((r) => r.suggestedName === 'cnn-32')!;
    expect(cnn32.history.filter((p) => p.metric === 'loss').at(-1)).toEqual({
      metric: 'loss',
      value: 0.024703871458768845,
      step: 9,
      timestamp: new Date(1644423087618).toISOString(),
    });
    expect(scan.warnings).toEqual([]);
  });

  it('keys the workspace by content: same content, same key; changed params, new key', async () => {
    const again = await scanDvc(project, { sourceLabel: 'dvc-experiments' });
    expect(again.runs.map((r) => r.key)).toEqual(scan.runs.map((r) => r.key));
    const copy = await copyFixture(project);
    await writeFile(path.join(copy, 'params.yaml'), 'train:\n  epochs: 12\nmodel:\n  conv_units: 16\n');
    const changed = await scanDvc(copy, { sourceLabel: 'dvc-experiments' });
    expect(changed.runs[0]!.key).not.toBe(scan.runs[0]!.key);
    expect(changed.runs[0]!.params['train.epochs']).toBe(12);
  });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_DATE: '2022-02-09T16:00:00Z', GIT_COMMITTER_DATE: '2022-02-09T16:00:00Z' },
  }).trim();
}

describeWithShared('DVC experiments committed as git refs (refs/exps/...)', () => {
  let repo: string;
  let dvcDir: string;
  let baseline: string;
  const shas: Record<string, string> = {};
  let scan: ImportScan;

  beforeAll(async () => {
    // A real repository: the DVC project lives in ml/ (not the repository root); each of the fixture's five
    // experiments becomes a commit on top of the baseline, referenced by refs/exps/<b[0:2]>/<b[2:]>/<name> as DVC does.
    repo = await tempDir('sw-dvc-git-');
    dvcDir = path.join(repo, 'ml');
    await copyFixture(FIXTURE, dvcDir);
    const exported = path.join(repo, 'exported');
    await cp(path.join(dvcDir, 'exps'), exported, { recursive: true });
    await rm(path.join(dvcDir, 'exps'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', 'ml');
    git(repo, 'commit', '-q', '-m', 'baseline');
    baseline = git(repo, 'rev-parse', 'HEAD');
    for (const name of EXPS) {
      git(repo, 'checkout', '-q', '--detach', baseline);
      await rm(path.join(dvcDir, 'dvclive'), { recursive: true, force: true });
      await rm(path.join(dvcDir, 'dvclive.json'), { force: true });
      await cp(path.join(exported, name), dvcDir, { recursive: true });
      git(repo, 'add', '-A', 'ml');
      git(repo, 'commit', '-q', '-m', `experiment ${name}`);
      shas[name] = git(repo, 'rev-parse', 'HEAD');
      git(repo, 'update-ref', `refs/exps/${baseline.slice(0, 2)}/${baseline.slice(2)}/${name}`, shas[name]!);
    }
    git(repo, 'checkout', '-q', 'main');
    git(repo, 'update-ref', 'refs/exps/exec/EXEC_BRANCH', shas['cnn-32']!); // DVC's internal refs are not experiments
    git(repo, 'update-ref', 'refs/exps/odd-ref', shas['cnn-32']!);
    await rm(exported, { recursive: true });
    scan = await scanDvc(dvcDir, { projectRoot: repo, sourceLabel: 'ml' });
  });

  it('imports the workspace and the five experiments from their commits', () => {
    expect(scan.runs.map((r) => r.suggestedName)).toEqual(['workspace', ...EXPS]);
    const ws = scan.runs[0]!;
    expect(ws.git).toEqual({ commit: baseline, branch: 'main' });
  });

  it('reads params, metrics and dvclive histories of each experiment commit', () => {
    for (const run of scan.runs.slice(1)) {
      const name = run.suggestedName;
      const e = EXPECTED[name]!;
      expect(run.key).toBe(`dvc:exp:${shas[name]}`);
      expect(run.params).toEqual({ 'train.epochs': 10, 'model.conv_units': e.conv });
      expect(run.metrics.acc).toBe(e.acc);
      expect(run.metrics.loss).toBe(e.loss);
      expect(run.history).toHaveLength(e.points);
      expect(run.git).toEqual({ commit: shas[name], branch: null });
      expect(run.source).toMatchObject({ tool: 'dvc', kind: 'experiment', name, baseline, commit: shas[name], path: 'ml' });
      expect(run.ended).not.toBeNull();
    }
    // exp-ab780 has no history: it ends at its commit time.
    expect(scan.runs.find((r) => r.suggestedName === 'exp-ab780')!.ended).toBe('2022-02-09T16:00:00.000Z');
  });

  it('ignores DVC internal refs and reports unknown ones', () => {
    expect(scan.skipped).toEqual([{ what: 'git ref refs/exps/odd-ref', reason: 'not a DVC experiment ref (refs/exps/<baseline>/<name>)' }]);
    expect(scan.warnings).toEqual([]);
  });

  it('prefers the git ref over an exported exps/<name>/ folder of the same experiment', async () => {
    await cp(path.join(FIXTURE, 'exps', 'cnn-32'), path.join(dvcDir, 'exps', 'cnn-32'), { recursive: true });
    const both = await scanDvc(dvcDir, { projectRoot: repo, sourceLabel: 'ml' });
    expect(both.runs.filter((r) => r.suggestedName === 'cnn-32')).toHaveLength(1);
    expect(both.skipped).toContainEqual({
      what: 'DVC experiment folder ml/exps/cnn-32',
      reason: 'experiment cnn-32 is read from its git ref instead',
    });
    await rm(path.join(dvcDir, 'exps'), { recursive: true });
  });

  it('wrote nothing into the repository', () => {
    expect(git(repo, 'status', '--porcelain')).toBe('');
  });
});

describe('DVC: malformed files and symbolic links', () => {
  it('skips malformed files with warnings and never follows links out of the source', async () => {
    const root = await tempDir();
    const outside = path.join(root, 'outside');
    const project = path.join(root, 'project');
    await mkdir(outside);
    await mkdir(path.join(project, 'dvclive'), { recursive: true });
    await writeFile(path.join(outside, 'params.yaml'), 'secret: TOP SECRET\n');
    await writeFile(path.join(outside, 'metrics.json'), '{"stolen": 1}');
    await writeFile(path.join(outside, 'acc.tsv'), 'timestamp\tstep\tacc\n1\t0\t0.5\n');
    await symlink(path.join(outside, 'params.yaml'), path.join(project, 'params.yaml'));
    await writeFile(
      path.join(project, 'dvc.yaml'),
      'stages:\n  train:\n    cmd: python train.py\n    params:\n    - lr\n    - extra.yaml:\n    metrics:\n    - ../outside/metrics.json\n    - eval/scores.json:\n        cache: false\n    - broken.json\n',
    );
    await writeFile(path.join(project, 'extra.yaml'), 'optim:\n  lr: 0.01\n  betas: [0.9, 0.99]\n');
    await mkdir(path.join(project, 'eval'));
    await writeFile(path.join(project, 'eval', 'scores.json'), '{"auc": 0.9, "loss": NaN, "nested": {"f1": 0.8}, "label": "x"}');
    await writeFile(path.join(project, 'broken.json'), '{"auc": ');
    await symlink(path.join(outside, 'acc.tsv'), path.join(project, 'dvclive', 'acc.tsv'));
    await writeFile(
      path.join(project, 'dvclive', 'loss.tsv'),
      'timestamp\tstep\tloss\n1644420777053\t0\t0.3\nbad\trow\there\n1644420792333\t1\t0.2\n',
    );

    const scan = await scanDvc(project, { sourceLabel: 'project' });
    expect(scan.runs).toHaveLength(1);
    const ws = scan.runs[0]!;
    expect(ws.params).toEqual({ 'optim.lr': 0.01, 'optim.betas': [0.9, 0.99] });
    expect(ws.metrics).toEqual({ auc: 0.9, loss: Number.NaN, 'nested.f1': 0.8 });
    expect(ws.history.map((p) => [p.metric, p.step, p.value])).toEqual([
      ['loss', 0, 0.3],
      ['loss', 1, 0.2],
    ]);
    expect(JSON.stringify(scan)).not.toContain('TOP SECRET');
    expect(ws.metrics.stolen).toBeUndefined();
    expect(scan.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^project\/params\.yaml unreadable \(is or passes through a symbolic link/),
        expect.stringMatching(/^project\/\.\.\/outside\/metrics\.json unreadable \(points outside the source folder\)/),
        expect.stringMatching(/^project\/broken\.json is not valid JSON/),
        'project/dvclive/acc.tsv is a symbolic link; not followed.',
        'project/dvclive/loss.tsv: 1 malformed row skipped.',
      ]),
    );
  });

  it('finds nothing (and does not fail) in a folder without DVC files', async () => {
    const empty = await tempDir();
    expect(await scanDvc(empty)).toEqual({ format: 'dvc', runs: [], skipped: [], warnings: [] });
    await expect(detectFormat(empty, 'empty')).rejects.toThrow(
      /No W&B, MLflow or DVC data found in empty\. Looked for:\n- W&B: [^]*\n- MLflow SQLite store: /,
    );
  });

  it('reads DVCLive 1.x histories under dvclive/plots/metrics with nested names', async () => {
    const project = await tempDir();
    await mkdir(path.join(project, 'dvclive', 'plots', 'metrics', 'train'), { recursive: true });
    await writeFile(path.join(project, 'dvclive', 'metrics.json'), '{"step": 2, "train": {"loss": 0.1}}');
    await writeFile(
      path.join(project, 'dvclive', 'plots', 'metrics', 'train', 'loss.tsv'),
      'timestamp\tstep\tloss\n1000\t0\t0.5\n2000\t2\t0.1\n1500\t1\t0.3\n',
    );
    await writeFile(path.join(project, 'dvclive', 'plots', 'metrics', 'acc.tsv'), 'step\tacc\n0\t0.5\n1\t0.7\n');
    const scan = await scanDvc(project);
    expect(await readdir(project)).toEqual(['dvclive']);
    const ws = scan.runs[0]!;
    expect(ws.metrics).toEqual({ 'train.loss': 0.1, acc: 0.7 });
    expect(ws.history.filter((p) => p.metric === 'train.loss').map((p) => p.step)).toEqual([0, 2, 1]);
    expect(scan.warnings).toEqual([]);
  });
});

describe('parseTsv', () => {
  it('finds the value column by name or position and tolerates missing columns', () => {
    expect(parseTsv('step\tx\n0\t1\n1\tinf\n', 'x', null)!.points.map((p) => p.value)).toEqual([1, Number.POSITIVE_INFINITY]);
    expect(parseTsv('timestamp\tstep\n', 'x', null)).toBeUndefined();
    expect(parseTsv('', 'x', null)).toEqual({ points: [], bad: 0 });
  });
});
