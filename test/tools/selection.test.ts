/**
 * Selection apart from reporting, through the MCP tools: candidates are chosen on their CV mean (else a validation
 * metric, else the test metric with a warning), the test value is reported beside it, and ties are stated.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  await c.ok('create_increment', { title: 'Wine', problem_type: 'classification', primary_metric: 'accuracy' });
});
afterEach(async () => c.close());

const track = (name: string, metrics: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  c.ok('track_experiment', { increment: '1', name, metrics, ...extra });

describe('selection on cross-validation, reporting on the test set', () => {
  it('chooses the best CV mean even when another candidate has the better (or a tied) test score', async () => {
    await track('majority', { accuracy: 0.4, cv_accuracy_mean: 0.39, cv_accuracy_std: 0.01 }, { baseline: true });
    await track('logreg', { accuracy: 1.0, cv_accuracy_mean: 0.95, cv_accuracy_std: 0.03 });
    await track('forest', { accuracy: 1.0, cv_accuracy_mean: 0.96, cv_accuracy_std: 0.02 });
    await track('svc', { accuracy: 0.98, cv_accuracy_mean: 0.98, cv_accuracy_std: 0.02 });
    const r = await c.ok('compare_experiments', { increment: '1' });
    expect(r.selection).toMatchObject({ source: 'cv', key: 'accuracy' });
    expect(r.best).toMatchObject({ experiment: 'svc', value: 0.98 });
    expect(r.top.map((t: any) => [t.experiment, t.value, t.test_value])).toEqual([
      ['svc', 0.98, 0.98],
      ['forest', 0.96, 1],
      ['logreg', 0.95, 1],
      ['majority', 0.39, 0.4],
    ]);
    // The improvement over the baseline is reported on the test set.
    expect(r.improvement).toMatchObject({ candidate: 'svc', baseline: 'majority', measured_on: 'test' });
    expect(r.improvement.absolute).toBeCloseTo(0.58, 12);
    const md = fs.readFileSync(path.join(root, r.report), 'utf8');
    expect(md).toMatch(/\| 1 \| svc ✅ \*\*best\*\* \| 0\.98 ± 0\.02 \| 0\.98 \|/);
    expect(md).toMatch(
      /Selected on the cross-validation mean of accuracy \(every candidate logged the cross-validation mean of accuracy\); the test set only reports\./,
    );
  });

  it('minimises an error metric on CV even when the test set says otherwise (diabetes-style)', async () => {
    await c.ok('create_increment', { title: 'Diabetes', problem_type: 'regression', primary_metric: 'rmse' });
    const t = (name: string, metrics: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      c.ok('track_experiment', { increment: '2', name, metrics, ...extra });
    await t('mean', { rmse: 75, cv_rmse_mean: 77, cv_rmse_std: 3 }, { baseline: true });
    await t('forest', { rmse: 52, cv_rmse_mean: 60, cv_rmse_std: 4 });
    await t('ridge', { rmse: 55, cv_rmse_mean: 55.5, cv_rmse_std: 3.9 });
    const r = await c.ok('compare_experiments', { increment: '2' });
    expect(r.direction).toBe('minimize');
    expect(r.best.experiment).toBe('ridge');
    expect(r.improvement).toMatchObject({ candidate: 'ridge', measured_on: 'test', rule: 'relative_reduction' });
    expect(r.improvement.relative).toBeCloseTo((75 - 55) / 75, 12);
  });

  it('falls back to a validation metric, then to the test set, and says which candidates lacked what', async () => {
    await track('base', { accuracy: 0.5 }, { baseline: true });
    await track('a', { accuracy: 0.9, val_accuracy: 0.85 });
    await track('b', { accuracy: 0.8, val_accuracy: 0.88 });
    let r = await c.ok('compare_experiments', { increment: '1' });
    expect(r.selection).toMatchObject({ source: 'validation' });
    expect(r.best.experiment).toBe('b');
    await track('c', { accuracy: 0.95 });
    r = await c.ok('compare_experiments', { increment: '1' });
    expect(r.selection.source).toBe('test');
    expect(r.selection.reason).toBe('no candidate logged cv_accuracy_mean; val_accuracy is missing for c');
    expect(r.best.experiment).toBe('c');
    const v = await c.ok('validate_increment', { increment: '1' });
    expect(v.checks.find((k: any) => k.id === 'selection')).toMatchObject({ status: 'warn' });
  });

  it('states a tie and breaks it by the lower CV std, never silently by name', async () => {
    await track('base', { accuracy: 0.5, cv_accuracy_mean: 0.5, cv_accuracy_std: 0.01 }, { baseline: true });
    await track('aaa', { accuracy: 0.9, cv_accuracy_mean: 0.93, cv_accuracy_std: 0.04 });
    await track('zzz', { accuracy: 0.9, cv_accuracy_mean: 0.93, cv_accuracy_std: 0.01 });
    const r = await c.ok('compare_experiments', { increment: '1' });
    expect(r.best.experiment).toBe('zzz');
    expect(r.ties).toEqual([{ experiments: ['zzz', 'aaa'], value: 0.93, broken_by: 'lower cv std' }]);
    const md = fs.readFileSync(path.join(root, r.report), 'utf8');
    expect(md).toMatch(/Tied with aaa; chosen by lower cv std\./);
  });

  it('refuses a primary metric nobody understands instead of ranking nothing', async () => {
    await track('a', { accuracy: 0.9 });
    expect(await c.fails('compare_experiments', { increment: '1', primary_metric: 'acuracy' })).toMatch(
      /"acuracy" is not a known metric and no experiment logged it; did you mean "accuracy"/,
    );
    await track('b', { my_score: 3 });
    const r = await c.call('compare_experiments', { increment: '1', primary_metric: 'my_score' });
    expect((r.structuredContent as any).best.experiment).toBe('b');
    expect((r.content[0] as { text: string }).text).toContain(
      'my_score is not in the metric vocabulary (docs/metrics.md): its direction (maximize) comes from its name',
    );
  });

  it('reads scikit-learn neg_* scores as the positive metric', async () => {
    await c.ok('create_increment', { title: 'Reg', problem_type: 'regression', primary_metric: 'rmse' });
    const t = (name: string, metrics: Record<string, unknown>) => c.ok('track_experiment', { increment: '2', name, metrics });
    await t('a', { neg_root_mean_squared_error: -90 });
    await t('b', { neg_root_mean_squared_error: -55 });
    const r = await c.ok('compare_experiments', { increment: '2' });
    expect(r.best).toMatchObject({ experiment: 'b', value: 55 });
  });
});
