/**
 * Ranking experiments on a metric, and how much the best candidate improves on the best baseline.
 * Pure functions over loaded experiments; docs/format.md explains the direction and improvement rules.
 */
import { metricDirection, resolveMetric } from './metrics/vocabulary.js';
import { normalizeMetricName } from './names.js';
import { facetOf, MetricIndex } from './selection.js';

export type Direction = 'maximize' | 'minimize';

const BOUNDED_WORDS = [
  'accuracy',
  'acc',
  'precision',
  'recall',
  'f1',
  'auc',
  'roc_auc',
  'average_precision',
  'ap',
  'r2',
  'ndcg',
  'map',
  'mrr',
  'hit_rate',
  'hitrate',
  'balanced_accuracy',
  'specificity',
  'sensitivity',
  'iou',
  'dice',
  'coverage',
];

/** The metric vocabulary's direction; for names it does not know, the name-based rule (loss, error, time… minimize). */
export function inferDirection(metric: string): Direction {
  return metricDirection(metric);
}

function isBoundedScoreName(metric: string): boolean {
  const known = resolveMetric(metric);
  if (known) return known.bounded && known.bounds[1] === 1;
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
  return {
    baseline: baseline.name,
    baseline_value: baseline.value,
    candidate: candidate.name,
    candidate_value: candidate.value,
    absolute,
    improvement,
    rule,
  };
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

/**
 * Looks a metric up by exact name, then by what the name measures: "Precision@10" finds "precision_at_10", "R^2"
 * finds "r2", "accuracy" finds "test_accuracy", and "rmse" finds a logged "neg_root_mean_squared_error" with its
 * sign turned (a negated score is the metric times −1).
 */
export function metricValue(metrics: Record<string, number>, metric: string): number | undefined {
  if (metric in metrics) return metrics[metric];
  const f = facetOf(metric);
  return new MetricIndex(metrics).get(f.key, f.split, f.stat)?.value;
}

export interface Tie {
  /** The tied experiments, in the order the tie-break put them. */
  experiments: string[];
  value: number;
  /** How the order inside the tie was decided. */
  broken_by: 'lower cv std' | 'name order';
}

export interface RankedEntry<T extends Rankable> {
  rank: number;
  experiment: T;
  value: number;
}

/** Values equal to 12 significant digits are a tie: summation order must not decide a ranking. */
const tieKey = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(12)) : v);

/**
 * Sorts experiments best first on `metric` (a name, or a function giving each experiment's value). NaN values (a
 * diverged run) rank last but are kept. Equal values are a tie, stated in `ties`: broken by the lower spread
 * (`spreadOf`, the CV std) where both have one, else by name so the order is at least deterministic.
 */
export function rankByMetric<T extends Rankable>(
  experiments: T[],
  metric: string | ((e: T) => number | undefined),
  direction: Direction,
  spreadOf: (e: T) => number | null | undefined = () => undefined,
): { ranked: RankedEntry<T>[]; missing: T[]; ties: Tie[] } {
  const valueOf = typeof metric === 'string' ? (e: T) => metricValue(e.metrics, metric) : metric;
  const withValue: { experiment: T; value: number; key: number; spread: number | null | undefined }[] = [];
  const missing: T[] = [];
  for (const e of experiments) {
    const v = valueOf(e);
    if (v === undefined) missing.push(e);
    else withValue.push({ experiment: e, value: v, key: tieKey(v), spread: spreadOf(e) });
  }
  const sign = direction === 'maximize' ? -1 : 1;
  const bySpread = (a: number | null | undefined, b: number | null | undefined) => (a ?? Infinity) - (b ?? Infinity) || 0;
  withValue.sort((a, b) => {
    const an = Number.isNaN(a.value);
    const bn = Number.isNaN(b.value);
    if (an !== bn) return an ? 1 : -1;
    const d = an ? 0 : sign * (a.key - b.key);
    if (d !== 0 && !Number.isNaN(d)) return d;
    return bySpread(a.spread, b.spread) || (a.experiment.name < b.experiment.name ? -1 : a.experiment.name > b.experiment.name ? 1 : 0);
  });
  const ties: Tie[] = [];
  for (let i = 0; i < withValue.length;) {
    let j = i + 1;
    while (j < withValue.length && !Number.isNaN(withValue[i]!.value) && withValue[j]!.key === withValue[i]!.key) j += 1;
    if (j - i > 1) {
      const group = withValue.slice(i, j);
      const spreads = group.map((g) => g.spread);
      const bySpreadDecided = spreads.every((s) => typeof s === 'number') && new Set(spreads).size === spreads.length;
      ties.push({
        experiments: group.map((g) => g.experiment.name),
        value: group[0]!.value,
        broken_by: bySpreadDecided ? 'lower cv std' : 'name order',
      });
    }
    i = j;
  }
  return { ranked: withValue.map((w, i) => ({ rank: i + 1, experiment: w.experiment, value: w.value })), missing, ties };
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
