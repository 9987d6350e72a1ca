import { resolveMetric } from '../metrics/vocabulary.js';
import { facetOf, MetricIndex } from '../selection.js';
import { fmt } from '../../render/format.js';
import { check, thresholdCall, type GateContext, type GateDefinition } from './types.js';

interface Spread {
  metric: string;
  mean: number;
  std: number;
  folds: number | null;
}

function sampleStats(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) };
}

/** The CV spread of every metric the best experiment cross-validated: the logged summary, else its fold history. */
function spreads(ctx: GateContext): Spread[] {
  const best = ctx.best!;
  const index = new MetricIndex(best.metrics);
  const out = new Map<string, Spread>();
  for (const name of Object.keys(best.metrics)) {
    const f = facetOf(name);
    if (f.split !== 'cv' || f.stat !== 'std' || out.has(f.key)) continue;
    const mean = index.get(f.key, 'cv', 'mean');
    if (!mean) continue;
    out.set(f.key, { metric: f.key, mean: mean.value, std: best.metrics[name]!, folds: index.get(f.key, 'cv', 'count')?.value ?? null });
  }
  for (const [name, values] of ctx.bestFolds) {
    const f = facetOf(name);
    if (out.has(f.key) || values.length < 2) continue;
    const s = sampleStats(values.map((v) => (f.sign === -1 ? -v : v)));
    out.set(f.key, { metric: f.key, ...s, folds: values.length });
  }
  return [...out.values()];
}

/**
 * Bounded scores (accuracy, AUC, R² …) are judged on the absolute std; unbounded ones (RMSE, MAE, loss) on the std
 * relative to the mean, so an RMSE std of 3.9 on a mean of 60 (6.5 %) is stable. A metric the vocabulary does not
 * know counts as bounded when its mean lies in [0, 1].
 */
function judge(s: Spread, t: Record<string, number>): { ok: boolean; text: string; key: string } {
  const known = resolveMetric(s.metric);
  const bounded = known ? known.bounded : s.mean >= 0 && s.mean <= 1;
  const folds = s.folds !== null ? `, ${s.folds} folds` : '';
  if (bounded) {
    const max = t.max_cv_std!;
    return {
      ok: s.std <= max,
      key: 'max_cv_std',
      text: `${s.metric} std ${fmt(s.std)} on mean ${fmt(s.mean)}${folds} (bounded: max_cv_std ${max})`,
    };
  }
  const max = t.max_cv_relative_std!;
  const relative = s.mean === 0 ? Infinity : s.std / Math.abs(s.mean);
  return {
    ok: relative <= max,
    key: 'max_cv_relative_std',
    text: `${s.metric} std ${fmt(s.std)} on mean ${fmt(s.mean)} = ${fmt(relative)} of the mean${folds} (unbounded: max_cv_relative_std ${max})`,
  };
}

export const cvStabilityGate: GateDefinition = {
  id: 'cv-stability',
  summary:
    'The selected model scores alike on every cross-validation fold: an absolute bound for bounded metrics, a relative one for the rest.',
  thresholds: [
    {
      key: 'max_cv_std',
      default: 0.05,
      summary: 'Largest CV standard deviation of a bounded metric (accuracy, F1, AUC, R² …), in its own units.',
    },
    {
      key: 'max_cv_relative_std',
      default: 0.1,
      summary: 'Largest CV standard deviation of an unbounded metric (RMSE, MAE, loss …) as a share of its mean.',
    },
  ],
  check(ctx) {
    if (!ctx.best) return check('cv-stability', 'warn', 'No best experiment to check cross-validation for.');
    const all = spreads(ctx);
    if (all.length === 0)
      return check(
        'cv-stability',
        'warn',
        `${ctx.best.name} logged no cross-validation fold scores (history of cv_<metric> per fold, or cv_<metric>_mean and cv_<metric>_std).`,
      );
    const judged = all.map((s) => judge(s, ctx.thresholds));
    const failed = judged.filter((j) => !j.ok);
    const list = judged.map((j) => `${j.text}${j.ok ? '' : ' — too spread'}`).join('; ');
    if (!failed.length) return check('cv-stability', 'pass', `${ctx.best.name}: ${list}.`);
    const keys = Object.fromEntries([...new Set(failed.map((f) => f.key))].map((k) => [k, ctx.thresholds[k]!]));
    return check(
      'cv-stability',
      'fail',
      `${ctx.best.name}: ${list}. If this spread is acceptable for the problem, raise the bound: ${thresholdCall(ctx, keys)}.`,
    );
  },
};
