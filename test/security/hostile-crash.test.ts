/**
 * Writers killed and writers racing, with the real bundle (run `npm run build` first):
 * - kill -9 at fixed points of each multi-file write (create_increment, track_experiment, import_runs, sync_docs,
 *   evaluate_predictions): afterwards every file of the store parses and the same call, made again, works;
 * - three server processes importing one MLflow store into one increment at once: each run is imported once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, stdioClient, type TestClient } from '../helpers/client.js';
import { BUNDLE } from '../helpers/project.js';
import { DEPLOY, EXP, INC, rawSession, templateWorkspace, workDir, Workspace } from './hostile.js';

/** An MLflow file store with `runs` runs of a few params and metrics, at `dir`. */
function mlflowStore(dir: string, runs: number): void {
  const w = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  w('7/meta.yaml', "artifact_location: mlflow-artifacts:/7\nexperiment_id: '7'\nlifecycle_stage: active\nname: bulk\n");
  for (let i = 0; i < runs; i += 1) {
    const id = i.toString(16).padStart(32, '0');
    w(
      `7/${id}/meta.yaml`,
      `experiment_id: '7'\nlifecycle_stage: active\nrun_id: ${id}\nrun_name: run-${i}\nstatus: 3\nstart_time: ${1735725600000 + i}\nend_time: ${1735725660000 + i}\n`,
    );
    w(`7/${id}/params/seed`, String(i));
    w(
      `7/${id}/metrics/auc`,
      Array.from({ length: 20 }, (_, s) => `${1735725600000 + s} ${(0.5 + (i % 40) / 100 + s / 1000).toFixed(4)} ${s}`).join('\n') + '\n',
    );
  }
}

/** Every file a reader reads (names not starting with "."), parsed as its kind; returns the ones that do not parse. */
function unparsable(dir: string): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue; // locks, temp files, staging folders: readers skip them
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        walk(p);
        continue;
      }
      const text = fs.readFileSync(p, 'utf8');
      try {
        if (e.name.endsWith('.json')) JSON.parse(text);
        else if (e.name.endsWith('.yaml')) load(text);
        else if (e.name.endsWith('.jsonl')) for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
      } catch (err) {
        bad.push(`${path.relative(dir, p)}: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  };
  walk(dir);
  return bad;
}

const BIG_PREDICTIONS =
  ['y_true,score', ...Array.from({ length: 20_000 }, (_, i) => `${i % 3 === 0 ? 1 : 0},${((i * 7919) % 1000) / 1000}`)].join('\n') + '\n';

/** Increment 0001's metadata.json status, read from disk. */
const statusOf = (root: string) => JSON.parse(fs.readFileSync(path.join(root, INC, 'metadata.json'), 'utf8')).status as string;

/**
 * The multi-file writers, each with arguments that make its write take long enough to be cut. `done` says when the
 * killed call evidently finished its work, so that the same call made again is expected to be refused (a completed
 * increment refuses complete_increment) and what it wrote must then be whole; `check` adds follow-up calls.
 */
const WRITERS: {
  tool: string;
  args: Record<string, unknown>;
  setup?: (root: string) => void;
  done?: (root: string) => boolean;
  check?: (c: TestClient, root: string) => Promise<void>;
}[] = [
  {
    tool: 'create_increment',
    args: { title: 'Crash test', problem_type: 'classification', primary_metric: 'roc_auc', success_criteria: ['roc_auc >= 0.7'] },
  },
  {
    tool: 'track_experiment',
    args: {
      increment: '1',
      name: 'crashing',
      params: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p${i}`, i])),
      metrics: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`m${i}`, i / 1000])),
      note: 'cut',
      history: Array.from({ length: 5000 }, (_, i) => ({ metric: 'loss', value: 1 / (i + 1), step: i })),
    },
  },
  { tool: 'import_runs', args: { increment: '1', source: 'bulk' }, setup: (root) => mlflowStore(path.join(root, 'bulk'), 150) },
  { tool: 'sync_docs', args: { increment: '1' } },
  {
    tool: 'evaluate_predictions',
    args: { increment: '1', experiment: 'exp', predictions: 'big.csv', task: 'binary', bootstrap_resamples: 200 },
    setup: (root) => fs.writeFileSync(path.join(root, EXP, 'big.csv'), BIG_PREDICTIONS),
  },
  // The lifecycle writers: a version record then an event line under the model's lock; a summary, the docs, the
  // report and metadata.json last; two report files; a dozen files of a scaffold, its manifest last.
  {
    tool: 'register_model',
    args: { name: 'churn', increment: '1', experiment: 'exp', description: 'cut' },
    check: async (c) => {
      const model = await c.ok('get_model', { name: 'churn' });
      expect(model.versions.length).toBeGreaterThanOrEqual(3);
    },
  },
  {
    tool: 'complete_increment',
    args: { increment: '1', force: true, reason: 'crash test' },
    done: (root) => statusOf(root) === 'completed',
    check: async (c, root) => {
      // Completed means completed whole: the summary is there and metadata.json holds the completion facts.
      expect(statusOf(root)).toBe('completed');
      expect(fs.readFileSync(path.join(root, INC, 'COMPLETION-SUMMARY.md'), 'utf8')).toMatch(/\S/);
      expect(JSON.parse(fs.readFileSync(path.join(root, INC, 'metadata.json'), 'utf8')).ml.completion.forced).toBeTypeOf('boolean');
      expect((await c.call('get_experiment', { increment: '1', name: 'exp' })).isError).not.toBe(true);
    },
  },
  { tool: 'render_report', args: {} },
  {
    tool: 'scaffold_deployment',
    args: { model: 'churn', stage: 'staging', output: DEPLOY },
    check: async (_c, root) => expect(unparsable(path.join(root, DEPLOY))).toEqual([]),
  },
];

/** Kill points, as fractions of the call's uninterrupted duration (fixed: the suite's run time is bounded). */
const KILL_AT = [0.05, 0.35, 0.65, 0.95];

describe('kill -9 during each multi-file write', () => {
  let work = '';
  let ws: Workspace;
  beforeAll(async () => {
    if (!fs.existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build`);
    work = workDir();
    ws = await templateWorkspace(work);
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it.each(WRITERS)('$tool', async ({ tool, args, setup, done: finishedBy, check }) => {
    // The uninterrupted duration, measured once, places the kill points.
    ws.reset();
    setup?.(ws.root);
    const timed = rawSession(ws.root);
    await timed.open();
    const t0 = performance.now();
    const done = await timed.response(timed.callTool(tool, args), 60_000);
    const duration = performance.now() - t0;
    timed.child.kill('SIGKILL');
    expect(done.result?.isError, JSON.stringify(done).slice(0, 500)).not.toBe(true);

    let cut = 0;
    for (const fraction of KILL_AT) {
      ws.reset();
      setup?.(ws.root);
      const s = rawSession(ws.root);
      await s.open();
      const id = s.callTool(tool, args);
      await new Promise((r) => setTimeout(r, fraction * duration));
      s.child.kill('SIGKILL');
      await new Promise((r) => s.child.once('exit', r));
      if (!s.answered(id)) cut += 1;

      expect(unparsable(path.join(ws.root, '.specweave')), `killed at ${Math.round(fraction * duration)} ms`).toEqual([]);
      const next = await inMemoryClient(ws.root);
      try {
        const finished = finishedBy?.(ws.root) ?? false;
        const again = await next.call(tool, args);
        const why = `${tool} after a kill at ${Math.round(fraction * duration)} ms: ${JSON.stringify(again.content).slice(0, 400)}`;
        // A call whose work was done before the kill is refused again (completed is completed); any other succeeds.
        if (finished) expect(again.isError, why).toBe(true);
        else expect(again.isError, why).not.toBe(true);
        await check?.(next, ws.root);
        expect((await next.call('validate_increment', { increment: '1' })).content).toBeTruthy();
        expect((await next.call('list_experiments', { increment: '1' })).isError).not.toBe(true);
        expect(unparsable(path.join(ws.root, '.specweave'))).toEqual([]);
      } finally {
        await next.close();
      }
    }
    // At least one kill landed before the call finished (otherwise this test would prove nothing).
    expect(cut).toBeGreaterThan(0);
  });
});

describe('a scaffold killed mid-write', () => {
  it("leaves temp files that do not block the next scaffold of the folder (they are not the user's edits)", async () => {
    const work = workDir();
    try {
      const ws = await templateWorkspace(work);
      // What writeAtomic leaves when killed between writing its temp file and renaming it.
      const temp = path.join(ws.root, DEPLOY, 'rollout/.rollout.yaml.4194303.0badc0de.tmp');
      fs.writeFileSync(temp, 'canary: half writ');
      const c = await inMemoryClient(ws.root);
      try {
        const r = await c.ok('scaffold_deployment', { model: 'churn', stage: 'staging', output: DEPLOY });
        expect(r.replaced_previous).toBe(true);
        // And a file the scaffold did not write is still refused, so the leftover rule is no loophole for edits.
        fs.writeFileSync(path.join(ws.root, DEPLOY, 'rollout/notes.yaml'), 'mine');
        const refused = await c.call('scaffold_deployment', { model: 'churn', stage: 'staging', output: DEPLOY });
        expect(refused.isError).toBe(true);
        expect(JSON.stringify(refused.content)).toContain('rollout/notes.yaml');
      } finally {
        await c.close();
      }
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('concurrent imports', () => {
  it('three server processes importing one store into one increment at once import each run once', async () => {
    const work = workDir();
    const root = path.join(work, 'project');
    fs.mkdirSync(root);
    try {
      const setup = await inMemoryClient(root);
      await setup.ok('create_increment', { title: 'Race', problem_type: 'classification', primary_metric: 'auc' });
      await setup.close();
      const RUNS = 120;
      mlflowStore(path.join(root, 'mlruns'), RUNS);
      const servers = await Promise.all([0, 1, 2].map(() => stdioClient(['--root', root])));
      try {
        const results = await Promise.all(servers.map((s) => s.call('import_runs', { increment: '1', source: 'mlruns' })));
        for (const r of results) expect(r.isError, JSON.stringify(r.content).slice(0, 400)).not.toBe(true);
        const imported = results.reduce((n, r) => n + (r.structuredContent as any).imported_count, 0);
        expect(imported).toBe(RUNS);
        const again = await servers[0]!.ok('import_runs', { increment: '1', source: 'mlruns' });
        expect(again.imported_count).toBe(0);
        expect(again.already_imported).toBe(RUNS);
      } finally {
        await Promise.all(servers.map((s) => s.close()));
      }
      const expDir = path.join(
        root,
        INC.replace(
          '0001-hostile',
          fs.readdirSync(path.join(root, '.specweave/increments')).find((n) => n.startsWith('0001'))!,
        ),
        'experiments',
      );
      const experiments = fs
        .readdirSync(expDir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !e.name.startsWith('_'));
      expect(experiments).toHaveLength(RUNS);
      const runIds = experiments.map(
        (e) => /run_id: "([0-9a-f]+)"/.exec(fs.readFileSync(path.join(expDir, e.name, 'metadata.yaml'), 'utf8'))?.[1],
      );
      expect(new Set(runIds).size).toBe(RUNS);
      expect(unparsable(path.join(root, '.specweave'))).toEqual([]);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
