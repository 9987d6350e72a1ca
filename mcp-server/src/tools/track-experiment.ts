import { z } from 'zod';
import { EXPERIMENT_STATUSES, trackExperiment } from '../core/experiments.js';
import { resolveIncrement } from '../core/increments.js';
import { decodeNumber } from '../core/json.js';
import { defineTool } from './define.js';
import { ExperimentName, IncrementRef, MetricMap, MetricNumber, decodeMetricMap, toWire } from './schemas.js';

const Artifact = z.object({ path: z.string(), bytes: z.number(), sha256: z.string() });

export const trackExperimentTool = defineTool({
  name: 'track_experiment',
  title: 'Track experiment',
  description:
    'Record an ML experiment (a training run) in an increment, or update one. Writes experiments/<name>/params.json, ' +
    'metrics.json, metadata.yaml and history.jsonl. params and metrics merge with what is there; notes, tags and ' +
    'history points append. Records git commit/branch/dirty, timestamps and environment. A new experiment without a ' +
    'status is "completed"; pass status "running" at the start of a long run and update it later. Mark reference ' +
    'models with baseline: true. Record failed runs too (status "failed" with a note). artifacts are paths to files ' +
    'already saved, relative to the experiment folder or the increment (e.g. "models/model-v3.pkl"); their size and ' +
    'sha256 are recorded. Non-finite metric values are passed as "NaN", "Infinity" or "-Infinity".',
  input: {
    increment: IncrementRef,
    name: ExperimentName,
    params: z.record(z.string(), z.unknown()).nullish().describe('Hyper-parameters and settings; nested objects allowed.'),
    metrics: MetricMap.nullish().describe('Summary value per metric, e.g. {"accuracy": 0.93, "f1": 0.9}.'),
    history: z
      .array(z.object({ metric: z.string().min(1), value: MetricNumber, step: z.number().int().min(0) }))
      .nullish()
      .describe(
        'Per-step points (epochs, iterations, CV folds as "cv_<metric>"). The point with the highest step becomes the summary unless metrics gives one.',
      ),
    tags: z.array(z.string().min(1)).nullish(),
    note: z.string().nullish().describe('Appended to the notes with a timestamp: what was learned, why it failed.'),
    status: z.enum(EXPERIMENT_STATUSES).nullish(),
    baseline: z.boolean().nullish().describe('true for a reference model every candidate must beat.'),
    artifacts: z.array(z.string().min(1)).nullish(),
  },
  output: {
    experiment: z.string(),
    path: z.string(),
    created: z.boolean(),
    status: z.enum(EXPERIMENT_STATUSES),
    baseline: z.boolean(),
    metrics: MetricMap,
    params_count: z.number(),
    history_points_added: z.number(),
    artifacts: z.array(Artifact),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { project, git }) {
    const inc = await resolveIncrement(project, args.increment);
    const result = await trackExperiment(
      project,
      inc,
      {
        ...args,
        metrics: decodeMetricMap(args.metrics),
        history: args.history?.map((p) => ({ ...p, value: decodeNumber(p.value)! })),
      },
      { git },
    );
    const metricText =
      Object.entries(toWire(result.metrics))
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || 'none';
    return {
      data: toWire(result),
      text: `${result.created ? 'Created' : 'Updated'} ${result.experiment} (${result.status}${result.baseline ? ', baseline' : ''}) at ${result.path}. Metrics: ${metricText}. ${result.params_count} params, ${result.history_points_added} history points added, ${result.artifacts.length} artifacts.`,
    };
  },
});
