/**
 * Verdicts a statistician would sign, end to end: candidates trained on scikit-learn's wine and diabetes data are
 * recorded by the Python client (test/e2e/verdicts_train.py), and every verdict the bundled server gives over stdio
 * — the selected model, the CV summaries, the gates, the criteria, the exact metrics and the significance tests — is
 * checked against what scikit-learn and SciPy computed for the same runs in the same test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stdioClient, type TestClient } from '../helpers/client.js';
import { gitProject } from '../helpers/project.js';

const PYTHON = process.env.SKLEARN_PYTHON ?? '/usr/bin/python3';
const TRAIN = path.resolve(__dirname, 'verdicts_train.py');
const missing = spawnSync(PYTHON, ['-c', 'import sklearn, scipy']).status !== 0;
if (missing) console.warn(`verdict checks skipped: ${PYTHON} cannot import scikit-learn and SciPy (apt-get install python3-sklearn)`);

interface Run {
  baseline: boolean;
  folds: number[];
  cv_mean: number;
  cv_std: number;
  test: Record<string, number>;
}
interface Trained {
  runs: Record<string, Run>;
  ranking: string[];
  best_on_test: string;
  significance?: any;
}

let c: TestClient;
let wineInc: string;
let diabetesInc: string;
let py: { wine: Trained; diabetes: Trained };

beforeAll(async () => {
  if (missing) return;
  const root = gitProject();
  c = await stdioClient(['--root', root]);
  wineInc = (
    await c.ok('create_increment', { title: 'Wine', primary_metric: 'macro F1', success_criteria: ['macro F1 > 0.9', 'accuracy >= 0.9'] })
  ).increment;
  diabetesInc = (
    await c.ok('create_increment', {
      title: 'Diabetes',
      problem_type: 'regression',
      primary_metric: 'RMSE',
      success_criteria: ['R^2 > 0.4'],
    })
  ).increment;
  const out = execFileSync(PYTHON, [TRAIN, wineInc, diabetesInc], {
    cwd: root,
    env: { ...process.env, SPECWEAVE_ROOT: root },
    encoding: 'utf8',
    timeout: 600_000,
  });
  py = JSON.parse(out.trim().split('\n').pop()!);
  for (const inc of [wineInc, diabetesInc])
    for (let i = 1; i <= 9; i += 1) await c.ok('update_task', { increment: inc, task: `T-00${i}`, status: 'completed' });
}, 600_000);
afterAll(async () => c?.close());

const close = (a: number, b: number, tol = 1e-12) =>
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));

describe.skipIf(missing)('wine (multiclass): selection on CV, reporting on test', () => {
  it('resolves "macro F1" to the key the evaluator writes and ranks every candidate by its CV mean', async () => {
    const r = await c.ok('compare_experiments', { increment: wineInc, top: 10 });
    expect(r.primary_metric).toBe('f1_macro');
    expect(r.selection).toMatchObject({ source: 'cv', key: 'f1_macro' });
    expect(r.best.experiment).toBe(py.wine.ranking[0]);
    const candidates = r.top.filter((t: any) => !t.baseline).map((t: any) => t.experiment);
    expect(candidates).toEqual(py.wine.ranking);
    for (const t of r.top) {
      const run = py.wine.runs[t.experiment]!;
      close(t.value, run.cv_mean); // the mean of the folds, never the last fold
      close(t.std, run.cv_std); // sample std, ddof = 1
      expect(t.folds).toBe(5);
      close(t.test_value, run.test.f1_macro);
    }
    // Not chosen on the test set: whatever the test set says, the CV ranking decides.
    if (py.wine.best_on_test !== py.wine.ranking[0]) expect(r.best.experiment).not.toBe(py.wine.best_on_test);
    expect(r.improvement).toMatchObject({ candidate: py.wine.ranking[0], baseline: 'baseline-majority', measured_on: 'test' });
    close(r.improvement.absolute, py.wine.runs[py.wine.ranking[0]]!.test.f1_macro - py.wine.runs['baseline-majority']!.test.f1_macro);
  });

  it("gives gate verdicts that follow from scikit-learn's numbers", async () => {
    const v = await c.ok('validate_increment', { increment: wineInc });
    const by = Object.fromEntries(v.checks.map((x: any) => [x.id, x]));
    const best = py.wine.runs[py.wine.ranking[0]!]!;
    expect(v.best_experiment).toBe(py.wine.ranking[0]);
    expect(by.selection.status).toBe('pass');
    expect(by['beats-baseline'].status).toBe('pass');
    expect(by['criterion:f1_macro>0.9'].status).toBe(best.test.f1_macro > 0.9 ? 'pass' : 'fail');
    expect(by['criterion:accuracy>=0.9'].status).toBe(best.test.accuracy >= 0.9 ? 'pass' : 'fail');
    expect(by['cv-stability'].status).toBe(best.cv_std <= 0.05 ? 'pass' : 'fail');
    expect(by['cv-stability'].message).toContain('bounded: max_cv_std 0.05');
    expect(by['model-saved'].status).toBe('pass');
    expect(by['model-saved'].message).toMatch(/sha256 verified/);
    expect(by.explainability.status).toBe('pass');
    expect(by['criteria-sync']).toBeUndefined();
  });

  it('evaluates the predictions exactly', async () => {
    const best = py.wine.ranking[0]!;
    const ev = await c.ok('evaluate_predictions', {
      increment: wineInc,
      experiment: best,
      predictions: 'predictions.csv',
      task: 'multiclass',
    });
    close(ev.metrics.f1_macro, py.wine.runs[best]!.test.f1_macro, 1e-9);
    close(ev.metrics.accuracy, py.wine.runs[best]!.test.accuracy, 1e-9);
  });

  it("tests the best against the runner-up with SciPy's p-values, each in the metric's direction", async () => {
    const s = py.wine.significance;
    for (const name of [s.a, s.b])
      await c.ok('evaluate_predictions', {
        increment: wineInc,
        experiment: name,
        predictions: 'predictions.csv',
        task: 'multiclass',
        bootstrap_resamples: 0,
      });
    const r = await c.ok('compare_predictions', { increment: wineInc, a: s.a, b: s.b, metric: 'f1_macro' });
    const test = (name: string) => r.tests.find((t: any) => t.test === name);
    close(test('corrected_t_test').p_value, s.corrected_t.p, 1e-9);
    close(test('corrected_t_test').difference, s.corrected_t.mean, 1e-12);
    close(test('corrected_t_test').lower, s.corrected_t.lower, 1e-8);
    close(test('corrected_t_test').upper, s.corrected_t.upper, 1e-8);
    close(test('wilcoxon').p_value, s.wilcoxon_p, 1e-9);
    close(test('mcnemar').p_value, s.mcnemar.p, 1e-9);
    const side = (x: number) => (x > 0 ? 'b' : x < 0 ? 'a' : null);
    expect(test('corrected_t_test').favours).toBe(side(s.corrected_t.mean));
    expect(test('mcnemar').favours).toBe(side(s.mcnemar.b_only - s.mcnemar.a_only));
    expect(test('wilcoxon').can_reach_alpha).toBe(false); // 5 folds: its floor is 0.0625
    const directions = new Set(r.tests.map((t: any) => t.favours).filter(Boolean));
    expect(/disagree in direction/.test(r.verdict)).toBe(directions.size > 1);
  });
});

describe.skipIf(missing)('diabetes (regression): neg_* scores, minimised metric, relative CV spread', () => {
  it("records scikit-learn's neg_root_mean_squared_error as rmse and selects the lowest CV mean", async () => {
    const r = await c.ok('compare_experiments', { increment: diabetesInc, top: 10 });
    expect(r).toMatchObject({ primary_metric: 'rmse', direction: 'minimize', selection: { source: 'cv', key: 'rmse' } });
    expect(r.best.experiment).toBe(py.diabetes.ranking[0]);
    expect(r.top.filter((t: any) => !t.baseline).map((t: any) => t.experiment)).toEqual(py.diabetes.ranking);
    for (const t of r.top) {
      const run = py.diabetes.runs[t.experiment]!;
      expect(t.value).toBeGreaterThan(0);
      close(t.value, run.cv_mean);
      close(t.std, run.cv_std);
      close(t.test_value, run.test.rmse);
    }
    if (py.diabetes.best_on_test !== py.diabetes.ranking[0]) expect(r.best.experiment).not.toBe(py.diabetes.best_on_test);
    expect(r.improvement.rule).toBe('relative_reduction');
  });

  it('checks "R^2 > 0.4" on r2 and judges the CV spread relative to the mean', async () => {
    const v = await c.ok('validate_increment', { increment: diabetesInc });
    const by = Object.fromEntries(v.checks.map((x: any) => [x.id, x]));
    const best = py.diabetes.runs[py.diabetes.ranking[0]!]!;
    expect(by['criterion:r2>0.4'].status).toBe(best.test.r2 > 0.4 ? 'pass' : 'fail');
    expect(by['criterion:r2>0.4'].message).toContain(`r2=`);
    expect(by['cv-stability'].status).toBe(best.cv_std / best.cv_mean <= 0.1 ? 'pass' : 'fail');
    expect(by['cv-stability'].message).toContain('unbounded: max_cv_relative_std 0.1');
    expect(best.cv_std).toBeGreaterThan(0.05); // an absolute 0.05 bound would have failed any RMSE
  });

  it('evaluates the regression predictions exactly', async () => {
    const best = py.diabetes.ranking[0]!;
    const ev = await c.ok('evaluate_predictions', {
      increment: diabetesInc,
      experiment: best,
      predictions: 'predictions.csv',
      task: 'regression',
    });
    close(ev.metrics.rmse, py.diabetes.runs[best]!.test.rmse, 1e-9);
    close(ev.metrics.r2, py.diabetes.runs[best]!.test.r2, 1e-9);
    close(ev.metrics.mae, py.diabetes.runs[best]!.test.mae, 1e-9);
  });
});
