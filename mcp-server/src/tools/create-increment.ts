import { z } from 'zod';
import { createIncrement } from '../core/increments.js';
import { PROBLEM_TYPES } from '../core/problem-types.js';
import { defineTool } from './define.js';
import { Criterion, Direction } from './schemas.js';

export const createIncrementTool = defineTool({
  name: 'create_increment',
  title: 'Create ML increment',
  description:
    'Start a new piece of ML work. Creates .specweave/increments/NNNN-<slug>/ with the next free number: metadata.json, ' +
    'an ML spec.md (problem definition, success criteria, user stories), plan.md, tasks.md (T-001…T-009 from data ' +
    'exploration to documentation), tests.md, and the folders experiments/, data/, models/, notebooks/. Call it once ' +
    'per model or ML feature, before tracking experiments. primary_metric and success_criteria ("<metric> <op> ' +
    '<number>": "macro F1 >= 0.9", "RMSE < 50", "MAPE < 10%") are resolved against the metric vocabulary; an unknown ' +
    'metric is an error with suggestions unless listed in custom_metrics. validate_increment checks them later.',
  input: {
    title: z.string().min(1).describe('What the increment delivers, e.g. "Fraud detection for card payments".'),
    problem_type: z
      .enum(PROBLEM_TYPES)
      .nullish()
      .describe('Default "classification". Shapes the templates, default metric and validation advice.'),
    primary_metric: z
      .string()
      .min(1)
      .nullish()
      .describe('The metric that ranks experiments, e.g. "roc_auc", "rmse". Default per problem type.'),
    direction: Direction.nullish().describe('Whether higher or lower primary_metric is better. Inferred from the name when omitted.'),
    success_criteria: z.array(z.string().min(1)).nullish().describe('e.g. ["precision >= 0.9", "recall >= 0.6"].'),
    custom_metrics: z.array(z.string().min(1)).nullish().describe('Metric names of your own that the vocabulary does not know.'),
  },
  output: {
    increment: z.string(),
    path: z.string(),
    files: z.array(z.string()),
    problem_type: z.string(),
    primary_metric: z.string(),
    direction: Direction,
    success_criteria: z.array(Criterion),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { project }) {
    const created = await createIncrement(project, args);
    const criteria =
      created.success_criteria.map((c) => `${c.metric} ${c.op} ${c.value}`).join('; ') || 'none yet (add them with update_increment)';
    return {
      data: created,
      text: `Created ${created.increment} at ${created.path} (${created.problem_type}; primary metric ${created.primary_metric}, ${created.direction}). Success criteria: ${criteria}. Next: fill in spec.md, then track a baseline with track_experiment.`,
    };
  },
});
