import { z } from 'zod';
import { resolveIncrement } from '../core/increments.js';
import { exportToMlflow } from '../core/mlflow-export.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

const LIST_LIMIT = 25;
const Action = z.enum(['created', 'updated', 'unchanged']);

export const exportToMlflowTool = defineTool({
  name: 'export_to_mlflow',
  title: 'Export an increment to an MLflow tracking server',
  description:
    "Copy an increment's experiments to a running MLflow tracking server over its REST API, for a team sharing one " +
    'MLflow: each experiment becomes a run (params, metrics with their step histories, tags, notes, status, start ' +
    'and end times, git commit, nested-run parent) of one MLflow experiment, found or created (default name: the ' +
    'increment id). Idempotent: runs carry the tag specweave.run_key = "<increment>/<experiment>", so exporting ' +
    'again creates nothing new and sends only what changed (new history points, tags, status); MLflow never ' +
    'changes a logged param, so a changed one is reported in warnings. Returns counts created/updated/unchanged, ' +
    'the MLflow experiment id and its URL. Credentials come from MLFLOW_TRACKING_TOKEN or ' +
    'MLFLOW_TRACKING_USERNAME/PASSWORD in the server environment. Writes nothing in the project.',
  input: {
    increment: IncrementRef,
    tracking_uri: z.string().min(1).describe('The tracking server\'s address, e.g. "http://127.0.0.1:5000".'),
    experiment_name: z.string().min(1).max(500).nullish().describe('The MLflow experiment to export into; default the increment id.'),
  },
  output: {
    increment: z.string(),
    tracking_uri: z.string(),
    experiment_name: z.string(),
    experiment_id: z.string(),
    url: z.string(),
    created: z.number(),
    updated: z.number(),
    unchanged: z.number(),
    runs: z.array(z.object({ experiment: z.string(), run_id: z.string(), action: Action })),
    warnings: z.array(z.string()),
    warnings_count: z.number(),
  },
  // Writes to the tracking server (the network), never to the project; exporting again changes nothing.
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const r = await exportToMlflow(project, inc, args);
    const data = { ...r, runs: r.runs.slice(0, LIST_LIMIT), warnings: r.warnings.slice(0, LIST_LIMIT), warnings_count: r.warnings.length };
    const lines = [
      `Exported ${r.increment} to MLflow experiment ${JSON.stringify(r.experiment_name)} (id ${r.experiment_id}) at ${r.tracking_uri}: ${r.created} runs created, ${r.updated} updated, ${r.unchanged} unchanged. ${r.url}`,
      ...data.warnings.map((w) => `warning: ${w}`),
      r.runs.length > LIST_LIMIT || r.warnings.length > LIST_LIMIT ? `(lists cut at ${LIST_LIMIT})` : '',
    ].filter(Boolean);
    return { data, text: lines.join('\n') };
  },
});
