import { z } from 'zod';
import { promoteModel } from '../core/registry/index.js';
import { EventWire, TagWire } from '../core/registry/wire.js';
import { defineTool } from './define.js';

export const promoteModelTool = defineTool({
  name: 'promote_model',
  title: 'Promote a model version to a stage',
  description:
    'Make a registered version the holder of a stage ("staging", "production", …). Stages are movable aliases: the ' +
    'previous holder stays registered and a rollback can return to it; the promotion is appended to the event log, which ' +
    'is never rewritten. "production" requires the increment\'s quality gates (validate_increment) to pass and the ' +
    "artifact's sha256 to match its record; otherwise it is refused unless force: true with a reason, which is recorded " +
    'with the failing checks. Promoting the current holder changes nothing. git_tag: also create the GTO tag name#stage#N.',
  input: {
    name: z.string().min(1).describe('The registered model name.'),
    version: z.string().min(1).describe('The registered version to promote, e.g. "1.2.0".'),
    stage: z.string().min(1).describe('The stage: lower-case name such as "staging" or "production".'),
    reason: z.string().nullish().describe('Why, recorded in the event log; required with force.'),
    force: z.boolean().nullish().describe('Promote even though the gates fail (or cannot run) or the artifact changed; needs a reason.'),
    git_tag: z.boolean().nullish().describe("Also create GTO's annotated tag name#stage#N (git repositories only)."),
  },
  output: {
    model: z.string(),
    stage: z.string(),
    version: z.string(),
    previous: z.string().nullable(),
    changed: z.boolean(),
    forced: z.boolean(),
    overridden: z.array(z.string()),
    gates: EventWire.shape.gates,
    event: EventWire.nullable(),
    tags: z.array(TagWire),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project, git }) {
    const c = await promoteModel(project, args, { git });
    const data = {
      model: args.name,
      stage: c.stage,
      version: c.version,
      previous: c.previous,
      changed: c.changed,
      forced: c.overridden.length > 0,
      overridden: c.overridden,
      gates: c.gates,
      event: c.event,
      tags: c.tags,
    };
    const gateText = c.gates ? ` Gates of ${c.gates.increment}: ${c.gates.verdict}.` : '';
    const text = !c.changed
      ? `${args.name} ${c.version} already holds ${c.stage}; nothing changed.`
      : `${args.name} ${c.version} now holds ${c.stage}${c.previous ? ` (was ${c.previous})` : ''}.${gateText}` +
        `${c.overridden.length ? ` FORCED over: ${c.overridden.join('; ')}.` : ''}` +
        c.tags.map((t) => (t.created ? ` Tagged ${t.tag}.` : ` Tag ${t.tag} not created: ${t.error}.`)).join('') +
        (c.changed && c.stage === 'production' ? ' sync_docs updates ml-models.md and the runbook.' : '');
    return { data, text };
  },
});
