/**
 * tasks.md in SpecWeave's format: `### T-001: Title` blocks with `**Status**: [x] completed` or `[ ] pending`,
 * and the simpler checklist form `- [x] T-001: Title` that ML templates used to write. Both are read.
 */
import * as path from 'node:path';
import { invalid, notFound } from './errors.js';
import type { Increment } from './increments.js';
import { listEntryKinds, readText, withLock, writeAtomic } from './store/disk.js';
import { removeDeadLeftovers } from './store/leftovers.js';

export interface Task {
  id: string;
  title: string;
  done: boolean;
  status: string;
}

const HEADER = /^#{2,4}\s+(T-\d{3,}E?):\s*(.*)$/;
const STATUS = /\*\*Status\*\*:\s*\[([ xX~-])\]\s*([A-Za-z_ -]*)/;
const CHECKLIST = /^\s*[-*]\s+\[([ xX~-])\]\s+\*{0,2}(T-\d{3,}E?)\*{0,2}:?\s*(.*)$/;

function statusWord(mark: string, word: string): string {
  const w = word.trim().split(/\s+/)[0]?.toLowerCase();
  if (w) return w;
  return mark.toLowerCase() === 'x' ? 'completed' : mark === '~' ? 'in_progress' : mark === '-' ? 'canceled' : 'pending';
}

export function parseTasks(markdown: string): Task[] {
  const tasks: Task[] = [];
  let current: Task | undefined;
  for (const line of markdown.split(/\r?\n/)) {
    const header = HEADER.exec(line);
    if (header) {
      current = { id: header[1]!, title: header[2]!.trim(), done: false, status: 'pending' };
      tasks.push(current);
      continue;
    }
    const check = CHECKLIST.exec(line);
    if (check) {
      tasks.push({ id: check[2]!, title: check[3]!.trim(), done: check[1]!.toLowerCase() === 'x', status: statusWord(check[1]!, '') });
      current = undefined;
      continue;
    }
    const status = current && STATUS.exec(line);
    if (status && current) {
      current.status = statusWord(status[1]!, status[2]!);
      current.done = status[1]!.toLowerCase() === 'x';
    }
  }
  return tasks;
}

export type TaskStatus = 'pending' | 'in_progress' | 'completed' | 'canceled';
const MARK: Record<TaskStatus, string> = { pending: ' ', in_progress: '~', completed: 'x', canceled: '-' };

/** Sets one task's status in tasks.md, keeping every other byte of the file. */
export async function setTaskStatus(inc: Increment, taskId: string, status: TaskStatus): Promise<Task> {
  const id = taskId.trim().toUpperCase();
  if (!/^T-\d{3,}E?$/.test(id)) throw invalid(`Invalid task id ${JSON.stringify(taskId)}.`, 'Task ids look like "T-003".');
  const file = path.join(inc.dir, 'tasks.md');
  return withLock(path.join(inc.dir, '.lock'), async () => {
    const text = await readText(file);
    if (text === undefined) throw notFound(`${inc.id} has no tasks.md.`, 'Create the increment with create_increment, or write tasks.md.');
    const lines = text.split('\n');
    const ids = parseTasks(text).map((t) => t.id);
    let inTask = false;
    let changed = false;
    for (let i = 0; i < lines.length && !changed; i += 1) {
      // Lines keep their \r (CRLF files stay CRLF); the patterns see them without it.
      const line = lines[i]!;
      const bare = line.replace(/\r$/, '');
      const header = HEADER.exec(bare);
      if (header) {
        inTask = header[1] === id;
        continue;
      }
      const check = CHECKLIST.exec(bare);
      if (check && check[2] === id) {
        lines[i] = line.replace(/\[([ xX~-])\]/, `[${MARK[status]}]`);
        changed = true;
      } else if (inTask && STATUS.test(bare)) {
        lines[i] = line.replace(/(\*\*Status\*\*:\s*)\[[ xX~-]\]\s*[A-Za-z_-]*/, `$1[${MARK[status]}] ${status}`);
        changed = true;
      }
    }
    if (!changed) {
      throw notFound(
        `No task ${id} with a status in ${inc.id}/tasks.md.`,
        ids.length ? `Tasks: ${ids.join(', ')}.` : 'tasks.md lists no tasks.',
      );
    }
    // Plan, then write: the whole new text is computed above; one atomic write replaces the file.
    const after = lines.join('\n');
    await writeAtomic(file, after);
    await removeDeadLeftovers(inc.dir, await listEntryKinds(inc.dir));
    return parseTasks(after).find((t) => t.id === id)!;
  });
}
