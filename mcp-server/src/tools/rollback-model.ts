import { z } from 'zod';
import { rollbackModel } from '../core/registry/index.js';
import { EventWire, TagWire } from '../core/registry/wire.js';
import { defineTool } from './define.js';

export const rollbackModelTool = defineTool({
  name: 'rollback_model',
  title: 'Roll a stage back to an earlier version',
  description:
    'Return a stage to an earlier holder: by default the version that held it before the current one (call again to go ' +
    'further back), or to_version, which must have held the stage before. The rollback is appended to the event log; ' +
    "nothing is deleted and the rolled-back version stays registered. Refused when the target's model file no longer " +
    'matches its recorded sha256. To put a version that never held the stage there, use promote_model.',
  input: {
    name: z.string().min(1).describe('The registered model name.'),
    stage: z.string().min(1).describe('The stage to roll back, e.g. "production".'),
    to_version: z.string().nullish().describe('An earlier holder of the stage; default: the previous holder.'),
    reason: z.string().nullish().describe('Why, recorded in the event log.'),
    git_tag: z.boolean().nullish().describe("Also create GTO's annotated tag name#stage#N (git repositories only)."),
  },
  output: {
    model: z.string(),
    stage: z.string(),
    version: z.string(),
    previous: z.string().nullable(),
    event: EventWire,
    tags: z.array(TagWire),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { project, git }) {
    const c = await rollbackModel(project, args, { git });
    return {
      data: { model: args.name, stage: c.stage, version: c.version, previous: c.previous, event: c.event!, tags: c.tags },
      text:
        `${args.name} ${c.stage} rolled back from ${c.previous} to ${c.version} (event ${c.event!.seq}).` +
        c.tags.map((t) => (t.created ? ` Tagged ${t.tag}.` : ` Tag ${t.tag} not created: ${t.error}.`)).join('') +
        (c.stage === 'production' ? ' sync_docs updates ml-models.md and the runbook.' : ''),
    };
  },
});
