/**
 * Crash leftovers (issue 8 item 6): temp files, staging folders and lock tombstones of dead writers are removed by
 * the next writer in that folder; live writers' files and young ones are kept. `.specweave/.gitignore` keeps all
 * of them, and lock files, out of git.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SPECWEAVE_GITIGNORE } from '../../mcp-server/src/core/store/leftovers.js';
import { inMemoryClient, type TestClient } from '../helpers/client.js';
import { git, gitProject, scratchDir } from '../helpers/project.js';
import { passingIncrement } from '../helpers/scenario.js';
import { makeMlflowStore } from '../importers/make-mlflow-store.js';

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;
const MINUTE = 60_000;

/** Creates a leftover (a file, or a folder holding one file) last modified `ageMs` ago. */
function plant(file: string, ageMs: number, folder = false): string {
  if (folder) {
    fs.mkdirSync(path.join(file, 'run'), { recursive: true });
    fs.writeFileSync(path.join(file, 'run', 'params.json'), '{}\n');
  } else fs.writeFileSync(file, 'half a write');
  const then = new Date(Date.now() - ageMs);
  fs.utimesSync(file, then, then);
  return path.basename(file);
}

const dots = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((n) => n.startsWith('.'))
    .sort();

let c: TestClient;
let root: string;
beforeEach(async () => {
  root = scratchDir();
  c = await inMemoryClient(root);
});
afterEach(async () => c.close());

describe('leftovers of dead writers', () => {
  it('each writer removes the dead ones in the folders it writes, and keeps live, young and foreign files', async () => {
    const dead = deadPid();
    const live = process.pid; // the in-memory server runs in this process: its files must survive
    const inc = await passingIncrement(c, root);
    const incDir = path.join(root, '.specweave/increments', inc);
    const exp = path.join(incDir, 'experiments', 'logreg');

    const keep = [
      plant(path.join(exp, `.params.json.${live}.0a0a0a0a.tmp`), 5 * MINUTE), // a live writer's
      plant(path.join(exp, `.metrics.json.${dead}.0b0b0b0b.tmp`), 10_000), // dead but young: may be another host's
      plant(path.join(exp, '.my-notes.tmp'), 5 * MINUTE), // not a name the store writes
    ].sort();
    plant(path.join(exp, `.params.json.${dead}.1a1a1a1a.tmp`), 2 * MINUTE);
    plant(path.join(exp, `.metadata.yaml.${live}.1b1b1b1b.tmp`), 2 * 60 * MINUTE); // past the hour: dead whatever the pid
    plant(path.join(exp, '.lock.1c1c1c1c.stale'), 2 * MINUTE);
    await c.ok('track_experiment', { increment: inc, name: 'logreg', metrics: { extra: 1 } });
    expect(dots(exp)).toEqual(keep);

    const experiments = path.join(incDir, 'experiments');
    const liveStaging = plant(path.join(experiments, `.staging-${live}-2a2a2a2a`), 5 * MINUTE, true);
    plant(path.join(experiments, `.staging-${dead}-2b2b2b2b`), 5 * MINUTE, true);
    plant(path.join(experiments, '.import.lock.2c2c2c2c.stale'), 5 * MINUTE);
    await makeMlflowStore(path.join(root, 'mlruns'), { runs: 2, metrics: 1, params: 1, points: 1 });
    await c.ok('import_runs', { increment: inc, source: 'mlruns' });
    expect(dots(experiments)).toEqual([liveStaging]);

    const increments = path.join(root, '.specweave/increments');
    plant(path.join(increments, `.staging-${dead}-3a3a3a3a`), 5 * MINUTE, true);
    plant(path.join(increments, '.create.lock.3b3b3b3b.stale'), 5 * MINUTE);
    await c.ok('create_increment', { title: 'Next' });
    expect(dots(increments)).toEqual([]);

    plant(path.join(incDir, `.tasks.md.${dead}.4a4a4a4a.tmp`), 5 * MINUTE);
    await c.ok('update_task', { increment: inc, task: 'T-001', status: 'in_progress' });
    expect(dots(incDir)).toEqual([]);

    await c.ok('sync_docs', { increment: inc });
    const adrDir = path.join(root, '.specweave/docs/internal/architecture/adr');
    plant(path.join(adrDir, `.0001-x.md.${dead}.5a5a5a5a.tmp`), 5 * MINUTE);
    await c.ok('track_experiment', { increment: inc, name: 'best', metrics: { roc_auc: 0.99, recall: 0.9 } });
    await c.ok('sync_docs', { increment: inc });
    expect(dots(adrDir)).toEqual([]);
  });
});

describe('.specweave/.gitignore', () => {
  it('is written with the documented bytes, and git then ignores every leftover and lock', async () => {
    await c.close();
    root = gitProject();
    c = await inMemoryClient(root);
    const { increment, path: rel } = await c.ok('create_increment', { title: 'Ignored' });
    expect(fs.readFileSync(path.join(root, '.specweave/.gitignore'), 'utf8')).toBe(SPECWEAVE_GITIGNORE);
    await c.ok('track_experiment', { increment, name: 'a', metrics: { acc: 0.5 } });
    const inc = path.join(root, rel);
    const leftovers = [
      `experiments/a/.metrics.json.${process.pid}.0123abcd.tmp`,
      'experiments/a/.lock',
      'experiments/a/.lock.89abcdef.stale',
      'experiments/.import.lock',
      'experiments/.comparison.lock',
      `experiments/.staging-${process.pid}-deadbeef/b/metrics.json`,
      '.lock',
      '../.create.lock',
    ];
    for (const f of leftovers) {
      fs.mkdirSync(path.dirname(path.join(inc, f)), { recursive: true });
      fs.writeFileSync(path.join(inc, f), 'x');
    }
    const status = git(root, 'status', '--porcelain', '--untracked-files=all');
    const listed = status.split('\n').map((l) => l.slice(3));
    expect(listed).toContain(`${rel}/experiments/a/metrics.json`); // real files are not ignored
    expect(listed).toContain('.specweave/.gitignore');
    expect(listed.filter((p) => /\.tmp$|\.lock$|\.stale$|\.staging-/.test(p))).toEqual([]);
  });

  it('never replaces a .gitignore that is already there', async () => {
    fs.mkdirSync(path.join(root, '.specweave'));
    fs.writeFileSync(path.join(root, '.specweave/.gitignore'), '# mine\n*.pkl\n');
    await c.ok('create_increment', { title: 'Mine' });
    await c.ok('track_experiment', { increment: '1', name: 'a', metrics: { acc: 1 } });
    expect(fs.readFileSync(path.join(root, '.specweave/.gitignore'), 'utf8')).toBe('# mine\n*.pkl\n');
  });

  it('is written by track_experiment and import_runs too, when the increment was made by another tool', async () => {
    for (const tool of ['track_experiment', 'import_runs'] as const) {
      const project = scratchDir();
      const client = await inMemoryClient(project);
      try {
        fs.mkdirSync(path.join(project, '.specweave/increments/0001-by-hand/experiments'), { recursive: true });
        fs.writeFileSync(
          path.join(project, '.specweave/increments/0001-by-hand/metadata.json'),
          '{"id": "0001-by-hand", "status": "active"}\n',
        );
        if (tool === 'track_experiment') await client.ok(tool, { increment: '1', name: 'a', metrics: { acc: 1 } });
        else {
          await makeMlflowStore(path.join(project, 'mlruns'), { runs: 1, metrics: 1, params: 1, points: 1 });
          await client.ok(tool, { increment: '1', source: 'mlruns' });
        }
        expect(fs.readFileSync(path.join(project, '.specweave/.gitignore'), 'utf8'), tool).toBe(SPECWEAVE_GITIGNORE);
      } finally {
        await client.close();
      }
    }
  });
});
