/**
 * Classification metrics on encoded data: labels are class indices 0..k-1 (any integer array), the positive class of a
 * binary problem is encoded as 1 (Uint8Array of 0/1), scores are Float64Array. Every function takes optional
 * per-row weights so that a bootstrap resample is just a weight vector of draw counts. Formulas follow
 * scikit-learn 1.2 exactly (including its conventions for degenerate cases) unless noted.
 */
import type { Weights } from './bootstrap.js';
import { argsortAscending } from './sort.js';
import type { ClassReport, Metrics } from './types.js';

/** Row-major k×k confusion matrix: cm[t * k + p] = (weighted) rows with true t predicted p. */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, k: number, w?: Weights): Float64Array {
  const cm = new Float64Array(k * k);
  if (w) for (let i = 0; i < yTrue.length; i++) cm[yTrue[i]! * k + yPred[i]!]! += w[i]!;
  else for (let i = 0; i < yTrue.length; i++) cm[yTrue[i]! * k + yPred[i]!]! += 1;
  return cm;
}

export interface LabelMetrics {
  metrics: Metrics;
  perClass: Array<Omit<ClassReport, 'label'>>;
  warnings: string[];
}

/**
 * Metrics computed from predicted labels: accuracy, balanced accuracy, per-class / macro / weighted precision,
 * recall and F1, Matthews correlation and Cohen's kappa; plus plain precision/recall/f1 of `positive` if given.
 * Like sklearn, macro and weighted averages run over the classes present in y_true or y_pred only.
 */
export function labelMetrics(cm: Float64Array, k: number, positive?: number, labels?: string[]): LabelMetrics {
  const name = (c: number) => JSON.stringify(labels?.[c] ?? String(c));
  const rowSum = new Float64Array(k);
  const colSum = new Float64Array(k);
  let total = 0;
  let correct = 0;
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      const v = cm[t * k + p]!;
      rowSum[t]! += v;
      colSum[p]! += v;
      total += v;
    }
    correct += cm[t * k + t]!;
  }
  const perClass: LabelMetrics['perClass'] = [];
  const noPredicted: string[] = [];
  const noTrue: string[] = [];
  for (let c = 0; c < k; c++) {
    const tp = cm[c * k + c]!;
    // sklearn's zero_division="warn": an ill-defined precision or recall is 0 (and warned about).
    const precision = colSum[c]! > 0 ? tp / colSum[c]! : 0;
    const recall = rowSum[c]! > 0 ? tp / rowSum[c]! : 0;
    const denom = precision + recall;
    const f1 = denom === 0 ? 0 : (2 * precision * recall) / denom;
    perClass.push({ precision, recall, f1, support: rowSum[c]! });
    const present = rowSum[c]! > 0 || colSum[c]! > 0;
    if (present && colSum[c] === 0) noPredicted.push(name(c));
    if (present && rowSum[c] === 0) noTrue.push(name(c));
  }
  const metrics: Metrics = {};
  metrics.accuracy = total > 0 ? correct / total : null;
  Object.assign(metrics, averages(perClass, rowSum, colSum, total));
  metrics.balanced_accuracy = balancedAccuracy(perClass, rowSum);
  metrics.mcc = matthews(k, rowSum, colSum, total, correct);
  metrics.cohen_kappa = cohenKappa(cm, k, rowSum, colSum, total);
  if (positive !== undefined) {
    const pc = perClass[positive]!;
    metrics.precision = pc.precision;
    metrics.recall = pc.recall;
    metrics.f1 = pc.f1;
  }
  const warnings = labelWarnings(noPredicted, noTrue, metrics, positive, rowSum, colSum, name);
  return { metrics, perClass, warnings };
}

function averages(perClass: LabelMetrics['perClass'], rowSum: Float64Array, colSum: Float64Array, total: number): Metrics {
  const out: Metrics = {};
  for (const key of ['precision', 'recall', 'f1'] as const) {
    let macro = 0;
    let weighted = 0;
    let present = 0;
    for (let c = 0; c < perClass.length; c++) {
      if (rowSum[c] === 0 && colSum[c] === 0) continue;
      present++;
      macro += perClass[c]![key];
      weighted += perClass[c]![key] * rowSum[c]!;
    }
    out[`${key}_macro`] = present > 0 ? macro / present : null;
    out[`${key}_weighted`] = total > 0 ? weighted / total : null;
  }
  return out;
}

/** Mean recall over the classes that occur in y_true (sklearn drops the others, with a warning). */
function balancedAccuracy(perClass: LabelMetrics['perClass'], rowSum: Float64Array): number | null {
  let sum = 0;
  let count = 0;
  for (let c = 0; c < perClass.length; c++) {
    if (rowSum[c]! > 0) {
      sum += perClass[c]!.recall;
      count++;
    }
  }
  return count > 0 ? sum / count : null;
}

/** Multiclass MCC (Gorodkin's R_k), as sklearn: 0 when either marginal is constant. */
function matthews(k: number, rowSum: Float64Array, colSum: Float64Array, total: number, correct: number): number {
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let c = 0; c < k; c++) {
    tp += rowSum[c]! * colSum[c]!;
    pp += colSum[c]! * colSum[c]!;
    tt += rowSum[c]! * rowSum[c]!;
  }
  const covYtYp = correct * total - tp;
  const covYpYp = total * total - pp;
  const covYtYt = total * total - tt;
  if (covYpYp * covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}

/** Unweighted Cohen's kappa; null when the expected disagreement is 0 (sklearn returns NaN there). */
function cohenKappa(cm: Float64Array, k: number, rowSum: Float64Array, colSum: Float64Array, total: number): number | null {
  let observed = 0;
  let expected = 0;
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      if (t === p) continue;
      observed += cm[t * k + p]!;
      expected += (colSum[t]! * rowSum[p]!) / total;
    }
  }
  if (!(expected > 0)) return null;
  return 1 - observed / expected;
}

function labelWarnings(
  noPredicted: string[],
  noTrue: string[],
  metrics: Metrics,
  positive: number | undefined,
  rowSum: Float64Array,
  colSum: Float64Array,
  name: (c: number) => string,
): string[] {
  const w: string[] = [];
  if (noPredicted.length > 0)
    w.push(`precision is ill-defined for class ${noPredicted.join(', ')} (never predicted); set to 0 as scikit-learn does`);
  if (noTrue.length > 0)
    w.push(
      `recall is ill-defined for class ${noTrue.join(', ')} (absent from the true labels); set to 0 as scikit-learn does, ` +
        `and left out of balanced_accuracy`,
    );
  if (positive !== undefined && colSum[positive] === 0 && rowSum[positive] === 0)
    w.push(
      `precision, recall and f1 are ill-defined: the positive class ${name(positive)} is neither present nor predicted; set to 0 as scikit-learn does`,
    );
  if (metrics.cohen_kappa === null) w.push('cohen_kappa is undefined: true and predicted labels are all one and the same class');
  if (metrics.mcc === 0 && (isConstant(rowSum) || isConstant(colSum)))
    w.push('mcc is undefined (the true or the predicted labels are all one class); set to 0 as scikit-learn does');
  return w;
}

function isConstant(sums: Float64Array): boolean {
  let nonZero = 0;
  for (const v of sums) if (v > 0) nonZero++;
  return nonZero <= 1;
}

/** Descending order of scores plus the start of each run of tied scores: the one sort every curve metric shares. */
export interface ScoreOrder {
  /** Row indices by descending score. */
  order: Uint32Array;
  /** groupEnd[g] = exclusive end position (in `order`) of the g-th group of tied scores. */
  groupEnd: Uint32Array;
}

/**
 * `scratch` (n entries, overwritten) is lent to the sort (see argsortAscending) and then holds `groupEnd`, which
 * is valid only until the scratch is reused: for callers that sort several columns one after another.
 */
export function scoreOrder(score: Float64Array, scratch?: Uint32Array): ScoreOrder {
  const order = argsortAscending(score, scratch).reverse(); // in place: no second array of 4 bytes a row
  const n = order.length;
  // Count the groups first: a growing JS array of a million ends costs several times the typed one.
  const isEnd = (i: number) => i === n || score[order[i]!] !== score[order[i - 1]!];
  let groups = 0;
  for (let i = 1; i <= n; i++) if (isEnd(i)) groups++;
  const groupEnd = scratch && scratch.length >= groups ? scratch.subarray(0, groups) : new Uint32Array(groups);
  for (let i = 1, g = 0; i <= n; i++) if (isEnd(i)) groupEnd[g++] = i;
  return { order, groupEnd };
}

/**
 * A score order with its labels and ties folded into one byte a row, for the bootstrap: flags[i] bit 0 is the
 * label (1 = positive) of row order[i], bit 1 marks the last row of a group of tied scores. 5 bytes a row where
 * the order, its group ends and the labels take up to 9.
 */
export interface TiedOrder {
  order: Uint32Array;
  flags: Uint8Array;
}

export function tiedOrder(so: ScoreOrder, y: Uint8Array): TiedOrder {
  const { order, groupEnd } = so;
  const flags = new Uint8Array(order.length);
  for (let i = 0; i < order.length; i++) flags[i] = y[order[i]!]!;
  for (let g = 0; g < groupEnd.length; g++) flags[groupEnd[g]! - 1]! |= 2;
  return { order, flags };
}

/** rocAucSorted on a TiedOrder: the same sums in the same order, so the same value to the last bit. */
export function rocAucTied(t: TiedOrder, w: Weights): number | null {
  const { order, flags } = t;
  let tp = 0;
  let fp = 0;
  let area = 0;
  let gp = 0;
  let gn = 0;
  for (let i = 0; i < order.length; i++) {
    const wt = w[order[i]!]!;
    const f = flags[i]!;
    if (f & 1) gp += wt;
    else gn += wt;
    if (f & 2) {
      area += gn * (tp + gp / 2);
      tp += gp;
      fp += gn;
      gp = 0;
      gn = 0;
    }
  }
  if (tp === 0 || fp === 0) return null;
  return area / (tp * fp);
}

/**
 * ROC AUC as the Mann–Whitney statistic with tied scores counted one half: identical to sklearn's trapezoidal
 * area under roc_curve. One pass over the pre-sorted order; null when one class has zero weight.
 */
export function rocAucSorted(so: ScoreOrder, y: Uint8Array, w?: Weights): number | null {
  const { order, groupEnd } = so;
  let tp = 0;
  let fp = 0;
  let area = 0;
  let start = 0;
  for (let g = 0; g < groupEnd.length; g++) {
    const end = groupEnd[g]!;
    let gp = 0;
    let gn = 0;
    for (let i = start; i < end; i++) {
      const r = order[i]!;
      const wt = w ? w[r]! : 1;
      if (y[r] === 1) gp += wt;
      else gn += wt;
    }
    area += gn * (tp + gp / 2);
    tp += gp;
    fp += gn;
    start = end;
  }
  if (tp === 0 || fp === 0) return null;
  return area / (tp * fp);
}

/** Labels permuted into descending-score order, so bootstrap passes read memory sequentially. */
export interface PresortedBinary {
  y: Uint8Array;
  groupEnd: Uint32Array;
}

export function presort(so: ScoreOrder, y: Uint8Array): PresortedBinary {
  const sorted = new Uint8Array(so.order.length);
  for (let i = 0; i < sorted.length; i++) sorted[i] = y[so.order[i]!]!;
  return { y: sorted, groupEnd: so.groupEnd };
}

/** ROC AUC of presorted labels with weights indexed by sorted position (the bootstrap's inner loop). */
export function rocAucPresorted(p: PresortedBinary, w: Weights): number | null {
  const { y, groupEnd } = p;
  let tp = 0;
  let fp = 0;
  let area = 0;
  let start = 0;
  for (let g = 0; g < groupEnd.length; g++) {
    const end = groupEnd[g]!;
    let gp = 0;
    let gw = 0;
    for (let i = start; i < end; i++) {
      const wt = w[i]!;
      gw += wt;
      gp += wt * y[i]!;
    }
    const gn = gw - gp;
    area += gn * (tp + gp / 2);
    tp += gp;
    fp += gn;
    start = end;
  }
  if (tp === 0 || fp === 0) return null;
  return area / (tp * fp);
}

/** Average precision of presorted labels with weights indexed by sorted position. */
export function averagePrecisionPresorted(p: PresortedBinary, w: Weights): number | null {
  const { y, groupEnd } = p;
  let totalPos = 0;
  for (let i = 0; i < y.length; i++) totalPos += w[i]! * y[i]!;
  if (totalPos === 0) return null;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let start = 0;
  for (let g = 0; g < groupEnd.length; g++) {
    const end = groupEnd[g]!;
    let gp = 0;
    for (let i = start; i < end; i++) {
      const wt = w[i]!;
      seen += wt;
      gp += wt * y[i]!;
    }
    tp += gp;
    if (gp > 0) ap += (gp / totalPos) * (tp / seen);
    start = end;
  }
  return ap;
}

/**
 * rocAucPresorted and averagePrecisionPresorted in one pass over the rows (plus the positives' total that average
 * precision needs first): the same sums in the same order as each alone, so the same values to the last bit.
 */
export function rankingPresorted(p: PresortedBinary, w: Weights): { rocAuc: number | null; averagePrecision: number | null } {
  const { y, groupEnd } = p;
  let totalPos = 0;
  for (let i = 0; i < y.length; i++) totalPos += w[i]! * y[i]!;
  let tp = 0;
  let fp = 0;
  let area = 0;
  let seen = 0;
  let ap = 0;
  let start = 0;
  for (let g = 0; g < groupEnd.length; g++) {
    const end = groupEnd[g]!;
    let gp = 0;
    let gw = 0;
    for (let i = start; i < end; i++) {
      const wt = w[i]!;
      gw += wt;
      seen += wt;
      gp += wt * y[i]!;
    }
    const gn = gw - gp;
    area += gn * (tp + gp / 2);
    tp += gp;
    fp += gn;
    if (gp > 0 && totalPos !== 0) ap += (gp / totalPos) * (tp / seen);
    start = end;
  }
  return { rocAuc: tp === 0 || fp === 0 ? null : area / (tp * fp), averagePrecision: totalPos === 0 ? null : ap };
}

/**
 * Average precision exactly as sklearn: Σ over distinct thresholds of (R_i − R_{i−1}) · P_i, step-wise, with no
 * interpolation. Null when there are no positives (sklearn returns 0 there, which would read as a real score).
 */
export function averagePrecisionSorted(so: ScoreOrder, y: Uint8Array, w?: Weights): number | null {
  const { order, groupEnd } = so;
  let totalPos = 0;
  for (let i = 0; i < order.length; i++) if (y[i] === 1) totalPos += w ? w[i]! : 1;
  if (totalPos === 0) return null;
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let start = 0;
  for (let g = 0; g < groupEnd.length; g++) {
    const end = groupEnd[g]!;
    let gp = 0;
    for (let i = start; i < end; i++) {
      const r = order[i]!;
      const wt = w ? w[r]! : 1;
      if (y[r] === 1) gp += wt;
      else fp += wt;
    }
    tp += gp;
    if (gp > 0) ap += (gp / totalPos) * (tp / (tp + fp));
    start = end;
  }
  return ap;
}

/** float64 machine epsilon: sklearn 1.2's log_loss clips with eps="auto" = np.finfo(float64).eps. */
export const LOG_LOSS_EPS = 2.220446049250313e-16;

/** Binary log loss of P(positive), clipped and renormalised exactly like sklearn 1.2. */
export function binaryLogLoss(y: Uint8Array, p: Float64Array, w?: Weights): number {
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < y.length; i++) {
    const wt = w ? w[i]! : 1;
    if (wt === 0) continue;
    const q1 = Math.min(Math.max(p[i]!, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    const q0 = 1 - q1;
    const s = q0 + q1;
    sum -= wt * Math.log((y[i] === 1 ? q1 : q0) / s);
    wsum += wt;
  }
  return sum / wsum;
}

/** Brier score of P(positive): mean squared difference to the 0/1 outcome. */
export function binaryBrier(y: Uint8Array, p: Float64Array, w?: Weights): number {
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < y.length; i++) {
    const wt = w ? w[i]! : 1;
    const d = y[i]! - p[i]!;
    sum += wt * d * d;
    wsum += wt;
  }
  return sum / wsum;
}

/** Multiclass log loss: clip every probability to [eps, 1 − eps], renormalise each row, as sklearn 1.2. */
export function multiclassLogLoss(yTrue: ArrayLike<number>, proba: Float64Array[], w?: Weights): number {
  let sum = 0;
  let wsum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const wt = w ? w[i]! : 1;
    if (wt === 0) continue;
    let rowSum = 0;
    for (const col of proba) rowSum += Math.min(Math.max(col[i]!, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    const pt = Math.min(Math.max(proba[yTrue[i]!]![i]!, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    sum -= wt * Math.log(pt / rowSum);
    wsum += wt;
  }
  return sum / wsum;
}

/** Multiclass Brier score: mean over rows of Σ_c (p_c − 1[y = c])² (the original Brier 1950 definition). */
export function multiclassBrier(yTrue: ArrayLike<number>, proba: Float64Array[]): number {
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    for (let c = 0; c < proba.length; c++) {
      const d = proba[c]![i]! - (yTrue[i] === c ? 1 : 0);
      sum += d * d;
    }
  }
  return sum / yTrue.length;
}
