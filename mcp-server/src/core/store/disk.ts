/**
 * The one module that touches the disk, and the sandbox around it.
 *
 * Every write is atomic (temp file in the same folder, flushed, renamed), appends are whole lines, and changes that
 * read-merge-write hold a lock file that any other writer (the Python client, a second server) honours.
 * docs/format.md ("Writing safely") is the contract this implements.
 *
 * The sandbox (docs/format.md, "Symbolic links and the sandbox"): a repository can hold anything, symbolic links
 * included. Every path is checked against a registered zone — the project's `.specweave/` (read-write), the project
 * root (read-only: import sources, git metadata) and, during an import, the source folder (read-only). For each
 * call the real path of the folder the file lies in is resolved and must lie inside the zone's real path; the file
 * itself is opened with O_NOFOLLOW (a symlink in its place is refused, never followed), new files with O_EXCL, and
 * missing folders are created one at a time, each proven a real folder before entering it. A refusal is an MlError
 * naming the in-project path of the link and the fix; it never carries what the link points to.
 *
 * The checks use synchronous lstat/realpath calls: each is a few microseconds, far cheaper than a thread-pool round
 * trip, and the content I/O stays asynchronous. The threat is a hostile tree, not a concurrent local attacker racing
 * the server between a check and an open (an attacker who can write the tree at will already owns the user).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fsSync from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { MlError } from '../errors.js';

const isErrno = (e: unknown, code: string) => (e as NodeJS.ErrnoException | undefined)?.code === code;
const isMissing = (e: unknown) => isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR');

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK } = fsSync.constants;
/** O_NONBLOCK so a named pipe planted in place of a file cannot hang the open; regular files ignore it. */
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE_FLAGS = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
const APPEND_FLAGS = O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW;

/** True when `child` is `parent` or lies below it (compares whole path segments, not string prefixes). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/**
 * isInside for paths already absolute and normalised (resolved input, real paths): a prefix test, several times
 * cheaper than path.relative, which matters when a scan checks tens of thousands of files.
 */
function contains(dir: string, p: string): boolean {
  if (!p.startsWith(dir)) return false;
  return p.length === dir.length || p.charCodeAt(dir.length) === SEP || dir.charCodeAt(dir.length - 1) === SEP;
}
const SEP = path.sep.charCodeAt(0);

/** A `.` or `..` component, a doubled or trailing separator: what path.resolve would change in an absolute path. */
const NOT_NORMAL = path.sep === '/' ? /\/\.{1,2}(?:\/|$)|\/\/|.\/$/ : /[\\/]\.{1,2}(?:[\\/]|$)|[\\/]{2}|.[\\/]$|\//;

/** path.resolve, skipped for a path that is already absolute and normalised (the common case). */
function normalised(p: string): string {
  return path.isAbsolute(p) && !NOT_NORMAL.test(p) ? p : path.resolve(p);
}

// ---------------------------------------------------------------------------------------------------------------
// Size caps

const MiB = 1024 * 1024;
/** Summary and document files (JSON, YAML, Markdown, locks): the format writes them small. */
export const MAX_TEXT_BYTES = 16 * MiB;
/** Line-oriented data read whole (history.jsonl, predictions until they stream): ~700,000 history points. */
export const MAX_DATA_BYTES = 64 * MiB;
const DATA_EXTENSIONS = new Set(['.jsonl', '.ndjson', '.csv', '.tsv']);

/** The documented cap for a file read whole, by kind. */
export function defaultReadCap(file: string): number {
  return DATA_EXTENSIONS.has(path.extname(file).toLowerCase()) ? MAX_DATA_BYTES : MAX_TEXT_BYTES;
}

// ---------------------------------------------------------------------------------------------------------------
// Zones

export interface Zone {
  /** The folder as the project names it (absolute; the project root is already a real path). */
  readonly dir: string;
  /** Base of the paths messages name. */
  readonly projectRoot: string;
  readonly writable: boolean;
  /** What the zone is, for messages: ".specweave", "the project", "the import source mlruns". */
  readonly label: string;
  /**
   * `.specweave` (its real path must lie strictly inside the project, not the root, not .git), the project root, a
   * scan's source, or an output folder a tool writes for the user (withWriteZone).
   */
  readonly kind: 'specweave' | 'project' | 'source' | 'output';
  /** Folders proven inside, kept for the zone's life: only for short-lived zones (one import scan). */
  readonly proven?: Proofs;
}

const zones = new Map<string, Zone & { users: number }>();

const zoneKey = (zone: Zone) => `${zone.kind}:${zone.dir}`;

function addZone(zone: Zone): Zone {
  const known = zones.get(zoneKey(zone));
  if (known) {
    known.users += 1;
    return known;
  }
  const entry = { ...zone, users: 1 };
  zones.set(zoneKey(zone), entry);
  return entry;
}

function dropZone(zone: Zone): void {
  const known = zones.get(zoneKey(zone));
  if (known === zone && --known.users <= 0) zones.delete(zoneKey(zone));
}

/**
 * Registers a project's zones: `.specweave/` read-write and the project root read-only (the importer's sources
 * and git's metadata live there). Registering the same project again is harmless.
 */
export function registerProject(root: string): { specweave: Zone; project: Zone } {
  const specweave = addZone({
    dir: path.join(root, '.specweave'),
    projectRoot: root,
    writable: true,
    label: '.specweave',
    kind: 'specweave',
  });
  const project = addZone({ dir: root, projectRoot: root, writable: false, label: 'the project', kind: 'project' });
  return { specweave, project };
}

/**
 * Runs fn with `dir` registered as a read-only zone of its own: reads below it may not leave its real path, even
 * into the rest of the project. Folders proven inside are cached for the scan (stores hold thousands of folders).
 */
export async function withReadZone<T>(dir: string, projectRoot: string, label: string, fn: () => Promise<T>): Promise<T> {
  // The project root too (read-only), for git's look at the repository holding the source; a Project has
  // usually registered it already.
  const project = addZone({ dir: projectRoot, projectRoot, writable: false, label: 'the project', kind: 'project' });
  const zone = addZone({ dir, projectRoot, writable: false, label, kind: 'source', proven: new Proofs() });
  try {
    return await fn();
  } finally {
    dropZone(zone);
    dropZone(project);
  }
}

/**
 * Runs fn with `dir` registered as a writable zone of its own: an output folder the user named inside the project
 * (scaffold_deployment's). `dir` must lie strictly inside the project root, outside `.specweave` and `.git`. It and
 * the folders above it are created first if missing, one at a time, each proven a real folder (a symbolic link or a
 * file on the way is refused), so writes below it never leave it.
 */
export async function withWriteZone<T>(dir: string, projectRoot: string, label: string, fn: () => Promise<T>): Promise<T> {
  const rel = path.relative(projectRoot, dir);
  const first = rel.split(path.sep)[0];
  if (!rel || !isInside(projectRoot, dir) || first === '.git' || first === '.specweave') throw notInAnyZone(dir, true);
  let at = projectRoot;
  for (const part of rel.split(path.sep)) {
    at = path.join(at, part);
    let st = lstatOrUndefined(at);
    if (st === undefined) {
      try {
        fsSync.mkdirSync(at);
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
      }
      st = fsSync.lstatSync(at);
    }
    const shownAs = path.relative(projectRoot, at).split(path.sep).join('/');
    if (st.isSymbolicLink())
      throw new MlError(
        'OUTSIDE_PROJECT',
        `${shownAs} is a symbolic link; nothing is written through it.`,
        'Name a real folder inside the project.',
      );
    if (!st.isDirectory())
      throw new MlError('CONFLICT', `${shownAs} is a file where a folder is expected.`, 'Move the file away, then call again.');
  }
  const zone = addZone({ dir, projectRoot, writable: true, label, kind: 'output' });
  try {
    return await fn();
  } finally {
    dropZone(zone);
  }
}

function shown(zone: Zone, p: string): string {
  return path.relative(zone.projectRoot, p).split(path.sep).join('/') || '.';
}

function escape(zone: Zone, link: string, how = 'is a symbolic link that leads outside'): MlError {
  return new MlError(
    'OUTSIDE_PROJECT',
    `${shown(zone, link)} ${how} ${zone.label === 'the project' ? 'the project' : zone.label}; the server does not read or write through it.`,
    `Remove the link (or replace it with a real folder or file), then call again.`,
  );
}

function notInAnyZone(p: string, writing: boolean): MlError {
  return new MlError(
    'OUTSIDE_PROJECT',
    `Refused to ${writing ? 'write' : 'read'} ${p}: it is outside the project's ${writing ? '.specweave/ folder' : 'folders'}.`,
    'Pass a path inside the project (writes: inside .specweave/).',
  );
}

/** The zone holding p: the most specific one that contains it by name, else by real path (a `.specweave` link). */
function zoneFor(p: string, writing: boolean): Zone {
  let best: Zone | undefined;
  for (const z of zones.values()) {
    // The most specific: the longest folder; for one folder, a scan's source over the project it lies in.
    if (contains(z.dir, p) && (!best || z.dir.length > best.dir.length || (z.dir.length === best.dir.length && z.kind === 'source')))
      best = z;
  }
  if (!best || best.kind === 'project') {
    // Paths already resolved to real paths (Project.resolveWithin) name `.specweave`'s target, not `.specweave`.
    for (const z of zones.values()) {
      if (z.kind !== 'specweave' || !contains(z.projectRoot, p)) continue;
      const real = zoneReal(z);
      if (real && real !== z.dir && contains(real, p)) return z;
    }
  }
  if (!best) throw notInAnyZone(p, writing);
  if (writing && !best.writable) throw notInAnyZone(p, true);
  return best;
}

/** The zone folder's real path, proven acceptable; undefined while it does not exist. */
function zoneReal(zone: Zone): string | undefined {
  let real: string;
  try {
    real = fsSync.realpathSync.native(zone.dir);
  } catch (e) {
    if (isMissing(e)) {
      // A dangling `.specweave` link is as unusable as one leading out; a merely missing folder is fine.
      if (lstatOrUndefined(zone.dir)?.isSymbolicLink()) throw specweaveRefused(zone);
      return undefined;
    }
    throw e;
  }
  if (zone.kind === 'specweave') {
    const root = zone.projectRoot;
    if (real === root || !isInside(root, real) || isInside(path.join(root, '.git'), real)) throw specweaveRefused(zone);
  }
  return real;
}

function specweaveRefused(zone: Zone): MlError {
  return new MlError(
    'OUTSIDE_PROJECT',
    `${shown(zone, zone.dir)} is a symbolic link that does not lead to a folder inside the project; the server refuses every read and write through it.`,
    'Replace .specweave with a real folder (or a link to a folder inside the project, other than the project root and .git), then call again.',
  );
}

function lstatOrUndefined(p: string): fsSync.Stats | undefined {
  try {
    return fsSync.lstatSync(p);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/**
 * Folders proven inside a zone (named path -> real path, null when missing), for one call, one batch or one scan.
 * A batch over many folders (readTexts) also lists each parent once instead of an lstat per child.
 */
class Proofs extends Map<string, string | null> {
  readonly listings: Map<string, Map<string, 'dir' | 'link' | 'other'>> | undefined;
  constructor(listFolders = false) {
    super();
    this.listings = listFolders ? new Map() : undefined;
  }
}

/** The type of `name` in the real folder `parentReal`, from one listing of the folder per batch. */
function listedKind(listings: NonNullable<Proofs['listings']>, parentReal: string, name: string): 'dir' | 'link' | 'other' | undefined {
  let entries = listings.get(parentReal);
  if (!entries) {
    entries = new Map();
    for (const e of fsSync.readdirSync(parentReal, { withFileTypes: true }))
      entries.set(e.name, e.isDirectory() ? 'dir' : e.isSymbolicLink() ? 'link' : 'other');
    listings.set(parentReal, entries);
  }
  return entries.get(name);
}

/** The zone folder's real path, computed at most once per call (or once per scan for a scan zone). */
type ZoneRealPath = () => string | undefined;

function zoneRealOnce(zone: Zone, cache: Proofs): ZoneRealPath {
  return () => {
    const hit = cache.get(zone.dir);
    if (hit !== undefined) return hit ?? undefined;
    const real = zoneReal(zone);
    // Only a scan zone keeps it beyond the call, and only once it exists.
    if (real !== undefined || !zone.proven) cache.set(zone.dir, real ?? null);
    return real;
  };
}

/**
 * The real path of folder `dir`, proven inside the zone; null when it (or a folder above it) does not exist.
 * Walks down from the zone folder, one lstat per folder (remembered in `cache`); a symbolic link on the way is
 * resolved and must stay inside. With `create`, missing folders are made one at a time, each proven a real folder.
 */
function realFolder(zone: Zone, zr: ZoneRealPath, dir: string, create: boolean, cache: Proofs): string | null {
  const hit = cache.get(dir);
  if (hit !== undefined && (hit !== null || !create)) return hit;
  let real: string | null;
  if (dir === zone.dir) {
    real = zr() ?? null;
    if (real === null && create) real = makeFolder(zone, path.dirname(zone.dir), path.basename(zone.dir));
  } else if (contains(zone.dir, dir)) {
    const parent = realFolder(zone, zr, path.dirname(dir), create, cache);
    real = parent === null ? null : enterFolder(zone, zr, parent, dir, create, cache);
  } else {
    // Named by its real path (under `.specweave`'s link target): resolve it whole.
    real = realpathInside(zone, zr, dir);
    if (real === null && create) {
      const parent = realFolder(zone, zr, path.dirname(dir), true, cache);
      real = parent === null ? null : makeFolder(zone, parent, path.basename(dir), dir);
    }
  }
  if (real !== null || !zone.proven) cache.set(dir, real);
  return real;
}

/** One step down: `dir` (as named) is the child of the real folder `parentReal`. */
function enterFolder(zone: Zone, zr: ZoneRealPath, parentReal: string, dir: string, create: boolean, cache: Proofs): string | null {
  const candidate = path.join(parentReal, path.basename(dir));
  if (cache.listings && !create) {
    const kind = listedKind(cache.listings, parentReal, path.basename(dir));
    if (kind === 'dir') return candidate;
    if (kind !== 'link') return null;
  }
  const st = lstatOrUndefined(candidate);
  if (st === undefined) return create ? makeFolder(zone, parentReal, path.basename(dir), dir) : null;
  if (st.isDirectory()) return candidate;
  if (!st.isSymbolicLink()) {
    if (create) throw fileInTheWay(zone, dir);
    return null;
  }
  let target: string;
  try {
    target = fsSync.realpathSync.native(candidate);
  } catch (e) {
    if (isMissing(e) || isErrno(e, 'ELOOP')) throw escape(zone, dir, 'is a symbolic link to nothing inside');
    throw e;
  }
  const zoneRealPath = zr();
  if (!zoneRealPath || !isInside(zoneRealPath, target)) throw escape(zone, dir);
  if (!fsSync.statSync(target).isDirectory()) {
    if (create) throw fileInTheWay(zone, dir);
    return null;
  }
  return target;
}

function fileInTheWay(zone: Zone, dir: string): MlError {
  return new MlError('CONFLICT', `${shown(zone, dir)} is a file where a folder is expected.`, 'Move the file away, then call again.');
}

function realpathInside(zone: Zone, zr: ZoneRealPath, dir: string): string | null {
  let real: string;
  try {
    real = fsSync.realpathSync.native(dir);
  } catch (e) {
    if (isMissing(e)) return null;
    throw e;
  }
  const zoneRealPath = zr();
  if (!zoneRealPath || !isInside(zoneRealPath, real)) throw escape(zone, dir, 'leads, through a symbolic link, outside');
  return real;
}

function makeFolder(zone: Zone, parentReal: string, name: string, shownAs = path.join(parentReal, name)): string {
  const target = path.join(parentReal, name);
  try {
    fsSync.mkdirSync(target);
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
  }
  const st = fsSync.lstatSync(target);
  if (st.isSymbolicLink()) throw escape(zone, shownAs, 'is a symbolic link that may lead outside');
  if (!st.isDirectory()) throw fileInTheWay(zone, shownAs);
  return target;
}

/** The real path of folder `dir`, proven inside its zone; undefined when it does not exist. */
function checkedFolder(dir: string, create: boolean, cache?: Proofs): { zone: Zone; real: string | undefined } {
  const named = path.resolve(dir);
  const zone = zoneFor(named, create);
  const c = cache ?? zone.proven ?? new Proofs();
  return { zone, real: realFolder(zone, zoneRealOnce(zone, c), named, create, c) ?? undefined };
}

/** A file checked against its zone: `real` is its folder's real path joined with its own name. */
interface Place {
  zone: Zone;
  /** As the caller named it, for messages. */
  named: string;
  real: string;
}

/**
 * Where `file` really is, its folder proven inside its zone; undefined when the folder does not exist (reads).
 * With `create` (writes) missing folders are made. `cache` spans one batch (readTexts) or one scan zone's life.
 */
function place(file: string, create: boolean, cache?: Proofs): Place | undefined {
  const named = normalised(file);
  const zone = zoneFor(named, create);
  const c = cache ?? zone.proven ?? new Proofs();
  const zr = zoneRealOnce(zone, c);
  if (named === zone.dir) {
    const real = zr();
    return real === undefined ? undefined : { zone, named, real };
  }
  const cut = named.lastIndexOf(path.sep);
  const folder = realFolder(zone, zr, cut === 0 ? path.sep : named.slice(0, cut), create, c);
  if (folder === null) return undefined;
  return { zone, named, real: `${folder}${folder.endsWith(path.sep) ? '' : path.sep}${named.slice(cut + 1)}` };
}

/** Why a final component could not be opened without following it: a link, named, never its target. */
function finalLinkError(where: Place): MlError {
  let target: string | undefined;
  try {
    target = fsSync.realpathSync.native(where.real);
  } catch {
    return escape(where.zone, where.named, 'is a symbolic link to nothing inside');
  }
  const zoneRealPath = zoneReal(where.zone);
  if (!zoneRealPath || !isInside(zoneRealPath, target)) return escape(where.zone, where.named);
  return new MlError(
    'OUTSIDE_PROJECT',
    `${shown(where.zone, where.named)} is a symbolic link; the server never follows links to files (one could lead outside the project).`,
    'Replace the link with a copy of the file, then call again.',
  );
}

function tooLarge(where: Place, bytes: number, cap: number): MlError {
  return new MlError(
    'CORRUPT',
    `${shown(where.zone, where.named)} is ${bytes > cap ? `over ${formatBytes(cap)}` : formatBytes(bytes)}, the limit for reading this kind of file whole.`,
    'A file written by this plugin is far smaller: the file was probably replaced. Restore it (git checkout, or delete it), then call again.',
  );
}

const formatBytes = (n: number) => (n >= MiB ? `${(n / MiB).toFixed(n % MiB ? 1 : 0)} MiB` : `${n} bytes`);

function notRegular(where: Place): MlError {
  return new MlError(
    'CORRUPT',
    `${shown(where.zone, where.named)} is not a regular file.`,
    'Replace it with the file the store expects (or delete it), then call again.',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

export interface ReadOptions {
  /** Refuse files larger than this many bytes; default by kind (defaultReadCap). */
  maxBytes?: number;
}

/** Opens an existing file for reading without following it; undefined when it does not exist. */
async function openForReading(where: Place): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(where.real, READ_FLAGS);
  } catch (e) {
    if (isMissing(e)) return undefined;
    if (isErrno(e, 'ELOOP')) throw finalLinkError(where);
    throw e;
  }
}

/** The file's text, or undefined when it does not exist. Refuses links, non-files and files over the cap. */
export async function readText(file: string, opts: ReadOptions = {}): Promise<string | undefined> {
  const where = place(file, false);
  if (!where) return undefined;
  const handle = await openForReading(where);
  if (!handle) return undefined;
  try {
    const cap = opts.maxBytes ?? defaultReadCap(file);
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(where);
    if (st.size > cap) throw tooLarge(where, st.size, cap);
    // Read to the end rather than trusting the size: the file may grow meanwhile, and the cap still holds.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.max(Math.min(st.size - total, cap + 1 - total), 64 * 1024));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > cap) throw tooLarge(where, total, cap);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Reused by readTextSync for the first chunk of every file (most files are a few hundred bytes). */
const SHARED = Buffer.allocUnsafe(64 * 1024);

/**
 * Synchronous readText for batches; `cache` remembers the folders already proven. No fstat: the cap is checked
 * while reading, and a named pipe (EAGAIN, opened non-blocking) or a folder (EISDIR) fails the first read.
 */
function readTextSync(file: string, cache: Proofs | undefined, maxBytes?: number): string | undefined {
  const where = place(file, false, cache);
  if (!where) return undefined;
  let fd: number;
  try {
    fd = fsSync.openSync(where.real, READ_FLAGS);
  } catch (e) {
    if (isMissing(e)) return undefined;
    if (isErrno(e, 'ELOOP')) throw finalLinkError(where);
    throw e;
  }
  try {
    const cap = maxBytes ?? defaultReadCap(file);
    const first = readOrRefuse(fd, SHARED, where);
    if (first < SHARED.length && first <= cap) return SHARED.toString('utf8', 0, first); // a short read of a regular file is its end
    const chunks: Buffer[] = [Buffer.from(SHARED.subarray(0, first))];
    let total = first;
    for (;;) {
      if (total > cap) throw tooLarge(where, total, cap);
      const buffer = Buffer.allocUnsafe(Math.min(Math.max(total, 64 * 1024), cap + 1 - total + 1));
      const bytesRead = readOrRefuse(fd, buffer, where);
      if (bytesRead === 0) break;
      total += bytesRead;
      chunks.push(buffer.subarray(0, bytesRead));
    }
    if (total > cap) throw tooLarge(where, total, cap);
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    fsSync.closeSync(fd);
  }
}

function readOrRefuse(fd: number, buffer: Buffer, where: Place): number {
  try {
    return fsSync.readSync(fd, buffer, 0, buffer.length, null);
  } catch (e) {
    if (isErrno(e, 'EAGAIN') || isErrno(e, 'EISDIR') || isErrno(e, 'EWOULDBLOCK')) throw notRegular(where);
    throw e;
  }
}

/**
 * Many small files at once, for scans over thousands of experiments. Synchronous reads are several times faster
 * than the thread-pool round trips of fs.promises for files this small; yielding between chunks keeps the server
 * responsive to other requests meanwhile. Folders proven inside the zone are remembered for the batch, so each
 * experiment folder costs one lstat.
 */
export async function readTexts(files: string[], chunk = 300): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = new Array(files.length);
  const cache = new Proofs(true);
  for (let i = 0; i < files.length; i += 1) {
    out[i] = readTextSync(files[i]!, cache);
    if (i % chunk === chunk - 1) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/**
 * Synchronous read for bulk scanners (the importers): the same checks as readText, with the folder proofs cached
 * for the zone's life when it is a scan zone (withReadZone). Throws ENOENT-style errors for missing files.
 */
export function readTextCheckedSync(file: string, maxBytes?: number): string {
  const text = readTextSync(file, undefined, maxBytes); // a scan zone's own proofs, kept for the scan
  if (text === undefined) throw Object.assign(new Error(`${file}: missing`), { code: 'ENOENT' });
  return text;
}

export interface ChunkOptions {
  /** Bytes per chunk (default 1 MiB). */
  chunkBytes?: number;
  /** Refuse the file once more than this many bytes have been read (default: no cap; the consumer decides). */
  maxBytes?: number;
}

/**
 * The file's bytes as a stream of Buffers, opened without following a symlink and sandbox-checked. Throws a
 * NOT_FOUND MlError naming the file when it does not exist. Each yielded Buffer is fresh (safe to keep).
 */
export async function* readChunks(file: string, opts: ChunkOptions = {}): AsyncGenerator<Buffer, void, undefined> {
  const where = place(file, false);
  const handle = where ? await openForReading(where) : undefined;
  if (!where || !handle) {
    const zone = zoneFor(path.resolve(file), false);
    throw new MlError('NOT_FOUND', `${shown(zone, path.resolve(file))} does not exist.`, 'Check the path, then call again.');
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(where);
    const cap = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    if (st.size > cap) throw tooLarge(where, st.size, cap);
    const size = opts.chunkBytes ?? MiB;
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(buffer, 0, size, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > cap) throw tooLarge(where, total, cap);
      yield bytesRead === size ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** Size and SHA-256 of a file, streamed so large models do not fill memory. */
export async function fileDigest(file: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of readChunks(file)) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** What is at p, not following a final symlink; undefined when nothing is (or its folder does not exist). */
export async function lstatChecked(p: string): Promise<fsSync.Stats | undefined> {
  const where = place(p, false);
  if (!where) return undefined;
  return lstatOrUndefined(where.real);
}

export async function exists(file: string): Promise<boolean> {
  return (await lstatChecked(file)) !== undefined;
}

/** A regular file (a symbolic link is not one, whatever it points to). */
export async function isFile(file: string): Promise<boolean> {
  return (await lstatChecked(file))?.isFile() ?? false;
}

/** A real folder (a symbolic link is not one, whatever it points to). */
export async function isDirectory(p: string): Promise<boolean> {
  return (await lstatChecked(p))?.isDirectory() ?? false;
}

/** A directory entry with its type (fs.Dirent), for modules that must not import node:fs. */
export type DirEntry = fsSync.Dirent;

/** The entries of dir with their types (no extra stat), [] when it does not exist. Symlinks are reported, never followed. */
export async function listDirents(dir: string): Promise<fsSync.Dirent[]> {
  const { real } = checkedFolder(dir, false);
  if (!real) return [];
  try {
    return await fs.readdir(real, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** Synchronous listDirents, for bulk scanners. */
export function listDirentsSync(dir: string): fsSync.Dirent[] {
  const { real } = checkedFolder(dir, false);
  if (!real) return [];
  try {
    return fsSync.readdirSync(real, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** Names of the sub-folders of dir, sorted; empty when dir does not exist. Symlinks are not followed. */
export async function listDirectories(dir: string): Promise<string[]> {
  return (await listDirents(dir))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Names of the plain files in dir (no folders, no symlinks), sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  return (await listDirents(dir))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
}

/** The visible entries of dir (no dotfiles), folders marked with a trailing slash, sorted. */
export async function listEntries(dir: string): Promise<string[]> {
  return (await listDirents(dir))
    .filter((e) => !e.name.startsWith('.'))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort();
}

export async function realpathOrUndefined(p: string): Promise<string | undefined> {
  return fs.realpath(p).catch(() => undefined);
}

/** The real path of p, or p resolved when it does not exist (the project root before it is created). */
export function realpathOrResolvedSync(p: string): string {
  try {
    return fsSync.realpathSync.native(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Whether `dir` holds an entry named `name`, not following it (the project root finder: a `.specweave` link counts
 * as present, so the project that holds it is chosen and its zone check then decides, rather than silently
 * climbing to another project). Reads no content, so it needs no zone.
 */
export function hasEntrySync(dir: string, name: string): boolean {
  try {
    fsSync.lstatSync(path.join(dir, name));
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Opens a new file (O_EXCL, not following links), creating its folders safely. */
async function createFile(file: string): Promise<{ handle: fs.FileHandle; where: Place }> {
  const where = place(file, true)!;
  try {
    return { handle: await fs.open(where.real, CREATE_FLAGS, 0o666), where };
  } catch (e) {
    if (isErrno(e, 'ELOOP')) throw finalLinkError(where);
    throw e;
  }
}

/**
 * A new temp file beside `file` (`.<name>.<pid>.<hex>.tmp`, the name leftovers.ts recognises) holding `text`,
 * flushed to disk: the first half of every write that appears whole or not at all. Returns where it is.
 */
async function writeFlushedTemp(file: string, text: string | Uint8Array) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const { handle, where } = await createFile(tmp);
  try {
    await handle.writeFile(text);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  return where;
}

/** Writes the whole file or nothing: readers see the old content or the new, never a mix. */
export async function writeAtomic(file: string, text: string | Uint8Array): Promise<void> {
  const tmpPlace = await writeFlushedTemp(file, text);
  try {
    const target = path.join(path.dirname(tmpPlace.real), path.basename(file));
    // rename replaces a link rather than writing through it; still, a link here is refused so it is noticed.
    if (lstatOrUndefined(target)?.isSymbolicLink()) throw finalLinkError({ zone: tmpPlace.zone, named: path.resolve(file), real: target });
    await fs.rename(tmpPlace.real, target);
  } catch (e) {
    await fs.rm(tmpPlace.real, { force: true });
    throw e;
  }
}

/**
 * Writes a file that must not exist yet, flushed to disk, for folders no other writer can see (a staging folder
 * renamed into place once complete). Not atomic by itself: the rename of the folder is.
 */
export async function writeNewFile(file: string, text: string): Promise<void> {
  const { handle } = await createFile(file);
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
  const source = place(from, true)!;
  const target = place(to, true)!;
  if (lstatOrUndefined(source.real)?.isSymbolicLink()) throw finalLinkError(source);
  if (lstatOrUndefined(target.real)?.isSymbolicLink()) throw finalLinkError(target);
  try {
    await fs.rename(source.real, target.real);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOTEMPTY') || isErrno(e, 'EEXIST')) return false;
    throw e;
  }
}

/** Removes a folder and what it holds; links inside are removed, never followed. */
export async function removeTree(dir: string): Promise<void> {
  const where = place(dir, false);
  if (!where || where.named === where.zone.dir) return;
  if (!where.zone.writable) throw notInAnyZone(where.named, true);
  await fs.rm(where.real, { recursive: true, force: true });
}

/** Removes one file (or link: never its target); nothing when it does not exist. */
export async function removeFile(file: string): Promise<void> {
  const where = place(file, false);
  if (!where) return;
  if (!where.zone.writable) throw notInAnyZone(where.named, true);
  await fs.rm(where.real, { force: true });
}

/**
 * Appends whole lines with one write call. If an earlier writer crashed mid-line, the file does not end in a
 * newline; a newline goes first so the broken line stays isolated and readers can skip it.
 */
export async function appendLines(file: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  const where = place(file, true)!;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(where.real, APPEND_FLAGS, 0o666);
  } catch (e) {
    if (isErrno(e, 'ELOOP')) throw finalLinkError(where);
    throw e;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(where);
    let prefix = '';
    if (st.size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, st.size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await handle.write(`${prefix}${lines.join('\n')}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Creates dir and any missing folders above it inside the zone, each proven a real folder. */
export async function makeDirs(dir: string): Promise<void> {
  checkedFolder(dir, true, new Proofs());
}

// ---------------------------------------------------------------------------------------------------------------
// Locks

export const LOCK_STALE_MS = 30_000;
/** A writer fills its lock microseconds after creating it; one still empty after this long belongs to a dead writer. */
export const EMPTY_LOCK_STALE_MS = 2_000;
const LOCK_WAIT_MS = 10_000;
const HOST = os.hostname();
/** A lock holds one line of JSON; anything bigger was not written by a writer. */
const MAX_LOCK_BYTES = 64 * 1024;

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
  const where = place(file, false);
  if (!where) return undefined;
  const handle = await openForReading(where);
  if (!handle) return undefined;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(where);
    if (st.size > MAX_LOCK_BYTES) throw tooLarge(where, st.size, MAX_LOCK_BYTES);
    const text = (await handle.readFile()).toString('utf8');
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(text) as Partial<LockOwner>;
    } catch {
      // A writer that died between creating and filling the lock leaves it empty; its age decides.
    }
    return { owner, mtimeMs: st.mtimeMs };
  } finally {
    await handle.close();
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
  const where = place(file, true)!;
  const tombstone = `${where.real}.${randomBytes(4).toString('hex')}.stale`;
  try {
    await fs.rename(where.real, tombstone);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  const taken = await readOwner(tombstone);
  if (taken && taken.owner.token !== judged.token) {
    // Released and retaken between our look and our rename: give it back.
    await fs.link(tombstone, where.real).catch(() => undefined);
  }
  await fs.rm(tombstone, { force: true });
}

async function tryAcquire(file: string, owner: LockOwner): Promise<boolean> {
  try {
    const { handle } = await createFile(file);
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
      const who = holder
        ? `process ${holder.owner.pid ?? '?'} on ${holder.owner.host ?? '?'} since ${holder.owner.time ?? '?'}`
        : 'another writer';
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
    const now = await readOwner(lockFile).catch(() => undefined);
    if (now?.owner.token === owner.token) await removeFile(lockFile);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Git repositories

/**
 * Whether git may be run for `dir`: every `.git` between dir and the project root (inclusive) that git would find
 * first must be a real folder, or a link or `gitdir:` file whose real target lies inside the project. Returns the
 * reason when not. `allowAbove`: when no `.git` is found inside the project, may git find one above it (the user's
 * own enclosing repository)?
 */
export function gitRepositoryRefusal(dir: string, allowAbove: boolean): string | undefined {
  const named = path.resolve(dir);
  const zone = zoneFor(named, false);
  const root = zone.projectRoot;
  for (let d = named; ; d = path.dirname(d)) {
    const dotGit = path.join(d, '.git');
    const st = lstatOrUndefined(dotGit);
    if (st) {
      if (st.isDirectory()) return undefined;
      const label = path.relative(root, dotGit).split(path.sep).join('/');
      let target: string | undefined;
      if (st.isSymbolicLink()) target = realpathOrNothing(dotGit);
      else if (st.isFile()) target = gitdirTarget(dotGit, d);
      if (target && isInside(root, target)) return undefined;
      return `${label} is a ${st.isSymbolicLink() ? 'symbolic link' : 'file'} leading to a git folder outside the project (not followed)`;
    }
    if (d === root || !isInside(root, d)) break;
  }
  return allowAbove ? undefined : 'no git repository inside the project';
}

/** The project root of the zone holding p (for git's ceiling). */
export function projectRootOf(p: string): string {
  return zoneFor(path.resolve(p), false).projectRoot;
}

function realpathOrNothing(p: string): string | undefined {
  try {
    return fsSync.realpathSync.native(p);
  } catch {
    return undefined;
  }
}

/** The real folder a `gitdir: <path>` file points to, read without following links and capped. */
function gitdirTarget(dotGitFile: string, dir: string): string | undefined {
  try {
    const text = readTextSync(dotGitFile, new Proofs(), 4096);
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(text ?? '');
    return m ? realpathOrNothing(path.resolve(dir, m[1]!)) : undefined;
  } catch {
    return undefined;
  }
}

/** lstat-based change stamp (mtime and size) of a file in a zone, '-' when absent or refused. */
export function statStamp(file: string): string {
  try {
    const where = place(file, false);
    const st = where ? lstatOrUndefined(where.real) : undefined;
    return st ? `${st.mtimeMs}:${st.size}` : '-';
  } catch {
    return '-';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Housekeeping primitives (teammate H5, issue 8 items 4–6: import lock, plan-then-write, leftovers). Additive;
// used by core/store/leftovers.ts, core/store/write-plan.ts, core/import-runs.ts and the multi-file writers.

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

const kindOf = (e: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): EntryKind =>
  e.isSymbolicLink() ? 'symlink' : e.isFile() ? 'file' : e.isDirectory() ? 'directory' : 'other';

/** Every entry of dir, dotfiles included, with its own kind (symlinks are not followed); empty when dir is missing. */
export async function listEntryKinds(dir: string): Promise<Map<string, EntryKind>> {
  return new Map((await listDirents(dir)).map((e) => [e.name, kindOf(e)]));
}

/** Kind and modification time of p itself (a final symlink is not followed), or undefined when nothing is there. */
export async function entryInfo(p: string): Promise<{ kind: EntryKind; mtimeMs: number } | undefined> {
  const st = await lstatChecked(p);
  return st && { kind: kindOf(st), mtimeMs: st.mtimeMs };
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
  const where = await writeFlushedTemp(file, text);
  try {
    await fs.link(where.real, path.join(path.dirname(where.real), path.basename(file)));
    return true;
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  } finally {
    await fs.rm(where.real, { force: true });
  }
}

/** Refreshes the lock's modification time while this process still owns it, so long holders are not judged stale. */
async function refreshOwnLock(lockFile: string): Promise<void> {
  const info = await readOwner(lockFile).catch(() => undefined);
  if (info?.owner.pid !== process.pid || info.owner.host !== HOST) return;
  const where = place(lockFile, false);
  const now = new Date();
  if (where) await fs.utimes(where.real, now, now).catch(() => undefined);
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
