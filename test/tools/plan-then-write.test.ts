/**
 * Plan, then write (issue 8 item 5): each tool that writes several files reads and renders everything first, so a
 * broken input found late or a refused target fails the call with the project tree byte-for-byte unchanged. And a
 * writer killed -9 at any point leaves files that all parse, and the next call succeeds.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { load } from 'js-yaml';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { BUNDLE, scratchDir } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';
import { makeMlflowStore } from '../importers/make-mlflow-store.js';

/** Every entry under dir: folders, links (with their target) and files (with their bytes' hash). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(p)}`;
      else if (e.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else out[rel] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

let c: TestClient;
let root: string;
const incDir = () =>
  path.join(
    root,
    '.specweave/increments',
    fs.readdirSync(path.join(root, '.specweave/increments')).find((n) => /^\d{4}-/.test(n))!,
  );
const expDir = (name: string) => path.join(incDir(), 'experiments', name);

beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
});
afterEach(async () => c.close());

/** Calls a tool that must fail, and proves the call changed nothing under the project root. */
async function failsWritingNothing(tool: string, args: Record<string, unknown>): Promise<string> {
  const before = snapshot(root);
  const message = await c.fails(tool, args);
  expect(snapshot(root)).toEqual(before);
  return message;
}

describe('a failure found late writes nothing', () => {
  it('track_experiment: a corrupt metrics.json or metadata.yaml of the experiment, a folder where history.jsonl goes', async () => {
    await c.ok('create_increment', { title: 'Plan' });
    await c.ok('track_experiment', { increment: '1', name: 'a', params: { lr: 0.1 }, metrics: { acc: 0.5 } });
    const update = {
      increment: '1',
      name: 'a',
      params: { lr: 0.2 },
      metrics: { acc: 0.6 },
      history: [{ metric: 'loss', value: 1, step: 0 }],
      note: 'second run',
    };

    fs.writeFileSync(path.join(expDir('a'), 'metrics.json'), '{"acc": 0.5,');
    expect(await failsWritingNothing('track_experiment', update)).toMatch(/metrics\.json/);

    fs.writeFileSync(path.join(expDir('a'), 'metrics.json'), '{"acc": 0.5}\n');
    fs.writeFileSync(path.join(expDir('a'), 'metadata.yaml'), 'name: [unclosed\n');
    expect(await failsWritingNothing('track_experiment', update)).toMatch(/metadata\.yaml/);

    // Every input parses, but one target cannot be written: refused before params.json or metrics.json change.
    await c.ok('track_experiment', { increment: '1', name: 'b', metrics: { acc: 0.1 } });
    fs.mkdirSync(path.join(expDir('b'), 'history.jsonl'));
    expect(await failsWritingNothing('track_experiment', { ...update, name: 'b' })).toMatch(
      /history\.jsonl is a folder where a file is written; nothing was written/,
    );
  });

  it('sync_docs: a living doc with broken section markers, a file where a docs folder goes, a broken metadata.json', async () => {
    const inc = await passingIncrement(c, root);
    const docs = path.join(root, '.specweave/docs/internal');

    // Before any doc exists: nothing may appear, not even the docs folder for the lock.
    fs.writeFileSync(path.join(incDir(), 'metadata.json'), '{"id": ');
    expect(await failsWritingNothing('sync_docs', { increment: inc })).toMatch(/metadata\.json/);
    expect(fs.existsSync(docs)).toBe(false);
    fs.rmSync(incDir(), { recursive: true });
    const again = await passingIncrement(c, root);

    fs.mkdirSync(docs, { recursive: true });
    fs.writeFileSync(path.join(docs, 'operations'), 'a file, not a folder\n');
    expect(await failsWritingNothing('sync_docs', { increment: again })).toMatch(/operations is a file where a folder is expected/);
    fs.rmSync(path.join(docs, 'operations'));

    const first = await c.ok('sync_docs', { increment: again });
    const [models, adr, runbook] = first.changes.map((ch: any) => path.join(root, ch.path));
    // A newer better model makes all three docs change; a broken marker in any one of them stops all three.
    await c.ok('track_experiment', { increment: again, name: 'gbm', metrics: { roc_auc: 0.95, recall: 0.8 } });
    for (const [file, cut] of [
      [runbook, /<!-- specweave-ml:end [^>]+ -->/],
      [adr, /<!-- specweave-ml:begin [^>]+ -->/],
      [models, null],
    ] as const) {
      const good = fs.readFileSync(file, 'utf8');
      const broken = cut
        ? good.replace(cut, '')
        : `${good}\n<!-- specweave-ml:begin ${again} -->\ncopied by hand\n<!-- specweave-ml:end ${again} -->\n`;
      fs.writeFileSync(file, broken);
      const message = await failsWritingNothing('sync_docs', { increment: again });
      expect(message).toMatch(
        new RegExp(
          `${path.basename(file).replace('.', '\\.')}: the generated section "[^"]+" (has an? (begin|end) marker without|is marked more than once)`,
        ),
      );
      fs.writeFileSync(file, good);
    }
    const synced = await c.ok('sync_docs', { increment: again });
    expect(synced.selected_model).toBe('gbm');
    expect(synced.changes.map((ch: any) => ch.action)).toEqual(['update', 'update', 'update']);
  });

  it('import_runs: an experiment whose metadata.yaml does not parse (its run could be imported twice)', async () => {
    await c.ok('create_increment', { title: 'Imports' });
    await makeMlflowStore(path.join(root, 'mlruns'), { runs: 6, metrics: 2, params: 2, points: 2 });
    const first = await c.ok('import_runs', { increment: '1', source: 'mlruns' });
    expect(first.imported_count).toBe(6);
    const victim = first.imported[0].experiment;
    fs.rmSync(expDir(first.imported[1].experiment), { recursive: true }); // one run to import again
    fs.writeFileSync(path.join(expDir(victim), 'metadata.yaml'), 'source: {key: [broken\n');
    expect(await failsWritingNothing('import_runs', { increment: '1', source: 'mlruns' })).toMatch(
      new RegExp(`${victim}/metadata\\.yaml[^]*nothing was imported`),
    );
  });

  it('create_increment: every number used', async () => {
    fs.mkdirSync(path.join(root, '.specweave/increments/9999-last'), { recursive: true });
    expect(await failsWritingNothing('create_increment', { title: 'One more' })).toMatch(/9999/);
  });

  it('update_task: an unknown task or a tasks.md without it', async () => {
    await c.ok('create_increment', { title: 'Tasks' });
    expect(await failsWritingNothing('update_task', { increment: '1', task: 'T-777', status: 'completed' })).toMatch(/No task T-777/);
    fs.writeFileSync(path.join(incDir(), 'tasks.md'), '# Tasks\n\nnothing here\n');
    expect(await failsWritingNothing('update_task', { increment: '1', task: 'T-001', status: 'completed' })).toMatch(/lists no tasks/);
  });
});

describe('kill -9 during each multi-file write', () => {
  beforeAll(() => {
    if (!fs.existsSync(BUNDLE)) execFileSync('npm', ['run', 'build'], { cwd: path.resolve(__dirname, '../..'), stdio: 'ignore' });
  });

  /** Every file the format defines parses: JSON, YAML, each history line, the Markdown docs as UTF-8. */
  function assertEverythingParses(dir: string): void {
    for (const rel of Object.keys(snapshot(dir))) {
      const file = path.join(dir, rel);
      // Temp files and staging folders are a crashed writer's private leftovers, never read.
      if (!fs.lstatSync(file).isFile() || rel.split(path.sep).some((part) => part.startsWith('.') && part !== '.specweave')) continue;
      const text = fs.readFileSync(file, 'utf8');
      if (file.endsWith('.json')) expect(() => JSON.parse(text), rel).not.toThrow();
      else if (file.endsWith('.yaml')) expect(load(text), rel).toBeTypeOf('object');
      else if (file.endsWith('.jsonl'))
        for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line), rel).not.toThrow();
    }
  }

  /**
   * Starts the bundle and fires the call. With `kill`, waits until `writing()` shows the write under way (its lock,
   * staging folder), then a random share of `windowMs`, and kills the server -9. Returns whether the kill came
   * before the answer, and how long the answer took after the write was first seen (to size the window).
   */
  async function runServer(
    tool: string,
    args: Record<string, unknown>,
    writing: () => boolean,
    opts: { kill: boolean; windowMs?: number },
  ) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BUNDLE, '--root', root],
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'killer', version: '0' });
    await client.connect(transport);
    let answered = false;
    const call = client.callTool({ name: tool, arguments: args }).then(
      () => void (answered = true),
      () => undefined,
    );
    const start = Date.now();
    while (!answered && !writing() && Date.now() - start < 20_000) await new Promise((r) => setImmediate(r));
    const seen = Date.now();
    if (opts.kill) {
      await new Promise((r) => setTimeout(r, Math.random() * (opts.windowMs ?? 0)));
      process.kill(transport.pid!, 'SIGKILL');
    }
    const hit = !answered;
    await call;
    await client.close().catch(() => undefined);
    return { hit, answerMs: Math.max(2, Date.now() - seen) };
  }

  const ROUNDS = 6;
  const RUNS = 40;
  const has = (dir: string, prefix: string) => () => fs.existsSync(dir) && fs.readdirSync(dir).some((n) => n.startsWith(prefix));

  it('track_experiment: the experiment always reads back, and the next update succeeds', async () => {
    await c.ok('create_increment', { title: 'Kill' });
    const history = Array.from({ length: 2000 }, (_, step) => ({ metric: 'loss', value: 1 / (step + 1), step }));
    await c.ok('track_experiment', { increment: '1', name: 'k', params: { p: 0 }, history });
    const args = (i: number) => ({ increment: '1', name: 'k', params: { p: i }, metrics: { acc: i / 10 }, history, note: `round ${i}` });
    const { answerMs } = await runServer('track_experiment', args(0), has(expDir('k'), '.lock'), { kill: false });
    let hits = 0;
    for (let i = 1; i <= ROUNDS; i += 1) {
      hits += Number((await runServer('track_experiment', args(i), has(expDir('k'), '.lock'), { kill: true, windowMs: answerMs })).hit);
      assertEverythingParses(root);
      const next = await c.ok('track_experiment', { increment: '1', name: 'k', metrics: { after: i } });
      expect(next.created).toBe(false);
      const lines = fs
        .readFileSync(path.join(expDir('k'), 'history.jsonl'), 'utf8')
        .trimEnd()
        .split('\n');
      expect(lines.length % 2000).toBe(0); // whole appends only
    }
    expect(hits).toBeGreaterThan(0); // at least one kill landed before the answer
  });

  it('create_increment: an increment appears complete or not at all', async () => {
    await c.ok('create_increment', { title: 'Warm up' });
    const increments = path.join(root, '.specweave/increments');
    const { answerMs } = await runServer('create_increment', { title: 'Measured' }, has(increments, '.staging-'), { kill: false });
    let hits = 0;
    for (let i = 1; i <= ROUNDS; i += 1) {
      hits += Number(
        (await runServer('create_increment', { title: `Round ${i}` }, has(increments, '.staging-'), { kill: true, windowMs: answerMs }))
          .hit,
      );
      assertEverythingParses(root);
      await c.ok('create_increment', { title: `After ${i}` });
      for (const name of fs.readdirSync(increments).filter((n) => /^\d{4}-/.test(n))) {
        expect(fs.readdirSync(path.join(increments, name)).sort(), name).toEqual([
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
      }
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('import_runs: each experiment appears whole, and importing again completes the set without duplicates', async () => {
    await c.ok('create_increment', { title: 'Kill import' });
    await makeMlflowStore(path.join(root, 'mlruns'), { runs: RUNS, metrics: 3, params: 3, points: 10 });
    const experiments = () => path.join(incDir(), 'experiments');
    const reset = () => {
      fs.rmSync(experiments(), { recursive: true });
      fs.mkdirSync(experiments());
    };
    const args = { increment: '1', source: 'mlruns' };
    const { answerMs } = await runServer('import_runs', args, has(experiments(), '.staging-'), { kill: false });
    reset();
    let hits = 0;
    for (let i = 1; i <= ROUNDS; i += 1) {
      hits += Number((await runServer('import_runs', args, has(experiments(), '.staging-'), { kill: true, windowMs: answerMs })).hit);
      assertEverythingParses(root);
      const names = fs.readdirSync(experiments()).filter((n) => !n.startsWith('.'));
      for (const n of names)
        expect(fs.readdirSync(expDir(n)).sort(), n).toEqual(['history.jsonl', 'metadata.yaml', 'metrics.json', 'params.json']);
      const r = await c.ok('import_runs', args);
      expect(r.already_imported).toBe(names.length);
      expect(r.already_imported + r.imported_count).toBe(RUNS);
      expect(fs.readdirSync(experiments()).filter((n) => !n.startsWith('.'))).toHaveLength(RUNS);
      reset();
    }
    expect(hits).toBeGreaterThan(0);
  });

  it('sync_docs: the docs always parse, and the next sync succeeds', async () => {
    const inc = await passingIncrement(c, root);
    const docs = path.join(root, '.specweave/docs/internal');
    await c.ok('track_experiment', { increment: inc, name: 'm0', metrics: { roc_auc: 0.9, recall: 0.7 } });
    const { answerMs } = await runServer('sync_docs', { increment: inc }, has(docs, '.sync.lock'), { kill: false });
    let hits = 0;
    for (let i = 1; i <= ROUNDS; i += 1) {
      await c.ok('track_experiment', { increment: inc, name: `m${i}`, metrics: { roc_auc: 0.9 + i / 100, recall: 0.7 } });
      hits += Number((await runServer('sync_docs', { increment: inc }, has(docs, '.sync.lock'), { kill: true, windowMs: answerMs })).hit);
      assertEverythingParses(root);
      const r = await c.ok('sync_docs', { increment: inc });
      expect(r.selected_model).toBe(`m${i}`);
      expect(fs.readdirSync(path.join(docs, 'architecture/adr')).filter((n) => !n.startsWith('.'))).toHaveLength(1); // never a second ADR
      expect(fs.readFileSync(path.join(root, r.changes[0].path), 'utf8')).toContain(`Selected model: **m${i}**`);
    }
    expect(hits).toBeGreaterThan(0);
  });
});
