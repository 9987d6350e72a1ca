import { criteriaDifference, criteriaFromMarkdown, meetsCriterion, type Criterion } from '../criteria.js';
import { metricValue } from '../ranking.js';
import { fmt } from '../../render/format.js';
import { check, mlSettings, stripComments, type Check, type GateContext, type GateDefinition } from './types.js';

const describeCriteria = (list: Criterion[]) => list.map((c) => `"${c.metric} ${c.op} ${c.value}"`).join(', ');

/**
 * metadata.json holds the criteria (create_increment and update_increment write both files). A hand edit of
 * spec.md's Success Criteria that metadata.json does not have, or the other way round, is reported with the call
 * that makes them agree, rather than silently merged.
 */
function agreement(ctx: GateContext, stored: Criterion[]): Check[] {
  if (ctx.spec === undefined) return [];
  const custom = stored.filter((c) => c.custom).map((c) => c.metric);
  const fromSpec = criteriaFromMarkdown(stripComments(ctx.spec), custom);
  const checks: Check[] = [];
  for (const p of fromSpec.problems) {
    checks.push(
      check(
        'criteria-sync',
        'fail',
        `spec.md: "${p.text}": ${p.message} Then call update_increment with success_criteria${p.unknownMetric ? ` (and custom_metrics: ["${p.slug}"] for your own metric)` : ''}.`,
      ),
    );
  }
  for (const text of fromSpec.unparsed)
    checks.push(
      check(
        'criterion:unparsed',
        'warn',
        `spec.md lists "${text}" as a success criterion but it is not "<metric> <op> <number>"; reword it or move it out of the section.`,
      ),
    );
  const { onlyInSource, onlyInOther } = criteriaDifference(stored, fromSpec.criteria);
  if (onlyInSource.length || onlyInOther.length) {
    const parts = [
      onlyInOther.length ? `spec.md has ${describeCriteria(onlyInOther)} that metadata.json lacks` : '',
      onlyInSource.length ? `metadata.json has ${describeCriteria(onlyInSource)} that spec.md lacks` : '',
    ].filter(Boolean);
    const merged = [...stored.filter((c) => !onlyInSource.includes(c)), ...onlyInOther].map((c) => c.text);
    checks.push(
      check(
        'criteria-sync',
        'fail',
        `The success criteria disagree: ${parts.join('; ')}. metadata.json is what the gates check. To adopt spec.md's list, call update_increment ${JSON.stringify({ increment: ctx.incrementId, success_criteria: merged })}.`,
      ),
    );
  }
  return checks;
}

export const successCriteriaGate: GateDefinition = {
  id: 'success-criteria',
  summary: "Every success criterion in metadata.json holds for the selected model's test value, and spec.md lists the same criteria.",
  check(ctx) {
    const stored = mlSettings(ctx)?.success_criteria ?? [];
    const checks: Check[] = [];
    if (stored.length === 0) {
      checks.push(
        check(
          'success-criteria',
          'warn',
          `No success criteria. Add them with update_increment ${JSON.stringify({ increment: ctx.incrementId, success_criteria: ['f1_macro >= 0.8'] })}.`,
        ),
      );
    }
    const best = ctx.best;
    for (const c of stored) {
      const id = `criterion:${c.metric}${c.op}${c.value}`;
      const value = best ? metricValue(best.metrics, c.metric) : undefined;
      if (!best) checks.push(check(id, 'fail', `${c.text}: no experiment to check it against.`));
      else if (value === undefined)
        checks.push(
          check(
            id,
            'fail',
            `${c.text}: ${best.name} has no ${c.metric} metric${c.custom ? ' (a custom metric: log it under exactly this name)' : ''}.`,
          ),
        );
      else checks.push(check(id, meetsCriterion(value, c) ? 'pass' : 'fail', `${c.text}: ${best.name} has ${c.metric}=${fmt(value)}.`));
    }
    return [...checks, ...agreement(ctx, stored)];
  },
};
