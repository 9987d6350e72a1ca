/**
 * Seeded, reproducible bootstrap. A resample is a vector of draw counts used as row weights, so each metric is
 * recomputed in one weighted pass over data that was sorted once (no copying, no re-sorting per resample).
 * Intervals are percentile intervals (numpy "linear" quantiles of the resampled values). Resamples on which a
 * metric is undefined (e.g. a resample with one class for ROC AUC) are left out and counted.
 */
import { Mulberry32 } from './prng.js';
import { quantileSorted } from './sort.js';
import type { ConfidenceInterval } from './types.js';

export interface BootstrapOptions {
  /** Default 1000. */
  resamples?: number;
  /** Default 42. The same seed and data always give the same interval. */
  seed?: number;
  /** Default 0.95. */
  confidence?: number;
}

/**
 * Row weights: a resample's draw counts (whole numbers, so 32-bit integers hold them exactly in half the memory of
 * doubles, and a pass over them reads half the bytes), or any non-negative weights.
 */
export type Weights = Float64Array | Uint32Array;

/**
 * A metric of weighted rows; returns null where undefined. `resample` numbers the resample whose weights these are
 * (undefined outside a bootstrap): statistics that share a costly pass use it to do that pass once (perResample).
 */
export type WeightedStatistic = (weights: Weights, resample?: number) => number | null;

/**
 * `compute` memoised per resample: the statistics of one resample (accuracy, f1, … from one confusion matrix) share
 * one pass over the rows. Without a resample number it always computes, as the weights may be anything.
 */
export function perResample<T>(compute: (weights: Weights) => T): (weights: Weights, resample?: number) => T {
  let at: number | undefined;
  let value: T | undefined;
  return (weights, resample) => {
    if (resample === undefined || resample !== at) {
      value = compute(weights);
      at = resample;
    }
    return value!;
  };
}

export const DEFAULT_BOOTSTRAP = { resamples: 1000, seed: 42, confidence: 0.95 } as const;

/**
 * The options with every unset field at its default. A field given as undefined (or null, from the wire) is unset:
 * spreading `{resamples: undefined}` over the defaults would silently mean zero resamples.
 */
export function bootstrapSettings(opts: BootstrapOptions = {}): { resamples: number; seed: number; confidence: number } {
  return {
    resamples: opts.resamples ?? DEFAULT_BOOTSTRAP.resamples,
    seed: opts.seed ?? DEFAULT_BOOTSTRAP.seed,
    confidence: opts.confidence ?? DEFAULT_BOOTSTRAP.confidence,
  };
}

/**
 * Percentile confidence intervals for several statistics of the same n rows, all computed on the same resamples.
 * `estimates` are the values on the full data; statistics whose estimate is null get no interval.
 */
export function bootstrapCI(
  n: number,
  statistics: Record<string, WeightedStatistic>,
  estimates: Record<string, number | null>,
  opts: BootstrapOptions = {},
  scratch?: Uint32Array,
): Record<string, ConfidenceInterval> {
  const { resamples, seed, confidence } = bootstrapSettings(opts);
  const names = Object.keys(statistics).filter((k) => typeof estimates[k] === 'number');
  const draws = runResamples(
    n,
    names.map((k) => statistics[k]!),
    resamples,
    seed,
    scratch,
  );
  const out: Record<string, ConfidenceInterval> = {};
  names.forEach((name, j) => {
    const values = draws[j]!;
    if (values.length === 0) return;
    const sorted = Float64Array.from(values).sort();
    const alpha = (1 - confidence) / 2;
    out[name] = {
      estimate: estimates[name] as number,
      lower: quantileSorted(sorted, alpha),
      upper: quantileSorted(sorted, 1 - alpha),
      confidence,
      resamples,
      validResamples: sorted.length,
      seed,
      method: 'percentile',
    };
  });
  return out;
}

/**
 * Draws `resamples` weight vectors and returns, per statistic, its defined values in draw order. The weights go
 * into `scratch` when given (n entries, overwritten): a caller may lend an array it no longer needs, so the
 * weights add nothing to its memory peak.
 */
export function runResamples(n: number, stats: WeightedStatistic[], resamples: number, seed: number, scratch?: Uint32Array): number[][] {
  const rng = new Mulberry32(seed);
  const counts = scratch?.length === n ? scratch : new Uint32Array(n); // n draws: no count exceeds n < 2³²
  const values: number[][] = stats.map(() => []);
  for (let r = 0; r < resamples; r++) {
    rng.resampleCounts(counts);
    stats.forEach((stat, j) => {
      const v = stat(counts, r);
      if (v !== null && Number.isFinite(v)) values[j]!.push(v);
    });
  }
  return values;
}
