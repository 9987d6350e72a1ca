/**
 * The check a multi-file writer makes after planning and before writing: every target it is about to write can be
 * written as a plain file inside `.specweave/`. A target that is a folder, a symbolic link or something else, or a
 * folder on its way that is not a real folder, would make the write fail halfway (or write through a link); found
 * here, the call fails with nothing written.
 */
import * as path from 'node:path';
import { MlError } from '../errors.js';
import { isInside, type Project } from '../project.js';
import { entryInfo, type EntryKind } from './disk.js';

const DESCRIBE: Record<Exclude<EntryKind, 'file' | 'directory'>, string> = {
  symlink: 'a symbolic link',
  other: 'a special file',
};

function refuse(project: Project, p: string, what: string, fix: string): MlError {
  return new MlError('CONFLICT', `${project.relative(p)} is ${what}; nothing was written.`, fix);
}

/** Throws, naming the path and the fix, unless every file in `files` can be written as a plain file. */
export async function assertWritableTargets(project: Project, files: string[]): Promise<void> {
  const checkedFolders = new Set<string>();
  for (const file of files) {
    const info = await entryInfo(file);
    if (info && info.kind !== 'file') {
      const what = info.kind === 'directory' ? 'a folder' : DESCRIBE[info.kind];
      throw refuse(project, file, `${what} where a file is written`, `Move or remove ${project.relative(file)}, then call again.`);
    }
    // The folders on the way, up to (not including) .specweave itself, must be real folders or not exist yet.
    for (let dir = path.dirname(file); dir !== project.specweaveDir && isInside(project.specweaveDir, dir); dir = path.dirname(dir)) {
      if (checkedFolders.has(dir)) break;
      checkedFolders.add(dir);
      const folder = await entryInfo(dir);
      if (!folder || folder.kind === 'directory') continue;
      const what = folder.kind === 'file' ? 'a file' : DESCRIBE[folder.kind];
      throw refuse(project, dir, `${what} where a folder is expected`, `Move or remove ${project.relative(dir)}, then call again.`);
    }
  }
}

/** The same check against a listing the caller already has (one folder, no extra system calls). */
export function assertPlainFilesIn(project: Project, dir: string, entries: Map<string, EntryKind>, names: readonly string[]): void {
  for (const name of names) {
    const kind = entries.get(name);
    if (kind === undefined || kind === 'file') continue;
    const file = path.join(dir, name);
    const what = kind === 'directory' ? 'a folder' : DESCRIBE[kind];
    throw refuse(project, file, `${what} where a file is written`, `Move or remove ${project.relative(file)}, then call again.`);
  }
}
