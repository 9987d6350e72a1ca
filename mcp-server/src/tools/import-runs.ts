import { z } from 'zod';
import { importRuns } from '../core/import-runs.js';
import { IMPORT_FORMATS, IMPORTED_TOOLS } from '../core/importers/index.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

const LIST_LIMIT = 25;

export const importRunsTool = defineTool({
  name: 'import_runs',
  title: `Import ${IMPORTED_TOOLS.replace(/, | or /g, ' / ')} runs`,
  description:
    "Bring runs recorded by another tracker into an increment as experiments, keeping the team's code. " +
    'source is a folder or file inside the project, relative to its root: an MLflow file store ("mlruns") or SQLite ' +
    'store ("mlflow.db", or the folder holding it), a DVC project (params.yaml, metrics files, dvclive/ histories, ' +
    'and committed experiments under git refs/exps), or a W&B offline run folder ("wandb"); or a running MLflow ' +
    'tracking server\'s URL ("http://127.0.0.1:5000"; "…/#/experiments/<id>" for one experiment). format is ' +
    'detected when omitted. Runs keep their params, latest metrics, full ' +
    'histories, tags, status, times and git commit. Deleted MLflow runs are skipped unless include_deleted. ' +
    'Re-importing skips runs already imported; imports into one increment run one at a time, so concurrent imports ' +
    'of a source never duplicate a run. Only reads the source.',
  input: {
    increment: IncrementRef,
    source: z
      .string()
      .min(1)
      .describe(
        'Folder (or MLflow database file) relative to the project root, e.g. "mlruns" or "mlflow.db"; or an MLflow tracking server URL, e.g. "http://127.0.0.1:5000" (optionally "…/#/experiments/<id>").',
      ),
    format: z.enum(IMPORT_FORMATS).nullish(),
    include_deleted: z.boolean().nullish(),
  },
  output: {
    increment: z.string(),
    source: z.string(),
    format: z.enum(IMPORT_FORMATS),
    imported_count: z.number(),
    already_imported: z.number(),
    skipped_count: z.number(),
    imported: z.array(z.object({ experiment: z.string(), run: z.string() })),
    skipped: z.array(z.object({ what: z.string(), reason: z.string() })),
    warnings: z.array(z.string()),
    warnings_count: z.number(),
  },
  // A URL source reaches a tracking server over the network.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, { project, git }) {
    const inc = await resolveIncrement(project, args.increment);
    const r = await importRuns(project, inc, args, { git });
    // Lists are bounded so the result stays small for large stores; list_experiments shows everything.
    const data = {
      increment: r.increment,
      source: r.source,
      format: r.format,
      imported_count: r.imported.length,
      already_imported: r.already_imported,
      skipped_count: r.skipped.length,
      imported: r.imported.slice(0, LIST_LIMIT),
      skipped: r.skipped.slice(0, LIST_LIMIT),
      warnings: r.warnings.slice(0, LIST_LIMIT),
      warnings_count: r.warnings.length,
    };
    const lines = [
      `Imported ${r.imported.length} ${r.format} runs from ${r.source} into ${r.increment}; ${r.already_imported} already imported; ${r.skipped.length} skipped; ${r.warnings.length} warnings.`,
      ...data.skipped.map((s) => `skipped ${s.what}: ${s.reason}`),
      ...data.warnings.map((w) => `warning: ${w}`),
      r.imported.length > LIST_LIMIT || r.skipped.length > LIST_LIMIT
        ? `(lists cut at ${LIST_LIMIT}; call list_experiments for all experiments)`
        : '',
    ].filter(Boolean);
    return { data, text: lines.join('\n') };
  },
});
