/** Read-only git plumbing for the importers (committed DVC experiments). */
import { execFile, spawn } from 'node:child_process';

const GIT_ENV = { ...process.env, GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };

export function git(cwd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['-c', 'core.fsmonitor=false', ...args],
      { cwd, env: GIT_ENV, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, windowsHide: true },
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

export async function gitText(cwd: string, args: string[]): Promise<string> {
  return (await git(cwd, args)).toString('utf8');
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
    const child = spawn('git', ['cat-file', '--batch'], { cwd: repoRoot, env: GIT_ENV, windowsHide: true });
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
