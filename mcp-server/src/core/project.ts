/**
 * The project and the paths callers name. Paths given by a caller are resolved here: real paths, symlinks
 * resolved, separator-aware containment. Writes are confined to `.specweave/`; the importer may additionally read
 * folders elsewhere in the project (never outside it). store/disk.ts enforces the same zones again on every read
 * and write, whatever path reaches it, and does not follow a final symlink.
 */
import * as path from 'node:path';
import { MlError } from './errors.js';
import { hasEntrySync, isInside, realpathOrResolvedSync, realpathOrUndefined, registerProject } from './store/disk.js';

export { isInside };

export interface RootOptions {
  /** The `--root` argument. */
  argRoot?: string | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** `--root`, else SPECWEAVE_ROOT, else the nearest ancestor holding `.specweave/`, else the working directory. */
export function resolveProjectRoot({ argRoot, env = process.env, cwd = process.cwd() }: RootOptions = {}): string {
  const explicit = argRoot || env.SPECWEAVE_ROOT;
  if (explicit) return path.resolve(cwd, explicit);
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    // lstat, not existsSync: a `.specweave` link counts as present, so its own project is chosen and the sandbox
    // then refuses it when it leads outside, rather than the search silently climbing to an unrelated project.
    if (hasEntrySync(dir, '.specweave')) return dir;
    if (path.dirname(dir) === dir) return path.resolve(cwd);
  }
}

export class Project {
  readonly root: string;
  readonly specweaveDir: string;
  readonly incrementsDir: string;
  readonly docsDir: string;

  constructor(root: string) {
    // Resolve symlinks in the root itself once, so containment checks compare real paths.
    this.root = realpathOrResolvedSync(root);
    this.specweaveDir = path.join(this.root, '.specweave');
    // The sandbox (store/disk.ts) refuses every read and write outside the zones registered here.
    registerProject(this.root);
    this.incrementsDir = path.join(this.specweaveDir, 'increments');
    this.docsDir = path.join(this.specweaveDir, 'docs', 'internal');
  }

  /** A path relative to the project root, with forward slashes, for messages and results. */
  relative(abs: string): string {
    return path.relative(this.root, abs).split(path.sep).join('/');
  }

  /**
   * Resolves `userPath` against `base` and proves the result stays inside `zone` even after symlinks are
   * resolved: the nearest existing ancestor is real-pathed and the not-yet-existing rest appended.
   */
  async resolveWithin(zone: string, base: string, userPath: string, what = 'path'): Promise<string> {
    if (userPath.includes('\0')) throw outside(userPath, what, 'it contains a NUL byte');
    const abs = path.resolve(base, userPath);
    if (!isInside(zone, abs)) throw outside(userPath, what, `it leads outside ${this.relative(zone) || '.'}`);
    const rest: string[] = [];
    let existing = abs;
    for (;;) {
      const real = await realpathOrUndefined(existing);
      if (real !== undefined) {
        const resolved = path.join(real, ...rest.reverse());
        const realZone = (await realpathOrUndefined(zone)) ?? zone;
        if (!isInside(realZone, resolved)) throw outside(userPath, what, 'a symlink leads outside the allowed folder');
        return resolved;
      }
      rest.push(path.basename(existing));
      const parent = path.dirname(existing);
      if (parent === existing) return abs;
      existing = parent;
    }
  }

  /** A path for writing: must stay inside `.specweave/`. */
  resolveWritable(base: string, userPath: string, what?: string): Promise<string> {
    return this.resolveWithin(this.specweaveDir, base, userPath, what);
  }

  /** A folder the importer may read: anywhere inside the project root. */
  resolveReadable(userPath: string, what?: string): Promise<string> {
    return this.resolveWithin(this.root, this.root, userPath, what);
  }
}

function outside(userPath: string, what: string, why: string): MlError {
  return new MlError(
    'OUTSIDE_PROJECT',
    `Refused ${what} ${JSON.stringify(userPath)}: ${why}.`,
    'Pass a path relative to the increment (or, for sources, to the project root) that stays inside it.',
  );
}
