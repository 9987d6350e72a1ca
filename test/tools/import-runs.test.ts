import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { copyFixture, itWithShared, SHARED_FIXTURES } from '../importers/helpers.js';
import { makeMlflowStore } from '../importers/make-mlflow-store.js';

let c: TestClient;
let root: string;
let incDir: string;
beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  incDir = path.join(root, (await c.ok('create_increment', { title: 'Imported' })).path);
});
afterEach(async () => c.close());

describe('import_runs', () => {
  itWithShared('imports a real MLflow store once: runs become experiments, deleted runs are skipped with reasons', async () => {
    await copyFixture(path.join(SHARED_FIXTURES, 'mlflow-trash-nested/mlruns'), path.join(root, 'mlruns'));
    const r = await c.ok('import_runs', { increment: '1', source: 'mlruns', format: null });
    expect(r).toMatchObject({ format: 'mlflow', source: 'mlruns', imported_count: 2, already_imported: 0, skipped_count: 17 });
    expect(r.skipped.some((s: any) => /deleted/.test(s.reason))).toBe(true);
    const names = r.imported.map((i: any) => i.experiment);
    const child = r.imported.find((i: any) => /CHILD/i.test(i.experiment));
    expect(child).toBeTruthy();
    const meta = load(fs.readFileSync(path.join(incDir, 'experiments', child.experiment, 'metadata.yaml'), 'utf8')) as any;
    expect(meta.source).toMatchObject({ tool: 'mlflow', key: child.run, parent_run_id: expect.stringMatching(/^a3112407/) });
    const metrics = JSON.parse(
      fs.readFileSync(
        path.join(
          incDir,
          'experiments',
          names.find((n: string) => /PARENT/i.test(n)),
          'metrics.json',
        ),
        'utf8',
      ),
    );
    expect(Object.keys(metrics).length).toBeGreaterThan(0);

    expect(fs.readdirSync(path.join(incDir, 'experiments')).filter((d) => d.startsWith('.'))).toEqual([]); // no staging left
    const again = await c.ok('import_runs', { increment: '1', source: 'mlruns' });
    expect(again).toMatchObject({ imported_count: 0, already_imported: 2 });
    expect(fs.readdirSync(path.join(incDir, 'experiments'))).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(path.join(incDir, 'metadata.json'), 'utf8')).status).toBe('active');
  });

  itWithShared("takes the latest value by step from a long MLflow history, and the run's own git commit", async () => {
    await copyFixture(path.join(SHARED_FIXTURES, 'mlflow-long-histories/mlruns'), path.join(root, 'tracking', 'mlruns'));
    const r = await c.ok('import_runs', { increment: '1', source: 'tracking/mlruns', format: 'mlflow' });
    expect(r.imported_count).toBe(3);
    const run = r.imported.find((i: any) => i.run.includes('319885fb'));
    const dir = path.join(incDir, 'experiments', run.experiment);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'))).toMatchObject({
      valid_loss: 2.497098207473755,
      epoch: 300,
    });
    expect((load(fs.readFileSync(path.join(dir, 'metadata.yaml'), 'utf8')) as any).git.commit).toMatch(/^e9c9ded4/);
    expect(fs.readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(33742);
  });

  itWithShared('imports a DVC project with its committed experiment snapshots, flattening nested params', async () => {
    await copyFixture(path.join(SHARED_FIXTURES, 'dvc-experiments'), path.join(root, 'dvc'));
    const r = await c.ok('import_runs', { increment: '1', source: 'dvc' });
    expect(r.format).toBe('dvc');
    expect(r.imported.map((i: any) => i.experiment).sort()).toEqual(['cnn-128', 'cnn-32', 'cnn-64', 'cnn-96', 'exp-ab780', 'workspace']);
    const params = JSON.parse(fs.readFileSync(path.join(incDir, 'experiments/cnn-64/params.json'), 'utf8'));
    expect(Object.keys(params).some((k) => k.includes('.'))).toBe(true);
  });

  it('summarises imported fold scores by their mean, std and count, never by the last fold, and turns neg_* scores', async () => {
    await makeMlflowStore(path.join(root, 'mlruns'), { runs: 1, metrics: 0, params: 1, experiments: 1 });
    const runDir = path.join(
      root,
      'mlruns',
      '1',
      fs.readdirSync(path.join(root, 'mlruns', '1')).find((d) => d !== 'meta.yaml')!,
    );
    const folds = [-55.5, -61.25, -58.0, -60.125, -58.5];
    fs.mkdirSync(path.join(runDir, 'metrics'), { recursive: true });
    fs.writeFileSync(
      path.join(runDir, 'metrics', 'cv_neg_root_mean_squared_error'),
      folds.map((v, i) => `${1_700_000_000_000 + i} ${v} ${i}`).join('\n') + '\n',
    );
    fs.writeFileSync(path.join(runDir, 'metrics', 'rmse'), '1700000000000 57.5 0\n');
    const r = await c.ok('import_runs', { increment: '1', source: 'mlruns' });
    expect(r.imported_count).toBe(1);
    const metrics = JSON.parse(fs.readFileSync(path.join(incDir, 'experiments', r.imported[0].experiment, 'metrics.json'), 'utf8'));
    const positive = folds.map((v) => -v);
    const mean = positive.reduce((a, b) => a + b) / 5;
    expect(metrics).toEqual({
      cv_rmse_count: 5,
      cv_rmse_mean: mean,
      cv_rmse_std: Math.sqrt(positive.reduce((a, v) => a + (v - mean) ** 2, 0) / 4),
      rmse: 57.5,
    });
  });

  it('refuses sources outside the project and says what a source is', async () => {
    const outside = scratchDir();
    expect(await c.fails('import_runs', { increment: '1', source: outside })).toMatch(/Refused source/);
    expect(await c.fails('import_runs', { increment: '1', source: '../' })).toMatch(/Refused source/);
    fs.symlinkSync(outside, path.join(root, 'link'));
    expect(await c.fails('import_runs', { increment: '1', source: 'link' })).toMatch(/symlink/);
    expect(await c.fails('import_runs', { increment: '1', source: 'nope' })).toMatch(/not a folder in the project[^]*"mlruns"/);
    fs.mkdirSync(path.join(root, 'empty'));
    expect(await c.fails('import_runs', { increment: '1', source: 'empty' })).toMatch(/mlflow|MLflow/);
  });
});

describe("writing a new experiment whole (the importer's path)", () => {
  it('refuses to replace an experiment that appeared meanwhile, and leaves it untouched', async () => {
    const { Project } = await import('../../mcp-server/src/core/project.js');
    const { createExperimentStaged } = await import('../../mcp-server/src/core/experiments.js');
    await c.ok('track_experiment', { increment: '1', name: 'taken', params: { mine: true } });
    const inc = { id: path.basename(incDir), dir: incDir };
    const staging = path.join(incDir, 'experiments', '.staging-test');
    const err = await createExperimentStaged(
      new Project(root),
      inc,
      staging,
      { name: 'taken', params: { theirs: true } },
      { git: async () => null },
    ).catch((e) => e);
    expect(err.code).toBe('CONFLICT');
    expect(JSON.parse(fs.readFileSync(path.join(incDir, 'experiments/taken/params.json'), 'utf8'))).toEqual({ mine: true });
    const ok = await createExperimentStaged(
      new Project(root),
      inc,
      staging,
      { name: 'fresh', metrics: { auc: 0.9 }, history: [{ metric: 'loss', value: 1, step: 0 }] },
      { git: async () => null },
    );
    expect(ok).toMatchObject({ created: true, experiment: 'fresh', metrics: { auc: 0.9, loss: 1 } });
    const got = await c.ok('get_experiment', { increment: '1', name: 'fresh' });
    expect(got.history).toEqual([expect.objectContaining({ metric: 'loss', points: 1 })]);
  });
});
