import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectFormat, scanMlflow, scanSource } from '../../mcp-server/src/core/importers/index.js';
import { parseMetricFile } from '../../mcp-server/src/core/importers/mlflow.js';
import type { ImportedRun, ImportScan } from '../../mcp-server/src/core/importers/types.js';
import { cleanTemps, copyFixture, describeWithShared, LOCAL_FIXTURES, SHARED_FIXTURES, tempDir } from './helpers.js';

afterAll(cleanTemps);

const byId = (scan: ImportScan, runId: string): ImportedRun => {
  const run = scan.runs.find((r) => r.source.run_id === runId);
  if (!run) throw new Error(`run ${runId} not imported`);
  return run;
};

describeWithShared('MLflow: deleted experiments, deleted runs and nested runs (mlflow-trash-nested)', () => {
  let store: string;
  let scan: ImportScan;
  beforeAll(async () => {
    store = await copyFixture(path.join(SHARED_FIXTURES, 'mlflow-trash-nested/mlruns'));
    scan = await scanMlflow(store, { sourceLabel: 'mlruns' });
  });

  it('detects the store as MLflow', async () => {
    expect(await detectFormat(store)).toBe('mlflow');
  });

  it('imports only the two live runs of experiment 6', () => {
    expect(scan.format).toBe('mlflow');
    expect(scan.runs.map((r) => r.source.run_id).sort()).toEqual(['a3112407148b4966b929bc9f8784a3d3', 'f7d034672fce496d891b6f054749ea99']);
  });

  it('skips the 16 runs under .trash and the run whose lifecycle_stage is deleted', () => {
    expect(scan.skipped).toHaveLength(17);
    expect(scan.skipped.filter((s) => s.reason.includes('.trash'))).toHaveLength(16);
    const deleted = scan.skipped.filter((s) => s.reason === 'deleted run (lifecycle_stage: deleted)');
    expect(deleted).toHaveLength(1);
    expect(deleted[0]!.what).toContain('bb55f3cea2cd4a61bfaa09714f19f792');
  });

  it('keeps the parent of a nested run, and names runs by mlflow.runName', () => {
    const parent = byId(scan, 'a3112407148b4966b929bc9f8784a3d3');
    const child = byId(scan, 'f7d034672fce496d891b6f054749ea99');
    expect(parent.suggestedName).toBe('PARENT_RUN');
    expect(child.suggestedName).toBe('CHILD_RUN');
    expect(child.source.parent_run_id).toBe('a3112407148b4966b929bc9f8784a3d3');
    expect(parent.source.parent_run_id).toBeUndefined();
    expect(child.params).toEqual({ child: 'yes' });
  });

  it('reads params, user tags, metrics and times of the parent run', () => {
    const parent = byId(scan, 'a3112407148b4966b929bc9f8784a3d3');
    expect(parent.params).toEqual({ param1: 12 });
    expect(parent.tags).toEqual(['release.version=2.2.0']);
    expect(parent.metrics).toEqual({ foo: 2.2922696453675444 });
    expect(parent.history).toEqual([
      { metric: 'foo', value: 0.5957562753945062, step: 1, timestamp: '2022-07-05T04:21:21.659Z' },
      { metric: 'foo', value: 1.373249995906063, step: 2, timestamp: '2022-07-05T04:21:21.689Z' },
      { metric: 'foo', value: 2.2922696453675444, step: 3, timestamp: '2022-07-05T04:21:21.718Z' },
    ]);
    expect(parent.status).toBe('completed');
    expect(parent.started).toBe(new Date(1656994881395).toISOString());
    expect(parent.ended).toBe(new Date(1656994882161).toISOString());
    expect(parent.source).toMatchObject({
      tool: 'mlflow',
      experiment_id: '6',
      experiment_name: 'example1',
      path: 'mlruns',
      user: 'louisowen6',
    });
    expect(parent.git).toBeNull();
    expect(parent.key).toBe('mlflow:a3112407148b4966b929bc9f8784a3d3');
  });

  it('ignores the notebook checkpoint junk without warnings', () => {
    expect(scan.warnings).toEqual([]);
  });

  it('imports deleted runs too when asked, marked as deleted', async () => {
    const all = await scanMlflow(store, { includeDeleted: true });
    expect(all.runs).toHaveLength(19);
    expect(all.skipped).toEqual([]);
    expect(all.runs.filter((r) => r.source.deleted === true)).toHaveLength(17);
    const trashed = all.runs.filter((r) => r.source.experiment_id === '3');
    expect(trashed).toHaveLength(9);
    expect(new Set(trashed.map((r) => r.source.experiment_name))).toEqual(new Set(['test2']));
    // bb55…: every point at step 0, so the latest timestamp decides.
    const running = all.runs.find((r) => r.source.run_id === 'bb55f3cea2cd4a61bfaa09714f19f792')!;
    expect(running.metrics.foo).toBe(2.9127091495519606);
    expect(running.status).toBe('running');
    expect(running.ended).toBeNull();
  });
});

describeWithShared('MLflow: long histories (mlflow-long-histories)', () => {
  let scan: ImportScan;
  beforeAll(async () => {
    const store = await copyFixture(path.join(SHARED_FIXTURES, 'mlflow-long-histories/mlruns'));
    scan = await scanSource(store, { sourceLabel: 'mlruns' });
  });

  it('imports the three runs with their experiment names and git commit', () => {
    expect(scan.format).toBe('mlflow');
    expect(scan.runs.map((r) => r.source.experiment_name).sort()).toEqual(['baseline_conv', 'baseline_flatten', 'baseline_special']);
    for (const run of scan.runs) expect(run.git).toEqual({ commit: 'e9c9ded4127e0397731b8e73b574acd91dcbf9b1', branch: null });
    expect(scan.skipped).toEqual([]);
    expect(scan.warnings).toEqual([]);
  });

  it('keeps every line of every metric file as history', () => {
    const run = byId(scan, '319885fb85bc4b34af2f887a2464aed1');
    expect(run.history).toHaveLength(33742); // the line count of all 21 metric files
    expect(Object.keys(run.metrics)).toHaveLength(21);
    expect(run.history.filter((p) => p.metric === 'valid_loss')).toHaveLength(300);
  });

  it('summarises each metric by its highest step', () => {
    const run = byId(scan, '319885fb85bc4b34af2f887a2464aed1');
    expect(run.metrics.valid_loss).toBe(2.497098207473755); // step 251099
    expect(run.metrics.epoch).toBe(300); // step 251100
    expect(run.metrics.test_loss).toBe(2.4184410572052);
  });

  it('turns numeric params into numbers and keeps text', () => {
    const run = byId(scan, '319885fb85bc4b34af2f887a2464aed1');
    expect(run.params).toEqual({
      alpha: 0.1,
      batch_size: 2,
      dropout_rate: 0,
      epoch: 300,
      hidden_dim: 512,
      learning_rate: 0.00001, // "1e-05"
      model: 'flatten',
      out_dim: 2,
      seed: 1234,
    });
    // All tags of these runs are mlflow.* system tags.
    expect(run.tags).toEqual([]);
  });
});

describeWithShared('MLflow: model registry (mlflow-registry)', () => {
  let scan: ImportScan;
  beforeAll(async () => {
    const store = await copyFixture(path.join(SHARED_FIXTURES, 'mlflow-registry/mlruns'));
    scan = await scanMlflow(store, { sourceLabel: 'mlruns' });
  });

  it('imports the 38 runs of experiment 0 and nothing from models/', () => {
    expect(scan.runs).toHaveLength(38);
    expect(scan.runs.every((r) => r.source.experiment_id === '0')).toBe(true);
    expect(scan.skipped).toEqual([]);
    expect(scan.warnings).toEqual([]);
  });

  it('names runs by meta.yaml run_name and maps status codes', () => {
    expect(byId(scan, 'e83483c180f14f3eb1334f9838bdbb0f').suggestedName).toBe('fortunate-ant-645');
    expect(scan.runs.filter((r) => r.status === 'failed')).toHaveLength(8);
    const running = byId(scan, 'eebbc3f749c44c88b2bb8ed2f55572ea');
    expect(running.status).toBe('running');
    expect(running.ended).toBeNull();
  });

  it('records registered model versions and stages on the runs they came from', () => {
    expect(byId(scan, 'e83483c180f14f3eb1334f9838bdbb0f').source.registered_models).toEqual([
      { name: 'ElasticnetWineModel', version: 1, stage: 'None' },
    ]);
    expect(byId(scan, '7e32eb2086eb405798f997fb5610f725').source.registered_models).toEqual([
      { name: 'sk-learn-random-forest-reg', version: 1, stage: 'None' },
      { name: 'sk-learn-random-forest-reg-model', version: 3, stage: 'Production' },
    ]);
    expect(byId(scan, '823752a37b844f01880ec088776a549b').source.registered_models).toEqual([
      { name: 'test_r_m', version: 1, stage: 'Archived' },
    ]);
  });

  it('reads metrics and autolog tags, skipping mlflow.* system tags', () => {
    const run = byId(scan, 'e83483c180f14f3eb1334f9838bdbb0f');
    expect(run.metrics).toEqual({ mae: 0.6271946374319586, r2: 0.10862644997792614, rmse: 0.7931640229276851 });
    expect(run.params).toEqual({ alpha: 0.5, l1_ratio: 0.5 });
    expect(run.tags).toEqual([]);
    const autolog = byId(scan, 'c7b2c3e57cf5468d9eb73a0f9ceafa2d');
    expect(autolog.tags).toContain('estimator_name=RandomForestRegressor');
    expect(autolog.params.max_leaf_nodes).toBe('None');
    expect(autolog.params.bootstrap).toBe(true);
  });

  it('gives the same keys in the same order on a second scan', async () => {
    const again = await scanMlflow(await copyFixture(path.join(SHARED_FIXTURES, 'mlflow-registry/mlruns')), { sourceLabel: 'mlruns' });
    expect(again.runs.map((r) => r.key)).toEqual(scan.runs.map((r) => r.key));
    expect(new Set(again.runs.map((r) => r.key)).size).toBe(38);
  });
});

describe('MLflow 3 layout, partly committed store, malformed files (synthetic fixture)', () => {
  let store: string;
  let scan: ImportScan;
  beforeAll(async () => {
    store = await copyFixture(path.join(LOCAL_FIXTURES, 'mlflow3/mlruns'));
    scan = await scanMlflow(store, { sourceLabel: 'mlruns' });
  });

  it('imports the three whole, live runs', () => {
    expect(scan.runs.map((r) => r.source.run_id)).toEqual([
      'aaaa0000000000000000000000000001',
      'bbbb0000000000000000000000000002',
      'cccc0000000000000000000000000003',
    ]);
  });

  it('summarises by highest step, not the last line', () => {
    const run = byId(scan, 'aaaa0000000000000000000000000001');
    expect(run.metrics.val_auc).toBe(0.91); // step 3 is on line 2; the last line is step 1
    expect(run.metrics.val_loss).toBe(0.31); // two points at step 2: the later timestamp wins, not the later line
    expect(run.metrics.old_style).toBe(0.6); // 2-field lines: step 0, latest timestamp
    expect(run.history.filter((p) => p.metric === 'val_auc').map((p) => p.step)).toEqual([0, 3, 2, 1]);
  });

  it('keeps non-finite values', () => {
    const run = byId(scan, 'aaaa0000000000000000000000000001');
    expect(run.metrics.train_loss).toBe(Number.NEGATIVE_INFINITY);
    expect(run.history.filter((p) => p.metric === 'train_loss').map((p) => p.value)).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
  });

  it('skips malformed metric lines with a warning', () => {
    const run = byId(scan, 'aaaa0000000000000000000000000001');
    expect(run.metrics.garbage).toBe(0.3);
    expect(run.history.filter((p) => p.metric === 'garbage')).toHaveLength(2);
    expect(scan.warnings).toContainEqual(expect.stringContaining('metrics/garbage: 2 malformed lines skipped'));
  });

  it('reads params in sub-folders, user tags, notes, git commit and branch', () => {
    const run = byId(scan, 'aaaa0000000000000000000000000001');
    expect(run.params).toEqual({
      comment: 'first try',
      learning_rate: 0.1,
      max_depth: 6,
      'optimizer/name': 'adam',
      use_gpu: true,
      zip: '007',
    });
    expect(run.tags).toEqual(['candidate', 'team=risk']);
    expect(run.notes).toEqual(['depth 6 is the sweet spot']);
    expect(run.git).toEqual({ commit: '3f2c1e0d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e', branch: 'feature/churn' });
    expect(run.source.registered_models).toEqual([{ name: 'churn', version: 1, stage: 'Production' }]);
    expect(run.suggestedName).toBe('xgb-depth6');
  });

  it('reads 4-field MLflow 3 metric lines, nested runs, killed and scheduled runs', () => {
    const child = byId(scan, 'bbbb0000000000000000000000000002');
    expect(child.metrics).toEqual({ val_auc: 0.88 });
    expect(child.status).toBe('killed');
    expect(child.source.parent_run_id).toBe('aaaa0000000000000000000000000001');
    expect(child.suggestedName).toBe('xgb-depth6'); // same name as its parent: the caller makes names unique
    const scheduled = byId(scan, 'cccc0000000000000000000000000003');
    expect(scheduled.status).toBe('running');
    expect(scheduled.suggestedName).toBe('cccc0000000000000000000000000003');
  });

  it('does not take logged models (models/m-*), traces or the registry for runs', () => {
    const all = [...scan.runs.map((r) => String(r.source.run_path)), ...scan.skipped.map((s) => s.what)].join('\n');
    expect(all).not.toMatch(/m-0123456789abcdef|traces|tr-0001|models\/churn/);
  });

  it('reports partly committed and malformed folders as skipped, with warnings', () => {
    const reasons = Object.fromEntries(scan.skipped.map((s) => [s.what.split(' ')[2], s.reason]));
    expect(reasons).toEqual({
      dddd0000000000000000000000000004: 'deleted run (lifecycle_stage: deleted)',
      eeee0000000000000000000000000005: 'meta.yaml is not a valid YAML mapping',
      ffff0000000000000000000000000006: 'no meta.yaml (partly committed run)',
      '7777000000000000000000000000000a': 'its experiment folder has no meta.yaml (partly committed store?)',
    });
    expect(scan.warnings).toContainEqual(
      expect.stringMatching(/^Experiment folder mlruns\/7 has no meta.yaml.*1 run folder in it not imported/),
    );
    expect(scan.warnings).toContainEqual(
      expect.stringMatching(/^Experiment 1 \(churn-model\): 1 run folder without meta.yaml skipped.*ffff0000000000000000000000000006/),
    );
  });

  it('never follows a symbolic link out of the store', async () => {
    const copy = await copyFixture(store);
    const outside = await tempDir('sw-outside-');
    await writeFile(path.join(outside, 'secret'), 'TOP SECRET');
    await writeFile(path.join(outside, 'metric'), '1735725610000 99 100\n');
    const extExp = path.join(outside, 'exp');
    await mkdir(path.join(extExp, 'abcd0000000000000000000000000009'), { recursive: true });
    await writeFile(path.join(extExp, 'meta.yaml'), "experiment_id: '9'\nlifecycle_stage: active\nname: outside\n");
    await writeFile(
      path.join(extExp, 'abcd0000000000000000000000000009', 'meta.yaml'),
      'run_id: abcd0000000000000000000000000009\nstatus: 3\n',
    );
    const run = path.join(copy, '1', 'aaaa0000000000000000000000000001');
    await symlink(path.join(outside, 'secret'), path.join(run, 'params', 'secret'));
    await symlink(path.join(outside, 'metric'), path.join(run, 'metrics', 'stolen'));
    await symlink(outside, path.join(run, 'tags', 'linked-folder'));
    await symlink(extExp, path.join(copy, '9'));
    await symlink(path.join(extExp, 'abcd0000000000000000000000000009'), path.join(copy, '1', 'abcd0000000000000000000000000009'));

    const linked = await scanMlflow(copy, { sourceLabel: 'mlruns' });
    const a = byId(linked, 'aaaa0000000000000000000000000001');
    expect(a.params.secret).toBeUndefined();
    expect(a.metrics.stolen).toBeUndefined();
    expect(JSON.stringify(linked)).not.toContain('TOP SECRET');
    expect(linked.runs.map((r) => r.source.run_id)).not.toContain('abcd0000000000000000000000000009');
    for (const rel of ['params/secret', 'metrics/stolen', 'tags/linked-folder']) {
      expect(linked.warnings).toContainEqual(expect.stringContaining(`${rel} is a symbolic link; not followed.`));
    }
    expect(linked.warnings).toContain('mlruns/9 is a symbolic link; not followed.');
    expect(linked.warnings).toContain('mlruns/1/abcd0000000000000000000000000009 is a symbolic link; not followed.');
  });

  it('accepts a single experiment folder as the source', async () => {
    const one = await scanMlflow(path.join(store, '1'), { sourceLabel: 'mlruns/1' });
    expect(one.runs.map((r) => r.source.run_id)).toEqual([
      'aaaa0000000000000000000000000001',
      'bbbb0000000000000000000000000002',
      'cccc0000000000000000000000000003',
    ]);
    expect(await detectFormat(path.join(store, '1'))).toBe('mlflow');
  });

  it('never crashes on an empty or unreadable store', async () => {
    const empty = await tempDir();
    expect(await scanMlflow(empty)).toEqual({ format: 'mlflow', runs: [], skipped: [], warnings: [] });
    const missing = await scanMlflow(path.join(empty, 'nope'));
    expect(missing.runs).toEqual([]);
  });
});

describe('parseMetricFile', () => {
  it('parses 2-, 3- and 4-field lines and rejects garbage', () => {
    const { points, bad } = parseMetricFile('1 0.5\n2 0.6 3\n3 0.7 4 runid\n\nx 1 2\n4 1.0 1.5\n5  \n6 NaN 7\r\n');
    expect(points.map((p) => [p.timeMs, p.value, p.step])).toEqual([
      [1, 0.5, 0],
      [2, 0.6, 3],
      [3, 0.7, 4],
      [6, Number.NaN, 7],
    ]);
    expect(bad).toBe(3);
  });
});
