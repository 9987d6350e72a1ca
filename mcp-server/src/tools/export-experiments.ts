import { z } from 'zod';
import { EXPORT_FORMATS, exportExperiments } from '../core/export.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

export const exportExperimentsTool = defineTool({
  name: 'export_experiments',
  title: 'Export experiments as a table',
  description:
    'Write every experiment of an increment as one flat table, a row per experiment sorted by name: name, status, ' +
    'baseline, tags, params.<name> (nested params dotted), metrics.<name>, cv_mean and cv_std of the primary metric, ' +
    'duration_seconds, commit, and the selection source, metric and value compare_experiments ranks on. Written to ' +
    "the increment's experiments/export.csv (RFC 4180, CRLF; text starting with = + - @ gets a leading apostrophe), " +
    'export.json (an array, one object per row) or export.md (a markdown table), replacing the last export of that ' +
    'format. Returns the path, row count and columns; experiments with broken files are listed as skipped.',
  input: {
    increment: IncrementRef,
    format: z.enum(EXPORT_FORMATS).describe('csv, json or markdown.'),
    columns: z
      .array(z.string().min(1))
      .nullish()
      .describe('Columns to keep, in this order (e.g. ["name", "params.*", "metrics.accuracy"]); default: all of them.'),
  },
  output: {
    increment: z.string(),
    format: z.enum(EXPORT_FORMATS),
    path: z.string().describe('The file written, relative to the project root.'),
    rows: z.number(),
    columns: z.array(z.string()),
    primary_metric: z.string().nullable(),
    selection_source: z.enum(['cv', 'validation', 'test']).nullable(),
    skipped: z.array(z.object({ name: z.string(), reason: z.string() })),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const r = await exportExperiments(project, inc, { format: args.format, columns: args.columns });
    return {
      data: r,
      text: [
        `Wrote ${r.rows} experiment${r.rows === 1 ? '' : 's'} × ${r.columns.length} columns to ${r.path}.`,
        ...(r.skipped.length ? [`Skipped (broken files): ${r.skipped.map((s) => s.name).join(', ')}.`] : []),
      ].join('\n'),
    };
  },
});
