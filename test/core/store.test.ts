import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MlError } from '../../mcp-server/src/core/errors.js';
import { Project, resolveProjectRoot } from '../../mcp-server/src/core/project.js';
import { appendLines, withLock, writeAtomic } from '../../mcp-server/src/core/store/disk.js';
import { scratchDir } from '../helpers/project.js';

describe('the sandbox', () => {
  const root = scratchDir();
  const outside = scratchDir();
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
  const sw = path.join(root, '.specweave');
  fs.mkdirSync(path.join(sw, 'increments', '0001-a'), { recursive: true });
  fs.symlinkSync(outside, path.join(sw, 'increments', '0001-a', 'linkdir'));
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(sw, 'increments', '0001-a', 'linkfile'));
  fs.writeFileSync(path.join(root, 'README.md'), 'x');
  const project = new Project(root);
  const inc = path.join(sw, 'increments', '0001-a');

  it.each([
    '../../../README.md',
    '../../..',
    '/etc/passwd',
    `${outside}/secret.txt`,
    'linkdir/secret.txt',
    'linkfile',
    'linkdir/new/deeper.md',
    'a\0b',
    '../0001-a-evil/x',
    '../../../.specweave-evil/x',
  ])('refuses %j', async (p) => {
    await expect(project.resolveWithin(inc, inc, p)).rejects.toMatchObject({ code: 'OUTSIDE_PROJECT' });
  });
  it.each([
    ['models/m.pkl', 'models/m.pkl'],
    ['.', ''],
    ['a/../b.json', 'b.json'],
    ['new/dir/file', 'new/dir/file'],
  ])('allows %j', async (p, rel) => {
    expect(await project.resolveWithin(inc, inc, p)).toBe(path.join(inc, rel));
  });
  it('keeps writes inside .specweave even for paths that are inside the project', async () => {
    await expect(project.resolveWritable(sw, '../README.md')).rejects.toBeInstanceOf(MlError);
    expect(await project.resolveReadable('README.md')).toBe(path.join(root, 'README.md'));
  });
});

describe('the project root', () => {
  it('is --root, else SPECWEAVE_ROOT, else the nearest ancestor with .specweave, else the working directory', () => {
    const root = scratchDir();
    fs.mkdirSync(path.join(root, '.specweave'));
    fs.mkdirSync(path.join(root, 'src', 'deep'), { recursive: true });
    const deep = path.join(root, 'src', 'deep');
    expect(resolveProjectRoot({ argRoot: '/x', env: { SPECWEAVE_ROOT: '/y' }, cwd: deep })).toBe('/x');
    expect(resolveProjectRoot({ env: { SPECWEAVE_ROOT: '/y' }, cwd: deep })).toBe('/y');
    expect(resolveProjectRoot({ env: {}, cwd: deep })).toBe(root);
    const bare = scratchDir();
    expect(resolveProjectRoot({ env: {}, cwd: bare })).toBe(bare);
  });
});

/** A folder inside a fresh project's `.specweave/`: the sandbox refuses store I/O anywhere else. */
function storeDir(): string {
  const project = new Project(scratchDir());
  const dir = path.join(project.specweaveDir, 'increments');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe('atomic writes and appends', () => {
  it('leaves no temp files and replaces whole contents', async () => {
    const dir = storeDir();
    const f = path.join(dir, 'sub', 'a.json');
    await writeAtomic(f, 'one');
    await writeAtomic(f, 'two');
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    expect(fs.readdirSync(path.dirname(f))).toEqual(['a.json']);
  });
  it('isolates a half-written last line behind a newline', async () => {
    const f = path.join(storeDir(), 'history.jsonl');
    fs.writeFileSync(f, '{"metric":"a","value":1,"step":0}\n{"metric":"a","val');
    await appendLines(f, ['{"metric":"a","value":2,"step":1}']);
    expect(fs.readFileSync(f, 'utf8').split('\n')).toEqual([
      '{"metric":"a","value":1,"step":0}',
      '{"metric":"a","val',
      '{"metric":"a","value":2,"step":1}',
      '',
    ]);
  });
});

describe('locks', () => {
  it('serialises read-modify-write within a process', async () => {
    const dir = storeDir();
    const counter = path.join(dir, 'n');
    fs.writeFileSync(counter, '0');
    await Promise.all(
      Array.from({ length: 40 }, () =>
        withLock(path.join(dir, '.lock'), async () => {
          const n = Number(fs.readFileSync(counter, 'utf8'));
          await new Promise((r) => setTimeout(r, 1));
          await writeAtomic(counter, String(n + 1));
        }),
      ),
    );
    expect(fs.readFileSync(counter, 'utf8')).toBe('40');
    expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
  });

  it('breaks the lock of a process that died', async () => {
    const dir = storeDir();
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = await new Promise<number>((r) => child.on('exit', () => r(child.pid!)));
    fs.writeFileSync(path.join(dir, '.lock'), JSON.stringify({ host: os.hostname(), pid: deadPid, time: 'x', token: 't' }));
    expect(await withLock(path.join(dir, '.lock'), async () => 'got it', { waitMs: 500 })).toBe('got it');
  });

  it('breaks a lock older than 30 seconds, even from another host', async () => {
    const dir = storeDir();
    const lock = path.join(dir, '.lock');
    fs.writeFileSync(lock, JSON.stringify({ host: 'elsewhere', pid: 1, time: 'x', token: 't' }));
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lock, old, old);
    expect(await withLock(lock, async () => 1, { waitMs: 500 })).toBe(1);
  });

  it('waits for a live holder, then names it', async () => {
    const dir = storeDir();
    const lock = path.join(dir, '.lock');
    fs.writeFileSync(lock, JSON.stringify({ host: 'elsewhere', pid: 4242, time: '2026-01-01T00:00:00Z', token: 't' }));
    const err = await withLock(lock, async () => 1, { waitMs: 200 }).catch((e: MlError) => e);
    expect(err).toBeInstanceOf(MlError);
    expect((err as MlError).code).toBe('LOCKED');
    expect((err as MlError).describe()).toMatch(/process 4242 on elsewhere since 2026-01-01T00:00:00Z[^]*delete the .lock file/);
    expect(fs.readFileSync(lock, 'utf8')).toContain('4242');
  });
});

describe('a lock left empty by a writer killed between creating and filling it', () => {
  it('is broken once it is two seconds old, not after thirty', async () => {
    const dir = storeDir();
    const lock = path.join(dir, '.lock');
    fs.writeFileSync(lock, '');
    const old = new Date(Date.now() - 3_000);
    fs.utimesSync(lock, old, old);
    expect(await withLock(lock, async () => 'ok', { waitMs: 500 })).toBe('ok');
    fs.writeFileSync(lock, ''); // a fresh empty lock may still be a live writer filling it: wait
    await expect(withLock(lock, async () => 'no', { waitMs: 200 })).rejects.toMatchObject({ code: 'LOCKED' });
  });
});
