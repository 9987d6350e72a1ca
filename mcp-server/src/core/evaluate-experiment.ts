/**
 * evaluate_predictions and compare_predictions: read a prediction file an experiment saved, compute the metrics
 * exactly (core/evaluation is pure), and record the results — metrics into the experiment, a report and SVG plots
 * beside it, significance tests into the increment's comparison report. Nothing is written when the input is bad.
 */
import * as path from 'node:path';
import {
  comparePredictions,
  DEFAULT_COLUMNS,
  definedMetrics,
  evaluateTable,
  PredictionsError,
  type ColumnOptions,
  type ComparisonResult,
  type EvaluationResult,
  type Task,
} from './evaluation/index.js';
import { invalid, MlError, notFound } from './errors.js';
import { experimentDir, readExperiment, readHistory, resolveExperimentFile, trackExperiment, type TrackContext } from './experiments.js';
import { experimentsDir, readIncrementMetadata, type Increment } from './increments.js';
import { parseJsonObject, stringifyCanonical } from './json.js';
import type { Project } from './project.js';
import { parsePredictionChunks } from './evaluation/predictions-file.js';
import { readChunks, readText, withLock, writeAtomic } from './store/disk.js';
import { renderComparisonSection, renderEvaluationReport } from '../render/evaluation-report.js';
import { upsertSection } from '../render/sections.js';
import { renderEvaluationPlots } from '../render/svg/evaluation-plots.js';

export interface EvaluateRequest {
  experiment: string;
  predictions: string;
  task: Task;
  columns: ColumnOptions;
  k?: number | number[] | null;
  positive_label?: string | null;
  seasonal_period?: number | null;
  target_precision?: number | null;
  target_recall?: number | null;
  bootstrap_resamples?: number | null;
  seed?: number | null;
}

export interface EvaluateOutcome {
  result: EvaluationResult;
  predictions: string;
  report: string;
  plots: string[];
}

/** What evaluate_predictions remembers in the experiment, so compare_predictions can find the same file again. */
interface EvaluationRecord {
  predictions: string;
  task: Task;
  columns: ColumnOptions;
  k?: number | number[];
  positive_label?: string;
}

const EVALUATION_FILE = 'evaluation.json';

/**
 * Streams the predictions file through the sandboxed disk layer into typed columns: memory follows the columns
 * (a few bytes a cell), never a copy of the whole file.
 */
async function readPredictionsTable(project: Project, inc: Increment, dir: string, file: string, keep?: (column: string) => boolean) {
  const abs = await resolveExperimentFile(project, inc, dir, file, 'predictions file');
  const rel = path.relative(inc.dir, abs).split(path.sep).join('/');
  try {
    return { abs, rel, table: await parsePredictionChunks(readChunks(abs), rel, keep ? { keep } : {}) };
  } catch (e) {
    throw userError(e);
  }
}

/** The engine's precise input errors (file, row, column) become errors the caller can act on. */
function asUserError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw userError(e);
  }
}

/**
 * The columns an evaluation may read: those the call names and every conventional name of a role it can fill,
 * except the row id (only compare_predictions pairs rows by it). The others are not stored.
 */
function evaluatedColumns(columns: ColumnOptions): (column: string) => boolean {
  const names = new Set<string>();
  for (const [role, defaults] of Object.entries(DEFAULT_COLUMNS)) if (role !== 'id') for (const d of defaults) names.add(d);
  for (const given of Object.values(columns)) for (const c of [given ?? []].flat()) names.add(c);
  const prefix = columns.probaPrefix ?? 'proba_';
  return (column) => names.has(column) || column.startsWith(prefix);
}

function userError(e: unknown): unknown {
  if (!(e instanceof PredictionsError)) return e;
  return invalid(
    e.message,
    'Fix the predictions file or name its columns with y_true / y_pred / score / proba_prefix / query / item, then call again. Nothing was written.',
  );
}

export async function evaluateExperimentPredictions(
  project: Project,
  inc: Increment,
  req: EvaluateRequest,
  ctx: TrackContext,
): Promise<EvaluateOutcome> {
  const dir = experimentDir(inc, req.experiment);
  // Plan first: a broken summary file of the experiment fails now, before minutes of evaluation and any write.
  await existingExperimentReadable(project, inc, req.experiment);
  const { rel, table } = await readPredictionsTable(project, inc, dir, req.predictions, evaluatedColumns(req.columns));
  const result = asUserError(() =>
    evaluateTable(table, {
      task: req.task,
      columns: req.columns,
      k: req.k ?? undefined,
      positiveLabel: req.positive_label ?? undefined,
      seasonalPeriod: req.seasonal_period ?? undefined,
      targetPrecision: req.target_precision ?? undefined,
      targetRecall: req.target_recall ?? undefined,
      bootstrap: req.bootstrap_resamples === 0 ? false : { resamples: req.bootstrap_resamples ?? undefined, seed: req.seed ?? undefined },
    }),
  );

  // Render every file in memory; nothing is written until all of it succeeded.
  const { points } = await readHistory(dir);
  const plots = renderEvaluationPlots(result, points);
  const reportText = renderEvaluationReport({ experiment: req.experiment, predictionsFile: rel, result, plots });
  const record: EvaluationRecord = {
    predictions: rel,
    task: req.task,
    columns: req.columns,
    ...(req.k != null ? { k: req.k } : {}),
    ...(req.positive_label != null ? { positive_label: req.positive_label } : {}),
  };
  const files: [string, string][] = [
    ['evaluation-report.md', reportText],
    [EVALUATION_FILE, stringifyCanonical(record)],
    ...plots.map((p): [string, string] => [p.fileName, p.svg]),
  ];
  await Promise.all(files.map(([name, text]) => writeAtomic(path.join(dir, name), text)));
  await trackExperiment(
    project,
    inc,
    {
      name: req.experiment,
      metrics: definedMetrics(result.metrics),
      history: rankingHistory(result),
      artifacts: files.map(([name]) => name).filter((n) => n !== EVALUATION_FILE),
    },
    ctx,
  );
  return {
    result,
    predictions: rel,
    report: project.relative(path.join(dir, 'evaluation-report.md')),
    plots: plots.map((p) => project.relative(path.join(dir, p.fileName))),
  };
}

/**
 * A broken metrics.json, params.json or metadata.yaml would make the final trackExperiment fail after the report
 * and plots were written; reading the experiment first turns that into an error before any write. A folder with
 * no summary file yet (only the predictions) is a new experiment, which trackExperiment creates.
 */
async function existingExperimentReadable(project: Project, inc: Increment, name: string): Promise<void> {
  try {
    await readExperiment(project, inc, name);
  } catch (e) {
    if (!(e instanceof MlError && e.code === 'NOT_FOUND')) throw e;
  }
}

/** Ranking at several cut-offs: each metric over k is a history series (step = k), as a curve to plot. */
function rankingHistory(result: EvaluationResult) {
  if (result.task !== 'ranking') return [];
  const points: { metric: string; value: number; step: number }[] = [];
  for (const [key, value] of Object.entries(result.metrics)) {
    const m = /^(.+)_at_(\d+)$/.exec(key);
    if (m && typeof value === 'number') points.push({ metric: `${m[1]}_by_k`, value, step: Number(m[2]) });
  }
  return points.length > 1 ? points : [];
}

async function evaluationRecord(project: Project, inc: Increment, name: string): Promise<EvaluationRecord> {
  await readExperiment(project, inc, name); // a clear "no experiment" error first
  const file = path.join(experimentDir(inc, name), EVALUATION_FILE);
  const text = await readText(file);
  if (text === undefined) {
    throw notFound(
      `${name} has no evaluated predictions.`,
      `Call evaluate_predictions for ${name} first; compare_predictions compares the prediction files it evaluated.`,
    );
  }
  return parseJsonObject(text, project.relative(file), `Re-run evaluate_predictions for ${name}.`) as unknown as EvaluationRecord;
}

/** Fold scores `cv_<metric>` of an experiment, by fold index; the metric chosen is one both experiments logged. */
async function foldScores(inc: Increment, a: string, b: string, metric: string | undefined) {
  const [ha, hb] = await Promise.all([readHistory(experimentDir(inc, a)), readHistory(experimentDir(inc, b))]);
  const byFold = (points: typeof ha.points) => {
    const out = new Map<string, Map<number, number>>();
    for (const p of points) if (p.metric.startsWith('cv_')) out.set(p.metric, (out.get(p.metric) ?? new Map()).set(p.step, p.value));
    return out;
  };
  const fa = byFold(ha.points);
  const fb = byFold(hb.points);
  const shared = [...fa.keys()].filter((k) => fb.has(k));
  const name = metric && shared.includes(`cv_${metric}`) ? `cv_${metric}` : shared.sort()[0];
  if (!name) return undefined;
  const steps = [...fa.get(name)!.keys()].filter((s) => fb.get(name)!.has(s)).sort((x, y) => x - y);
  if (steps.length < 2) return undefined;
  return { metric: name.slice(3), a: steps.map((s) => fa.get(name)!.get(s)!), b: steps.map((s) => fb.get(name)!.get(s)!) };
}

export async function compareExperimentPredictions(
  project: Project,
  inc: Increment,
  opts: { a: string; b: string; metric?: string | null; alpha?: number | null; cv_test_train_ratio?: number | null },
): Promise<{ result: ComparisonResult; report: string }> {
  if (opts.a === opts.b)
    throw invalid('a and b name the same experiment.', 'Pass two different experiments, e.g. the best candidate and the runner-up.');
  // Both read at once, but a failure is reported for a before b, whichever read finished first.
  const settled = await Promise.allSettled([evaluationRecord(project, inc, opts.a), evaluationRecord(project, inc, opts.b)]);
  const [ra, rb] = settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  }) as [Awaited<ReturnType<typeof evaluationRecord>>, Awaited<ReturnType<typeof evaluationRecord>>];
  if (ra.task !== rb.task)
    throw invalid(`${opts.a} was evaluated as ${ra.task} and ${opts.b} as ${rb.task}.`, 'Evaluate both with the same task.');
  const [ta, tb] = await Promise.all([
    readPredictionsTable(project, inc, experimentDir(inc, opts.a), ra.predictions),
    readPredictionsTable(project, inc, experimentDir(inc, opts.b), rb.predictions),
  ]);
  // Fold scores of the metric compared, else of the increment's primary metric (what selection used), else any.
  const primary = opts.metric ? undefined : (await readIncrementMetadata(project, inc).catch(() => undefined))?.ml.primary_metric;
  const folds = await foldScores(inc, opts.a, opts.b, opts.metric ?? primary ?? undefined);
  const result = asUserError(() =>
    comparePredictions({
      a: { name: opts.a, table: ta.table },
      b: { name: opts.b, table: tb.table },
      task: ra.task,
      columns: ra.columns,
      metric: opts.metric ?? undefined,
      positiveLabel: ra.positive_label,
      k: Array.isArray(ra.k) ? ra.k[0] : ra.k,
      foldScores: folds && opts.cv_test_train_ratio != null ? { ...folds, testTrainRatio: opts.cv_test_train_ratio } : folds,
      alpha: opts.alpha ?? undefined,
    }),
  );
  const reportFile = path.join(experimentsDir(inc), 'comparison.md');
  await withLock(path.join(experimentsDir(inc), '.comparison.lock'), async () => {
    const before = (await readText(reportFile)) ?? `# Experiment comparison: ${inc.id}\n\nRun compare_experiments for the ranking table.\n`;
    await writeAtomic(reportFile, upsertSection(before, `significance ${opts.a} vs ${opts.b}`, renderComparisonSection(result)));
  });
  return { result, report: project.relative(reportFile) };
}
