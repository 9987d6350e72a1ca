import { chmod, cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED_FIXTURES = process.env.SPECWEAVE_SHARED_FIXTURES ?? path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/fixtures');
export const LOCAL_FIXTURES = fileURLToPath(new URL('../fixtures/importers', import.meta.url));

const temps: string[] = [];

export async function tempDir(prefix = 'sw-import-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Copies a fixture folder (the shared fixtures are a read-only mount) into a fresh temporary folder, writable. */
export async function copyFixture(from: string, to?: string): Promise<string> {
  const dest = to ?? path.join(await tempDir(), path.basename(from));
  await cp(from, dest, { recursive: true, verbatimSymlinks: true });
  await makeWritable(dest);
  return dest;
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(p);
    else if (entry.isFile()) await chmod(p, 0o644);
  }
}

export async function cleanTemps(): Promise<void> {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
