import * as fs from 'node:fs';
import * as path from 'node:path';
import matter from 'gray-matter';
import { afterEach, describe, expect, it } from 'vitest';
import { stringifyCanonical } from '../../mcp-server/src/core/json.js';
import { parseTasks } from '../../mcp-server/src/core/tasks.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

let c: TestClient;
afterEach(async () => c?.close());

describe('create_increment', () => {
  it('creates a SpecWeave-compatible ML increment', async () => {
    const root = scratchDir();
    c = await inMemoryClient(root);
    const r = await c.ok('create_increment', {
      title: 'Sales forecasting: weekly!',
      problem_type: 'time-series',
      success_criteria: ['MAPE < 10%'],
      primary_metric: null,
      direction: null,
    });
    expect(r).toMatchObject({
      increment: '0001-sales-forecasting-weekly',
      path: '.specweave/increments/0001-sales-forecasting-weekly',
      problem_type: 'time-series',
      primary_metric: 'mape',
      direction: 'minimize',
    });
    const dir = path.join(root, r.path);
    expect(fs.readdirSync(dir).sort()).toEqual([
      'data',
      'experiments',
      'metadata.json',
      'models',
      'notebooks',
      'plan.md',
      'spec.md',
      'tasks.md',
      'tests.md',
    ]);
    const metaText = fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8');
    const meta = JSON.parse(metaText);
    expect(meta).toMatchObject({
      id: r.increment,
      status: 'planning',
      type: 'feature',
      ml: { problem_type: 'time-series', success_criteria: [{ metric: 'mape', op: '<', value: 0.1 }] },
    });
    expect(metaText).toBe(stringifyCanonical(meta)); // sorted keys, 2 spaces, trailing newline
    const spec = matter(fs.readFileSync(path.join(dir, 'spec.md'), 'utf8'));
    expect(spec.data).toMatchObject({ increment: r.increment, status: 'planning', title: 'Sales forecasting: weekly!' });
    expect(spec.content).toMatch(/## Success Criteria\n\n- MAPE < 10%/);
    expect(spec.content).toMatch(/### US-001: .*\(P1\)\n\*\*Project\*\*: /);
    expect(spec.content).toMatch(/Rolling-origin/); // time-series validation advice, not a random split
    const tasks = parseTasks(fs.readFileSync(path.join(dir, 'tasks.md'), 'utf8'));
    expect(tasks).toHaveLength(9);
    expect(tasks.every((t) => !t.done && t.status === 'pending')).toBe(true);
  });

  it('takes the next number after every used one, lifecycle folders included', async () => {
    const root = scratchDir();
    fs.mkdirSync(path.join(root, '.specweave/increments/_archive/0007-old'), { recursive: true });
    fs.mkdirSync(path.join(root, '.specweave/increments/012-legacy'), { recursive: true });
    fs.mkdirSync(path.join(root, '.specweave/increments/0011G-imported'), { recursive: true });
    c = await inMemoryClient(root);
    expect((await c.ok('create_increment', { title: 'Next' })).increment).toBe('0013-next');
  });

  it('gives concurrent calls distinct numbers', async () => {
    const root = scratchDir();
    c = await inMemoryClient(root);
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c.ok('create_increment', { title: `model ${i}` }).then((r) => r.increment.slice(0, 4))),
    );
    expect(ids.sort()).toEqual(['0001', '0002', '0003', '0004', '0005', '0006', '0007', '0008']);
  });

  it('explains bad input and writes nothing', async () => {
    const root = scratchDir();
    c = await inMemoryClient(root);
    expect(await c.fails('create_increment', { title: 'x', problem_type: 'astrology' })).toMatch(/problem_type/);
    expect(await c.fails('create_increment', { title: 'x', success_criteria: ['be good'] })).toMatch(
      /Cannot use these success criteria: "be good" is not "<metric> <op> <number>"[^]*"f1_macro >= 0.8"/,
    );
    expect(await c.fails('create_increment', { title: '!!!' })).toMatch(/no letters or digits/);
    expect(
      fs.existsSync(path.join(root, '.specweave/increments'))
        ? fs.readdirSync(path.join(root, '.specweave/increments')).filter((n) => !n.startsWith('.'))
        : [],
    ).toEqual([]);
  });
});
