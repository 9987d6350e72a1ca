/**
 * The MLflow SQLite store (sqlite:///mlflow.db), read through the MCP tool: a database written by the real mlflow
 * (committed, gzipped: ~930 KB of mostly empty schema pages) and, when a Python environment with mlflow is at hand,
 * one written fresh by make-mlflow-db.py. Every value is checked against what the script says it logged.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { load } from 'js-yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inMemoryClient, stdioClient, type TestClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';
import { LOCAL_FIXTURES, type LoggedRun } from './helpers.js';

const FIXTURE = path.join(LOCAL_FIXTURES, 'mlflow-sqlite');
const SCRIPT = path.join(__dirname, 'make-mlflow-db.py');

interface Logged {
  mlflow_version: string;
  experiment_id: string;
  runs: LoggedRun[];
}

let c: TestClient;
let root: string;
let experimentsDir: string;
beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
  experimentsDir = path.join(root, (await c.ok('create_increment', { title: 'From MLflow' })).path, 'experiments');
});
afterEach(async () => c.close());

function fixtureDb(): Buffer {
  return gunzipSync(fs.readFileSync(path.join(FIXTURE, 'mlflow.db.gz')));
}

const asNumber = (v: unknown) => (typeof v === 'string' ? Number(v) : v);

/** Imports `source` and checks every run against what the script logged. */
async function expectImportMatches(source: string, logged: Logged): Promise<void> {
  const r = await c.ok('import_runs', { increment: '1', source });
  const kept = logged.runs.filter((run) => !run.deleted);
  const deleted = logged.runs.filter((run) => run.deleted);
  expect(r).toMatchObject({ format: 'mlflow-sqlite', imported_count: kept.length, already_imported: 0, warnings: [] });
  expect(r.skipped).toEqual(
    deleted.map((run) => ({ what: expect.stringContaining(run.run_id), reason: 'deleted run (lifecycle_stage: deleted)' })),
  );

  for (const run of kept) {
    const entry = r.imported.find((i: any) => i.run === `mlflow:${run.run_id}`);
    expect(entry, run.name).toBeTruthy();
    expect(entry.experiment).toBe(run.name);
    const exp = await c.ok('get_experiment', { increment: '1', name: entry.experiment });
    expect(exp.status).toBe(run.expect_status);
    expect(exp.started).toBe(new Date(run.start_time).toISOString());
    expect(exp.ended).toBe(run.end_time === null ? null : new Date(run.end_time).toISOString());
    expect(Object.fromEntries(Object.entries(exp.params).map(([k, v]) => [k, String(v)]))).toEqual(run.params);
    const userTags = Object.entries(run.tags).filter(([k]) => !k.startsWith('mlflow.'));
    expect(exp.tags).toEqual(userTags.map(([k, v]) => `${k}=${v}`).sort());
    expect(exp.notes.map((n: any) => n.text)).toEqual(run.tags['mlflow.note.content'] ? [run.tags['mlflow.note.content']] : []);
    if (run.tags['mlflow.source.git.commit']) expect(exp.git.commit).toBe(run.tags['mlflow.source.git.commit']);
    expect(exp.source).toMatchObject({ tool: 'mlflow', store: 'sqlite', run_id: run.run_id, experiment_id: logged.experiment_id });
    expect(exp.source.parent_run_id).toBe(run.parent);
    expect(exp.source.registered_models).toEqual(run.registered);

    // The full step history, point by point, and the summary as the value at the last step.
    const historyFile = path.join(experimentsDir, entry.experiment, 'history.jsonl');
    const history = fs.existsSync(historyFile)
      ? fs
          .readFileSync(historyFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line))
      : [];
    const sortKey = (p: { metric: string; step: number }) => `${p.metric}\u0000${String(p.step).padStart(8, '0')}`;
    const expected = run.history.map((p) => ({ ...p, timestamp: new Date(p.timestamp).toISOString() }));
    expect([...history].sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).toEqual(
      [...expected].sort((a, b) => sortKey(a).localeCompare(sortKey(b))),
    );
    const lastByMetric = new Map<string, number>();
    for (const p of [...run.history].sort((a, b) => a.step - b.step)) lastByMetric.set(p.metric, Number(p.value));
    expect(Object.keys(exp.metrics).sort()).toEqual([...lastByMetric.keys()].sort());
    for (const [metric, value] of lastByMetric) expect(asNumber(exp.metrics[metric])).toBe(value);
  }

  const again = await c.ok('import_runs', { increment: '1', source });
  expect(again).toMatchObject({ imported_count: 0, already_imported: kept.length });
}

describe('import_runs from an MLflow SQLite store', () => {
  it('imports the committed database written by the real mlflow: every value as logged, the deleted run skipped', async () => {
    const logged = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'logged.json'), 'utf8')) as Logged;
    // The fixture covers what the test claims: a nested run, a failed run, a deleted one, NaN and infinities.
    expect(logged.runs.some((r) => r.parent)).toBe(true);
    expect(logged.runs.some((r) => r.deleted)).toBe(true);
    expect(logged.runs.some((r) => r.registered)).toBe(true);
    expect(logged.runs.some((r) => r.expect_status === 'failed')).toBe(true);
    expect(logged.runs.flatMap((r) => r.history.map((p) => p.value))).toEqual(expect.arrayContaining(['NaN', 'Infinity', '-Infinity']));
    fs.writeFileSync(path.join(root, 'mlflow.db'), fixtureDb());
    await expectImportMatches('.', logged); // the folder holding mlflow.db: detected
  });

  it('reads the database given as a file, and include_deleted brings the deleted run, marked deleted', async () => {
    fs.mkdirSync(path.join(root, 'tracking'));
    fs.writeFileSync(path.join(root, 'tracking', 'runs.sqlite'), fixtureDb());
    const r = await c.ok('import_runs', { increment: '1', source: 'tracking/runs.sqlite', include_deleted: true });
    expect(r).toMatchObject({ format: 'mlflow-sqlite', source: 'tracking/runs.sqlite', imported_count: 6, skipped_count: 0 });
    const meta = load(fs.readFileSync(path.join(experimentsDir, 'thrown-away', 'metadata.yaml'), 'utf8')) as any;
    expect(meta.source).toMatchObject({ deleted: true, database: 'tracking/runs.sqlite' });
  });

  it('a deleted experiment skips all its runs; a -wal file beside the database gets a warning', async () => {
    const file = path.join(root, 'mlflow.db');
    fs.writeFileSync(file, fixtureDb());
    execFileSync('python3', [
      '-c',
      'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("update experiments set lifecycle_stage=\'deleted\'"); c.commit()',
      file,
    ]);
    fs.writeFileSync(`${file}-wal`, 'pending pages');
    const r = await c.ok('import_runs', { increment: '1', source: 'mlflow.db' });
    expect(r.imported_count).toBe(0);
    expect(new Set(r.skipped.map((s: any) => s.reason))).toEqual(new Set(['deleted experiment (lifecycle_stage: deleted)']));
    expect(r.warnings).toEqual([
      expect.stringMatching(/^mlflow\.db-wal exists: changes MLflow has not yet written into mlflow\.db are not imported/),
    ]);
  });

  it('format "mlflow" (the file store) on a folder holding only mlflow.db says to use "mlflow-sqlite"', async () => {
    fs.writeFileSync(path.join(root, 'mlflow.db'), fixtureDb());
    const r = await c.ok('import_runs', { increment: '1', source: '.', format: 'mlflow' });
    expect(r.imported_count).toBe(0);
    expect(r.warnings).toContainEqual(expect.stringMatching(/holds mlflow\.db .*format "mlflow-sqlite"/));
  });

  it('the bundle (one file, run by this Node) reads it too: no SQLite library or native addon needed', async () => {
    fs.writeFileSync(path.join(root, 'mlflow.db'), fixtureDb());
    const bundled = await stdioClient(['--root', root]);
    try {
      const r = await bundled.ok('import_runs', { increment: '1', source: 'mlflow.db' });
      expect(r).toMatchObject({ format: 'mlflow-sqlite', imported_count: 5, skipped_count: 1 });
    } finally {
      await bundled.close();
    }
  });

  it('the same runs from the file store and the SQLite store are imported once (same keys)', async () => {
    const logged = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'logged.json'), 'utf8')) as Logged;
    fs.writeFileSync(path.join(root, 'mlflow.db'), fixtureDb());
    await c.ok('import_runs', { increment: '1', source: 'mlflow.db', format: 'mlflow-sqlite' });
    const again = await c.ok('import_runs', { increment: '1', source: '.', format: 'mlflow-sqlite' });
    expect(again.already_imported).toBe(logged.runs.filter((r) => !r.deleted).length);
  });
});

/** The Python with mlflow the live test runs: SPECWEAVE_TEST_PYTHON, else the shared test venv. */
const PYTHON = process.env.SPECWEAVE_TEST_PYTHON ?? path.resolve(__dirname, '../../.venv-test/bin/python');
const mlflowMissing = (() => {
  if (!fs.existsSync(PYTHON)) return `no Python environment at ${PYTHON} (set SPECWEAVE_TEST_PYTHON or create .venv-test)`;
  const probe = spawnSync(PYTHON, ['-c', 'import mlflow'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `mlflow is not importable from ${PYTHON}`;
})();
const REQUIRE_PYENV = process.env.SPECWEAVE_REQUIRE_PYENV === '1';
if (mlflowMissing && !REQUIRE_PYENV) console.warn(`Skipping the live MLflow SQLite test: ${mlflowMissing}.`);

describe('import_runs from a database the real mlflow writes now', () => {
  it.skipIf(Boolean(mlflowMissing) && !REQUIRE_PYENV)(
    `imports every run as logged${mlflowMissing && !REQUIRE_PYENV ? ` [skipped: ${mlflowMissing}]` : ''}`,
    async () => {
      if (mlflowMissing) throw new Error(`SPECWEAVE_REQUIRE_PYENV=1 but ${mlflowMissing}`);
      // The script runs from a folder outside any git repository, so no run picks up this repository's commit.
      const work = scratchDir('swml-mlflow-');
      fs.copyFileSync(SCRIPT, path.join(work, 'make.py'));
      fs.copyFileSync(path.join(__dirname, 'mlflow_logging.py'), path.join(work, 'mlflow_logging.py'));
      fs.mkdirSync(path.join(root, 'store'));
      const out = execFileSync(PYTHON, ['make.py', path.join(root, 'store')], {
        cwd: work,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const logged = JSON.parse(out) as Logged;
      await expectImportMatches('store', logged);
    },
    120_000,
  );
});

describe('hostile MLflow databases', () => {
  async function expectRefused(bytes: Buffer | string, pattern: RegExp): Promise<void> {
    fs.writeFileSync(path.join(root, 'mlflow.db'), bytes);
    const error = await c.fails('import_runs', { increment: '1', source: 'mlflow.db', format: 'mlflow-sqlite' });
    expect(error).toMatch(pattern);
    expect(fs.readdirSync(experimentsDir)).toEqual([]);
  }

  it('garbage, an empty file and a SQLite file that is not MLflow: a clear error, nothing written', async () => {
    await expectRefused(
      Buffer.from('this is not a database at all, just text '.repeat(100)),
      /mlflow\.db is not a readable SQLite file: .*header is missing/,
    );
    await expectRefused(Buffer.alloc(0), /is not a readable SQLite file: the file is empty/);
    const other = path.join(root, 'other.db');
    execFileSync('python3', [
      '-c',
      'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table foo(a)"); c.commit()',
      other,
    ]);
    await expectRefused(fs.readFileSync(other), /not an MLflow tracking store: it has no experiments or runs table/);
  });

  it('a truncated database, a header claiming a huge page count, damaged pages: a clear error, never a crash', async () => {
    const db = fixtureDb();
    await expectRefused(db.subarray(0, Math.floor(db.length / 2) + 100), /not a whole number of .*pages \(truncated\?\)/);
    const pageSize = db.readUInt16BE(16);
    await expectRefused(
      db.subarray(0, pageSize * 20),
      /header says \d+ pages but the file holds 20 \(truncated\?\)|outside the file's 20 pages/,
    );
    const huge = Buffer.from(db);
    huge.writeUInt32BE(0x7fffffff, 28);
    await expectRefused(huge, /header says 2147483647 pages/);
    const damaged = Buffer.from(db);
    damaged.fill(0xff, pageSize, damaged.length); // every page after the schema's first
    await expectRefused(damaged, /mlflow\.db (?:is damaged|is not a readable SQLite file): /);
  });

  it('a file source that is no database, or a folder format given a file, is refused saying what a source is', async () => {
    fs.writeFileSync(path.join(root, 'notes.txt'), 'not a store');
    expect(await c.fails('import_runs', { increment: '1', source: 'notes.txt' })).toMatch(
      /notes\.txt is not a store any importer reads from a single file\. Looked for:\n- MLflow SQLite store: /,
    );
    fs.writeFileSync(path.join(root, 'mlflow.db'), fixtureDb());
    expect(await c.fails('import_runs', { increment: '1', source: 'mlflow.db', format: 'mlflow' })).toMatch(
      /The mlflow importer reads a folder, and mlflow\.db is a file[^]*mlflow-sqlite/,
    );
    expect(fs.readdirSync(experimentsDir)).toEqual([]);
  });

  it('a database over the size limit is refused before it is read (a sparse 2 GiB file)', async () => {
    const file = path.join(root, 'mlflow.db');
    fs.writeFileSync(file, fixtureDb().subarray(0, 4096));
    fs.truncateSync(file, 2 * 1024 ** 3);
    const error = await c.fails('import_runs', { increment: '1', source: 'mlflow.db', format: 'mlflow-sqlite' });
    expect(error).toMatch(/mlflow\.db cannot be read: it is 2048 MiB, over the importer's limit of 1024 MiB/);
    expect(fs.readdirSync(experimentsDir)).toEqual([]);
  });

  it('a symbolic link named mlflow.db pointing outside the source is not followed', async () => {
    const outside = scratchDir();
    fs.writeFileSync(path.join(outside, 'mlflow.db'), fixtureDb());
    fs.symlinkSync(path.join(outside, 'mlflow.db'), path.join(root, 'mlflow.db'));
    const error = await c.fails('import_runs', { increment: '1', source: '.', format: 'mlflow-sqlite' });
    expect(error).toMatch(/mlflow\.db cannot be read: .*(?:link|outside)/i);
    expect(fs.readdirSync(experimentsDir)).toEqual([]);
  });
});
