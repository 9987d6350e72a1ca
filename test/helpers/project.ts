/** Scratch projects for tests: a temp folder, optionally a real git repository with one commit. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function scratchDir(prefix = 'swml-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  }).trim();
}

/** A project folder that is a git repository with one commit of train.py. */
export function gitProject(): string {
  const dir = scratchDir();
  git(dir, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(dir, 'train.py'), 'print("train")\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'init');
  return dir;
}

export const BUNDLE = path.resolve(__dirname, '../../mcp-server/dist/server.mjs');
