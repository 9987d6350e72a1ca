/**
 * compare_predictions: is experiment B really better than A on the same test set? Both prediction files are read
 * with the same columns, aligned by an id column when both have one (else by row order), and must hold the same
 * true labels / values row for row. Then: a paired bootstrap of the chosen metric (every task), McNemar's test
 * (classification), and — where per-fold cross-validation scores of both are given — the corrected resampled
 * t-test (Nadeau & Bengio) and the Wilcoxon signed-rank test. Each test is reported in the metric's direction: which
 * model it favours, by how much, with its interval, and whether it could reach the significance level at all.
 */
import { bootstrapSettings, type BootstrapOptions, type WeightedStatistic, type Weights } from './bootstrap.js';
import { averagePrecisionSorted, confusionMatrix, labelMetrics, rocAucSorted, scoreOrder } from './classification.js';
import { PredictionsError } from './errors.js';
import { encodeBinary, encodeMulticlass, weightedMean, type EvaluateOptions } from './evaluate.js';
import { labelStrings, textColumn, type PredictionsTable } from './predictions-file.js';
import {
  canonicaliser,
  DEFAULT_COLUMNS,
  permuteLabels,
  pick,
  readClassification,
  readRanking,
  readRegression,
  sortLabels,
  type ClassificationColumns,
  type ColumnOptions,
} from './prepare.js';
import { rankingMetrics, type RankingQuery } from './ranking.js';
import { maeWeighted, r2Weighted, rmseWeighted } from './regression.js';
import {
  correctedResampledTTest,
  mcnemar,
  pairedBootstrap,
  pairedTTest,
  wilcoxonSignedRank,
  type CorrectedTTestResult,
  type McNemarResult,
  type PairedBootstrapResult,
  type WilcoxonResult,
} from './tests.js';
import type { Task } from './types.js';
import { metricDirection } from '../metrics/vocabulary.js';

export interface CompareInput {
  /** Experiment names and their parsed prediction files. */
  a: { name: string; table: PredictionsTable };
  b: { name: string; table: PredictionsTable };
  task: Task;
  columns?: ColumnOptions;
  /** Metric to compare. Default: roc_auc (binary with scores) or accuracy (classification), rmse, ndcg_at_<k>. */
  metric?: string;
  positiveLabel?: EvaluateOptions['positiveLabel'];
  decisionThreshold?: number;
  k?: number;
  /**
   * Per-fold cross-validation scores of the same metric, fold i of A paired with fold i of B. `testTrainRatio` is
   * n_test/n_train of one split, for the corrected t-test; default 1/(k−1) for k folds (plain k-fold CV).
   */
  foldScores?: { a: number[]; b: number[]; metric?: string; testTrainRatio?: number };
  bootstrap?: BootstrapOptions;
  /** Significance level of the verdict. Default 0.05. */
  alpha?: number;
}

export interface ComparisonResult {
  a: string;
  b: string;
  task: Task;
  metric: string;
  direction: 'maximize' | 'minimize';
  /** Rows (or queries) compared. */
  n: number;
  values: { a: number | null; b: number | null };
  /** b − a. */
  difference: number | null;
  /** Improvement of B over A in the metric's direction, relative to |A|. */
  relativeImprovement: number | null;
  pairedBootstrap: PairedBootstrapResult | null;
  mcnemar?: McNemarResult;
  folds?: { metric: string; direction: 'maximize' | 'minimize'; n: number; correctedTTest: CorrectedTTestResult; wilcoxon: WilcoxonResult };
  /** Every test, in the metric's direction. */
  findings: TestFinding[];
  /** Effect sizes: metric difference b − a, Cohen's d_z over folds, McNemar odds ratio (B right / A right). */
  effectSize: { difference: number | null; cohensDz?: number | null; oddsRatio?: number | null };
  alpha: number;
  /** "a", "b", or null when no significant difference. */
  better: 'a' | 'b' | null;
  verdict: string;
  warnings: string[];
}

export type TestName = 'paired_bootstrap' | 'mcnemar' | 'corrected_t_test' | 'wilcoxon';

/** One test's answer in the metric's direction. */
export interface TestFinding {
  test: TestName;
  /** What the test looks at: the test set, or the cross-validation folds. */
  evidence: 'test set' | 'cv folds';
  /** The model the point estimate favours; null on an exact tie or when the test is undefined. */
  favours: 'a' | 'b' | null;
  /** B − A in the test's own quantity (metric, accuracy from discordant rows, mean fold difference). */
  difference: number | null;
  lower: number | null;
  upper: number | null;
  pValue: number | null;
  significant: boolean;
  /** False when no outcome of these data could give p < alpha (5-fold Wilcoxon: minimum p 0.0625). */
  canReachAlpha: boolean;
  note?: string;
}

interface Scorer {
  n: number;
  metric: string;
  statA: WeightedStatistic;
  statB: WeightedStatistic;
  correct?: { a: Uint8Array; b: Uint8Array };
}

export function comparePredictions(input: CompareInput): ComparisonResult {
  const alpha = input.alpha ?? 0.05;
  const warnings: string[] = [];
  const scorer = scorerFor(input, warnings);
  const direction = isMinimized(scorer.metric) ? 'minimize' : 'maximize';
  const ones = new Float64Array(scorer.n).fill(1);
  const va = scorer.statA(ones);
  const vb = scorer.statB(ones);
  const boot = pairedBootstrap(scorer.n, scorer.statA, scorer.statB, bootstrapSettings(input.bootstrap));
  if (!boot) warnings.push(`the paired bootstrap is undefined: ${scorer.metric} is undefined on these predictions`);
  const result: ComparisonResult = {
    a: input.a.name,
    b: input.b.name,
    task: input.task,
    metric: scorer.metric,
    direction,
    n: scorer.n,
    values: { a: va, b: vb },
    difference: va !== null && vb !== null ? vb - va : null,
    relativeImprovement: va !== null && vb !== null && va !== 0 ? ((direction === 'maximize' ? 1 : -1) * (vb - va)) / Math.abs(va) : null,
    pairedBootstrap: boot,
    effectSize: { difference: va !== null && vb !== null ? vb - va : null },
    findings: [],
    alpha,
    better: null,
    verdict: '',
    warnings,
  };
  if (boot && result.difference !== null) {
    result.findings.push(
      finding('paired_bootstrap', 'test set', direction, result.difference, boot.lower, boot.upper, boot.pValue, alpha, true),
    );
  }
  if (scorer.correct) {
    const m = mcnemar(scorer.correct.a, scorer.correct.b);
    result.mcnemar = m;
    result.effectSize.oddsRatio = m.oddsRatio;
    const ci = pairedProportionInterval(m.aOnly, m.bOnly, scorer.n);
    // McNemar compares right/wrong per row: its quantity is accuracy, which is maximised whatever the metric.
    result.findings.push(finding('mcnemar', 'test set', 'maximize', ci.difference, ci.lower, ci.upper, m.pValue, alpha, true));
  }
  if (input.foldScores) addFolds(result, input.foldScores, scorer.metric);
  decide(result);
  return result;
}

function finding(
  test: TestName,
  evidence: TestFinding['evidence'],
  direction: 'maximize' | 'minimize',
  difference: number | null,
  lower: number | null,
  upper: number | null,
  pValue: number | null,
  alpha: number,
  canReachAlpha: boolean,
  note?: string,
): TestFinding {
  const favours =
    difference === null || difference === 0 || Number.isNaN(difference) ? null : difference > 0 === (direction === 'maximize') ? 'b' : 'a';
  const significant = pValue !== null && pValue < alpha && favours !== null && canReachAlpha;
  return { test, evidence, favours, difference, lower, upper, pValue, significant, canReachAlpha, ...(note ? { note } : {}) };
}

/**
 * Accuracy difference B − A from the discordant counts, with the Wald interval for paired proportions
 * (Agresti, Categorical Data Analysis, §10.1): d = (c − b)/n, se = √(b + c − (c − b)²/n) / n.
 */
function pairedProportionInterval(
  aOnly: number,
  bOnly: number,
  n: number,
): { difference: number | null; lower: number | null; upper: number | null } {
  if (n === 0) return { difference: null, lower: null, upper: null };
  const d = (bOnly - aOnly) / n;
  const se = Math.sqrt(Math.max(0, aOnly + bOnly - (bOnly - aOnly) ** 2 / n)) / n;
  return { difference: d, lower: d - 1.959963984540054 * se, upper: d + 1.959963984540054 * se };
}

function addFolds(result: ComparisonResult, folds: NonNullable<CompareInput['foldScores']>, metric: string): void {
  if (folds.a.length !== folds.b.length)
    throw new PredictionsError(
      `fold scores: ${result.a} has ${folds.a.length} folds and ${result.b} has ${folds.b.length}; they must pair up`,
      { file: 'fold scores' },
    );
  const k = folds.a.length;
  const ratio = folds.testTrainRatio ?? (k > 1 ? 1 / (k - 1) : NaN);
  const foldMetric = folds.metric ?? metric;
  const direction = isMinimized(foldMetric) ? 'minimize' : 'maximize';
  const t = correctedResampledTTest(folds.a, folds.b, ratio);
  const w = wilcoxonSignedRank(folds.a, folds.b);
  result.folds = { metric: foldMetric, direction, n: k, correctedTTest: t, wilcoxon: w };
  result.effectSize.cohensDz = pairedTTest(folds.a, folds.b).cohensDz;
  const alpha = result.alpha;
  result.findings.push(
    finding('corrected_t_test', 'cv folds', direction, t.note ? null : t.meanDifference, t.lower, t.upper, t.pValue, alpha, true, t.note),
  );
  const wCanReach = w.minPValue === null || w.minPValue < alpha;
  const wNote =
    w.note ??
    (wCanReach
      ? undefined
      : `with ${k} folds no exact test can give p below ${fmt(w.minPValue)}, so it cannot reach α = ${alpha}${w.pValue !== null && w.pValue < w.minPValue! ? ` (the normal approximation's p = ${fmt(w.pValue)} overstates the evidence)` : ''}`);
  result.findings.push(
    finding('wilcoxon', 'cv folds', direction, w.note ? null : t.meanDifference, null, null, w.pValue, alpha, wCanReach, wNote),
  );
  if (t.note) result.warnings.push(`corrected t-test undefined: ${t.note}`);
  if (w.note) result.warnings.push(`Wilcoxon test undefined: ${w.note}`);
  else if (!wCanReach) result.warnings.push(`Wilcoxon test ${wNote}`);
}

const fmt = (v: number | null | undefined) =>
  v === null || v === undefined ? 'n/a' : Math.abs(v) >= 1000 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);

const TEST_LABEL: Record<TestName, string> = {
  paired_bootstrap: 'paired bootstrap',
  mcnemar: 'McNemar',
  corrected_t_test: 'corrected resampled t-test',
  wilcoxon: 'Wilcoxon signed-rank',
};

/**
 * The plain-language verdict. The paired bootstrap on the test set decides; every other test is reported with the
 * model it favours, and a disagreement in direction between tests is said in so many words.
 */
function decide(r: ComparisonResult): void {
  const boot = r.pairedBootstrap;
  const parts: string[] = [];
  if (boot && r.difference !== null) {
    const bBetter = r.direction === 'maximize' ? r.difference > 0 : r.difference < 0;
    const ci = `${Math.round(boot.confidence * 100)}% CI of B − A [${fmt(boot.lower)}, ${fmt(boot.upper)}]`;
    // A p-value of 0 from resampling only means "below 1/resamples".
    const p = boot.pValue === 0 ? `< ${fmt(1 / boot.validResamples)}` : `= ${fmt(boot.pValue)}`;
    const better = r.direction === 'maximize' ? 'higher is better' : 'lower is better';
    if (boot.pValue < r.alpha && r.difference !== 0) {
      r.better = bBetter ? 'b' : 'a';
      const [w, l, wv, lv] = bBetter ? [r.b, r.a, r.values.b, r.values.a] : [r.a, r.b, r.values.a, r.values.b];
      parts.push(
        `${w} is better than ${l} on ${r.metric} (${better}): ${fmt(wv)} vs ${fmt(lv)} on the test set (B − A = ${fmt(r.difference)}, ${ci}, paired bootstrap p ${p}).`,
      );
    } else {
      parts.push(
        `No significant difference on ${r.metric} (${better}) on the test set: ${r.b} ${fmt(r.values.b)} vs ${r.a} ${fmt(r.values.a)} (B − A = ${fmt(r.difference)}, ${ci}, paired bootstrap p ${p}, not below ${r.alpha}).`,
      );
    }
  } else {
    parts.push(`${r.metric} could not be compared (undefined on these predictions).`);
  }
  const name = (side: 'a' | 'b' | null) => (side === 'a' ? r.a : side === 'b' ? r.b : 'neither');
  for (const f of r.findings) {
    if (f.test === 'paired_bootstrap') continue;
    const what = f.test === 'mcnemar' ? 'accuracy' : `${r.folds?.metric ?? r.metric} over ${r.folds?.n ?? 0} folds`;
    const interval = f.lower !== null && f.upper !== null ? `, 95% CI [${fmt(f.lower)}, ${fmt(f.upper)}]` : '';
    const reach = f.canReachAlpha ? '' : ' (cannot reach the level with this many folds)';
    parts.push(
      `${TEST_LABEL[f.test]} (${f.evidence}): favours ${name(f.favours)} on ${what} (B − A = ${fmt(f.difference)}${interval}), p = ${fmt(f.pValue)}${reach}.`,
    );
  }
  const directions = new Set(r.findings.filter((f) => f.favours !== null).map((f) => f.favours));
  if (directions.size > 1) {
    const side = (s: 'a' | 'b') =>
      r.findings
        .filter((f) => f.favours === s)
        .map((f) => `${TEST_LABEL[f.test]} (${f.evidence})`)
        .join(', ');
    parts.push(
      `The tests disagree in direction: ${side('a')} favour ${r.a}; ${side('b')} favour ${r.b}. Test-set tests judge these fitted models on this test set; fold tests judge the training procedure across resamples.`,
    );
  } else if (r.better !== null && r.findings.some((f) => f.test !== 'paired_bootstrap' && f.canReachAlpha && !f.significant)) {
    parts.push('Every test points the same way, but not every one is significant: treat the size of the difference with care.');
  } else if (r.better === null && r.findings.some((f) => f.significant)) {
    parts.push('Another test does find a difference; more test data would settle it.');
  }
  r.verdict = parts.join(' ');
}

/** The metric vocabulary's direction (names it does not know: loss, error, rmse… minimize). */
function isMinimized(metric: string): boolean {
  return metricDirection(metric) === 'minimize';
}

function scorerFor(input: CompareInput, warnings: string[]): Scorer {
  switch (input.task) {
    case 'binary':
    case 'multiclass':
      return classificationScorer(input, warnings);
    case 'regression':
    case 'forecast':
      return regressionScorer(input);
    case 'ranking':
      return rankingScorer(input);
  }
}

/** Row permutation of B onto A (by id column when both files have one), with same-test-set checks. */
function alignRows(input: CompareInput): { permB: Int32Array; idCol: string | undefined } {
  const { a, b } = input;
  const cols = input.columns ?? {};
  const idA = pick(a.table, cols.id, DEFAULT_COLUMNS.id);
  const idB = pick(b.table, cols.id, DEFAULT_COLUMNS.id);
  const n = a.table.rowCount;
  if (idA !== undefined && idB !== undefined) {
    const ia = textColumn(a.table, idA, 'row id');
    const ib = textColumn(b.table, idB, 'row id');
    const where = new Map<string, number>();
    ib.forEach((id, i) => {
      if (where.has(id))
        throw new PredictionsError(
          `${b.table.fileName} ${b.table.rowLabel(i)}, column ${JSON.stringify(idB)}: id ${JSON.stringify(id)} appears twice`,
          { file: b.table.fileName, row: i + 1, column: idB },
        );
      where.set(id, i);
    });
    if (ib.length !== ia.length)
      throw notSameSet(input, `${a.table.fileName} has ${ia.length} rows and ${b.table.fileName} has ${ib.length}`);
    const permB = Int32Array.from(ia, (id, i) => {
      const j = where.get(id);
      if (j === undefined)
        throw notSameSet(input, `${a.table.fileName} ${a.table.rowLabel(i)} has id ${JSON.stringify(id)}, which ${b.table.fileName} lacks`);
      return j;
    });
    return { permB, idCol: idA };
  }
  if (b.table.rowCount !== n)
    throw notSameSet(
      input,
      `${a.table.fileName} has ${n} rows and ${b.table.fileName} has ${b.table.rowCount} (and no shared id column to align them)`,
    );
  return { permB: Int32Array.from({ length: n }, (_, i) => i), idCol: undefined };
}

function notSameSet(input: CompareInput, detail: string): PredictionsError {
  return new PredictionsError(`${input.a.name} and ${input.b.name} were not evaluated on the same test set: ${detail}`, {
    file: input.b.table.fileName,
  });
}

function checkSameTruth(input: CompareInput, truthA: ArrayLike<unknown>, truthB: ArrayLike<unknown>, permB: Int32Array, col: string): void {
  for (let i = 0; i < permB.length; i++) {
    const j = permB[i]!;
    if (truthA[i] !== truthB[j])
      throw notSameSet(
        input,
        `${input.a.table.fileName} ${input.a.table.rowLabel(i)} and ${input.b.table.fileName} ${input.b.table.rowLabel(j)} have different values in column ${JSON.stringify(col)} (${JSON.stringify(truthA[i])} vs ${JSON.stringify(truthB[j])})`,
      );
  }
}

function permute<T extends { length: number; [i: number]: unknown }>(arr: T, perm: Int32Array, make: (n: number) => T): T {
  const out = make(perm.length);
  for (let i = 0; i < perm.length; i++) out[i] = arr[perm[i]!];
  return out;
}

function permuteRead(read: ClassificationColumns, perm: Int32Array): ClassificationColumns {
  const out: ClassificationColumns = { yTrue: permuteLabels(read.yTrue, perm), proba: new Map(), used: read.used };
  if (read.yPred) out.yPred = permuteLabels(read.yPred, perm);
  if (read.score) out.score = permute(read.score, perm, (n) => new Float64Array(n));
  for (const [c, col] of read.proba)
    out.proba.set(
      c,
      permute(col, perm, (n) => new Float64Array(n)),
    );
  return out;
}

function classificationScorer(input: CompareInput, warnings: string[]): Scorer {
  const task = input.task as 'binary' | 'multiclass';
  const cols = input.columns ?? {};
  const { permB } = alignRows(input);
  const readA = readClassification(input.a.table, cols, task);
  const readB0 = readClassification(input.b.table, cols, task);
  const canon = canonicaliser(readA.yTrue.labels, readB0.yTrue.labels);
  checkSameTruth(input, labelStrings(readA.yTrue, canon), labelStrings(readB0.yTrue, canon), permB, String(readA.used.y_true));
  const readB = permuteRead(readB0, permB);
  const opts: EvaluateOptions = { task, ...(input.positiveLabel !== undefined ? { positiveLabel: input.positiveLabel } : {}) };
  if (task === 'binary') return binaryScorer(input, readA, readB, opts, warnings);
  const ea = encodeMulticlass(input.a.table, readA);
  const eb = encodeMulticlass(input.b.table, readB);
  // One class list for both, so a label only one model predicts still counts as a (wrong) class.
  const labels = sortLabels([...ea.labels, ...eb.labels]);
  const reindex = (codes: ArrayLike<number>, own: string[]) => Int32Array.from(codes, (c) => labels.indexOf(own[c]!));
  const yTrue = reindex(ea.yTrue, ea.labels);
  const predA = reindex(ea.yPred ?? argmax(ea.proba!), ea.labels);
  const predB = reindex(eb.yPred ?? argmax(eb.proba!), eb.labels);
  const metric = input.metric ?? 'accuracy';
  const k = labels.length;
  const known = ['accuracy', 'balanced_accuracy', 'f1_macro', 'precision_macro', 'recall_macro', 'f1_weighted', 'mcc', 'cohen_kappa'];
  if (!known.includes(metric)) unknownMetric(metric, known);
  const statOf =
    (pred: Int32Array): WeightedStatistic =>
    (w) =>
      labelMetrics(confusionMatrix(yTrue, pred, k, w), k).metrics[metric] ?? null;
  return {
    n: yTrue.length,
    metric,
    statA: statOf(predA),
    statB: statOf(predB),
    correct: {
      a: Uint8Array.from(predA, (c, i) => (c === yTrue[i] ? 1 : 0)),
      b: Uint8Array.from(predB, (c, i) => (c === yTrue[i] ? 1 : 0)),
    },
  };
}

function argmax(proba: Float64Array[]): Int32Array {
  const n = proba[0]!.length;
  return Int32Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let c = 1; c < proba.length; c++) if (proba[c]![i]! > proba[best]![i]!) best = c;
    return best;
  });
}

function unknownMetric(metric: string, known: string[]): never {
  throw new PredictionsError(`metric ${JSON.stringify(metric)} cannot be compared for this task; use one of ${known.join(', ')}`, {
    file: 'metric',
  });
}

function binaryScorer(
  input: CompareInput,
  readA: ClassificationColumns,
  readB: ClassificationColumns,
  opts: EvaluateOptions,
  warnings: string[],
): Scorer {
  const ea = encodeBinary(input.a.table, readA, opts);
  const eb = encodeBinary(input.b.table, readB, opts);
  const t = input.decisionThreshold ?? 0.5;
  const predOf = (e: typeof ea) => e.yPred ?? Uint8Array.from(e.score!, (s) => (s >= t ? 1 : 0));
  const pa = predOf(ea);
  const pb = predOf(eb);
  const y = ea.y;
  const metric = input.metric ?? (ea.score && eb.score ? 'roc_auc' : 'accuracy');
  const statOf = (pred: Uint8Array, score: Float64Array | undefined): WeightedStatistic => {
    if (metric === 'roc_auc' || metric === 'average_precision') {
      if (!score) unknownMetric(metric, ['accuracy', 'f1', 'precision', 'recall']);
      const so = scoreOrder(score);
      return metric === 'roc_auc' ? (w) => rocAucSorted(so, y, w) : (w) => averagePrecisionSorted(so, y, w);
    }
    const known = [
      'roc_auc',
      'average_precision',
      'accuracy',
      'balanced_accuracy',
      'f1',
      'precision',
      'recall',
      'mcc',
      'cohen_kappa',
      'f1_macro',
    ];
    if (!known.includes(metric)) unknownMetric(metric, known);
    const yt = Int32Array.from(y);
    const yp = Int32Array.from(pred);
    return (w) => labelMetrics(confusionMatrix(yt, yp, 2, w), 2, 1).metrics[metric] ?? null;
  };
  if ((!ea.yPred || !eb.yPred) && !input.metric)
    warnings.push(`McNemar uses predicted labels derived from score ≥ ${t} where a file has no predicted-label column`);
  return {
    n: y.length,
    metric,
    statA: statOf(pa, ea.score),
    statB: statOf(pb, eb.score),
    correct: { a: Uint8Array.from(pa, (p, i) => (p === y[i] ? 1 : 0)), b: Uint8Array.from(pb, (p, i) => (p === y[i] ? 1 : 0)) },
  };
}

function regressionScorer(input: CompareInput): Scorer {
  const cols = input.columns ?? {};
  const { permB } = alignRows(input);
  const ra = readRegression(input.a.table, cols, false);
  const rb = readRegression(input.b.table, cols, false);
  checkSameTruth(input, ra.y, rb.y, permB, String(ra.used.y_true));
  const yhatB = permute(rb.yhat, permB, (n) => new Float64Array(n));
  const metric = input.metric ?? 'rmse';
  const fns: Record<string, (y: Float64Array, p: Float64Array, w: Weights) => number> = {
    rmse: rmseWeighted,
    mae: maeWeighted,
    r2: r2Weighted,
  };
  const fn = fns[metric] ?? unknownMetric(metric, Object.keys(fns));
  return { n: ra.y.length, metric, statA: (w) => fn(ra.y, ra.yhat, w), statB: (w) => fn(ra.y, yhatB, w) };
}

function rankingScorer(input: CompareInput): Scorer {
  const cols = input.columns ?? {};
  const k = input.k ?? 10;
  const metric = input.metric ?? `ndcg_at_${k}`;
  const qa = readRanking(input.a.table, cols).queries;
  const qb = readRanking(input.b.table, cols).queries;
  const byId = new Map(qb.map((q) => [q.id, q]));
  const pairedB: RankingQuery[] = qa.map((q) => {
    const other = byId.get(q.id);
    if (!other)
      throw notSameSet(input, `query ${JSON.stringify(q.id)} is in ${input.a.table.fileName} but not in ${input.b.table.fileName}`);
    if (other.relevantGrades.length !== q.relevantGrades.length)
      throw notSameSet(input, `query ${JSON.stringify(q.id)} has different relevant items`);
    return other;
  });
  if (qb.length !== qa.length) throw notSameSet(input, `${input.b.table.fileName} has queries that ${input.a.table.fileName} lacks`);
  const ma = rankingMetrics(qa, { ks: [k] }).perQuery[metric];
  const mb = rankingMetrics(pairedB, { ks: [k] }).perQuery[metric];
  if (!ma || !mb) unknownMetric(metric, [`ndcg_at_${k}`, `map_at_${k}`, `precision_at_${k}`, `recall_at_${k}`, `hit_rate_at_${k}`, 'mrr']);
  return {
    n: ma.length,
    metric,
    statA: (w) => (ma.length ? weightedMean(ma, w) : null),
    statB: (w) => (mb.length ? weightedMean(mb, w) : null),
  };
}
