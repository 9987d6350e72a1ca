/**
 * What git says about the project: commit, branch and whether code outside `.specweave/` differs from HEAD.
 * Asking git costs several milliseconds per call, so answers are cached and reused until HEAD or the index
 * changes, or for at most two seconds (edits to working files do not touch either). git runs through
 * importers/git-read.ts: only on a repository whose `.git` lies inside the project (or above it: a monorepo), with
 * every setting that would run a program from the repository's config switched off.
 */
import * as path from 'node:path';
import { filterDriverOverrides, gitText } from './importers/git-read.js';
import { statStamp } from './store/disk.js';

export interface GitInfo {
  commit: string | null;
  branch: string | null;
  dirty: boolean;
}

const MAX_AGE_MS = 2_000;

async function stamp(root: string): Promise<string> {
  return ['HEAD', 'index'].map((f) => statStamp(path.join(root, '.git', f))).join('|');
}

/** The project's code may live in an enclosing repository (a monorepo); its own `.git` must stay inside it. */
const GIT_OPTIONS = { allowRepoAbove: true };

export class GitInfoCache {
  private cached: { at: number; stamp: string; info: GitInfo | null } | undefined;
  private pending: Promise<GitInfo | null> | undefined;

  constructor(private readonly root: string) {}

  async get(): Promise<GitInfo | null> {
    const now = Date.now();
    const current = await stamp(this.root);
    if (this.cached && now - this.cached.at < MAX_AGE_MS && this.cached.stamp === current) return this.cached.info;
    // Concurrent callers share one git query.
    this.pending ??= this.query().finally(() => {
      this.pending = undefined;
    });
    const info = await this.pending;
    this.cached = { at: now, stamp: current, info };
    return info;
  }

  private async query(): Promise<GitInfo | null> {
    const git = (args: string[]) => gitText(this.root, args, GIT_OPTIONS);
    try {
      if ((await git(['rev-parse', '--is-inside-work-tree'])).trim() !== 'true') return null;
      // status may run the repository's filter drivers on changed files: switch them off.
      const noFilters = await filterDriverOverrides(this.root, GIT_OPTIONS);
      const [commit, branch, status] = await Promise.all([
        git(['rev-parse', 'HEAD']).catch(() => null),
        git(['rev-parse', '--abbrev-ref', 'HEAD']).catch(() => null),
        git([...noFilters, 'status', '--porcelain', '--untracked-files=normal', '--', '.', ':(exclude).specweave']).catch(() => ''),
      ]);
      return {
        commit: commit?.trim() || null,
        branch: branch?.trim() && branch.trim() !== 'HEAD' ? branch.trim() : null,
        dirty: status.trim().length > 0,
      };
    } catch {
      return null; // git missing or not a repository: the experiment is recorded without it.
    }
  }
}
