import { z } from 'zod';
import { compareExperiments, writeComparisonReport } from '../core/comparison.js';
import { MlError } from '../core/errors.js';
import type { Project } from '../core/project.js';
import { planReport, writeReportPlan } from '../core/report.js';
import { resolveMetric } from '../core/metrics/vocabulary.js';
import { resolveIncrement } from '../core/increments.js';
import { fmtMeasurement, selectionSentence } from '../render/comparison-report.js';
import { fmt, fmtPercent } from '../render/format.js';
import { defineTool } from './define.js';
import { Direction, IncrementRef, MetricMap, MetricNumber, toWire } from './schemas.js';

const Entry = z.object({
  rank: z.number(),
  experiment: z.string(),
  value: MetricNumber.describe('The selection value the ranking used.'),
  std: MetricNumber.optional().describe('CV standard deviation, when selected on CV.'),
  folds: z.number().optional(),
  test_value: MetricNumber.optional().describe('The primary metric on the test set (reporting only), when selected on CV or validation.'),
  baseline: z.boolean(),
  status: z.string(),
  best: z.boolean(),
});

export const compareExperimentsTool = defineTool({
  name: 'compare_experiments',
  title: 'Compare experiments',
  description:
    "Rank the experiments of an increment on the primary metric (the argument, else the increment's, else the most " +
    'common metric). Candidates are selected on its cross-validation mean (cv_<metric>_mean) where every candidate ' +
    'logged folds, else on val_<metric>, else on the test metric (flagged); the test value is reported beside it. ' +
    'Ties are stated and broken by the lower CV std. Marks the best model and the baselines and computes the ' +
    'improvement over the best baseline on the test set. Writes experiments/comparison.md and the HTML report ' +
    '(report.html, as render_report) and returns the top ' +
    '`top` entries (default 10); experiments missing the metric or with broken files are listed as skipped.',
  input: {
    increment: IncrementRef,
    primary_metric: z.string().min(1).nullish(),
    direction: Direction.nullish().describe('Inferred from the metric name when omitted (loss, error, rmse… minimize).'),
    metrics: z.array(z.string().min(1)).nullish().describe('Extra columns for the table; default: the most common metrics.'),
    top: z.number().int().min(1).max(100).nullish(),
    html_report: z
      .boolean()
      .nullish()
      .describe('false: leave report.html as it is (scripted comparisons of very large increments; render_report later). Default true.'),
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
    improvement: z
      .object({
        absolute: MetricNumber,
        relative: MetricNumber.nullable(),
        rule: z.string(),
        baseline: z.string(),
        candidate: z.string(),
        measured_on: z.enum(['cv', 'validation', 'test']),
      })
      .nullable(),
    selection: z.object({
      setting: z.enum(['auto', 'cv', 'validation', 'test']),
      source: z.enum(['cv', 'validation', 'test']),
      key: z.string(),
      reason: z.string(),
    }),
    ties: z.array(z.object({ experiments: z.array(z.string()), value: MetricNumber, broken_by: z.enum(['lower cv std', 'name order']) })),
    skipped: z.array(z.object({ experiment: z.string(), reason: z.string() })),
    skipped_total: z.number(),
    report: z.string(),
    html_report: z.string().nullable().describe("The increment's report.html, rewritten with this comparison; null when it could not be."),
    html_report_note: z.string().nullable(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const c = await compareExperiments(project, inc, args);
    const reportFile = await writeComparisonReport(inc, c);
    const html =
      args.html_report === false
        ? { file: null, note: 'not rewritten (html_report: false); call render_report to refresh it' }
        : await refreshHtmlReport(project, inc.id);
    const best = c.best_candidate ?? c.best;
    const top = c.ranking.slice(0, args.top ?? 10).map((r) => ({
      rank: r.rank,
      experiment: r.experiment,
      value: r.value,
      // Only what adds information, so a long ranking stays small.
      ...(r.selection.std !== null ? { std: r.selection.std } : {}),
      ...(r.selection.count !== null ? { folds: r.selection.count } : {}),
      ...(r.test_value !== null && c.selection.source !== 'test' ? { test_value: r.test_value } : {}),
      baseline: r.baseline,
      status: r.status,
      best: r.best,
    }));
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
      improvement: i
        ? {
            absolute: i.absolute,
            relative: i.improvement,
            rule: i.rule,
            baseline: i.baseline,
            candidate: i.candidate,
            measured_on: i.measured_on,
          }
        : null,
      selection: c.selection,
      ties: c.ties.slice(0, 10),
      // Bounded so the result stays small however many experiments there are; the report has them all.
      skipped: c.skipped.slice(0, 20),
      skipped_total: c.skipped.length,
      report: project.relative(reportFile),
      html_report: html.file,
      html_report_note: html.note,
    };
    const lines = [
      `${c.increment}: ${c.ranking.length} of ${c.experiments_total} experiments ranked by ${c.primary_metric} (${c.direction}).`,
      selectionSentence(c),
      resolveMetric(c.primary_metric) || c.direction_source !== 'inferred'
        ? ''
        : `${c.primary_metric} is not in the metric vocabulary (docs/metrics.md): its direction (${c.direction}) comes from its name; pass direction to be sure.`,
      ...c.ranking
        .slice(0, args.top ?? 10)
        .map(
          (t) =>
            `${t.rank}. ${t.experiment} ${fmtMeasurement(t.selection)}${c.selection.source !== 'test' ? ` | test ${fmt(t.test_value)}` : ''}${t.best ? ' BEST' : ''}${t.baseline ? ' (baseline)' : ''}${t.status !== 'completed' ? ` [${t.status}]` : ''}`,
        ),
      ...c.ties.slice(0, 3).map((t) => `Tie at ${fmt(t.value)}: ${t.experiments.join(', ')}; ordered by ${t.broken_by}.`),
      i
        ? `Improvement of ${i.candidate} over baseline ${i.baseline} on the ${i.measured_on === 'test' ? 'test set' : `${i.measured_on} value`}: ${fmt(i.absolute)} absolute, ${fmtPercent(i.improvement)} (${i.rule}).`
        : 'No improvement computed (needs a baseline and a candidate).',
      c.skipped.length
        ? `Skipped ${c.skipped.length}: ${c.skipped
            .slice(0, 5)
            .map((s) => `${s.experiment} (${s.reason})`)
            .join('; ')}${c.skipped.length > 5 ? '; …' : ''}.`
        : '',
      `Full table: ${data.report}`,
      html.file ? `Report: ${html.file}` : `HTML report not written: ${html.note}`,
    ].filter(Boolean);
    return { data: toWire(data), text: lines.join('\n') };
  },
});

/**
 * The increment's HTML report follows every comparison. The comparison itself is already written, so a report that
 * cannot be (a refused target, say) is a note in the result rather than a failed call.
 */
async function refreshHtmlReport(project: Project, incrementId: string): Promise<{ file: string | null; note: string | null }> {
  try {
    const plan = await planReport(project, incrementId);
    await writeReportPlan(project, plan);
    return { file: plan.increments[0] ? plan.increments[0].file : null, note: null };
  } catch (e) {
    if (!(e instanceof MlError)) throw e;
    return { file: null, note: `${e.message} ${e.hint ?? ''}`.trim() };
  }
}
