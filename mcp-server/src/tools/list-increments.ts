import { z } from 'zod';
import { listExperimentNames } from '../core/experiments.js';
import { listIncrements, readIncrementMetadata } from '../core/increments.js';
import { defineTool } from './define.js';

export const listIncrementsTool = defineTool({
  name: 'list_increments',
  title: 'List increments',
  description:
    'List the increments of the project (.specweave/increments/) with title, SpecWeave status, ML problem type, ' +
    'primary metric and number of experiments. Use it to find the increment to work in.',
  input: {},
  output: {
    project_root: z.string(),
    increments: z.array(
      z.object({
        increment: z.string(),
        title: z.string().nullable(),
        status: z.string().nullable(),
        problem_type: z.string().nullable(),
        primary_metric: z.string().nullable(),
        experiments: z.number(),
        error: z.string().optional(),
      }),
    ),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(_args, { project }) {
    const incs = await listIncrements(project);
    const increments = await Promise.all(
      incs.map(async (inc) => {
        const experiments = (await listExperimentNames(inc)).length;
        try {
          const { raw, ml } = await readIncrementMetadata(project, inc);
          const str = (v: unknown) => (typeof v === 'string' ? v : null);
          return {
            increment: inc.id,
            title: str(raw.title),
            status: str(raw.status),
            problem_type: ml.problem_type,
            primary_metric: ml.primary_metric,
            experiments,
          };
        } catch (e) {
          return {
            increment: inc.id,
            title: null,
            status: null,
            problem_type: null,
            primary_metric: null,
            experiments,
            error: (e as Error).message,
          };
        }
      }),
    );
    return {
      data: { project_root: project.root, increments },
      text: increments.length
        ? increments
            .map(
              (i) =>
                `- ${i.increment} [${i.status ?? '?'}] ${i.title ?? ''} (${i.problem_type ?? '?'}, ${i.primary_metric ?? '?'}; ${i.experiments} experiments)${i.error ? ` ERROR: ${i.error}` : ''}`,
            )
            .join('\n')
        : `No increments in ${project.root}/.specweave/increments. Create one with create_increment.`,
    };
  },
});
