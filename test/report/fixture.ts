/**
 * A realistic increment for the report, written through the real MCP tools: 30 runs of four model families with
 * params, 5-fold CV scores of roc_auc, train/val loss per epoch, a test roc_auc, two baselines, a failed run, tags
 * and notes; the best run's predictions evaluated by evaluate_predictions (which writes its SVG plots). Every
 * number comes from a seeded generator, so the report is the same each time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestClient } from '../helpers/client.js';

export interface FixtureRun {
  name: string;
  params: Record<string, unknown>;
  folds: number[];
  test: number;
  baseline: boolean;
  status: 'completed' | 'failed';
  tags: string[];
  epochs: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAMILIES = [
  { model: 'logistic-regression', base: 0.86 },
  { model: 'random-forest', base: 0.9 },
  { model: 'xgboost', base: 0.925 },
  { model: 'mlp', base: 0.895 },
] as const;

export function fixtureRuns(count = 30, seed = 7): FixtureRun[] {
  const r = rng(seed);
  const runs: FixtureRun[] = [
    {
      name: 'baseline-majority',
      params: { model: 'majority-class' },
      folds: [0.5, 0.5, 0.5, 0.5, 0.5],
      test: 0.5,
      baseline: true,
      status: 'completed',
      tags: ['baseline'],
      epochs: 0,
    },
    {
      name: 'baseline-logreg-default',
      params: { model: 'logistic-regression', C: 1, penalty: 'l2' },
      folds: [0.83, 0.845, 0.828, 0.851, 0.839],
      test: 0.84,
      baseline: true,
      status: 'completed',
      tags: ['baseline'],
      epochs: 0,
    },
  ];
  for (let i = 0; runs.length < count; i += 1) {
    const fam = FAMILIES[i % FAMILIES.length]!;
    const depth = 2 + Math.floor(r() * 8);
    const lr = Number((0.01 + r() * 0.29).toFixed(3));
    const estimators = [100, 200, 400, 800][Math.floor(r() * 4)]!;
    const quality = fam.base + (r() - 0.5) * 0.04 - Math.abs(depth - 6) * 0.003;
    const folds = Array.from({ length: 5 }, () => Number((quality + (r() - 0.5) * 0.03).toFixed(4)));
    const params: Record<string, unknown> = { model: fam.model, learning_rate: lr, seed: 42 };
    if (fam.model !== 'logistic-regression') Object.assign(params, { max_depth: depth, n_estimators: estimators });
    else Object.assign(params, { C: Number((r() * 10).toFixed(2)), penalty: r() < 0.5 ? 'l1' : 'l2' });
    runs.push({
      name: `${fam.model}-${String(i + 1).padStart(2, '0')}`,
      params,
      folds,
      test: Number((quality - 0.005 + (r() - 0.5) * 0.01).toFixed(4)),
      baseline: false,
      status: i === 5 ? 'failed' : 'completed',
      tags: i % 3 === 0 ? ['candidate', 'tuned'] : ['candidate'],
      epochs: 12 + Math.floor(r() * 18),
    });
  }
  return runs;
}

/** Loss curves: a decaying train loss and a val loss that turns up when the run overfits. */
function lossHistory(run: FixtureRun, seed: number) {
  const r = rng(seed);
  const points: { metric: string; value: number; step: number }[] = [];
  const floor = 1 - run.folds[0]!;
  for (let step = 0; step < run.epochs; step += 1) {
    const train = floor * 0.6 + 0.7 * Math.exp(-step / 4) + r() * 0.01;
    const overfit = Math.max(0, step - 10) * 0.004 * (Number(run.params.max_depth ?? 4) / 5);
    const val = floor + 0.65 * Math.exp(-step / 5) + overfit + r() * 0.015;
    points.push({ metric: 'train_loss', value: Number(train.toFixed(5)), step });
    points.push({ metric: 'val_loss', value: Number(val.toFixed(5)), step });
  }
  return points;
}

/** Binary predictions whose ROC AUC is about `auc`: scores of positives shifted up. */
function predictionsCsv(auc: number, n: number, seed: number): string {
  const r = rng(seed);
  // Scores spread with sd 0.7 in each class: a shift d gives an AUC of about Phi(d / 0.99); 1.45 is about 0.93.
  const shift = (1.45 * Math.max(0, auc - 0.5)) / 0.43;
  const lines = ['y_true,y_score,y_pred'];
  for (let i = 0; i < n; i += 1) {
    const y = r() < 0.35 ? 1 : 0;
    const z = (r() + r() + r() - 1.5) * 1.4 + (y ? shift : 0);
    const p = 1 / (1 + Math.exp(-(z - shift / 2)));
    lines.push(`${y},${p.toFixed(5)},${p >= 0.5 ? 1 : 0}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface Fixture {
  increment: string;
  dir: string;
  runs: FixtureRun[];
  best: string;
  model: { name: string; version: string };
}

/** Writes the increment through the tools and returns what it holds. */
export async function writeFixtureIncrement(c: TestClient, root: string, count = 30): Promise<Fixture> {
  const created = await c.ok('create_increment', {
    title: 'Churn prediction',
    problem_type: 'classification',
    primary_metric: 'roc_auc',
    success_criteria: ['roc_auc >= 0.9'],
  });
  const increment = created.increment as string;
  const runs = fixtureRuns(count);
  for (const [i, run] of runs.entries()) {
    await c.ok('track_experiment', {
      increment,
      name: run.name,
      params: run.params,
      metrics: { roc_auc: run.test },
      history: [...run.folds.map((v, fold) => ({ metric: 'cv_roc_auc', value: v, step: fold })), ...lossHistory(run, 100 + i)],
      tags: run.tags,
      baseline: run.baseline,
      status: run.status,
      note: i % 7 === 3 ? `max_depth ${String(run.params.max_depth ?? '-')} looked ${i % 2 ? 'stable' : 'noisy'} across folds` : null,
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const candidates = runs.filter((r) => !r.baseline && r.status === 'completed');
  const best = candidates.reduce((a, b) => (mean(b.folds) > mean(a.folds) ? b : a));
  const dir = path.join(root, '.specweave/increments', increment);
  fs.writeFileSync(path.join(dir, 'experiments', best.name, 'predictions.csv'), predictionsCsv(best.test, 600, 11));
  await c.ok('evaluate_predictions', {
    increment,
    experiment: best.name,
    predictions: 'predictions.csv',
    task: 'binary',
    y_true: 'y_true',
    score: 'y_score',
    y_pred: 'y_pred',
    bootstrap_resamples: 0,
  });
  // The best model saved and registered, then promoted to staging: the report shows the registry's versions.
  fs.writeFileSync(path.join(dir, 'experiments', best.name, 'model.joblib'), Buffer.from(`model weights of ${best.name}`));
  await c.ok('track_experiment', { increment, name: best.name, artifacts: ['model.joblib'] });
  const reg = await c.ok('register_model', { name: 'churn-classifier', increment, experiment: best.name });
  await c.ok('promote_model', { name: 'churn-classifier', version: reg.version, stage: 'staging' });
  return { increment, dir, runs, best: best.name, model: { name: 'churn-classifier', version: reg.version as string } };
}
