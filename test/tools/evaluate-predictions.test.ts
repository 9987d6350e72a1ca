import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

let c: TestClient;
let root: string;
let incDir: string;
const exp = (name: string) => path.join(incDir, 'experiments', name);
const listing = (name: string) => (fs.existsSync(exp(name)) ? fs.readdirSync(exp(name)).sort() : []);

/** 8 rows, labels and scores chosen so the metrics are easy to check by hand. */
const CSV = 'id,y_true,y_pred,score\n0,1,1,0.9\n1,1,1,0.8\n2,1,0,0.4\n3,0,0,0.3\n4,0,1,0.6\n5,0,0,0.2\n6,0,0,0.1\n7,1,1,0.7\n';

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  incDir = path.join(root, (await c.ok('create_increment', { title: 'Eval' })).path);
  fs.mkdirSync(exp('rf'), { recursive: true });
  fs.writeFileSync(path.join(exp('rf'), 'predictions.csv'), CSV);
});
afterEach(async () => c.close());

describe('evaluate_predictions', () => {
  it('computes the metrics, writes them into the experiment with a report and plots', async () => {
    const r = await c.ok('evaluate_predictions', {
      increment: '1',
      experiment: 'rf',
      predictions: 'predictions.csv',
      task: 'binary',
      bootstrap_resamples: 200,
    });
    expect(r.rows).toBe(8);
    expect(r.metrics.accuracy).toBe(6 / 8);
    expect(r.metrics.precision).toBe(3 / 4);
    expect(r.metrics.recall).toBe(3 / 4);
    expect(r.metrics.roc_auc).toBe(15 / 16); // one discordant pair (0.6 negative over 0.4 positive) of 16
    expect(r.confusion_matrix).toEqual({
      labels: ['0', '1'],
      matrix: [
        [3, 1],
        [1, 3],
      ],
    });
    expect(r.confidence_intervals.roc_auc.resamples).toBe(200);
    expect(r.confidence_intervals.roc_auc.lower).toBeLessThanOrEqual(15 / 16);
    const metrics = JSON.parse(fs.readFileSync(path.join(exp('rf'), 'metrics.json'), 'utf8'));
    expect(metrics.accuracy).toBe(0.75);
    expect(listing('rf')).toEqual(
      expect.arrayContaining([
        'evaluation-report.md',
        'evaluation.json',
        'confusion-matrix.svg',
        'roc-curve.svg',
        'precision-recall-curve.svg',
        'calibration.svg',
      ]),
    );
    const report = fs.readFileSync(path.join(root, r.report), 'utf8');
    expect(report).toMatch(/\| accuracy \| 0.75 \|/);
    const got = await c.ok('get_experiment', { increment: '1', name: 'rf' });
    expect(got.artifacts.map((a: any) => a.path)).toEqual(expect.arrayContaining(['evaluation-report.md', 'roc-curve.svg']));
    // Same seed, same intervals.
    const again = await c.ok('evaluate_predictions', {
      increment: '1',
      experiment: 'rf',
      predictions: 'predictions.csv',
      task: 'binary',
      bootstrap_resamples: 200,
    });
    expect(again.confidence_intervals).toEqual(r.confidence_intervals);
  });

  it('finds the tuned threshold for a target precision', async () => {
    const r = await c.ok('evaluate_predictions', {
      increment: '1',
      experiment: 'rf',
      predictions: 'experiments/rf/predictions.csv',
      task: 'binary',
      target_precision: 1,
      bootstrap_resamples: 0,
    });
    expect(r.threshold).toMatchObject({ reached: true, threshold: 0.7, precision: 1, recall: 0.75 });
    expect(r.confidence_intervals).toEqual({});
  });

  it('reports an undefined metric as null with a warning, and leaves it out of metrics.json', async () => {
    fs.writeFileSync(path.join(exp('rf'), 'one-class.csv'), 'y_true,score\n1,0.9\n1,0.2\n1,0.6\n');
    const r = await c.ok('evaluate_predictions', {
      increment: '1',
      experiment: 'rf',
      predictions: 'one-class.csv',
      task: 'binary',
      bootstrap_resamples: 0,
    });
    expect(r.metrics.roc_auc).toBeNull();
    expect(r.warnings.join(' ')).toMatch(/roc_auc/i);
    expect(JSON.parse(fs.readFileSync(path.join(exp('rf'), 'metrics.json'), 'utf8'))).not.toHaveProperty('roc_auc');
  });

  it('names file, row and column for bad input, and writes nothing', async () => {
    fs.writeFileSync(path.join(exp('rf'), 'bad.csv'), 'y_true,score\n1,0.9\n0,abc\n');
    fs.writeFileSync(path.join(exp('rf'), 'nan.csv'), 'y_true,score\n1,0.9\n0,NaN\n');
    const before = listing('rf');
    expect(await c.fails('evaluate_predictions', { increment: '1', experiment: 'rf', predictions: 'bad.csv', task: 'binary' })).toMatch(
      /bad\.csv.*row 2.*"score"[^]*Nothing was written/,
    );
    expect(await c.fails('evaluate_predictions', { increment: '1', experiment: 'rf', predictions: 'nan.csv', task: 'binary' })).toMatch(
      /nan\.csv.*row 2.*score/,
    );
    expect(
      await c.fails('evaluate_predictions', {
        increment: '1',
        experiment: 'rf',
        predictions: 'predictions.csv',
        task: 'binary',
        y_true: 'label',
      }),
    ).toMatch(/label/);
    expect(await c.fails('evaluate_predictions', { increment: '1', experiment: 'rf', predictions: 'missing.csv', task: 'binary' })).toMatch(
      /not found/,
    );
    expect(
      await c.fails('evaluate_predictions', { increment: '1', experiment: 'rf', predictions: '../../../../etc/passwd', task: 'binary' }),
    ).toMatch(/Refused/);
    expect(listing('rf')).toEqual(before);
  });
});

describe('evaluate_predictions confidence intervals', () => {
  const call = (extra: Record<string, unknown>) =>
    c.ok('evaluate_predictions', { increment: '1', experiment: 'rf', predictions: 'predictions.csv', task: 'binary', ...extra });
  it.each([
    ['omitted', {}, 1000],
    ['null', { bootstrap_resamples: null }, 1000],
    ['0', { bootstrap_resamples: 0 }, 0],
    ['250', { bootstrap_resamples: 250 }, 250],
  ])('bootstrap_resamples %s: the documented default of 1,000 unless 0 or a number is given', async (_label, extra, resamples) => {
    const r = await call(extra);
    if (resamples === 0) {
      expect(r.confidence_intervals).toEqual({});
    } else {
      expect(Object.keys(r.confidence_intervals)).toEqual(expect.arrayContaining(['accuracy', 'roc_auc']));
      for (const ci of Object.values(r.confidence_intervals) as any[]) {
        expect(ci.resamples).toBe(resamples);
        expect(ci.lower).toBeLessThanOrEqual(ci.estimate);
        expect(ci.upper).toBeGreaterThanOrEqual(ci.estimate);
      }
    }
  });
});

describe('compare_predictions', () => {
  it('tests B against A on the same rows and records the verdict in comparison.md, which compare_experiments keeps', async () => {
    fs.mkdirSync(exp('lr'), { recursive: true });
    fs.writeFileSync(path.join(exp('lr'), 'predictions.csv'), CSV.replace(/0\.4/, '0.05').replace(/\n4,0,1,0.6/, '\n4,0,0,0.35'));
    expect(await c.fails('compare_predictions', { increment: '1', a: 'rf', b: 'lr' })).toMatch(/No experiment "rf"/);
    for (const name of ['rf', 'lr']) {
      await c.ok('track_experiment', {
        increment: '1',
        name,
        history: [0, 1, 2, 3, 4].map((step) => ({
          metric: 'cv_roc_auc',
          value: (name === 'lr' ? 0.9 + (step % 2) * 0.01 : 0.8) + step / 100,
          step,
        })),
      });
    }
    expect(await c.fails('compare_predictions', { increment: '1', a: 'rf', b: 'lr' })).toMatch(
      /rf has no evaluated predictions[^]*Call evaluate_predictions for rf first/,
    );
    for (const name of ['rf', 'lr']) {
      await c.ok('evaluate_predictions', {
        increment: '1',
        experiment: name,
        predictions: 'predictions.csv',
        task: 'binary',
        bootstrap_resamples: 0,
      });
    }
    const r = await c.ok('compare_predictions', { increment: '1', a: 'rf', b: 'lr', metric: 'roc_auc' });
    expect(r).toMatchObject({ a: 'rf', b: 'lr', metric: 'roc_auc', n: 8 });
    expect(Object.keys(r.p_values).sort()).toEqual(['corrected_t_test', 'mcnemar', 'paired_bootstrap', 'wilcoxon']);
    expect(r.tests.map((t: { test: string }) => t.test)).toEqual(['paired_bootstrap', 'mcnemar', 'corrected_t_test', 'wilcoxon']);
    // 5 untied folds: the Wilcoxon test's smallest p is 0.0625, so it is reported as unable to reach 0.05.
    expect(r.tests.find((t: { test: string }) => t.test === 'wilcoxon')).toMatchObject({ can_reach_alpha: false, favours: 'b' });
    // The corrected t-test uses n_test/n_train = 1/(k-1) = 0.25 for 5 folds unless told otherwise; a larger ratio
    // (e.g. repeated 50/50 splits) widens its interval.
    const wider = await c.ok('compare_predictions', { increment: '1', a: 'rf', b: 'lr', metric: 'roc_auc', cv_test_train_ratio: 1 });
    const t = (x: any) => x.tests.find((y: { test: string }) => y.test === 'corrected_t_test');
    expect(t(wider).upper - t(wider).lower).toBeGreaterThan(t(r).upper - t(r).lower);
    expect(t(wider).p_value).toBeGreaterThan(t(r).p_value);
    expect(r.verdict).toMatch(/rf|lr/);
    const file = path.join(root, r.report);
    expect(fs.readFileSync(file, 'utf8')).toMatch(/specweave-ml:begin significance rf vs lr/);
    await c.ok('compare_experiments', { increment: '1', primary_metric: 'roc_auc' });
    const after = fs.readFileSync(file, 'utf8');
    expect(after).toMatch(/## Best model/);
    expect(after).toMatch(/specweave-ml:begin significance rf vs lr/);
    expect(await c.fails('compare_predictions', { increment: '1', a: 'rf', b: 'rf' })).toMatch(/same experiment/);
  });
});
