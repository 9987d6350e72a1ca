import { z } from 'zod';
import { readAllExperiments, EXPERIMENT_STATUSES } from '../core/experiments.js';
import { resolveIncrement } from '../core/increments.js';
import { defineTool } from './define.js';
import { IncrementRef, MetricMap, toWire } from './schemas.js';

/**
 * Bounds that keep a page small whatever the files hold: a metrics.json with 100,000 keys or a thousand broken
 * folders would otherwise make every page, even limit 1, too big to return (docs/limits.md). get_experiment and
 * the files themselves have everything.
 */
const MAX_METRICS_PER_ENTRY = 100;
const MAX_TAGS_PER_ENTRY = 50;
const MAX_BROKEN_LISTED = 50;
const MAX_REASON_CHARS = 500;

function firstEntries<T>(record: Record<string, T>, n: number): Record<string, T> {
  const out: Record<string, T> = {};
  let kept = 0;
  for (const key in record) {
    if (kept === n) break;
    out[key] = record[key]!;
    kept += 1;
  }
  return out;
}

function clip(text: string, n: number): string {
  return text.length <= n ? text : `${text.slice(0, n)}… (${text.length} characters)`;
}

export const listExperimentsTool = defineTool({
  name: 'list_experiments',
  title: 'List experiments',
  description:
    'List the experiments of an increment with status, baseline flag, tags and summary metrics, sorted by name. ' +
    'Returns up to `limit` (default 50) starting at `offset`; `total` tells how many there are. Each entry shows at ' +
    `most ${MAX_METRICS_PER_ENTRY} metrics and ${MAX_TAGS_PER_ENTRY} tags (\`metrics_count\`, \`tags_count\` give the totals; get_experiment has all). ` +
    `Unreadable experiments are listed under \`broken\` with the reason, the first ${MAX_BROKEN_LISTED} by name (\`broken_count\` tells how many). ` +
    'Use compare_experiments to rank them.',
  input: {
    increment: IncrementRef,
    limit: z.number().int().min(1).max(500).nullish(),
    offset: z.number().int().min(0).nullish(),
  },
  output: {
    increment: z.string(),
    total: z.number(),
    offset: z.number(),
    experiments: z.array(
      z.object({
        name: z.string(),
        status: z.enum(EXPERIMENT_STATUSES),
        baseline: z.boolean(),
        tags: z.array(z.string()),
        tags_count: z.number(),
        metrics: MetricMap,
        metrics_count: z.number(),
        updated: z.string().nullable(),
      }),
    ),
    broken: z.array(z.object({ name: z.string(), reason: z.string() })),
    broken_count: z.number(),
    has_more: z.boolean(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const { experiments, broken } = await readAllExperiments(project, inc);
    const offset = args.offset ?? 0;
    const page = experiments.slice(offset, offset + (args.limit ?? 50));
    const listedBroken = broken.slice(0, MAX_BROKEN_LISTED).map((b) => ({ name: b.name, reason: clip(b.reason, MAX_REASON_CHARS) }));
    const data = {
      increment: inc.id,
      total: experiments.length,
      offset,
      experiments: page.map((e) => ({
        name: e.name,
        status: e.status,
        baseline: e.baseline,
        tags: e.meta.tags.slice(0, MAX_TAGS_PER_ENTRY),
        tags_count: e.meta.tags.length,
        metrics: firstEntries(e.metrics, MAX_METRICS_PER_ENTRY),
        metrics_count: Object.keys(e.metrics).length,
        updated: e.meta.updated,
      })),
      broken: listedBroken,
      broken_count: broken.length,
      has_more: offset + page.length < experiments.length,
    };
    const lines = page.map(
      (e) =>
        `- ${e.name} [${e.status}${e.baseline ? ', baseline' : ''}] ${Object.entries(toWire(firstEntries(e.metrics, 6)))
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
    );
    return {
      data: toWire(data),
      text: [
        `${inc.id}: ${experiments.length} experiments${broken.length ? `, ${broken.length} unreadable` : ''}; showing ${page.length} from ${offset}.`,
        ...lines,
        ...listedBroken.map((b) => `- ${b.name} UNREADABLE: ${b.reason}`),
        broken.length > MAX_BROKEN_LISTED ? `(${broken.length - MAX_BROKEN_LISTED} more unreadable not listed)` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    };
  },
});
