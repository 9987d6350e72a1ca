import { fmt } from '../../render/format.js';
import { check, thresholdCall, type GateDefinition } from './types.js';

export const beatsBaselineGate: GateDefinition = {
  id: 'beats-baseline',
  summary: 'The best candidate improves on the best baseline by at least min_improvement, measured on the test set.',
  thresholds: [
    {
      key: 'min_improvement',
      default: 0.05,
      summary:
        'Required improvement: the share of the gap to a perfect score closed (bounded scores), else the relative reduction or increase.',
    },
  ],
  check(ctx) {
    const c = ctx.comparison;
    if (!c)
      return check(
        'beats-baseline',
        'fail',
        'Cannot rank the experiments: no primary metric. Set one with update_increment {"primary_metric": …}.',
      );
    const i = c.improvement;
    if (!c.best_candidate || !i)
      return check('beats-baseline', 'fail', `Needs a baseline and a completed candidate that both logged ${c.primary_metric}.`);
    const required = ctx.thresholds.min_improvement!;
    const measure = i.improvement === null ? 'undefined (baseline is 0)' : fmt(i.improvement);
    const ok = i.improvement !== null && i.improvement >= required;
    const on = i.measured_on === 'test' ? 'test set' : `${i.measured_on} value`;
    const base = `${i.candidate} ${c.primary_metric}=${fmt(i.candidate_value)} vs baseline ${i.baseline}=${fmt(i.baseline_value)} on the ${on}: improvement ${measure} (${i.rule}), required min_improvement ${required}.`;
    return ok
      ? check('beats-baseline', 'pass', base)
      : check('beats-baseline', 'fail', `${base} To change the margin: ${thresholdCall(ctx, { min_improvement: required })}.`);
  },
};
