import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, it } from 'vitest';

export const SHARED_FIXTURES =
  process.env.SPECWEAVE_SHARED_FIXTURES ?? path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/fixtures');
/**
 * The shared fixtures sit beside the clone (../shared/fixtures) in CI and on the team's machines, not in a clone made
 * anywhere else: tests that need them skip there, saying why. CI sets SPECWEAVE_REQUIRE_SHARED=1, where they must
 * run: an absent folder then fails them instead of skipping them.
 */
export const HAS_SHARED_FIXTURES = existsSync(SHARED_FIXTURES);
const SKIP_WITHOUT_SHARED = !HAS_SHARED_FIXTURES && process.env.SPECWEAVE_REQUIRE_SHARED !== '1';
const SKIP_REASON = `[skipped: needs the shared fixtures, absent at ${SHARED_FIXTURES}]`;

function requireSharedFixtures(): void {
  if (!HAS_SHARED_FIXTURES) throw new Error(`SPECWEAVE_REQUIRE_SHARED=1 but the shared fixtures are absent: ${SHARED_FIXTURES}`);
}

let told = false;
/** The reason, in the title of each skipped test and once on stderr per file (the default reporter lists no skipped titles). */
function titled(title: string): string {
  if (!SKIP_WITHOUT_SHARED) return title;
  if (!told)
    console.warn(
      `Skipping the tests that read the shared fixtures: ${SHARED_FIXTURES} is absent (CI sets SPECWEAVE_REQUIRE_SHARED=1 and has it).`,
    );
  told = true;
  return `${title} ${SKIP_REASON}`;
}

/** A describe block whose tests read the shared fixtures. */
export function describeWithShared(title: string, body: () => void): void {
  describe.skipIf(SKIP_WITHOUT_SHARED)(titled(title), () => {
    beforeAll(requireSharedFixtures);
    body();
  });
}

/** One test that reads the shared fixtures. */
export function itWithShared(title: string, body: () => Promise<void> | void): void {
  it.skipIf(SKIP_WITHOUT_SHARED)(titled(title), async () => {
    requireSharedFixtures();
    await body();
  });
}

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

/** A run as make-mlflow-db.py and mlflow-server.py (through mlflow_logging.py) say they logged it with the real mlflow client. */
export interface LoggedRun {
  run_id: string;
  name: string;
  params: Record<string, string>;
  history: { metric: string; value: number | string; step: number; timestamp: number }[];
  tags: Record<string, string>;
  expect_status: string;
  start_time: number;
  end_time: number | null;
  parent?: string;
  deleted?: boolean;
  registered?: { name: string; version: number; stage: string }[];
}
