import { z } from 'zod';
import { readAllExperiments, EXPERIMENT_STATUSES } from '../core/experiments.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { IncrementRef, MetricMap, toWire } from './schemas.js';

export const listExperimentsTool = defineTool({
  name: 'list_experiments',
  title: 'List experiments',
  description:
    'List the experiments of an increment with status, baseline flag, tags and summary metrics, sorted by name. ' +
    'Returns up to `limit` (default 50) starting at `offset`; `total` tells how many there are. Unreadable ' +
    'experiments are listed under `broken` with the reason. Use compare_experiments to rank them.',
  input: {
    increment: IncrementRef,
    limit: z.number().int().min(1).max(500).nullish(),
    offset: z.number().int().min(0).nullish(),
  },
  output: {
    increment: z.string(),
    total: z.number(),
    offset: z.number(),
    experiments: z.array(z.object({ name: z.string(), status: z.enum(EXPERIMENT_STATUSES), baseline: z.boolean(), tags: z.array(z.string()), metrics: MetricMap, updated: z.string().nullable() })),
    broken: z.array(z.object({ name: z.string(), reason: z.string() })),
    has_more: z.boolean(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const { experiments, broken } = await readAllExperiments(project, inc);
    const offset = args.offset ?? 0;
    const page = experiments.slice(offset, offset + (args.limit ?? 50));
    const data = {
      increment: inc.id,
      total: experiments.length,
      offset,
      experiments: page.map((e) => ({ name: e.name, status: e.status, baseline: e.baseline, tags: e.meta.tags, metrics: e.metrics, updated: e.meta.updated })),
      broken,
      has_more: offset + page.length < experiments.length,
    };
    const lines = page.map((e) => `- ${e.name} [${e.status}${e.baseline ? ', baseline' : ''}] ${Object.entries(toWire(e.metrics)).slice(0, 6).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    return {
      data: toWire(data),
      text: [`${inc.id}: ${experiments.length} experiments${broken.length ? `, ${broken.length} unreadable` : ''}; showing ${page.length} from ${offset}.`, ...lines, ...broken.map((b) => `- ${b.name} UNREADABLE: ${b.reason}`)].join('\n'),
    };
  },
});
