import { z } from 'zod';
import { readRegistry } from '../core/registry/index.js';
import { stagesText } from '../core/registry/wire.js';
import { defineTool } from './define.js';

export const listModelsTool = defineTool({
  name: 'list_models',
  title: 'List registered models',
  description:
    'Every model in the registry (.specweave/registry/): latest version, number of versions, which version holds each ' +
    'stage now, and the last event. A model whose files are broken is listed under broken with the reason; other entries ' +
    'of the folder under ignored. Read-only; get_model gives one model in full.',
  input: {},
  output: {
    models: z.array(
      z.object({
        name: z.string(),
        path: z.string(),
        latest: z.string().nullable(),
        versions: z.number(),
        stages: z.record(z.string(), z.string()).describe('Stage -> the version holding it now.'),
        last_event: z
          .object({ seq: z.number(), event: z.string(), version: z.string(), stage: z.string().nullable(), time: z.string() })
          .nullable(),
      }),
    ),
    broken: z.array(z.object({ name: z.string(), reason: z.string() })),
    ignored: z.array(z.string()),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(_args, { project }) {
    const r = await readRegistry(project);
    const models = r.models.map((m) => {
      const last = m.events[m.events.length - 1];
      return {
        name: m.name,
        path: m.path,
        latest: m.latest,
        versions: m.versions.length,
        stages: Object.fromEntries(m.stages.map((s) => [s.stage, s.version])),
        last_event: last ? { seq: last.seq, event: last.event, version: last.version, stage: last.stage, time: last.time } : null,
      };
    });
    const lines = r.models.map((m) => `${m.name}: latest ${m.latest ?? 'none'} (${m.versions.length} version(s)); ${stagesText(m)}.`);
    for (const b of r.broken) lines.push(`BROKEN ${b.name}: ${b.reason}`);
    return {
      data: { models, broken: r.broken, ignored: r.ignored },
      text: lines.length ? lines.join('\n') : 'No models registered yet: register_model registers one.',
    };
  },
});
