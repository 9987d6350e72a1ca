import { z } from 'zod';
import { compareExperiments, writeComparisonReport } from '../core/comparison.js';
import { resolveIncrement } from '../core/increments.js';
import { fmt, fmtPercent } from '../render/format.js';
import { defineTool } from './define.js';
import { Direction, IncrementRef, MetricMap, MetricNumber, toWire } from './schemas.js';

const Entry = z.object({ rank: z.number(), experiment: z.string(), value: MetricNumber, baseline: z.boolean(), status: z.string(), best: z.boolean() });

export const compareExperimentsTool = defineTool({
  name: 'compare_experiments',
  title: 'Compare experiments',
  description:
    'Rank the experiments of an increment on the primary metric (the argument, else the increment\'s, else the most ' +
    'common metric), mark the best model and the baselines, and compute the best candidate\'s improvement over the ' +
    'best baseline. Writes experiments/comparison.md (the full table and a "Best model" rationale) and returns the ' +
    'top `top` entries (default 10). Experiments missing the metric or with broken files are listed as skipped.',
  input: {
    increment: IncrementRef,
    primary_metric: z.string().min(1).nullish(),
    direction: Direction.nullish().describe('Inferred from the metric name when omitted (loss, error, rmse… minimize).'),
    metrics: z.array(z.string().min(1)).nullish().describe('Extra columns for the table; default: the most common metrics.'),
    top: z.number().int().min(1).max(100).nullish(),
  },
  output: {
    increment: z.string(),
    primary_metric: z.string(),
    direction: Direction,
    direction_source: z.enum(['argument', 'increment', 'inferred']),
    ranked: z.number(),
    experiments_total: z.number(),
    top: z.array(Entry),
    best: z.object({ experiment: z.string(), value: MetricNumber, metrics: MetricMap }).nullable(),
    best_baseline: z.object({ experiment: z.string(), value: MetricNumber }).nullable(),
    improvement: z.object({ absolute: MetricNumber, relative: MetricNumber.nullable(), rule: z.string(), baseline: z.string(), candidate: z.string() }).nullable(),
    skipped: z.array(z.object({ experiment: z.string(), reason: z.string() })),
    skipped_total: z.number(),
    report: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const c = await compareExperiments(project, inc, args);
    const reportFile = await writeComparisonReport(inc, c);
    const best = c.best_candidate ?? c.best;
    const top = c.ranking.slice(0, args.top ?? 10).map(({ rank, experiment, value, baseline, status, best: isBest }) => ({ rank, experiment, value, baseline, status, best: isBest }));
    const i = c.improvement;
    const data = {
      increment: c.increment,
      primary_metric: c.primary_metric,
      direction: c.direction,
      direction_source: c.direction_source,
      ranked: c.ranking.length,
      experiments_total: c.experiments_total,
      top,
      best: best ? { experiment: best.experiment, value: best.value, metrics: best.metrics } : null,
      best_baseline: c.best_baseline ? { experiment: c.best_baseline.experiment, value: c.best_baseline.value } : null,
      improvement: i ? { absolute: i.absolute, relative: i.improvement, rule: i.rule, baseline: i.baseline, candidate: i.candidate } : null,
      // Bounded so the result stays small however many experiments there are; the report has them all.
      skipped: c.skipped.slice(0, 20),
      skipped_total: c.skipped.length,
      report: project.relative(reportFile),
    };
    const lines = [
      `${c.increment}: ${c.ranking.length} of ${c.experiments_total} experiments ranked by ${c.primary_metric} (${c.direction}).`,
      ...top.map((t) => `${t.rank}. ${t.experiment} ${fmt(t.value)}${t.best ? ' BEST' : ''}${t.baseline ? ' (baseline)' : ''}${t.status !== 'completed' ? ` [${t.status}]` : ''}`),
      i ? `Improvement of ${i.candidate} over baseline ${i.baseline}: ${fmt(i.absolute)} absolute, ${fmtPercent(i.improvement)} (${i.rule}).` : 'No improvement computed (needs a baseline and a candidate).',
      c.skipped.length ? `Skipped ${c.skipped.length}: ${c.skipped.slice(0, 5).map((s) => `${s.experiment} (${s.reason})`).join('; ')}${c.skipped.length > 5 ? '; …' : ''}.` : '',
      `Full table: ${data.report}`,
    ].filter(Boolean);
    return { data: toWire(data), text: lines.join('\n') };
  },
});
