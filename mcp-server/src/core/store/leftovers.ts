/**
 * Crash leftovers and the `.specweave/.gitignore` that keeps them out of git.
 *
 * A writer killed mid-write leaves a temp file (`.<name>.<pid>.<hex>.tmp`, see writeAtomic), a staging folder
 * (`.staging-<pid>-<hex>`, see createExperimentStaged) or a lock tombstone (`.lock.<hex>.stale`, see the lock
 * protocol). Readers ignore them; the next writer in the same folder removes those of dead writers. Cleaning is
 * done only in folders a writer lists anyway, never by walking the tree (docs/format.md, "Leftovers").
 */
import * as path from 'node:path';
import { entryInfo, isLocalProcessAlive, removeTree, writeIfMissing, type EntryKind } from './disk.js';

/** A leftover this old is dead whatever its pid says (pids are reused; the writer may be on another host). */
export const LEFTOVER_MAX_AGE_MS = 60 * 60 * 1000;
/**
 * A leftover younger than this is never touched, even when its pid is not alive here: the name carries no host,
 * and a writer on another machine or in another container sharing the folder may be using it. Temp files live
 * for milliseconds and an import refreshes its staging folder with every run, so a minute is generous.
 */
export const LEFTOVER_GRACE_MS = 60 * 1000;

const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;
const STAGING_FOLDER = /^\.staging-(\d+)-[0-9a-f]+$/;
const LOCK_TOMBSTONE = /^\..*lock\.[0-9a-f]+\.stale$/;

/** What kind of leftover a folder entry is, with the pid of its writer when the name records one. */
export function classifyLeftover(name: string, kind: EntryKind): { pid?: number } | undefined {
  if (kind === 'file') {
    const temp = TEMP_FILE.exec(name);
    if (temp) return { pid: Number(temp[1]) };
    if (LOCK_TOMBSTONE.test(name)) return {};
  }
  if (kind === 'directory') {
    const staging = STAGING_FOLDER.exec(name);
    if (staging) return { pid: Number(staging[1]) };
  }
  return undefined;
}

function isDead(pid: number | undefined, ageMs: number): boolean {
  if (ageMs > LEFTOVER_MAX_AGE_MS) return true;
  if (ageMs < LEFTOVER_GRACE_MS) return false;
  // A tombstone has no pid: its breaker deletes it within milliseconds, so one past the grace is abandoned.
  return pid === undefined || (pid !== process.pid && !isLocalProcessAlive(pid));
}

/**
 * Removes the leftovers of dead writers among `entries` (a listing of `dir` the caller already made). Returns the
 * names removed. Failures are ignored: cleaning is a courtesy and must never fail the write that triggered it.
 */
export async function removeDeadLeftovers(dir: string, entries: Map<string, EntryKind>, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const [name, kind] of entries) {
    if (name.charCodeAt(0) !== 0x2e) continue; // every leftover name starts with a dot; most entries do not
    const leftover = classifyLeftover(name, kind);
    if (!leftover) continue;
    const file = path.join(dir, name);
    try {
      // lstat again: the listing may be old, and the age decides.
      const info = await entryInfo(file);
      if (!info || info.kind !== kind || !isDead(leftover.pid, now - info.mtimeMs)) continue;
      await removeTree(file);
      removed.push(name);
    } catch {
      // Another writer removed it first, or it is not ours to remove: leave it.
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------------------
// .specweave/.gitignore

/** The exact bytes (the Python client writes the same). */
export const SPECWEAVE_GITIGNORE = `# Written by specweave-ml: crash leftovers and lock files never belong in git.
*.tmp
.staging-*
*.lock
.lock
*.stale
`;

const ensured = new Set<string>();

/**
 * Writes `.specweave/.gitignore` when it is missing; a file that exists (the user's or ours) is never replaced.
 * Checked once per process per project unless `recheck` (create_increment checks every time: it is rare and is
 * the usual first writer).
 */
export async function ensureGitignore(specweaveDir: string, { recheck = false } = {}): Promise<void> {
  if (ensured.has(specweaveDir) && !recheck) return;
  const file = path.join(specweaveDir, '.gitignore');
  try {
    if ((await entryInfo(file)) === undefined) await writeIfMissing(file, SPECWEAVE_GITIGNORE);
    ensured.add(specweaveDir);
  } catch {
    // Not fatal: the write the caller made succeeded; the next writer tries again.
  }
}
