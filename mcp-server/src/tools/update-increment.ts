import { z } from 'zod';
import { resolveIncrement, updateIncrementSettings } from '../core/increments.js';
import { THRESHOLDS } from '../core/gates/index.js';
import { defineTool } from './define.js';
import { Criterion, Direction, IncrementRef } from './schemas.js';

export const updateIncrementTool = defineTool({
  name: 'update_increment',
  title: 'Change ML settings of an increment',
  description:
    'Change what an increment is judged on: primary_metric (a name from the metric vocabulary, e.g. "R^2" becomes ' +
    '"r2"), direction, success_criteria (replaces the list; "<metric> <op> <number>", resolved against the vocabulary, ' +
    'an unknown metric is an error with suggestions unless named in custom_metrics), thresholds of the quality gates ' +
    `(${THRESHOLDS.map((t) => t.key).join(', ')}) and selection (auto, cv, validation or test: what ranks the ` +
    "candidates). metadata.json is updated and spec.md's Success Criteria section is rewritten to match. Gate " +
    'messages name the call to make.',
  input: {
    increment: IncrementRef,
    primary_metric: z.string().min(1).nullish(),
    direction: Direction.nullish(),
    success_criteria: z.array(z.string().min(1)).nullish().describe('The whole new list, e.g. ["f1_macro >= 0.85", "recall > 0.6"].'),
    custom_metrics: z.array(z.string().min(1)).nullish().describe('Metric names of your own that the vocabulary does not know.'),
    thresholds: z
      .record(z.string(), z.number())
      .nullish()
      .describe(
        `Gate thresholds to change, e.g. {"max_cv_relative_std": 0.15}. Keys: ${THRESHOLDS.map((t) => `${t.key} (default ${t.default})`).join(', ')}.`,
      ),
    selection: z.enum(['auto', 'cv', 'validation', 'test']).nullish(),
  },
  output: {
    increment: z.string(),
    changed: z.array(z.string()),
    primary_metric: z.string().nullable(),
    direction: Direction.nullable(),
    success_criteria: z.array(Criterion),
    thresholds: z.record(z.string(), z.number()),
    selection: z.enum(['auto', 'cv', 'validation', 'test']),
    files: z.array(z.string()),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const r = await updateIncrementSettings(project, inc, args);
    const data = {
      increment: r.increment,
      changed: r.changed,
      primary_metric: r.ml.primary_metric,
      direction: r.ml.direction,
      success_criteria: r.ml.success_criteria,
      thresholds: r.ml.thresholds,
      selection: r.ml.selection,
      files: r.files,
    };
    const criteria = r.ml.success_criteria.map((c) => `${c.metric} ${c.op} ${c.value}`).join('; ') || 'none';
    return {
      data,
      text: `Updated ${r.changed.join(', ')} of ${r.increment}. Primary metric ${r.ml.primary_metric ?? 'none'} (${r.ml.direction ?? 'direction inferred'}), selection ${r.ml.selection}; criteria: ${criteria}. Wrote ${r.files.join(', ')}.`,
    };
  },
});
