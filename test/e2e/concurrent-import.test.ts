/**
 * Three real server processes import the same MLflow store into the same increment at the same moment. Before the
 * increment-level import lock, each found every run missing and created it: ~450 duplicates of 200 runs. Now the
 * first import writes them and the others find them already imported.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stdioClient, type TestClient } from '../helpers/client.js';
import { BUNDLE, scratchDir } from '../helpers/project.js';
import { makeMlflowStore } from '../importers/make-mlflow-store.js';

const RUNS = 200;
const SERVERS = 3;

let root: string;
let clients: TestClient[] = [];

beforeAll(async () => {
  if (!fs.existsSync(BUNDLE)) execFileSync('npm', ['run', 'build'], { cwd: path.resolve(__dirname, '../..'), stdio: 'ignore' });
  root = scratchDir();
  await makeMlflowStore(path.join(root, 'mlruns'), { runs: RUNS, metrics: 4, params: 4, points: 5 });
  clients = await Promise.all(Array.from({ length: SERVERS }, () => stdioClient(['--root', root])));
  await clients[0]!.ok('create_increment', { title: 'Concurrent imports' });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

describe('concurrent import_runs of one source into one increment', () => {
  it('creates each run exactly once and leaves nothing behind', async () => {
    const results = await Promise.all(clients.map((c) => c.ok('import_runs', { increment: '1', source: 'mlruns' })));

    // Exactly one import wrote each run; the others, serialised behind it, found them all.
    expect(results.reduce((n, r) => n + r.imported_count, 0)).toBe(RUNS);
    for (const r of results) expect(r.imported_count + r.already_imported).toBe(RUNS);

    const expDir = path.join(
      root,
      '.specweave/increments',
      fs.readdirSync(path.join(root, '.specweave/increments')).find((n) => /^\d{4}-/.test(n))!,
      'experiments',
    );
    const entries = fs.readdirSync(expDir);
    expect(entries.filter((n) => n.startsWith('.'))).toEqual([]); // no lock, no staging folder, no temp file
    expect(entries).toHaveLength(RUNS);
    const keys = entries.map(
      (n) => (load(fs.readFileSync(path.join(expDir, n, 'metadata.yaml'), 'utf8')) as { source: { key: string } }).source.key,
    );
    expect(new Set(keys).size).toBe(RUNS);

    const again = await clients[2]!.ok('import_runs', { increment: '1', source: 'mlruns' });
    expect(again).toMatchObject({ imported_count: 0, already_imported: RUNS });
  });
});
