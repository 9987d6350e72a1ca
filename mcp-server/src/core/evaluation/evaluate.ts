/**
 * The evaluation entry points. `evaluatePredictionsFile` is what the evaluate_predictions tool calls: text in,
 * a JSON-ready EvaluationResult out, or a PredictionsError before anything could be written. The per-task
 * functions (`evaluateBinary`, …) work on typed arrays and are what benchmarks and tests call directly.
 */
import { bootstrapCI, perResample, type BootstrapOptions, type WeightedStatistic, type Weights } from './bootstrap.js';
import { calibrationBins } from './calibration.js';
import {
  averagePrecisionSorted,
  binaryBrier,
  binaryLogLoss,
  confusionMatrix,
  labelMetrics,
  multiclassBrier,
  multiclassLogLoss,
  presort,
  rankingPresorted,
  rocAucPresorted,
  rocAucSorted,
  rocAucTied,
  scoreOrder,
  tiedOrder,
  type ScoreOrder,
  type TiedOrder,
} from './classification.js';
import { prCurve, rocCurve } from './curves.js';
import { PredictionsError } from './errors.js';
import { cellError, columnError, parsePredictions, type PredictionsTable } from './predictions-file.js';
import {
  canonicaliser,
  classIndices,
  encode,
  isLabel,
  readClassification,
  readRanking,
  readRegression,
  sortLabels,
  type ClassIndices,
  type ClassificationColumns,
  type ColumnOptions,
} from './prepare.js';
import { rankingMetrics, type RankingQuery } from './ranking.js';
import { maeWeighted, r2Weighted, regressionMetrics, rmseWeighted } from './regression.js';
import { tuneThreshold } from './threshold.js';
import type { ClassReport, ConfusionMatrix, Curve, EvaluationResult, Metrics, MetricValue, Task } from './types.js';

export interface EvaluateOptions {
  task: Task;
  columns?: ColumnOptions;
  /** Ranking cut-off(s). Default 10. */
  k?: number | number[];
  /** Binary: the positive class. Default: 1, true, or the last label in sorted order. */
  positiveLabel?: string | number | boolean;
  /** Binary: predicted label = positive when score ≥ threshold, used when there is no predicted-label column. Default 0.5. */
  decisionThreshold?: number;
  /** Forecast: seasonal period of the naive forecast that scales MASE. Default 1. */
  seasonalPeriod?: number;
  /** Forecast: in-sample series for MASE (overrides an insample column). */
  insample?: ArrayLike<number>;
  /** Binary threshold tuning: find the threshold reaching this precision (or recall). */
  targetPrecision?: number;
  targetRecall?: number;
  /** Calibration bins (uniform). Default 10. */
  calibrationBins?: number;
  /** Ranking: catalogue size for coverage. Default: distinct items in the file. */
  catalogueSize?: number;
  /**
   * Bootstrap confidence intervals of the headline metrics; false to skip. Default 1000 resamples, seed 42, 95 %;
   * above 100,000 rows the default number of resamples shrinks (100 for a million rows), see defaultResamples.
   */
  bootstrap?: BootstrapOptions | false;
}

export interface EvaluateFileInput extends EvaluateOptions {
  /** The file's content. */
  text: string;
  /** Used in error messages and to tell CSV from JSONL by extension. */
  fileName: string;
  format?: 'csv' | 'jsonl';
}

export function evaluatePredictionsFile(input: EvaluateFileInput): EvaluationResult {
  const table = parsePredictions(input.text, input.fileName, input.format);
  return evaluateTable(table, input);
}

export function evaluateTable(table: PredictionsTable, opts: EvaluateOptions): EvaluationResult {
  validateOptions(table.fileName, opts);
  if (table.rowCount === 0) throw new PredictionsError(`${table.fileName} has no data rows`, { file: table.fileName });
  const cols = opts.columns ?? {};
  switch (opts.task) {
    case 'binary': {
      const read = readClassification(table, cols, 'binary');
      return withColumns(evaluateBinary(encodeBinary(table, read, opts), opts), read.used);
    }
    case 'multiclass': {
      const read = readClassification(table, cols, 'multiclass');
      return withColumns(evaluateMulticlass(encodeMulticlass(table, read), opts), read.used);
    }
    case 'regression':
    case 'forecast': {
      const read = readRegression(table, cols, opts.task === 'forecast');
      const insample = opts.insample ?? read.insample;
      const forecast = opts.task === 'forecast';
      return withColumns(
        evaluateRegression({ y: read.y, yhat: read.yhat }, { ...opts, forecast, ...(insample ? { insample } : {}) }),
        read.used,
      );
    }
    case 'ranking': {
      const read = readRanking(table, cols);
      const result = evaluateRanking(read.queries, { ...opts, catalogueSize: opts.catalogueSize ?? read.catalogueSize });
      if (!read.hasItems) {
        for (const k of ks(opts)) result.metrics[`coverage_at_${k}`] = null;
        result.warnings.push('coverage is undefined: the file has no item id column');
      }
      return withColumns(result, read.used);
    }
    default:
      throw new PredictionsError(`${table.fileName}: unknown task ${JSON.stringify(opts.task)}`, { file: table.fileName });
  }
}

function withColumns(result: EvaluationResult, used: Record<string, string | string[]>): EvaluationResult {
  result.columns = used;
  return result;
}

function validateOptions(file: string, o: EvaluateOptions): void {
  const bad = (msg: string) => new PredictionsError(`${file}: ${msg}`, { file });
  for (const k of ks(o)) if (!Number.isInteger(k) || k < 1) throw bad(`k must be a positive integer, got ${k}`);
  if (o.seasonalPeriod !== undefined && (!Number.isInteger(o.seasonalPeriod) || o.seasonalPeriod < 1))
    throw bad(`seasonal period must be a positive integer, got ${o.seasonalPeriod}`);
  for (const [name, v] of [
    ['target precision', o.targetPrecision],
    ['target recall', o.targetRecall],
  ] as const)
    if (v !== undefined && !(v >= 0 && v <= 1)) throw bad(`${name} must be between 0 and 1, got ${v}`);
  if (o.targetPrecision !== undefined && o.targetRecall !== undefined) throw bad('give a target precision or a target recall, not both');
}

function ks(o: EvaluateOptions): number[] {
  return o.k === undefined ? [10] : Array.isArray(o.k) ? o.k : [o.k];
}

// ---------------------------------------------------------------- binary

export interface BinaryInput {
  /** 1 = positive class. */
  y: Uint8Array;
  /** Score or probability of the positive class. */
  score?: Float64Array;
  /** Predicted labels (1 = positive); derived from score ≥ decisionThreshold when absent. */
  yPred?: Uint8Array;
  /** [negative, positive] label names. Default ["0", "1"]. */
  labels?: [string, string];
}

/** All binary classification metrics. Keys: see BINARY_METRIC_KEYS. */
export function evaluateBinary(input: BinaryInput, opts: Omit<EvaluateOptions, 'task'> = {}): EvaluationResult {
  const { y, score } = input;
  const n = y.length;
  const labels = input.labels ?? ['0', '1'];
  if (!input.yPred && !score) throw new Error('evaluateBinary needs predicted labels or scores');
  const yPred = input.yPred ?? thresholdLabels(score!, opts.decisionThreshold ?? 0.5);
  const yT = y; // class indices 0/1 already: no Int32 copies (8 bytes a row)
  const yP = yPred;
  const lm = labelMetrics(confusionMatrix(yT, yP, 2), 2, 1, labels);
  const warnings = [...lm.warnings];
  if (!input.yPred) warnings.push(`predicted labels derived from score ≥ ${opts.decisionThreshold ?? 0.5}`);
  const metrics: Metrics = pickKeys(lm.metrics, LABEL_KEYS_BINARY);
  const result: EvaluationResult = {
    task: 'binary',
    n,
    metrics,
    warnings,
    columns: {},
    classes: [...labels],
    positiveLabel: labels[1],
    perClass: perClassReports(labels, lm.perClass),
    confusionMatrix: confusionOf(labels, yT, yP),
  };
  let so: ScoreOrder | undefined;
  if (score) so = addScoreMetrics(result, y, score, labels, opts);
  if (opts.bootstrap !== false) {
    const sorted = inScoreOrder(y, yPred, so);
    // The resamples need the labels in score order, not the order itself: its 4 bytes a row hold their weights.
    const scratch = so?.order;
    so = undefined;
    result.ci = binaryBootstrap(sorted, metrics, opts.bootstrap ?? {}, scratch);
  }
  return result;
}

const LABEL_KEYS_BINARY = [
  'accuracy',
  'balanced_accuracy',
  'precision',
  'recall',
  'f1',
  'precision_macro',
  'recall_macro',
  'f1_macro',
  'precision_weighted',
  'recall_weighted',
  'f1_weighted',
  'mcc',
  'cohen_kappa',
];

function pickKeys(m: Metrics, keys: string[]): Metrics {
  const out: Metrics = {};
  for (const k of keys) if (k in m) out[k] = m[k]!;
  return out;
}

function thresholdLabels(score: Float64Array, t: number): Uint8Array {
  const out = new Uint8Array(score.length);
  for (let i = 0; i < score.length; i++) out[i] = score[i]! >= t ? 1 : 0;
  return out;
}

function addScoreMetrics(
  result: EvaluationResult,
  y: Uint8Array,
  score: Float64Array,
  labels: [string, string],
  opts: Omit<EvaluateOptions, 'task'>,
): ScoreOrder {
  const { metrics, warnings } = result;
  const so = scoreOrder(score);
  metrics.roc_auc = rocAucSorted(so, y);
  metrics.average_precision = averagePrecisionSorted(so, y);
  const present = [...new Set(y)];
  if (metrics.roc_auc === null)
    warnings.push(`roc_auc is undefined: only one class (${JSON.stringify(labels[present[0] ?? 0])}) is present in the true labels`);
  if (metrics.average_precision === null)
    warnings.push(
      `average_precision is undefined: no row has the positive label ${JSON.stringify(labels[1])} (scikit-learn would report 0)`,
    );
  if (isProbability(score)) {
    metrics.log_loss = binaryLogLoss(y, score);
    metrics.brier = binaryBrier(y, score);
    result.calibration = calibrationBins(y, score, opts.calibrationBins ?? 10, 'binary');
    metrics.ece = result.calibration.ece;
  } else {
    metrics.log_loss = metrics.brier = metrics.ece = null;
    warnings.push('log_loss, brier and ece are undefined: the scores are not probabilities (values outside [0, 1])');
  }
  result.curves = {
    roc: [rocCurve(so, y, labels[1], metrics.roc_auc)],
    pr: [prCurve(so, y, labels[1], metrics.average_precision)],
  };
  const target =
    opts.targetPrecision !== undefined
      ? { metric: 'precision' as const, value: opts.targetPrecision }
      : opts.targetRecall !== undefined
        ? { metric: 'recall' as const, value: opts.targetRecall }
        : undefined;
  if (target) addThreshold(result, y, score, so, target);
  return so;
}

function addThreshold(
  result: EvaluationResult,
  y: Uint8Array,
  score: Float64Array,
  so: ScoreOrder,
  target: { metric: 'precision' | 'recall'; value: number },
): void {
  const t = tuneThreshold(y, score, target, so);
  result.threshold = t;
  const m = result.metrics;
  m.threshold = t.threshold;
  m.threshold_precision = t.precision;
  m.threshold_recall = t.recall;
  m.threshold_f1 = t.f1;
  m.threshold_fpr = t.fpr;
  if (!t.reached) result.warnings.push(`no threshold reaches ${target.metric} ≥ ${target.value}; the threshold metrics are undefined`);
}

function isProbability(score: Float64Array): boolean {
  for (let i = 0; i < score.length; i++) if (!(score[i]! >= 0 && score[i]! <= 1)) return false;
  return true;
}

/**
 * Bootstrap resamples for n rows: 1000 by default up to 100,000 rows; above that the default shrinks to keep
 * about 10⁸ row visits (100 resamples for a million rows), since each resample is a pass over every row.
 * An explicit `resamples` is always honoured.
 */
function defaultResamples(n: number, opts: BootstrapOptions): BootstrapOptions {
  if (opts.resamples !== undefined || n <= 100_000) return opts;
  return { ...opts, resamples: Math.max(100, Math.floor(1e8 / n)) };
}

/** True and predicted labels in descending-score order (row order without scores), with the score ties. */
interface ScoreOrdered {
  y: Uint8Array;
  yPred: Uint8Array;
  groupEnd?: Uint32Array;
}

function inScoreOrder(y: Uint8Array, yPred: Uint8Array, so: ScoreOrder | undefined): ScoreOrdered {
  if (!so) return { y, yPred };
  const { order } = so;
  const yP = new Uint8Array(order.length);
  for (let i = 0; i < order.length; i++) yP[i] = yPred[order[i]!]!;
  return { y: presort(so, y).y, yPred: yP, groupEnd: so.groupEnd };
}

/**
 * Bootstrap of the binary headline metrics. Rows are first put in descending-score order, and the resample
 * weights index that order, so every resample is a sequential pass with no sorting.
 */
function binaryBootstrap(sorted: ScoreOrdered, metrics: Metrics, opts: BootstrapOptions, scratch?: Uint32Array) {
  const { y, yPred, groupEnd } = sorted;
  // Per resample, one confusion matrix serves accuracy and f1, and one pass ROC AUC and average precision.
  const lm = perResample((w) => labelMetrics(confusionMatrix(y, yPred, 2, w), 2, 1).metrics);
  const stats: Record<string, WeightedStatistic> = {
    accuracy: (w, r) => lm(w, r).accuracy ?? null,
    f1: (w, r) => lm(w, r).f1 ?? null,
  };
  if (groupEnd) {
    const ranking = perResample((w) => rankingPresorted({ y, groupEnd }, w));
    stats.roc_auc = (w, r) => ranking(w, r).rocAuc;
    stats.average_precision = (w, r) => ranking(w, r).averagePrecision;
  }
  return bootstrapCI(y.length, stats, metrics, defaultResamples(y.length, opts), scratch);
}

/** Bootstrap of ROC AUC alone (what `npm run bench` times): one sort, then one weighted pass per resample. */
export function bootstrapRocAuc(y: Uint8Array, score: Float64Array, opts: BootstrapOptions = {}) {
  const so = scoreOrder(score);
  const p = presort(so, y);
  return bootstrapCI(y.length, { roc_auc: (w) => rocAucPresorted(p, w) }, { roc_auc: rocAucSorted(so, y) }, opts).roc_auc;
}

function perClassReports(labels: string[], pc: Array<Omit<ClassReport, 'label'>>): ClassReport[] {
  return pc.map((p, i) => ({ label: labels[i]!, ...p }));
}

function confusionOf(labels: string[], yT: ArrayLike<number>, yP: ArrayLike<number>): ConfusionMatrix {
  const k = labels.length;
  const cm = confusionMatrix(yT, yP, k);
  return { labels: [...labels], matrix: labels.map((_, t) => Array.from(cm.subarray(t * k, t * k + k))) };
}

/** Binary labels from file columns: canonical classes, the positive class, score (or its probability column). */
export function encodeBinary(table: PredictionsTable, read: ClassificationColumns, opts: EvaluateOptions): BinaryInput {
  const canon = canonicaliser(
    read.yTrue.labels,
    read.yPred?.labels ?? [],
    read.proba.keys(),
    opts.positiveLabel !== undefined ? [String(opts.positiveLabel)] : [],
  );
  // Classes from the distinct labels; rows are touched once per column, by isLabel.
  const trueClasses = new Set(read.yTrue.labels.map(canon));
  const classes = sortLabels(new Set([...trueClasses, ...(read.yPred?.labels ?? []).map(canon)]));
  if (classes.length > 2) {
    const col = String(trueClasses.size > 2 ? read.used.y_true : read.used.y_pred);
    throw columnError(
      table,
      col,
      `has ${classes.length} distinct labels (${classes
        .slice(0, 6)
        .map((c) => JSON.stringify(c))
        .join(', ')}${classes.length > 6 ? ', …' : ''}); task "binary" needs at most 2 — use task "multiclass"`,
    );
  }
  const positive = positiveOf(
    table,
    classes,
    opts.positiveLabel === undefined ? undefined : canon(String(opts.positiveLabel)),
    String(read.used.y_true),
  );
  const negative = classes.find((c) => c !== positive) ?? defaultNegative(positive);
  const labels: [string, string] = [negative, positive];
  const input: BinaryInput = { y: isLabel(read.yTrue, canon, positive), labels };
  if (read.yPred) input.yPred = isLabel(read.yPred, canon, positive);
  input.score = read.score ?? probaOf(read, canon, positive);
  return input;
}

function probaOf(read: ClassificationColumns, canon: (s: string) => string, positive: string): Float64Array | undefined {
  for (const [cls, col] of read.proba) {
    if (canon(cls) === positive) {
      read.used.score = [read.used.proba ?? []].flat().find((c) => c.endsWith(cls)) ?? cls;
      return col;
    }
  }
  return undefined;
}

function positiveOf(table: PredictionsTable, classes: string[], given: string | undefined, yCol: string): string {
  if (given !== undefined) {
    if (classes.length === 2 && !classes.includes(given))
      throw columnError(
        table,
        yCol,
        `positive label ${JSON.stringify(given)} is not one of the labels ${classes.map((c) => JSON.stringify(c)).join(', ')}`,
      );
    return given;
  }
  const set = new Set(classes);
  for (const [pos, pair] of [
    ['1', ['0', '1']],
    ['1', ['-1', '1']],
    ['true', ['false', 'true']],
  ] as const)
    if ([...set].every((c) => (pair as readonly string[]).includes(c))) return pos;
  if (classes.length === 2) return classes[1]!;
  throw columnError(table, yCol, `only the label ${JSON.stringify(classes[0])} occurs; say which label is positive (positive_label)`);
}

function defaultNegative(positive: string): string {
  return positive === '1' ? '0' : positive === 'true' ? 'false' : `not ${positive}`;
}

// ---------------------------------------------------------------- multiclass

export interface MulticlassInput {
  /** Class index per row into `labels`. */
  yTrue: ClassIndices;
  yPred?: ClassIndices;
  /** One probability column per class, aligned with `labels`. */
  proba?: Float64Array[];
  labels: string[];
}

export function evaluateMulticlass(input: MulticlassInput, opts: Omit<EvaluateOptions, 'task'> = {}): EvaluationResult {
  const { yTrue, proba, labels } = input;
  const k = labels.length;
  const yPred = input.yPred ?? argmaxRows(proba!, yTrue.length, k);
  const lm = labelMetrics(confusionMatrix(yTrue, yPred, k), k, undefined, labels);
  const metrics: Metrics = pickKeys(
    lm.metrics,
    LABEL_KEYS_BINARY.filter((key) => !['precision', 'recall', 'f1'].includes(key)),
  );
  const result: EvaluationResult = {
    task: 'multiclass',
    n: yTrue.length,
    metrics,
    warnings: [...lm.warnings],
    columns: {},
    classes: [...labels],
    perClass: perClassReports(labels, lm.perClass),
    confusionMatrix: confusionOf(labels, yTrue, yPred),
  };
  if (!input.yPred) result.warnings.push('predicted labels derived from the most probable class');
  const orders = proba ? addProbaMetrics(result, yTrue, proba, opts) : undefined;
  if (opts.bootstrap !== false) result.ci = multiclassBootstrap(yTrue, yPred, k, orders, metrics, opts.bootstrap ?? {});
  return result;
}

function argmaxRows(proba: Float64Array[], n: number, k: number): ClassIndices {
  const out = classIndices(n, k);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < proba.length; c++) if (proba[c]![i]! > proba[best]![i]!) best = c;
    out[i] = best;
  }
  return out;
}

interface OvrOrders {
  /** Per class, its one-vs-rest score order with labels and ties: what the bootstrap's ROC AUC reads. */
  tied: TiedOrder[];
  /** n entries no longer needed, for the bootstrap's weights. */
  scratch: Uint32Array;
}

/** One-vs-rest ROC AUC and average precision (macro and prevalence-weighted), log loss, Brier, top-label ECE. */
function addProbaMetrics(
  result: EvaluationResult,
  yTrue: ClassIndices,
  proba: Float64Array[],
  opts: Omit<EvaluateOptions, 'task'>,
): OvrOrders {
  const { metrics, warnings, perClass } = result;
  const labels = result.classes!;
  const n = yTrue.length;
  // One buffer of 8 bytes a row serves in turn as each sort's second index buffer and tie groups, the top-label
  // confidences and the bootstrap's weights: none of them outlives the next, and each would otherwise be an
  // allocation of its own. Likewise one one-vs-rest label array serves every class.
  const shared = new ArrayBuffer(8 * n);
  const scratch = new Uint32Array(shared, 0, n);
  const onehot = new Uint8Array(n);
  const tied: TiedOrder[] = [];
  const aucs: MetricValue[] = [];
  const aps: MetricValue[] = [];
  const roc: Curve[] = [];
  const pr: Curve[] = [];
  proba.forEach((col, c) => {
    for (let i = 0; i < n; i++) onehot[i] = yTrue[i] === c ? 1 : 0;
    const so = scoreOrder(col, scratch); // so.groupEnd lives in scratch: used up before the next class's sort
    const auc = rocAucSorted(so, onehot);
    const ap = averagePrecisionSorted(so, onehot);
    aucs.push(auc);
    aps.push(ap);
    roc.push(rocCurve(so, onehot, labels[c]!, auc));
    pr.push(prCurve(so, onehot, labels[c]!, ap));
    tied.push(tiedOrder(so, onehot));
  });
  aucs.forEach((a, c) => {
    perClass![c]!.rocAuc = a;
    perClass![c]!.averagePrecision = aps[c]!;
  });
  const missing = labels.filter((_, c) => aucs[c] === null);
  const support = perClass!.map((p) => p.support / n);
  metrics.roc_auc = missing.length ? null : mean(aucs as number[]);
  metrics.roc_auc_weighted = missing.length ? null : dot(aucs as number[], support);
  metrics.average_precision = missing.length ? null : mean(aps as number[]);
  if (missing.length)
    warnings.push(
      `roc_auc, roc_auc_weighted and average_precision (one-vs-rest) are undefined: class ${missing.map((m) => JSON.stringify(m)).join(', ')} never occurs in the true labels`,
    );
  metrics.log_loss = multiclassLogLoss(yTrue, proba);
  metrics.brier = multiclassBrier(yTrue, proba);
  const top = topLabel(yTrue, proba, new Float64Array(shared));
  result.calibration = calibrationBins(top.correct, top.confidence, opts.calibrationBins ?? 10, 'top-label');
  metrics.ece = result.calibration.ece;
  result.curves = { roc, pr };
  return { tied, scratch };
}

/** Top-label confidence (written into `confidence`, n entries) and correctness. */
function topLabel(yTrue: ClassIndices, proba: Float64Array[], confidence: Float64Array): { correct: Uint8Array; confidence: Float64Array } {
  const n = yTrue.length;
  const correct = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < proba.length; c++) if (proba[c]![i]! > proba[best]![i]!) best = c;
    confidence[i] = proba[best]![i]!;
    correct[i] = best === yTrue[i] ? 1 : 0;
  }
  return { correct, confidence };
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

function dot(a: number[], b: number[]): number {
  return a.reduce((s, x, i) => s + x * b[i]!, 0);
}

function multiclassBootstrap(
  yTrue: ClassIndices,
  yPred: ClassIndices,
  k: number,
  ovr: OvrOrders | undefined,
  metrics: Metrics,
  opts: BootstrapOptions,
) {
  const lm = perResample((w) => labelMetrics(confusionMatrix(yTrue, yPred, k, w), k).metrics); // one matrix a resample
  const stats: Record<string, WeightedStatistic> = {
    accuracy: (w, r) => lm(w, r).accuracy ?? null,
    balanced_accuracy: (w, r) => lm(w, r).balanced_accuracy ?? null,
    f1_macro: (w, r) => lm(w, r).f1_macro ?? null,
  };
  if (ovr)
    stats.roc_auc = (w) => {
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const a = rocAucTied(ovr.tied[c]!, w);
        if (a === null) return null;
        sum += a;
      }
      return sum / k;
    };
  return bootstrapCI(yTrue.length, stats, metrics, defaultResamples(yTrue.length, opts), ovr?.scratch);
}

/** Multiclass labels from file columns. With probability columns, their classes are the class list. */
export function encodeMulticlass(table: PredictionsTable, read: ClassificationColumns): MulticlassInput {
  const canon = canonicaliser(read.yTrue.labels, read.yPred?.labels ?? [], read.proba.keys());
  const probaClasses = [...read.proba.keys()].map(canon);
  const labels =
    probaClasses.length > 0 ? sortLabels(probaClasses) : sortLabels([...read.yTrue.labels, ...(read.yPred?.labels ?? [])].map(canon));
  if (probaClasses.length > 0 && probaClasses.length < 2)
    throw columnError(table, String([read.used.proba].flat()[0]), 'multiclass probabilities need one column per class (at least 2)');
  const index = new Map(labels.map((l, i) => [l, i]));
  const why =
    probaClasses.length > 0 ? `has no probability column (${labels.map((l) => JSON.stringify(l)).join(', ')})` : 'is not a known class';
  const yTrue = encode(table, String(read.used.y_true), read.yTrue, index, why, canon);
  const input: MulticlassInput = { yTrue, labels };
  if (read.yPred) input.yPred = encode(table, String(read.used.y_pred), read.yPred, index, why, canon);
  if (probaClasses.length > 0) {
    const byCanon = new Map([...read.proba].map(([c, col]) => [canon(c), col]));
    input.proba = labels.map((l) => byCanon.get(l)!);
    checkRowSums(table, input.proba, [read.used.proba ?? []].flat());
  }
  return input;
}

/** Probabilities must sum to 1 per row (tolerance 1e-3 for rounding in the file); else the columns are not probabilities. */
function checkRowSums(table: PredictionsTable, proba: Float64Array[], cols: string[]): void {
  for (let i = 0; i < table.rowCount; i++) {
    let s = 0;
    for (const col of proba) {
      const p = col[i]!;
      if (p < 0 || p > 1) throw cellError(table, i, cols[proba.indexOf(col)] ?? 'proba', `probability ${p} is outside [0, 1]`);
      s += p;
    }
    if (Math.abs(s - 1) > 1e-3) throw cellError(table, i, cols.join('+'), `class probabilities sum to ${s}, not 1`);
  }
}

// ---------------------------------------------------------------- regression / forecast

export interface RegressionInput {
  y: Float64Array;
  yhat: Float64Array;
}

const MAX_RESIDUAL_POINTS = 5000;

export function evaluateRegression(
  input: RegressionInput,
  opts: Omit<EvaluateOptions, 'task'> & { forecast?: boolean } = {},
): EvaluationResult {
  const { y, yhat } = input;
  const forecast = opts.forecast ?? false;
  const fo = forecast ? { seasonalPeriod: opts.seasonalPeriod ?? 1, ...(opts.insample ? { insample: opts.insample } : {}) } : undefined;
  const { metrics, warnings } = regressionMetrics(y, yhat, fo);
  const result: EvaluationResult = {
    task: forecast ? 'forecast' : 'regression',
    n: y.length,
    metrics,
    warnings,
    columns: {},
    residuals: residuals(y, yhat),
  };
  if (opts.bootstrap !== false) {
    const stats: Record<string, WeightedStatistic> = {
      rmse: (w) => rmseWeighted(y, yhat, w),
      mae: (w) => maeWeighted(y, yhat, w),
      r2: (w) => r2Weighted(y, yhat, w),
    };
    result.ci = bootstrapCI(y.length, stats, metrics, defaultResamples(y.length, opts.bootstrap ?? {}));
  }
  return result;
}

/** Residual y − ŷ against ŷ, thinned to evenly spaced rows so plots stay small; same input → same points. */
function residuals(y: Float64Array, yhat: Float64Array) {
  const n = y.length;
  const m = Math.min(n, MAX_RESIDUAL_POINTS);
  const predicted: number[] = [];
  const residual: number[] = [];
  for (let j = 0; j < m; j++) {
    const i = Math.floor((j * n) / m);
    predicted.push(yhat[i]!);
    residual.push(y[i]! - yhat[i]!);
  }
  return { predicted, residual, total: n };
}

// ---------------------------------------------------------------- ranking

export function evaluateRanking(queries: RankingQuery[], opts: Omit<EvaluateOptions, 'task'> = {}): EvaluationResult {
  const k = ks(opts as EvaluateOptions);
  const rm = rankingMetrics(queries, { ks: k, ...(opts.catalogueSize !== undefined ? { catalogueSize: opts.catalogueSize } : {}) });
  const result: EvaluationResult = { task: 'ranking', n: rm.evaluated, metrics: rm.metrics, warnings: rm.warnings, columns: {} };
  if (opts.bootstrap !== false && rm.evaluated > 0) {
    const k0 = k[0]!;
    const stats: Record<string, WeightedStatistic> = {};
    for (const key of [`ndcg_at_${k0}`, `map_at_${k0}`, `precision_at_${k0}`, `recall_at_${k0}`, 'mrr']) {
      const v = rm.perQuery[key]!;
      stats[key] = (w) => weightedMean(v, w);
    }
    result.ci = bootstrapCI(rm.evaluated, stats, rm.metrics, opts.bootstrap ?? {});
  }
  return result;
}

export function weightedMean(v: Float64Array, w: Weights): number {
  let s = 0;
  let ws = 0;
  for (let i = 0; i < v.length; i++) {
    s += w[i]! * v[i]!;
    ws += w[i]!;
  }
  return s / ws;
}

export { PredictionsError };

/**
 * The metrics to write to metrics.json: the defined ones. Undefined (null) metrics are left out rather than
 * written as "NaN", so an undefined ROC AUC never ranks an experiment; the report's warnings say why it is missing.
 */
export function definedMetrics(metrics: Metrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}
