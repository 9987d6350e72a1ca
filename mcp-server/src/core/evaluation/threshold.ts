/**
 * Threshold tuning for binary scores — the fraud-detection question "what threshold gives 99 % precision, and how
 * much recall is left there?". Candidates are the distinct scores (predict positive when score ≥ threshold),
 * the same points as sklearn's precision_recall_curve.
 *  - target precision: among thresholds whose precision ≥ target, the one with the highest recall;
 *  - target recall: among thresholds whose recall ≥ target, the one with the highest precision;
 * ties go to the highest threshold (fewest positive predictions).
 */
import { scoreOrder, type ScoreOrder } from './classification.js';
import type { ThresholdResult } from './types.js';

export interface ThresholdTarget {
  metric: 'precision' | 'recall';
  value: number;
}

export function tuneThreshold(y: Uint8Array, score: Float64Array, target: ThresholdTarget, so?: ScoreOrder): ThresholdResult {
  const order = so ?? scoreOrder(score);
  let P = 0;
  for (let i = 0; i < y.length; i++) P += y[i]!;
  const N = y.length - P;
  let best: { t: number; tp: number; fp: number; key: number } | null = null;
  let tp = 0;
  let fp = 0;
  let start = 0;
  for (let g = 0; g < order.groupEnd.length; g++) {
    const end = order.groupEnd[g]!;
    for (let i = start; i < end; i++) {
      if (y[order.order[i]!] === 1) tp++;
      else fp++;
    }
    const t = score[order.order[start]!]!;
    start = end;
    const precision = tp / (tp + fp);
    const recall = P > 0 ? tp / P : 0;
    const meets = target.metric === 'precision' ? precision >= target.value : P > 0 && recall >= target.value;
    if (!meets) continue;
    const key = target.metric === 'precision' ? tp : precision;
    if (best === null || key > best.key) best = { t, tp, fp, key };
  }
  if (best === null) return unreached(target, P, N);
  return atThreshold(target, best.t, best.tp, best.fp, P, N);
}

function atThreshold(target: ThresholdTarget, t: number, tp: number, fp: number, P: number, N: number): ThresholdResult {
  const fn = P - tp;
  const tn = N - fp;
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = P > 0 ? tp / P : null;
  const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return {
    target: { ...target },
    reached: true,
    threshold: t,
    precision,
    recall,
    f1,
    fpr: N > 0 ? fp / N : null,
    accuracy: (tp + tn) / (P + N),
    tp,
    fp,
    tn,
    fn,
  };
}

function unreached(target: ThresholdTarget, P: number, N: number): ThresholdResult {
  return {
    target: { ...target },
    reached: false,
    threshold: null,
    precision: null,
    recall: null,
    f1: null,
    fpr: null,
    accuracy: null,
    tp: 0,
    fp: 0,
    tn: N,
    fn: P,
  };
}
