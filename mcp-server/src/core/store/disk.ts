/**
 * The one module that touches the disk. Every write is atomic (temp file in the same folder, flushed, renamed),
 * appends are whole lines, and changes that read-merge-write hold a lock file that any other writer (the Python
 * client, a second server) honours. docs/format.md ("Writing safely") is the contract this implements.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MlError } from '../errors.js';

const isErrno = (e: unknown, code: string) => (e as NodeJS.ErrnoException | undefined)?.code === code;

/** The file's text, or undefined when it does not exist. */
export async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}

/**
 * Many small files at once, for scans over thousands of experiments. Synchronous reads are several times faster
 * than the thread-pool round trips of fs.promises for files this small; yielding between chunks keeps the server
 * responsive to other requests meanwhile.
 */
export async function readTexts(files: string[], chunk = 300): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = new Array(files.length);
  for (let i = 0; i < files.length; i += 1) {
    try {
      out[i] = readFileSync(files[i]!, 'utf8');
    } catch (e) {
      if (!isErrno(e, 'ENOENT') && !isErrno(e, 'ENOTDIR')) throw e;
      out[i] = undefined;
    }
    if (i % chunk === chunk - 1) await new Promise((r) => setImmediate(r));
  }
  return out;
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}

export async function isFile(file: string): Promise<boolean> {
  const st = await fs.stat(file).catch(() => undefined);
  return st?.isFile() ?? false;
}

/** Opens a file for writing, creating its folder only when it is missing (the common case needs no mkdir call). */
async function openCreating(file: string, flags: string): Promise<fs.FileHandle> {
  try {
    return await fs.open(file, flags);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
    await fs.mkdir(path.dirname(file), { recursive: true });
    return fs.open(file, flags);
  }
}

export async function isDirectory(p: string): Promise<boolean> {
  const st = await fs.stat(p).catch(() => undefined);
  return st?.isDirectory() ?? false;
}

/** Writes the whole file or nothing: readers see the old content or the new, never a mix. */
export async function writeAtomic(file: string, text: string | Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await openCreating(tmp, 'wx');
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes a file that must not exist yet, flushed to disk, for folders no other writer can see (a staging folder
 * renamed into place once complete). Not atomic by itself: the rename of the folder is.
 */
export async function writeNewFile(file: string, text: string): Promise<void> {
  const handle = await openCreating(file, 'wx');
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Renames a complete folder into place. False when the target already exists with content (another writer got
 * there first); an empty target, which a writer creates just before taking a lock in it, is replaced.
 */
export async function moveDirectoryIntoPlace(from: string, to: string): Promise<boolean> {
  try {
    await fs.rename(from, to);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOTEMPTY') || isErrno(e, 'EEXIST')) return false;
    throw e;
  }
}

export async function removeTree(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/**
 * Appends whole lines with one write call. If an earlier writer crashed mid-line, the file does not end in a
 * newline; a newline goes first so the broken line stays isolated and readers can skip it.
 */
export async function appendLines(file: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const handle = await openCreating(file, 'a+');
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.write(`${prefix}${lines.join('\n')}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Names of the sub-folders of dir, sorted; empty when dir does not exist. Symlinks are not followed. */
export async function listDirectories(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e) => {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return [];
    throw e;
  });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Names of the plain files in dir (no folders, no symlinks), sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/** The visible entries of dir (no dotfiles), folders marked with a trailing slash, sorted. */
export async function listEntries(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.name.startsWith('.'))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
}

export async function makeDirs(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
}

/** Size and SHA-256 of a file, streamed so large models do not fill memory. */
export async function fileDigest(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export async function realpathOrUndefined(p: string): Promise<string | undefined> {
  return fs.realpath(p).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Locks

export const LOCK_STALE_MS = 30_000;
/** A writer fills its lock microseconds after creating it; one still empty after this long belongs to a dead writer. */
export const EMPTY_LOCK_STALE_MS = 2_000;
const LOCK_WAIT_MS = 10_000;
const HOST = os.hostname();

interface LockOwner {
  host: string;
  pid: number;
  time: string;
  token: string;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

async function readOwner(file: string): Promise<{ owner: Partial<LockOwner>; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(text) as Partial<LockOwner>;
    } catch {
      // A writer that died between creating and filling the lock leaves it empty; its age decides.
    }
    return { owner, mtimeMs: st.mtimeMs };
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
}

function isStale(info: { owner: Partial<LockOwner>; mtimeMs: number }): boolean {
  const age = Date.now() - info.mtimeMs;
  if (age > LOCK_STALE_MS) return true;
  if (!info.owner.token && age > EMPTY_LOCK_STALE_MS) return true;
  const { host, pid } = info.owner;
  return host === HOST && typeof pid === 'number' && !processIsAlive(pid);
}

/** Breaks a stale lock; only one of several breakers wins the rename, and a fresh lock taken meanwhile is restored. */
async function breakStaleLock(file: string, judged: Partial<LockOwner>): Promise<void> {
  const tombstone = `${file}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.rename(file, tombstone);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  const taken = await readOwner(tombstone);
  if (taken && taken.owner.token !== judged.token) {
    // Released and retaken between our look and our rename: give it back.
    await fs.link(tombstone, file).catch(() => undefined);
  }
  await fs.rm(tombstone, { force: true });
}

async function tryAcquire(file: string, owner: LockOwner): Promise<boolean> {
  try {
    const handle = await openCreating(file, 'wx');
    try {
      await handle.writeFile(`${JSON.stringify(owner)}\n`);
    } finally {
      await handle.close();
    }
    return true;
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Callers in this process queue here first, so only one of them at a time competes for the lock file. */
const localQueues = new Map<string, Promise<unknown>>();

/**
 * Runs fn while holding the lock file `lockFile` (created exclusively). Waits for a live holder, breaks a stale
 * one, and gives up after 10 s with an error that names the holder. Callers within one process are served in
 * order without polling the file; the file lock coordinates between processes.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>, opts: { waitMs?: number } = {}): Promise<T> {
  const previous = localQueues.get(lockFile) ?? Promise.resolve();
  const run = previous.then(() => withFileLock(lockFile, fn, opts));
  const settled = run.catch(() => undefined);
  localQueues.set(lockFile, settled);
  try {
    return await run;
  } finally {
    if (localQueues.get(lockFile) === settled) localQueues.delete(lockFile);
  }
}

async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, { waitMs = LOCK_WAIT_MS } = {}): Promise<T> {
  const owner: LockOwner = {
    host: HOST,
    pid: process.pid,
    time: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
  };
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await tryAcquire(lockFile, owner)) break;
    const holder = await readOwner(lockFile);
    if (holder && isStale(holder)) {
      await breakStaleLock(lockFile, holder.owner);
      continue;
    }
    if (Date.now() > deadline) {
      const who = holder ? `process ${holder.owner.pid ?? '?'} on ${holder.owner.host ?? '?'} since ${holder.owner.time ?? '?'}` : 'another writer';
      throw new MlError(
        'LOCKED',
        `${lockFile} is held by ${who}.`,
        'Another writer is updating this experiment; retry shortly. If no process is writing, delete the .lock file.',
      );
    }
    await sleep(5 + Math.random() * 20);
  }
  try {
    return await fn();
  } finally {
    // Only remove the lock if it is still ours (it may have been broken as stale after a very long hold).
    const now = await readText(lockFile);
    if (now?.includes(owner.token)) await fs.rm(lockFile, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Housekeeping primitives (issue 8, items 4–6: import lock, plan-then-write, leftovers). Additive; used by
// core/store/leftovers.ts, core/store/write-plan.ts and core/import-runs.ts.

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

const kindOf = (e: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind =>
  e.isSymbolicLink() ? 'symlink' : e.isFile() ? 'file' : e.isDirectory() ? 'directory' : 'other';

/** Every entry of dir, dotfiles included, with its own kind (symlinks are not followed); empty when dir is missing. */
export async function listEntryKinds(dir: string): Promise<Map<string, EntryKind>> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e) => {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return [];
    throw e;
  });
  return new Map(entries.map((e) => [e.name, kindOf(e)]));
}

/** Kind and modification time of p itself (a final symlink is not followed), or undefined when nothing is there. */
export async function entryInfo(p: string): Promise<{ kind: EntryKind; mtimeMs: number } | undefined> {
  try {
    const st = await fs.lstat(p);
    return { kind: kindOf(st), mtimeMs: st.mtimeMs };
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return undefined;
    throw e;
  }
}

/** Whether a process with this pid exists on this host (the test the lock protocol uses). */
export function isLocalProcessAlive(pid: number): boolean {
  return processIsAlive(pid);
}

/**
 * Creates `file` whole with `text` only if nothing is there yet: a flushed temp file hard-linked into place, so
 * the file appears complete or not at all and a file someone else created meanwhile is never replaced.
 * False when the file already existed.
 */
export async function writeIfMissing(file: string, text: string): Promise<boolean> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await writeNewFile(tmp, text);
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Refreshes the lock's modification time while this process still owns it, so long holders are not judged stale. */
async function refreshOwnLock(lockFile: string): Promise<void> {
  const info = await readOwner(lockFile).catch(() => undefined);
  if (info?.owner.pid !== process.pid || info.owner.host !== HOST) return;
  const now = new Date();
  await fs.utimes(lockFile, now, now).catch(() => undefined);
}

/** How often a long holder refreshes its lock: well inside LOCK_STALE_MS, so a live holder is never judged stale. */
export const LONG_LOCK_REFRESH_MS = 5_000;

/**
 * withLock for work that can outlast LOCK_STALE_MS (a bulk import): the holder refreshes the lock file's
 * modification time every LONG_LOCK_REFRESH_MS, so waiters keep waiting while it lives, and a holder that died
 * leaves a lock that turns stale as usual (dead pid on this host at once, else 30 s after its last refresh).
 */
export async function withLongLock<T>(lockFile: string, fn: () => Promise<T>, opts: { waitMs: number }): Promise<T> {
  return withLock(
    lockFile,
    async () => {
      const timer = setInterval(() => void refreshOwnLock(lockFile), LONG_LOCK_REFRESH_MS);
      try {
        return await fn();
      } finally {
        clearInterval(timer);
      }
    },
    opts,
  );
}
