/**
 * Regression and forecast metrics, matching sklearn 1.2: mean_squared_error (RMSE = its square root),
 * mean_absolute_error, mean_absolute_percentage_error (a fraction; |y| is floored at float64 eps, so a zero
 * target gives a huge but finite term), median_absolute_error, r2_score and explained_variance_score (with
 * sklearn's force_finite convention: a constant target scores 1 when predicted perfectly, else 0).
 * sMAPE and MASE have no sklearn counterpart; their definitions are given below.
 */
import type { Weights } from './bootstrap.js';
import type { Metrics } from './types.js';

const F64_EPS = 2.220446049250313e-16;

export interface ForecastOptions {
  /** Seasonal period m of the naive forecast that scales MASE (1 = previous value). */
  seasonalPeriod?: number;
  /**
   * The in-sample (training) series, in time order. MASE divides by its mean absolute m-step naive error, as in
   * Hyndman & Koehler (2006). Without it, the naive seasonal error of the evaluated series itself (y_true in row
   * order) is used instead — an out-of-sample scale, stated in a warning.
   */
  insample?: ArrayLike<number>;
}

export interface RegressionOutcome {
  metrics: Metrics;
  warnings: string[];
}

export function regressionMetrics(y: Float64Array, yhat: Float64Array, forecast?: ForecastOptions): RegressionOutcome {
  const warnings: string[] = [];
  const n = y.length;
  let abs = 0;
  let sq = 0;
  let ape = 0;
  let sape = 0;
  let zeros = 0;
  const absErr = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = y[i]! - yhat[i]!;
    const a = Math.abs(e);
    absErr[i] = a;
    abs += a;
    sq += e * e;
    const ay = Math.abs(y[i]!);
    if (ay === 0) zeros++;
    ape += Math.abs(yhat[i]! - y[i]!) / Math.max(ay, F64_EPS);
    const denom = ay + Math.abs(yhat[i]!);
    sape += denom === 0 ? 0 : (2 * a) / denom;
  }
  const metrics: Metrics = {
    rmse: Math.sqrt(sq / n),
    mae: abs / n,
    mape: ape / n,
    smape: sape / n,
    median_ae: median(absErr),
    r2: r2Weighted(y, yhat),
    explained_variance: explainedVariance(y, yhat),
  };
  if (zeros > 0)
    warnings.push(
      `mape: ${zeros} true value(s) are 0; as in scikit-learn their |y| is floored at ${F64_EPS}, so mape is dominated by them`,
    );
  if (isConstant(y))
    warnings.push('r2 and explained_variance are undefined for a constant target; reported as scikit-learn does (1 if perfect, else 0)');
  if (forecast) metrics.mase = mase(y, abs / n, forecast, warnings);
  return { metrics, warnings };
}

/**
 * MASE = MAE / mean_t |s_t − s_{t−m}| where s is the in-sample series if given, otherwise y_true itself.
 * Null (with a warning) when the series is not longer than m or its naive error is 0.
 */
function mase(y: Float64Array, mae: number, opts: ForecastOptions, warnings: string[]): number | null {
  const m = opts.seasonalPeriod ?? 1;
  const s = opts.insample ?? y;
  if (opts.insample === undefined)
    warnings.push(`mase: no in-sample series given; scaled by the ${m}-step naive error of the evaluated series itself`);
  if (s.length <= m) {
    warnings.push(
      `mase is undefined: the ${opts.insample ? 'in-sample' : 'evaluated'} series has ${s.length} value(s), not more than the seasonal period ${m}`,
    );
    return null;
  }
  let naive = 0;
  for (let t = m; t < s.length; t++) naive += Math.abs(s[t]! - s[t - m]!);
  naive /= s.length - m;
  if (naive === 0) {
    warnings.push(`mase is undefined: the ${m}-step naive forecast of the scaling series is perfect (error 0)`);
    return null;
  }
  return mae / naive;
}

function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function isConstant(y: Float64Array): boolean {
  for (let i = 1; i < y.length; i++) if (y[i] !== y[0]) return false;
  return true;
}

function weightedMean(v: Float64Array, w?: Weights): number {
  let s = 0;
  let ws = 0;
  for (let i = 0; i < v.length; i++) {
    const wt = w ? w[i]! : 1;
    s += wt * v[i]!;
    ws += wt;
  }
  return s / ws;
}

/** sklearn r2_score with force_finite=True, optionally weighted (bootstrap resamples). */
export function r2Weighted(y: Float64Array, yhat: Float64Array, w?: Weights): number {
  const mean = weightedMean(y, w);
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    const wt = w ? w[i]! : 1;
    num += wt * (y[i]! - yhat[i]!) ** 2;
    den += wt * (y[i]! - mean) ** 2;
  }
  if (den === 0) return num === 0 ? 1 : 0;
  return 1 - num / den;
}

function explainedVariance(y: Float64Array, yhat: Float64Array): number {
  const n = y.length;
  const diff = new Float64Array(n);
  for (let i = 0; i < n; i++) diff[i] = y[i]! - yhat[i]!;
  const diffMean = weightedMean(diff);
  const yMean = weightedMean(y);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (diff[i]! - diffMean) ** 2;
    den += (y[i]! - yMean) ** 2;
  }
  if (den === 0) return num === 0 ? 1 : 0;
  return 1 - num / n / (den / n);
}

export function rmseWeighted(y: Float64Array, yhat: Float64Array, w?: Weights): number {
  let s = 0;
  let ws = 0;
  for (let i = 0; i < y.length; i++) {
    const wt = w ? w[i]! : 1;
    s += wt * (y[i]! - yhat[i]!) ** 2;
    ws += wt;
  }
  return Math.sqrt(s / ws);
}

export function maeWeighted(y: Float64Array, yhat: Float64Array, w?: Weights): number {
  let s = 0;
  let ws = 0;
  for (let i = 0; i < y.length; i++) {
    const wt = w ? w[i]! : 1;
    s += wt * Math.abs(y[i]! - yhat[i]!);
    ws += wt;
  }
  return s / ws;
}
