import { z } from 'zod';
import { planReport, writeReportPlan } from '../core/report.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MiB`;

export const renderReportTool = defineTool({
  name: 'render_report',
  title: 'Render the HTML report',
  description:
    'Write a self-contained browser report (one HTML file: inline script and style, no network, opens from disk) ' +
    'for an increment at .specweave/increments/<id>/report.html, and the project index .specweave/report.html. ' +
    'The report has the runs table (sortable, filterable, params that differ, the selection metric mean ± std, the ' +
    'test metric, baselines and the best marked), metric-over-step curves for the runs picked, parallel coordinates ' +
    'from params to the selection metric, the CV fold spread, the best model’s evaluation plots, the gates, the ' +
    'registry’s current versions and the notes. Without increment, every increment gets its report. Returns the ' +
    'files written and their sizes.',
  input: {
    increment: IncrementRef.nullish().describe('The increment to render ("0042", "42" or the folder name); omitted: every increment.'),
  },
  output: {
    reports: z.array(
      z.object({
        increment: z.string(),
        file: z.string(),
        bytes: z.number(),
        experiments: z.number(),
        ranked: z.number(),
        best: z.string().nullable(),
        curves: z.number().describe('Metrics with per-step curves in the report.'),
        points_kept: z.number(),
        points_logged: z.number(),
      }),
    ),
    index: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const plan = await planReport(project, args.increment);
    await writeReportPlan(project, plan);
    const index = project.relative(plan.index);
    const lines = [
      ...plan.increments.map(
        (r) =>
          `${r.file}: ${r.experiments} experiments (${r.ranked} ranked${r.best ? `, best ${r.best}` : ''}), ${mb(r.bytes)}` +
          (r.points_logged > r.points_kept ? `; curves downsampled to ${r.points_kept} of ${r.points_logged} points.` : '.'),
      ),
      `Index: ${index}. Open the files in a browser; they fetch nothing.`,
    ];
    return { data: { reports: plan.increments, index }, text: lines.join('\n') };
  },
});
