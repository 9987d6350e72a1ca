/**
 * Paired significance tests for "is A really better than B on the same test set?".
 * Each returns a plain object; `pValue` is null (with `note`) where the test is undefined for the data.
 */
import { bootstrapSettings, type BootstrapOptions, type WeightedStatistic } from './bootstrap.js';
import { binomialHalfCdf, chi2Sf, normalSf, studentTIsf, studentTTwoSided } from './distributions.js';
import { Mulberry32 } from './prng.js';
import { averageRanks, quantileSorted } from './sort.js';

export interface McNemarResult {
  /** Rows A got right and B got wrong. */
  aOnly: number;
  /** Rows B got right and A got wrong. */
  bOnly: number;
  statistic: number;
  pValue: number;
  method: 'exact' | 'chi2-corrected';
  /** Odds ratio bOnly / aOnly (> 1 favours B); null when aOnly is 0. */
  oddsRatio: number | null;
}

/**
 * McNemar's test on the discordant pairs. Exact two-sided binomial test (p = min(1, 2·P(X ≤ min(b, c)))),
 * equal to scipy.stats.binomtest(min(b, c), b + c, 0.5), when b + c < 25; otherwise the chi-square statistic
 * with continuity correction (|b − c| − 1)² / (b + c) on 1 degree of freedom. No discordant pairs: p = 1.
 */
export function mcnemar(aCorrect: Uint8Array, bCorrect: Uint8Array): McNemarResult {
  let b = 0;
  let c = 0;
  for (let i = 0; i < aCorrect.length; i++) {
    if (aCorrect[i] && !bCorrect[i]) b++;
    else if (!aCorrect[i] && bCorrect[i]) c++;
  }
  return mcnemarFromCounts(b, c);
}

export function mcnemarFromCounts(aOnly: number, bOnly: number): McNemarResult {
  const m = aOnly + bOnly;
  const oddsRatio = aOnly > 0 ? bOnly / aOnly : null;
  if (m < 25) {
    const p = m === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(aOnly, bOnly), m));
    return { aOnly, bOnly, statistic: Math.min(aOnly, bOnly), pValue: p, method: 'exact', oddsRatio };
  }
  const stat = (Math.abs(aOnly - bOnly) - 1) ** 2 / m;
  return { aOnly, bOnly, statistic: stat, pValue: chi2Sf(stat, 1), method: 'chi2-corrected', oddsRatio };
}

export interface PairedBootstrapResult {
  /** metric(B) − metric(A) on the full data. */
  difference: number;
  lower: number;
  upper: number;
  confidence: number;
  /**
   * Two-sided bootstrap p-value: 2 · min(share of resampled differences ≤ 0, share ≥ 0), at most 1. Small when
   * the resampled differences keep one sign.
   */
  pValue: number;
  resamples: number;
  validResamples: number;
  seed: number;
}

/** Paired bootstrap of a metric difference: A and B are scored on the same resampled rows every time. */
export function pairedBootstrap(
  n: number,
  statA: WeightedStatistic,
  statB: WeightedStatistic,
  opts: BootstrapOptions = {},
): PairedBootstrapResult | null {
  const { resamples, seed, confidence } = bootstrapSettings(opts);
  const ones = new Float64Array(n).fill(1);
  const a0 = statA(ones);
  const b0 = statB(ones);
  if (a0 === null || b0 === null) return null;
  const rng = new Mulberry32(seed);
  const counts = new Float64Array(n);
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    rng.resampleCounts(counts);
    const a = statA(counts);
    const b = statB(counts);
    if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b)) diffs.push(b - a);
  }
  if (diffs.length === 0) return null;
  const sorted = Float64Array.from(diffs).sort();
  let le = 0;
  let ge = 0;
  for (const d of sorted) {
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  const alpha = (1 - confidence) / 2;
  return {
    difference: b0 - a0,
    lower: quantileSorted(sorted, alpha),
    upper: quantileSorted(sorted, 1 - alpha),
    confidence,
    pValue: Math.min(1, (2 * Math.min(le, ge)) / sorted.length),
    resamples,
    validResamples: sorted.length,
    seed,
  };
}

export interface PairedTestResult {
  statistic: number | null;
  pValue: number | null;
  n: number;
  /** Why the test is undefined, when it is. */
  note?: string;
}

export interface PairedTTestResult extends PairedTestResult {
  df: number;
  meanDifference: number;
  /** Cohen's d_z = mean(d) / sd(d) of the differences d = b − a; null when sd is 0. */
  cohensDz: number | null;
}

/**
 * Paired t-test on d = b − a, equal to scipy.stats.ttest_rel(b, a) (two-sided). Undefined (null) for fewer than
 * two pairs or zero variance of the differences (scipy gives NaN or ±inf there).
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): PairedTTestResult {
  const n = a.length;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = b[i]! - a[i]!;
  let mean = 0;
  for (const x of d) mean += x;
  mean /= n || 1;
  let ss = 0;
  for (const x of d) ss += (x - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const base = { n, df: n - 1, meanDifference: mean };
  if (n < 2) return { ...base, statistic: null, pValue: null, cohensDz: null, note: 'needs at least 2 paired scores' };
  if (sd === 0) return { ...base, statistic: null, pValue: null, cohensDz: null, note: 'the differences have zero variance' };
  const t = mean / (sd / Math.sqrt(n));
  return { ...base, statistic: t, pValue: studentTTwoSided(t, n - 1), cohensDz: mean / sd };
}

export interface CorrectedTTestResult extends PairedTestResult {
  df: number;
  meanDifference: number;
  /** n_test / n_train of one resampling split (1/(k−1) for k-fold cross-validation). */
  testTrainRatio: number;
  /** Interval of the mean difference b − a from the corrected standard error, at `confidence`. */
  lower: number | null;
  upper: number | null;
  confidence: number;
}

/**
 * The corrected resampled t-test of Nadeau & Bengio (2003) on per-split scores d = b − a. The J splits of
 * cross-validation share training rows, so their scores are positively correlated and the plain paired t-test's
 * variance σ²/J is too small (it rejects far too often). The correction replaces 1/J with 1/J + n_test/n_train:
 * t = mean(d) / sqrt((1/J + n_test/n_train) · var(d)), with J − 1 degrees of freedom. For k-fold CV,
 * n_test/n_train = 1/(k−1). It is still approximate (Bouckaert & Frank 2004), but no longer anti-conservative.
 */
export function correctedResampledTTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  testTrainRatio: number,
  confidence = 0.95,
): CorrectedTTestResult {
  const n = a.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += b[i]! - a[i]!;
  mean /= n || 1;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (b[i]! - a[i]! - mean) ** 2;
  const variance = n > 1 ? ss / (n - 1) : 0;
  const base = { n, df: n - 1, meanDifference: mean, testTrainRatio, confidence, statistic: null, pValue: null, lower: null, upper: null };
  if (n < 2) return { ...base, note: 'needs at least 2 paired fold scores' };
  if (!(testTrainRatio > 0) || !Number.isFinite(testTrainRatio))
    return { ...base, note: 'the test/train ratio of the splits must be a positive number' };
  if (variance === 0) return { ...base, note: 'the fold differences have zero variance' };
  const se = Math.sqrt((1 / n + testTrainRatio) * variance);
  const t = mean / se;
  const half = studentTIsf((1 - confidence) / 2, n - 1) * se;
  return { ...base, statistic: t, pValue: studentTTwoSided(t, n - 1), lower: mean - half, upper: mean + half };
}

export interface WilcoxonResult extends PairedTestResult {
  /**
   * The smallest two-sided p-value an exact test can give with this many nonzero differences: 2/2ⁿ, all of one sign
   * among the 2ⁿ equally likely sign patterns. With 5 folds it is 0.0625, so such a test can never reach α = 0.05.
   * The normal approximation (used with ties) can print a smaller p on few folds; this floor is the honest one.
   */
  minPValue: number | null;
  method: 'exact' | 'approx' | null;
  /** Matched-pairs rank-biserial correlation (r_plus − r_minus) / total rank sum, in [−1, 1]; > 0 favours b. */
  rankBiserial: number | null;
}

/**
 * Wilcoxon signed-rank test on d = b − a, matching scipy.stats.wilcoxon(b, a) 1.10 defaults (zero_method="wilcox",
 * correction=False, two-sided, method="auto"): statistic = min(r_plus, r_minus); exact null distribution when
 * n ≤ 50 with no zero and no tied |d|; otherwise the normal approximation with zeros dropped and the tie-corrected
 * variance. One deliberate difference: scipy 1.10 keeps the exact method when |d| has ties (silently truncating
 * the rank sum to an integer); we use the normal approximation then, equal to scipy's method="approx".
 */
export function wilcoxonSignedRank(a: ArrayLike<number>, b: ArrayLike<number>): WilcoxonResult {
  const n0 = a.length;
  const d: number[] = [];
  let zeros = 0;
  for (let i = 0; i < n0; i++) {
    const v = b[i]! - a[i]!;
    if (v === 0) zeros++;
    else d.push(v);
  }
  const undefinedResult = (note: string): WilcoxonResult => ({
    statistic: null,
    pValue: null,
    minPValue: null,
    n: n0,
    method: null,
    rankBiserial: null,
    note,
  });
  if (n0 === 0) return undefinedResult('no paired scores');
  if (d.length === 0) return undefinedResult('all differences are zero');
  const absD = Float64Array.from(d, Math.abs);
  const ranks = averageRanks(absD);
  let rPlus = 0;
  let rMinus = 0;
  for (let i = 0; i < d.length; i++) {
    if (d[i]! > 0) rPlus += ranks[i]!;
    else rMinus += ranks[i]!;
  }
  const T = Math.min(rPlus, rMinus);
  const rankBiserial = (rPlus - rMinus) / (rPlus + rMinus);
  const tieCounts = tieGroupSizes(absD);
  const exact = n0 <= 50 && zeros === 0 && tieCounts.length === 0;
  if (exact)
    return { statistic: T, pValue: wilcoxonExactP(d.length, rPlus), minPValue: exactFloor(d.length), n: n0, method: 'exact', rankBiserial };
  const count = d.length;
  const mn = (count * (count + 1)) / 4;
  let se = count * (count + 1) * (2 * count + 1);
  for (const t of tieCounts) se -= 0.5 * t * (t * t - 1);
  se = Math.sqrt(se / 24);
  const z = (T - mn) / se;
  return { statistic: T, pValue: 2 * normalSf(Math.abs(z)), minPValue: exactFloor(count), n: n0, method: 'approx', rankBiserial };
}

const exactFloor = (nonzero: number) => Math.min(1, 2 / Math.pow(2, nonzero));

/** Sizes of groups of equal values larger than 1. */
function tieGroupSizes(v: Float64Array): number[] {
  const s = Float64Array.from(v).sort();
  const sizes: number[] = [];
  let i = 0;
  while (i < s.length) {
    let j = i + 1;
    while (j < s.length && s[j] === s[i]) j++;
    if (j - i > 1) sizes.push(j - i);
    i = j;
  }
  return sizes;
}

/** Exact two-sided p from the distribution of the positive rank sum of n untied ranks (counts fit in a double). */
function wilcoxonExactP(n: number, rPlus: number): number {
  const max = (n * (n + 1)) / 2;
  let counts = new Float64Array(max + 1);
  counts[0] = 1;
  for (let k = 1; k <= n; k++) {
    const next = Float64Array.from(counts);
    for (let s = k; s <= max; s++) next[s]! += counts[s - k]!;
    counts = next;
  }
  const total = Math.pow(2, n);
  const r = Math.floor(rPlus);
  if (r === Math.floor(max / 2)) return 1; // scipy: the centre of the distribution gives exactly 1
  let less = 0;
  let greater = 0;
  for (let s = 0; s <= max; s++) {
    if (s <= r) less += counts[s]! / total;
    if (s >= r) greater += counts[s]! / total;
  }
  return Math.min(1, 2 * Math.min(less, greater));
}
