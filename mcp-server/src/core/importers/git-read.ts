/**
 * Read-only git plumbing for the importers (committed DVC experiments) and git-info. A repository can carry a
 * config that runs programs (core.fsmonitor, hooks, a pager, an external diff) and a `.git` that is a link or a
 * `gitdir:` file leading anywhere. So git runs only on a repository whose `.git` lies inside the project
 * (store/disk.ts gitRepositoryRefusal), never above the project for the importer (GIT_CEILING_DIRECTORIES), and
 * with every program-running setting overridden on the command line (which beats the repository's config).
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { gitRepositoryRefusal, projectRootOf } from '../store/disk.js';

/** Settings that would make git run a program named by the repository, switched off for every call. */
export const SAFE_GIT_CONFIG = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.pager=cat',
  '-c',
  'diff.external=',
  '-c',
  'core.sshCommand=false',
  '-c',
  'protocol.allow=never',
  '-c',
  'credential.helper=',
];

const { GIT_DIR: _dir, GIT_WORK_TREE: _tree, GIT_INDEX_FILE: _index, GIT_CEILING_DIRECTORIES: _ceiling, ...INHERITED } = process.env;
const BASE_ENV = { ...INHERITED, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };

export interface GitOptions {
  /** May git use a repository found above the project root (git-info in a monorepo)? Never for the importer. */
  allowRepoAbove?: boolean;
}

/** The environment for git in `cwd`, or the reason git must not run there. */
function gitEnvFor(cwd: string, { allowRepoAbove = false }: GitOptions): NodeJS.ProcessEnv {
  const refusal = gitRepositoryRefusal(cwd, allowRepoAbove);
  if (refusal) throw new Error(`git not run: ${refusal}`);
  return allowRepoAbove ? BASE_ENV : { ...BASE_ENV, GIT_CEILING_DIRECTORIES: path.dirname(projectRootOf(cwd)) };
}

export function git(cwd: string, args: string[], options: GitOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let env: NodeJS.ProcessEnv;
    try {
      env = gitEnvFor(cwd, options);
    } catch (e) {
      reject(e);
      return;
    }
    execFile(
      'git',
      [...SAFE_GIT_CONFIG, ...args],
      { cwd, env, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) {
          const message = Buffer.isBuffer(stderr) ? stderr.toString('utf8').trim() : '';
          reject(new Error(message || error.message));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

export async function gitText(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  return (await git(cwd, args, options)).toString('utf8');
}

/**
 * `-c filter.<driver>.<clean|smudge|process>=` for every filter driver the repository's config defines: an empty
 * command switches a driver off, so commands that may filter working files (status) run none of them.
 */
export async function filterDriverOverrides(cwd: string, options: GitOptions = {}): Promise<string[]> {
  const out = await gitText(cwd, ['config', '--name-only', '--get-regexp', '^filter\\..*\\.(clean|smudge|process)$'], options).catch(
    () => '',
  );
  return out
    .split('\n')
    .filter(Boolean)
    .flatMap((key) => ['-c', `${key}=`]);
}

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  /** Path relative to the repository root. */
  path: string;
}

/** `git ls-tree -r -z <commit> [-- <dir>]`, run at the repository root so paths are full. */
export async function lsTree(repoRoot: string, commit: string, dir: string): Promise<TreeEntry[]> {
  const args = ['ls-tree', '-r', '-z', '--full-tree', commit];
  if (dir) args.push('--', dir.endsWith('/') ? dir : `${dir}/`);
  const out = await gitText(repoRoot, args);
  const entries: TreeEntry[] = [];
  for (const record of out.split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [mode, type, oid] = record.slice(0, tab).split(' ');
    if (!mode || !type || !oid) continue;
    entries.push({ mode, type, oid, path: record.slice(tab + 1) });
  }
  return entries;
}

/** Blob contents by object id, read with one `git cat-file --batch`. */
export function catBlobs(repoRoot: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  const unique = [...new Set(oids)];
  if (unique.length === 0) return Promise.resolve(new Map());
  return new Promise((resolve, reject) => {
    let env: NodeJS.ProcessEnv;
    try {
      env = gitEnvFor(repoRoot, {});
    } catch (e) {
      reject(e);
      return;
    }
    const child = spawn('git', [...SAFE_GIT_CONFIG, 'cat-file', '--batch'], { cwd: repoRoot, env, windowsHide: true });
    const chunks: Buffer[] = [];
    const errors: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => errors.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(Buffer.concat(errors).toString('utf8').trim() || `git cat-file exited with ${code}`));
      const out = Buffer.concat(chunks);
      const result = new Map<string, Buffer>();
      let pos = 0;
      while (pos < out.length) {
        const nl = out.indexOf(0x0a, pos);
        if (nl < 0) break;
        const header = out.toString('utf8', pos, nl).split(' ');
        pos = nl + 1;
        if (header[1] === 'missing' || header.length < 3) continue;
        const size = Number(header[2]);
        result.set(header[0]!, out.subarray(pos, pos + size));
        pos += size + 1;
      }
      resolve(result);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${unique.join('\n')}\n`);
  });
}
