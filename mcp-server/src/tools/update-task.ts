import { z } from 'zod';
import { resolveIncrement } from '../core/increments.js';
import { setTaskStatus } from '../core/tasks.js';
import { defineTool } from './define.js';
import { IncrementRef } from './schemas.js';

export const updateTaskTool = defineTool({
  name: 'update_task',
  title: 'Update task status',
  description:
    'Set the status of one task in the increment\'s tasks.md ("### T-003: …" with "**Status**: [x] completed"), ' +
    'leaving the rest of the file untouched. validate_increment requires every task completed (or canceled).',
  input: {
    increment: IncrementRef,
    task: z.string().min(1).describe('Task id, e.g. "T-003".'),
    status: z.enum(['pending', 'in_progress', 'completed', 'canceled']),
  },
  output: { increment: z.string(), task: z.string(), title: z.string(), status: z.string(), done: z.boolean() },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { project }) {
    const inc = await resolveIncrement(project, args.increment);
    const t = await setTaskStatus(inc, args.task, args.status);
    return {
      data: { increment: inc.id, task: t.id, title: t.title, status: t.status, done: t.done },
      text: `${inc.id} ${t.id} (${t.title}) is now ${t.status}.`,
    };
  },
});
