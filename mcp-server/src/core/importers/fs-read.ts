/**
 * Read-only file access for the importers: no symlinks followed, no path leaves the source. The checks and the I/O
 * are store/disk.ts's (the one module that touches the disk); index.ts registers the source as a read-only zone.
 *
 * Stores hold tens of thousands of tiny files (one per MLflow param, tag and metric). Reading them through
 * node:fs/promises costs ~40 µs a file in thread-pool round trips (2,000 runs: ~3 s); plain synchronous reads cost
 * ~7 µs (~0.5 s). So the bulk readers are synchronous and the scans yield to the event loop every few milliseconds
 * (TimeSlicer) so a server stays responsive while importing.
 */
import path from 'node:path';
import { MlError } from '../errors.js';
import { type DirEntry as Dirent, listDirents, listDirentsSync, lstatChecked, readText, readTextCheckedSync } from '../store/disk.js';

/** Largest file an importer reads; bigger files are skipped with a warning. */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * A file's text, opened with O_NOFOLLOW so a symlink in its place is refused, and its folder proven inside the
 * source (store/disk.ts). Throws on any error; callers turn errors into skipped entries or warnings.
 */
export async function readTextNoFollow(absPath: string): Promise<string> {
  const text = await readText(absPath, { maxBytes: MAX_FILE_BYTES });
  if (text === undefined) throw Object.assign(new Error(`${absPath}: missing`), { code: 'ENOENT' });
  return text;
}

/** Synchronous readTextNoFollow (see the note at the top of this file). */
export function readTextNoFollowSync(absPath: string): string {
  return readTextCheckedSync(absPath, MAX_FILE_BYTES);
}

/** Synchronous listDir. */
export function listDirSync(absDir: string): Dirent[] {
  return listDirentsSync(absDir);
}

/** Lets the event loop run when more than `sliceMs` have passed since the last pause. */
export class TimeSlicer {
  private last = performance.now();

  constructor(private readonly sliceMs = 20) {}

  async maybeYield(): Promise<void> {
    if (performance.now() - this.last < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }
}

/** Directory entries (with their types, no extra stat); [] when the folder does not exist or is not a folder. */
export async function listDir(absDir: string): Promise<Dirent[]> {
  return listDirents(absDir);
}

/** Human-readable cause of a read failure. */
export function describeError(error: unknown): string {
  if (error instanceof MlError) return error.message; // the sandbox's refusals name the file and the link
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ELOOP') return 'is a symbolic link (not followed)';
  if (e?.code === 'ENOENT') return 'missing';
  if (e?.code === 'EISDIR') return 'is a folder, not a file';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'not readable (permission denied)';
  return e?.message ?? String(error);
}

/**
 * The absolute path of `rel` inside `root`, or undefined when it would leave root or any component on the way is a
 * symbolic link. Used for paths named in files (dvc.yaml) rather than found by listing a folder.
 */
export async function resolveInside(root: string, rel: string): Promise<{ abs: string; kind: 'file' | 'dir' } | { error: string }> {
  if (path.isAbsolute(rel)) return { error: 'is an absolute path' };
  const normalized = path.normalize(rel);
  if (normalized === '..' || normalized.startsWith(`..${path.sep}`)) return { error: 'points outside the source folder' };
  const parts = normalized.split(path.sep).filter((p) => p && p !== '.');
  let current = root;
  for (let i = 0; i < parts.length; i += 1) {
    current = path.join(current, parts[i]!);
    let stats;
    try {
      stats = await lstatChecked(current);
    } catch (error) {
      return { error: describeError(error) };
    }
    if (!stats) return { error: 'missing' };
    if (stats.isSymbolicLink()) return { error: 'is or passes through a symbolic link (not followed)' };
    if (i < parts.length - 1 && !stats.isDirectory()) return { error: 'missing' };
    if (i === parts.length - 1) return { abs: current, kind: stats.isDirectory() ? 'dir' : 'file' };
  }
  return { abs: root, kind: 'dir' };
}
