import { z } from 'zod';
import { syncDocs } from '../core/docs-sync.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

export const syncDocsTool = defineTool({
  name: 'sync_docs',
  title: 'Sync living docs',
  description:
    'Write what the increment learned into the living docs under .specweave/docs/internal/: its section in ' +
    'architecture/ml-models.md (algorithm, metrics, why this model, what else was tried, hyperparameters), an ADR ' +
    'for the model choice (architecture/adr/NNNN-ml-model-choice-<slug>.md, next free number, reused on later runs), ' +
    'and a retraining runbook (operations/runbook-<slug>-retraining.md). Idempotent: generated text sits between ' +
    'markers; text people wrote outside them is kept, and a second run changes nothing. dry_run: true reports the ' +
    'changes without writing.',
  input: { increment: IncrementRef, dry_run: z.boolean().nullish() },
  output: {
    increment: z.string(),
    dry_run: z.boolean(),
    selected_model: z.string().nullable(),
    changes: z.array(z.object({ path: z.string(), action: z.enum(['create', 'update', 'unchanged']) })),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const r = await syncDocs(project, inc, { dry_run: args.dry_run });
    return {
      data: r,
      text: [
        `${r.dry_run ? 'Dry run for' : 'Synced'} ${r.increment}; selected model ${r.selected_model ?? 'none'}.`,
        ...r.changes.map((c) => `${c.action}: ${c.path}`),
      ].join('\n'),
    };
  },
});
