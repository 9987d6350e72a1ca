/**
 * What git says about the project: commit, branch and whether code outside `.specweave/` differs from HEAD.
 * Asking git costs several milliseconds per call, so answers are cached and reused until HEAD or the index
 * changes, or for at most two seconds (edits to working files do not touch either).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { simpleGit } from 'simple-git';

export interface GitInfo {
  commit: string | null;
  branch: string | null;
  dirty: boolean;
}

const MAX_AGE_MS = 2_000;

async function stamp(root: string): Promise<string> {
  const parts = await Promise.all(
    ['HEAD', 'index'].map((f) => fs.stat(path.join(root, '.git', f)).then((s) => `${s.mtimeMs}:${s.size}`).catch(() => '-')),
  );
  return parts.join('|');
}

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
    const git = simpleGit({ baseDir: this.root, maxConcurrentProcesses: 2 });
    try {
      if (!(await git.checkIsRepo())) return null;
      const [commit, branch, status] = await Promise.all([
        git.revparse(['HEAD']).catch(() => null),
        git.revparse(['--abbrev-ref', 'HEAD']).catch(() => null),
        git.raw(['status', '--porcelain', '--untracked-files=normal', '--', '.', ':(exclude).specweave']).catch(() => ''),
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
