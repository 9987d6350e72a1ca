import { parseTasks } from '../tasks.js';
import { check, type GateDefinition } from './types.js';

export const tasksDoneGate: GateDefinition = {
  id: 'tasks-done',
  summary: 'Every task in tasks.md is completed (or canceled).',
  check({ tasksMd }) {
    if (tasksMd === undefined) return check('tasks-done', 'fail', 'tasks.md is missing.');
    const tasks = parseTasks(tasksMd);
    if (tasks.length === 0) return check('tasks-done', 'warn', 'tasks.md lists no tasks (### T-001: …).');
    const open = tasks.filter((t) => !t.done && t.status !== 'canceled');
    if (open.length === 0) return check('tasks-done', 'pass', `All ${tasks.length} tasks completed.`);
    const list = open
      .slice(0, 10)
      .map((t) => `${t.id} ${t.title}`)
      .join('; ');
    return check(
      'tasks-done',
      'fail',
      `${open.length} of ${tasks.length} tasks not completed: ${list}${open.length > 10 ? '; …' : ''}. Tick them with update_task.`,
    );
  },
};
