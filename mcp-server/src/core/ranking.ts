/**
 * Ranking experiments on a metric, and how much the best candidate improves on the best baseline.
 * Pure functions over loaded experiments; docs/format.md explains the direction and improvement rules.
 */
import { normalizeMetricName } from './names.js';

export type Direction = 'maximize' | 'minimize';

const MINIMIZE_WORDS = [
  'loss', 'error', 'err', 'rmse', 'mse', 'mae', 'mape', 'smape', 'mase', 'latency', 'time', 'duration',
  'perplexity', 'brier', 'ece', 'fpr', 'fnr', 'cost', 'size', 'memory',
];
const BOUNDED_WORDS = [
  'accuracy', 'acc', 'precision', 'recall', 'f1', 'auc', 'roc_auc', 'average_precision', 'ap', 'r2', 'ndcg', 'map',
  'mrr', 'hit_rate', 'hitrate', 'balanced_accuracy', 'specificity', 'sensitivity', 'iou', 'dice', 'coverage',
];

export function inferDirection(metric: string): Direction {
  const words = normalizeMetricName(metric).split('_');
  return words.some((w) => MINIMIZE_WORDS.includes(w)) ? 'minimize' : 'maximize';
}

function isBoundedScoreName(metric: string): boolean {
  const norm = normalizeMetricName(metric);
  const words = norm.split('_');
  return BOUNDED_WORDS.some((b) => (b.includes('_') ? norm.includes(b) : words.includes(b)));
}

export type ImprovementRule = 'gap_closed' | 'relative_reduction' | 'relative_increase';

export interface Improvement {
  baseline: string;
  baseline_value: number;
  candidate: string;
  candidate_value: number;
  absolute: number;
  /** The documented improvement measure for this metric (see `rule`). */
  improvement: number | null;
  rule: ImprovementRule;
}

/**
 * How much `candidate` improves on `baseline`. Bounded scores that maximize use the share of the gap to 1.0 closed,
 * so 0.90 → 0.95 (half the remaining errors gone) counts for more than 0.50 → 0.55.
 */
export function improvementOver(
  metric: string,
  direction: Direction,
  baseline: { name: string; value: number },
  candidate: { name: string; value: number },
  observedValues: number[] = [],
): Improvement {
  const absolute = candidate.value - baseline.value;
  const bounded =
    direction === 'maximize' &&
    (isBoundedScoreName(metric) || (observedValues.length > 0 && observedValues.every((v) => v >= 0 && v <= 1)));
  let rule: ImprovementRule;
  let improvement: number | null;
  if (direction === 'minimize') {
    rule = 'relative_reduction';
    improvement = baseline.value === 0 ? null : (baseline.value - candidate.value) / Math.abs(baseline.value);
  } else if (bounded && baseline.value <= 1) {
    rule = 'gap_closed';
    improvement = baseline.value === 1 ? (candidate.value >= 1 ? 0 : -Infinity) : absolute / (1 - baseline.value);
  } else {
    rule = 'relative_increase';
    improvement = baseline.value === 0 ? null : absolute / Math.abs(baseline.value);
  }
  return { baseline: baseline.name, baseline_value: baseline.value, candidate: candidate.name, candidate_value: candidate.value, absolute, improvement, rule };
}

export interface Rankable {
  name: string;
  baseline: boolean;
  status: string;
  metrics: Record<string, number>;
}

export interface RankedEntry<T extends Rankable> {
  rank: number;
  experiment: T;
  value: number;
}

/** Looks a metric up by exact name, then by normalised name ("Precision@10" finds "precision_at_10"). */
export function metricValue(metrics: Record<string, number>, metric: string): number | undefined {
  if (metric in metrics) return metrics[metric];
  const wanted = normalizeMetricName(metric);
  for (const [k, v] of Object.entries(metrics)) if (normalizeMetricName(k) === wanted) return v;
  return undefined;
}

/**
 * Sorts experiments best first. NaN values (a diverged run) rank last but are kept; ties keep name order so the
 * ranking is deterministic.
 */
export function rankByMetric<T extends Rankable>(
  experiments: T[],
  metric: string,
  direction: Direction,
): { ranked: RankedEntry<T>[]; missing: T[] } {
  const withValue: { experiment: T; value: number }[] = [];
  const missing: T[] = [];
  for (const e of experiments) {
    const v = metricValue(e.metrics, metric);
    if (v === undefined) missing.push(e);
    else withValue.push({ experiment: e, value: v });
  }
  const sign = direction === 'maximize' ? -1 : 1;
  withValue.sort((a, b) => {
    const an = Number.isNaN(a.value);
    const bn = Number.isNaN(b.value);
    if (an !== bn) return an ? 1 : -1;
    const d = an ? 0 : sign * (a.value - b.value);
    if (d !== 0 && !Number.isNaN(d)) return d;
    return a.experiment.name < b.experiment.name ? -1 : a.experiment.name > b.experiment.name ? 1 : 0;
  });
  return { ranked: withValue.map((w, i) => ({ rank: i + 1, ...w })), missing };
}

/**
 * The best run overall, the best baseline and the best candidate. Failed and killed runs stay in the ranking
 * (they are part of the record) but are never chosen: their numbers are not trustworthy.
 */
export function bestOf<T extends Rankable>(ranked: RankedEntry<T>[]) {
  const usable = ranked.filter((r) => !Number.isNaN(r.value) && r.experiment.status !== 'failed' && r.experiment.status !== 'killed');
  return {
    best: usable[0],
    bestBaseline: usable.find((r) => r.experiment.baseline),
    bestCandidate: usable.find((r) => !r.experiment.baseline),
  };
}
