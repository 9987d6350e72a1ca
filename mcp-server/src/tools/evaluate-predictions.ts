import { z } from 'zod';
import { evaluateExperimentPredictions } from '../core/evaluate-experiment.js';
import { resolveIncrement } from '../core/increments.js';
import { fmt } from '../render/format.js';
import { defineTool } from './define.js';
import { ExperimentName, IncrementRef, toWire } from './schemas.js';

const Value = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])]).nullable();
const Interval = z.object({ estimate: Value, lower: Value, upper: Value, confidence: z.number(), resamples: z.number() });

export const evaluatePredictionsTool = defineTool({
  name: 'evaluate_predictions',
  title: 'Evaluate predictions exactly',
  description:
    "Compute an experiment's metrics exactly (agreeing with scikit-learn to 1e-9) from the predictions file its " +
    'training script saved (CSV or JSONL in the increment, e.g. "experiments/rf/predictions.csv"). binary / ' +
    'multiclass: accuracy, precision/recall/F1 (per class, macro, weighted), ROC AUC, average precision, log loss, ' +
    'Brier, MCC, kappa, confusion matrix, calibration; with target_precision or target_recall, the threshold that ' +
    'reaches it. regression / forecast: RMSE, MAE, MAPE, R², MASE. ranking: precision/recall/NDCG/MAP @k, MRR. ' +
    'Bootstrap confidence intervals by default (1,000 resamples; 0 turns them off). Columns are found by ' +
    'conventional names unless named. Writes metrics.json, evaluation-report.md and SVG plots into the experiment; ' +
    'an undefined metric is null with a warning; bad input writes nothing.',
  input: {
    increment: IncrementRef,
    experiment: ExperimentName,
    predictions: z.string().min(1).describe('Path of the CSV/JSONL file, relative to the experiment folder or the increment.'),
    task: z.enum(['binary', 'multiclass', 'regression', 'ranking', 'forecast']),
    y_true: z.string().min(1).nullish().describe('Column of true labels / values / relevance.'),
    y_pred: z.string().min(1).nullish().describe('Column of predicted labels / values.'),
    score: z.string().min(1).nullish().describe('Binary: positive-class score or probability. Ranking: item score.'),
    proba_prefix: z.string().min(1).nullish().describe('Multiclass: prefix of per-class probability columns (default "proba_").'),
    query: z.string().min(1).nullish().describe('Ranking: the query / user id column.'),
    item: z.string().min(1).nullish().describe('Ranking: the item id column.'),
    id: z.string().min(1).nullish().describe('Row id column (pairs rows across experiments in compare_predictions).'),
    k: z
      .union([z.number().int().min(1), z.array(z.number().int().min(1)).min(1)])
      .nullish()
      .describe('Ranking cut-off(s); default 10.'),
    positive_label: z.string().nullish().describe('Binary: the positive class (default 1 / true / the last label).'),
    seasonal_period: z.number().int().min(1).nullish().describe('Forecast: season length for MASE (default 1).'),
    target_precision: z.number().gt(0).lte(1).nullish(),
    target_recall: z.number().gt(0).lte(1).nullish(),
    bootstrap_resamples: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .nullish()
      .describe('Default 1000 (fewer above 100,000 rows); 0 turns intervals off.'),
    seed: z.number().int().nullish().describe('Bootstrap seed (default 42): the same seed gives the same intervals.'),
  },
  output: {
    increment: z.string(),
    experiment: z.string(),
    task: z.string(),
    rows: z.number(),
    metrics: z.record(z.string(), Value),
    confidence_intervals: z.record(z.string(), Interval),
    threshold: z.record(z.string(), z.unknown()).nullable(),
    confusion_matrix: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number())) }).nullable(),
    columns: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    warnings: z.array(z.string()),
    predictions: z.string(),
    report: z.string(),
    plots: z.array(z.string()),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project, git }) {
    const inc = await resolveIncrement(project, args.increment);
    const out = await evaluateExperimentPredictions(
      project,
      inc,
      {
        experiment: args.experiment,
        predictions: args.predictions,
        task: args.task,
        columns: {
          yTrue: args.y_true ?? undefined,
          yPred: args.y_pred ?? undefined,
          score: args.score ?? undefined,
          probaPrefix: args.proba_prefix ?? undefined,
          query: args.query ?? undefined,
          item: args.item ?? undefined,
          id: args.id ?? undefined,
        },
        k: args.k,
        positive_label: args.positive_label,
        seasonal_period: args.seasonal_period,
        target_precision: args.target_precision,
        target_recall: args.target_recall,
        bootstrap_resamples: args.bootstrap_resamples,
        seed: args.seed,
      },
      { git },
    );
    const r = out.result;
    const ci = Object.fromEntries(
      Object.entries(r.ci ?? {}).map(([k, v]) => [
        k,
        { estimate: v.estimate, lower: v.lower, upper: v.upper, confidence: v.confidence, resamples: v.resamples },
      ]),
    );
    // A large multiclass confusion matrix stays in the report; the result carries it only while it is small.
    const cm = r.confusionMatrix && r.confusionMatrix.labels.length <= 20 ? r.confusionMatrix : null;
    const data = {
      increment: inc.id,
      experiment: args.experiment,
      task: r.task,
      rows: r.n,
      metrics: r.metrics,
      confidence_intervals: ci,
      threshold: r.threshold ? { ...r.threshold } : null,
      confusion_matrix: cm,
      columns: r.columns,
      warnings: r.warnings,
      predictions: out.predictions,
      report: out.report,
      plots: out.plots,
    };
    const headline = Object.entries(r.metrics)
      .slice(0, 12)
      .map(([k, v]) => {
        const i = r.ci?.[k];
        return `${k}=${v === null ? 'undefined' : fmt(v)}${i ? ` [${fmt(i.lower)}, ${fmt(i.upper)}]` : ''}`;
      });
    const lines = [
      `${args.experiment}: ${r.task} evaluation of ${r.n} rows from ${out.predictions}.`,
      headline.join(', '),
      r.threshold
        ? `Threshold for ${r.threshold.target.metric} ${r.threshold.target.value}: ${r.threshold.reached ? `${fmt(r.threshold.threshold)} (precision ${fmt(r.threshold.precision)}, recall ${fmt(r.threshold.recall)})` : 'not reachable'}.`
        : '',
      ...r.warnings.map((w) => `warning: ${w}`),
      `Report: ${out.report}; ${out.plots.length} plots beside it. Metrics written to metrics.json.`,
    ].filter(Boolean);
    return { data: toWire(data), text: lines.join('\n') };
  },
});
