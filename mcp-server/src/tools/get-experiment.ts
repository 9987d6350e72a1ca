import { z } from 'zod';
import { EXPERIMENT_STATUSES, readExperiment, readHistory } from '../core/experiments.js';
import { resolveIncrement } from '../core/increments.js';
import { listEntries } from '../core/store/disk.js';
import { defineTool } from './define.js';
import { ExperimentName, IncrementRef, MetricMap, MetricNumber, toWire } from './schemas.js';

const HistorySummary = z.object({
  metric: z.string(),
  points: z.number(),
  first_step: z.number(),
  last_step: z.number(),
  last: MetricNumber,
  min: MetricNumber,
  max: MetricNumber,
});

export const getExperimentTool = defineTool({
  name: 'get_experiment',
  title: 'Get experiment',
  description:
    'Everything recorded for one experiment: params, summary metrics, status, baseline flag, tags, notes, times, git, ' +
    'environment, artifacts, and a per-metric summary of history.jsonl (points, step range, last/min/max). The full ' +
    'history stays in the file named in `files`.',
  input: { increment: IncrementRef, name: ExperimentName },
  output: {
    increment: z.string(),
    name: z.string(),
    path: z.string(),
    status: z.enum(EXPERIMENT_STATUSES),
    baseline: z.boolean(),
    params: z.record(z.string(), z.unknown()),
    metrics: MetricMap,
    tags: z.array(z.string()),
    notes: z.array(z.object({ time: z.string(), text: z.string() })),
    started: z.string().nullable(),
    ended: z.string().nullable(),
    duration_seconds: z.number().nullable(),
    git: z.object({ commit: z.string().nullable(), branch: z.string().nullable(), dirty: z.boolean() }).nullable(),
    environment: z.record(z.string(), z.unknown()),
    artifacts: z.array(z.object({ path: z.string(), bytes: z.number(), sha256: z.string() })),
    source: z.record(z.string(), z.unknown()),
    history: z.array(HistorySummary),
    history_skipped_lines: z.number(),
    files: z.array(z.string()),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const e = await readExperiment(project, inc, args.name);
    const [{ points, skippedLines }, files] = await Promise.all([readHistory(e.dir), listEntries(e.dir)]);
    // One pass over the history: a long run has hundreds of thousands of points.
    const byMetric = new Map<
      string,
      { metric: string; points: number; first_step: number; last_step: number; last: number; min: number; max: number }
    >();
    for (const p of points) {
      const h = byMetric.get(p.metric);
      if (!h) {
        byMetric.set(p.metric, {
          metric: p.metric,
          points: 1,
          first_step: p.step,
          last_step: p.step,
          last: p.value,
          min: p.value,
          max: p.value,
        });
        continue;
      }
      h.points += 1;
      h.first_step = Math.min(h.first_step, p.step);
      if (p.step >= h.last_step) {
        h.last_step = p.step;
        h.last = p.value;
      }
      h.min = Math.min(h.min, p.value);
      h.max = Math.max(h.max, p.value);
    }
    const history = [...byMetric.values()];
    const m = e.meta;
    const data = {
      increment: inc.id,
      name: e.name,
      path: project.relative(e.dir),
      status: e.status,
      baseline: e.baseline,
      params: e.params,
      metrics: e.metrics,
      tags: m.tags,
      notes: m.notes,
      started: m.started,
      ended: m.ended,
      duration_seconds: m.duration_seconds,
      git: m.git,
      environment: m.environment,
      artifacts: m.artifacts,
      source: m.source,
      history,
      history_skipped_lines: skippedLines,
      files,
    };
    const metricText =
      Object.entries(toWire(e.metrics))
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || 'none';
    return {
      data: toWire(data),
      text: `${e.name} in ${inc.id} [${e.status}${e.baseline ? ', baseline' : ''}]. Metrics: ${metricText}. ${Object.keys(e.params).length} params, ${points.length} history points, ${m.artifacts.length} artifacts, ${m.notes.length} notes. Files: ${files.join(', ')}.`,
    };
  },
});
