/**
 * W&B as the real library writes it today: offline runs made by wandb itself (make-wandb-runs.py, run under the
 * pinned Python environment) imported through import_runs, every value checked against what the script logged.
 *
 * The Python is SPECWEAVE_TEST_PYTHON, else the repository's .venv-test. Without it (or without wandb in it) the
 * tests skip, saying why; SPECWEAVE_REQUIRE_PYENV=1 (CI) makes that a failure instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { scanWandb } from '../../mcp-server/src/core/importers/index.js';
import { cleanTemps, tempDir } from './helpers.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(HERE, '../../.venv-test/bin/python');
const HAS_WANDB = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import wandb'], { stdio: 'ignore' }).status === 0;
const REQUIRED = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
const SKIP = !HAS_WANDB && !REQUIRED;
if (SKIP) console.warn(`Skipping the real-W&B import tests: no wandb importable by ${PYTHON} (set SPECWEAVE_TEST_PYTHON).`);

interface Logged {
  id: string;
  name: string | null;
  config: Record<string, unknown>;
  history: Record<string, number | string>[];
  summary: Record<string, number | string>;
  exit_code: number;
  tags: string[];
  notes: string | null;
}

/** A value as the experiment files hold it: NaN and infinities as strings. */
const stored = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);

function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) out[prefix] = value;
  else for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

describe.skipIf(SKIP)(
  `import_runs on offline runs written by the real wandb${SKIP ? ' [skipped: no wandb in the test Python]' : ''}`,
  () => {
    let c: TestClient;
    let root: string;
    let incDir: string;
    let logged: Logged[];
    let imported: { experiment: string; run: string }[];
    const expDir = (run: Logged) => path.join(incDir, 'experiments', imported.find((i) => i.run === `wandb:${run.id}`)!.experiment);
    const readJson = (run: Logged, file: string) => JSON.parse(readFileSync(path.join(expDir(run), file), 'utf8'));
    const readMeta = (run: Logged) => load(readFileSync(path.join(expDir(run), 'metadata.yaml'), 'utf8')) as any;

    beforeAll(async () => {
      if (!HAS_WANDB) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${PYTHON} cannot import wandb`);
      root = scratchDir();
      const out = execFileSync(PYTHON, [path.join(HERE, 'make-wandb-runs.py'), path.join(root, 'tracking')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, WANDB_DIR: '', WANDB_MODE: 'offline' },
        timeout: 120_000,
      });
      logged = JSON.parse(out.trim().split('\n').pop()!).runs;
      c = await inMemoryClient(root);
      incDir = path.join(root, (await c.ok('create_increment', { title: 'W&B runs' })).path);
      const r = await c.ok('import_runs', { increment: '1', source: 'tracking/wandb' });
      expect(r).toMatchObject({ format: 'wandb', imported_count: 2, skipped_count: 0 });
      expect(r.warnings).toEqual([]);
      imported = r.imported;
    }, 180_000);
    afterAll(async () => {
      await c?.close();
      await cleanTemps();
    });

    it('keys each run by its W&B id and names it by its display name, else the id', () => {
      expect(imported.map((i) => i.run).sort()).toEqual(logged.map((r) => `wandb:${r.id}`).sort());
      expect(path.basename(expDir(logged[0]!))).toBe('resnet-small');
      expect(path.basename(expDir(logged[1]!))).toBe(logged[1]!.id);
    });

    it('flattens the nested config, updates made after init included, into params', () => {
      for (const run of logged) expect(readJson(run, 'params.json')).toEqual(flatten(run.config));
    });

    it('keeps the final summary as metrics: explicit summary values win over the last logged ones', () => {
      for (const run of logged) expect(readJson(run, 'metrics.json')).toEqual(run.summary);
    });

    it('keeps every logged step of the history, nested dicts as dotted metrics', () => {
      for (const run of logged) {
        const lines = readFileSync(path.join(expDir(run), 'history.jsonl'), 'utf8')
          .trimEnd()
          .split('\n');
        const points = lines
          .map((l) => JSON.parse(l))
          .map((p) => ({ metric: String(p.metric), value: p.value as unknown, step: Number(p.step) }));
        const expected = run.history.flatMap(({ _step, ...values }) =>
          Object.entries(values).map(([metric, value]) => ({ metric, value: stored(value), step: Number(_step) })),
        );
        expect(points.sort(byStepMetric)).toEqual(expected.sort(byStepMetric));
      }
    });

    it('says completed for a finished run and failed for one that raised, with tags, notes and times', () => {
      const [ok, crashed] = logged as [Logged, Logged];
      const meta = readMeta(ok);
      expect(meta).toMatchObject({ status: 'completed', tags: ok.tags, source: { tool: 'wandb', run_id: ok.id, offline: true } });
      expect(meta.notes.map((n: any) => n.text ?? n)).toEqual([ok.notes]);
      expect(Date.parse(meta.ended)).toBeGreaterThanOrEqual(Date.parse(meta.started));
      const history = readFileSync(path.join(expDir(ok), 'history.jsonl'), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      for (const p of history) expect(Date.parse(p.timestamp)).toBeGreaterThanOrEqual(Date.parse(meta.started));
      expect(readMeta(crashed).status).toBe(crashed.exit_code === 0 ? 'completed' : 'failed');
    });

    it('imports nothing twice', async () => {
      const again = await c.ok('import_runs', { increment: '1', source: 'tracking/wandb' });
      expect(again).toMatchObject({ imported_count: 0, already_imported: 2 });
    });
  },
);

const CLIENT_SCRIPT = `
import wandb
from specweave_ml import configure_wandb
configure_wandb("1")
run = wandb.init(project="churn", name="gbm", config={"lr": 0.1, "trees": {"depth": 4, "n": 200}}, tags=["cand"])
for step in range(6):
    run.log({"auc": 0.7 + step * 0.02, "loss": 1.0 / (step + 1)})
run.summary["best_auc"] = 0.81
run.finish()
try:
    with wandb.init(project="churn", config={"lr": 1.0}) as bad:
        bad.log({"loss": 9.0})
        raise ValueError("diverged")
except ValueError:
    pass
`;

describe.skipIf(SKIP)(`configure_wandb and import_runs agree${SKIP ? ' [skipped: no wandb in the test Python]' : ''}`, () => {
  let c: TestClient;
  let root: string;
  let incDir: string;

  beforeAll(async () => {
    if (!HAS_WANDB) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${PYTHON} cannot import wandb`);
    root = scratchDir();
    c = await inMemoryClient(root);
    incDir = path.join(root, (await c.ok('create_increment', { title: 'W&B client' })).path);
    execFileSync(PYTHON, ['-c', CLIENT_SCRIPT], {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, PYTHONPATH: path.resolve(HERE, '../../python'), SPECWEAVE_ROOT: root, WANDB_SILENT: 'true', WANDB_DIR: '' },
      timeout: 120_000,
    });
  }, 180_000);
  afterAll(async () => c?.close());

  it("the server's importer reads each run exactly as the client converted it, and imports none twice", async () => {
    const source = path.relative(root, path.join(incDir, 'experiments', '.wandb', 'wandb'));
    const scan = await scanWandb(path.join(root, source));
    expect(scan.runs).toHaveLength(2);
    for (const run of scan.runs) {
      const dir = path.join(incDir, 'experiments', run.suggestedName);
      const meta = load(readFileSync(path.join(dir, 'metadata.yaml'), 'utf8')) as any;
      expect(meta.source).toMatchObject({ key: run.key, tool: 'wandb', run_id: run.source.run_id });
      expect(JSON.parse(readFileSync(path.join(dir, 'params.json'), 'utf8'))).toEqual(run.params);
      expect(JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8'))).toEqual(run.metrics);
      const lines = readFileSync(path.join(dir, 'history.jsonl'), 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l))).toEqual(run.history);
      expect([meta.status, meta.started, meta.ended]).toEqual([run.status, run.started, run.ended]);
    }
    expect(scan.runs.map((r) => r.status).sort()).toEqual(['completed', 'failed']);
    const r = await c.ok('import_runs', { increment: '1', source });
    expect(r).toMatchObject({ format: 'wandb', imported_count: 0, already_imported: 2 });
  });
});

/** A W&B transaction log holding `records`, each one whole piece, framed as wandb frames it. */
function logBytes(...records: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0x3a, 0x57, 0x26, 0x42, 0xe1, 0xbe, 0x00])];
  for (const r of records) {
    const header = Buffer.alloc(7);
    header.writeUInt32LE(crc32(r, crc32(Buffer.of(1))), 0);
    header.writeUInt16LE(r.length, 4);
    header[6] = 1;
    parts.push(header, r);
  }
  return Buffer.concat(parts);
}
const EXIT_CODE_2 = Buffer.from([0x92, 0x01, 0x02, 0x08, 0x02]); // Record.exit (18) = RunExitRecord{exit_code: 2}
const NEGATIVE_EXIT = Buffer.from([0x92, 0x01, 0x0b, 0x08, ...Array(9).fill(0xff), 0x01]); // exit_code -1 (10-byte varint)

describe.skipIf(typeof crc32 !== 'function')('the W&B log reader on damaged logs (no Python needed)', () => {
  async function scanLog(data: Buffer) {
    const dir = await tempDir('sw-wandb-log-');
    const run = path.join(dir, 'offline-run-20260101_000000-abc');
    await mkdir(path.join(run, 'files'), { recursive: true });
    await writeFile(path.join(run, 'run-abc.wandb'), data);
    const scan = await scanWandb(dir, { sourceLabel: 'wandb' });
    return { scan, run: scan.runs[0] };
  }

  it('skips an undecodable record, saying so, and reads the rest', async () => {
    const { scan, run } = await scanLog(logBytes(Buffer.from([0xff, 0xff, 0xff]), EXIT_CODE_2));
    expect(run?.status).toBe('failed');
    expect(scan.warnings).toEqual(['wandb/offline-run-20260101_000000-abc: run-abc.wandb: 1 undecodable record skipped.']);
  });

  it('stops at a damaged checksum and does not claim the run finished', async () => {
    const data = logBytes(EXIT_CODE_2);
    data[7]! ^= 0xff;
    const { scan, run } = await scanLog(data);
    expect(run?.status).toBe('running');
    expect(scan.warnings).toEqual([expect.stringContaining('run-abc.wandb is damaged at byte 7')]);
  });

  it('takes a record cut short at the end for a run still writing', async () => {
    const { scan, run } = await scanLog(logBytes(EXIT_CODE_2).subarray(0, -2));
    expect([run?.status, scan.warnings]).toEqual(['running', []]);
  });

  it('reads a negative exit code (a signal) as failed', async () => {
    const { run } = await scanLog(logBytes(NEGATIVE_EXIT));
    expect(run?.status).toBe('failed');
  });
});

function byStepMetric(a: { step: number; metric: string }, b: { step: number; metric: string }): number {
  return a.step - b.step || a.metric.localeCompare(b.metric);
}
