import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MlError } from '../../mcp-server/src/core/errors.js';
import { Project } from '../../mcp-server/src/core/project.js';
import { parseTasks, setTaskStatus } from '../../mcp-server/src/core/tasks.js';
import { scratchDir } from '../helpers/project.js';

const MD = [
  '# Tasks',
  '',
  '### T-001: Explore data',
  '**User Story**: US-001 | **Satisfies ACs**: AC-US1-01 | **Status**: [x] completed',
  '',
  '### T-002: Train baseline',
  '**User Story**: US-001',
  '**Status**: [ ] pending',
  '',
  '- [x] T-003: checklist style done',
  '- [ ] **T-004**: checklist style open',
  '### T-005: Dropped idea',
  '**Status**: [-] canceled',
  '',
].join('\r\n');

describe('tasks.md', () => {
  it('reads SpecWeave blocks and checklist lines', () => {
    expect(parseTasks(MD).map((t) => [t.id, t.done, t.status])).toEqual([
      ['T-001', true, 'completed'],
      ['T-002', false, 'pending'],
      ['T-003', true, 'completed'],
      ['T-004', false, 'pending'],
      ['T-005', false, 'canceled'],
    ]);
  });
  it('changes exactly one status and keeps every other byte', async () => {
    // The store writes only inside a registered project's .specweave/ (the sandbox): the increment lives there.
    const project = new Project(scratchDir());
    const dir = path.join(project.incrementsDir, '0001-x');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'tasks.md'), MD);
    const inc = { id: '0001-x', dir };
    expect(await setTaskStatus(inc, 't-002', 'completed')).toMatchObject({ id: 'T-002', done: true, status: 'completed' });
    await setTaskStatus(inc, 'T-004', 'completed');
    const after = fs.readFileSync(path.join(dir, 'tasks.md'), 'utf8');
    expect(after).toBe(MD.replace('**Status**: [ ] pending', '**Status**: [x] completed').replace('- [ ] **T-004**', '- [x] **T-004**'));
    const why = (p: Promise<unknown>) =>
      p.then(
        () => '',
        (e: MlError) => e.describe(),
      );
    expect(await why(setTaskStatus(inc, 'T-099', 'completed'))).toMatch(/No task T-099[^]*Tasks: T-001, T-002, T-003, T-004, T-005/);
    expect(await why(setTaskStatus(inc, 'nonsense', 'completed'))).toMatch(/Task ids look like "T-003"/);
  });
});
