/**
 * import_runs: brings the runs of another tracker (the importers in importers/index.ts: MLflow file and SQLite stores,
 * DVC, W&B offline folders, a running MLflow tracking server over REST) into an increment
 * as experiments. The importers only read the source; this module writes, through the same code path as
 * track_experiment. Re-importing a source creates no duplicates: each experiment remembers its run's key.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MlError, invalid } from './errors.js';
import {
  discardStagedExperiment,
  markIncrementActive,
  planNewExperiment,
  publishStagedExperiment,
  readImportedRunKeys,
  writeStagedExperiment,
  type ExperimentUpdate,
  type StagedExperiment,
  type TrackContext,
} from './experiments.js';
import { experimentsDir, type Increment } from './increments.js';
import { isHttpUrl, parseTrackingServer } from './http-mlflow.js';
import { IMPORTERS, scanSource, type ImportFormat, type ImportedRun, type ImportScan } from './importers/index.js';
import { uniqueExperimentName } from './names.js';
import type { Project } from './project.js';
import { isDirectory, isFile, listEntryKinds, removeTree, withLongLock } from './store/disk.js';
import { ensureGitignore, removeDeadLeftovers } from './store/leftovers.js';
import { inParallel } from './in-parallel.js';

export interface ImportOptions {
  source: string;
  format?: ImportFormat | null;
  include_deleted?: boolean | null;
}

export interface ImportResult {
  increment: string;
  source: string;
  format: ImportFormat;
  imported: { experiment: string; run: string }[];
  already_imported: number;
  skipped: { what: string; reason: string }[];
  warnings: string[];
}

const WRITERS = 16;
/**
 * How long a second import of the same increment waits for the first to finish. Imports of large stores take
 * minutes; the holder refreshes the lock meanwhile, so a dead one is still noticed within 30 s (docs/format.md).
 */
const IMPORT_LOCK_WAIT_MS = 10 * 60 * 1000;

/**
 * The source's folder, and its file name when the source is a single file (an MLflow mlflow.db): the folder is then
 * the read-only zone, and the importer reads only that file in it.
 */
async function sourceLocation(project: Project, source: string): Promise<{ dir: string; file?: string }> {
  // "localhost:5000" or "mlflow.example.com:5000" is a server without its scheme, not a folder.
  if (/^[\w.-]+:\d+(?:\/|$)/.test(source.trim())) {
    throw invalid(`The source ${JSON.stringify(source)} looks like a server address without http://.`, `Pass "http://${source.trim()}".`);
  }
  const abs = await project.resolveReadable(source, 'source');
  if (await isDirectory(abs)) return { dir: abs };
  if (await isFile(abs)) return { dir: path.dirname(abs), file: path.basename(abs) };
  throw invalid(
    `The source ${JSON.stringify(source)} is not a folder in the project, nor a database file.`,
    'Pass a folder relative to the project root, such as "mlruns", "wandb" or the DVC project folder ".", an MLflow database such as "mlflow.db", or a tracking server URL such as "http://127.0.0.1:5000".',
  );
}

/** Says, when the wait for another import runs out, what is going on and what to do. */
async function withImportLock<T>(inc: Increment, expDir: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof MlError && e.code === 'LOCKED')) throw e;
    throw new MlError(
      'LOCKED',
      `Another import into ${inc.id} has been running for over ${IMPORT_LOCK_WAIT_MS / 60_000} minutes: ${e.message}`,
      `Import again once it has finished (runs it imported are then skipped). If no import is running, delete ${path.basename(expDir)}/.import.lock in the increment.`,
    );
  }
}

/** The update that turns an imported run into a new experiment. */
function runUpdate(run: ImportedRun, name: string, warnings: string[]): ExperimentUpdate {
  const history = run.history.filter((p) => Number.isInteger(p.step) && p.step >= 0);
  if (history.length < run.history.length)
    warnings.push(`${name}: ${run.history.length - history.length} history points with a negative or fractional step were left out`);
  return {
    name,
    params: run.params,
    metrics: run.metrics,
    history,
    tags: run.tags.filter((t) => t.trim()),
    notes: run.notes,
    status: run.status,
    started: run.started,
    ended: run.ended,
    git: run.git ? { commit: run.git.commit, branch: run.git.branch ?? null, dirty: false } : null,
    source: { ...run.source, key: run.key },
  };
}

/** Reads the source: a running tracking server when it is an http(s) URL, else a folder or file in the project. */
async function scanAnySource(project: Project, opts: ImportOptions): Promise<{ scan: ImportScan; label: string }> {
  const includeDeleted = opts.include_deleted === true;
  if (isHttpUrl(opts.source)) {
    const readers = IMPORTERS.filter((i) => i.scanUrl && (!opts.format || i.format === opts.format));
    const reader = readers[0];
    if (!reader?.scanUrl) {
      throw invalid(
        `The source ${opts.source} is a URL, and the ${opts.format} importer reads a folder.`,
        `Leave format out (or use ${IMPORTERS.filter((i) => i.scanUrl)
          .map((i) => JSON.stringify(i.format))
          .join(' or ')}) for a tracking server.`,
      );
    }
    const scan = await reader.scanUrl(opts.source, { includeDeleted });
    return { scan, label: parseTrackingServer(opts.source, 'The source', true).label };
  }
  const { dir, file } = await sourceLocation(project, opts.source);
  const label = project.relative(file ? path.join(dir, file) : dir) || '.';
  const scan = await scanSource(dir, {
    format: opts.format ?? undefined,
    includeDeleted,
    projectRoot: project.root,
    sourceLabel: label,
    file,
  });
  return { scan, label };
}

export async function importRuns(project: Project, inc: Increment, opts: ImportOptions, ctx: TrackContext): Promise<ImportResult> {
  // Reading the source takes no lock: it only reads, and it is the slow part for large stores.
  const { scan, label } = await scanAnySource(project, opts);
  const expDir = experimentsDir(inc);
  const warnings = [...scan.warnings];
  const skipped = [...scan.skipped];

  // The dedupe scan and the writes happen under one increment-level lock: two imports of the same source at once
  // would otherwise both find a run missing and both create it.
  const outcome = await withImportLock(inc, expDir, () =>
    withLongLock(
      path.join(expDir, '.import.lock'),
      async () => {
        const entries = await listEntryKinds(expDir);
        const folders = [...entries].filter(([n, k]) => k === 'directory' && !n.startsWith('.') && !n.startsWith('_')).map(([n]) => n);
        const importedKeys = await readImportedRunKeys(project, inc, folders);
        // Every existing folder name is taken, broken experiments' included, whatever the case.
        const taken = new Set([...entries.keys()].map((n) => n.toLowerCase()));

        const todo: Todo[] = [];
        let already = 0;
        for (const run of scan.runs) {
          if (importedKeys.has(run.key)) {
            already += 1;
            continue;
          }
          const name = uniqueExperimentName(run.suggestedName, taken);
          taken.add(name.toLowerCase());
          todo.push({ run, name });
        }
        const imported: ImportResult['imported'] = [];
        if (todo.length) await writeAll(project, inc, ctx, todo, taken, imported, skipped, warnings);
        await removeDeadLeftovers(expDir, entries);
        return { imported, already };
      },
      { waitMs: IMPORT_LOCK_WAIT_MS },
    ),
  );

  if (outcome.imported.length) await markIncrementActive(project, inc, new Date().toISOString());
  await ensureGitignore(project.specweaveDir);
  outcome.imported.sort((a, b) => (a.experiment < b.experiment ? -1 : 1));
  return {
    increment: inc.id,
    source: label,
    format: scan.format as ImportFormat,
    imported: outcome.imported,
    already_imported: outcome.already,
    skipped,
    warnings,
  };
}

/** A run to import and the experiment name reserved for it. */
interface Todo {
  run: ImportedRun;
  name: string;
}

/**
 * Renders every new experiment and writes it whole into a private staging folder first; only when all are staged
 * are they renamed into place. A failure while staging (disk full, a refused folder) therefore imports nothing; a
 * run that cannot be rendered is skipped with its reason. Rendering happens in the staging workers, so it overlaps
 * the disk's flushes. A rename is atomic per experiment; a crash between renames leaves some runs imported, and
 * importing again adds the rest (the dedupe is by run key).
 */
async function writeAll(
  project: Project,
  inc: Increment,
  ctx: TrackContext,
  todo: Todo[],
  taken: Set<string>,
  imported: ImportResult['imported'],
  skipped: ImportResult['skipped'],
  warnings: string[],
): Promise<void> {
  const staging = path.join(experimentsDir(inc), `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  const keyOf = (p: StagedExperiment) => String(p.merged.meta.source.key);
  const staged: { plan: StagedExperiment; suggestedName: string }[] = [];
  try {
    await inParallel(todo, WRITERS, async ({ run, name }) => {
      let plan: StagedExperiment;
      try {
        plan = await planNewExperiment(runUpdate(run, name, warnings), ctx);
      } catch (e) {
        skipped.push({ what: run.key, reason: e instanceof MlError ? e.message : String(e) });
        return;
      }
      await writeStagedExperiment(staging, plan);
      staged.push({ plan, suggestedName: run.suggestedName });
    });
    await inParallel(staged, WRITERS, async ({ plan: first, suggestedName }) => {
      let plan = first;
      for (let attempt = 0; ; attempt += 1) {
        try {
          await publishStagedExperiment(project, inc, staging, plan);
          imported.push({ experiment: plan.name, run: keyOf(plan) });
          return;
        } catch (e) {
          if (!(e instanceof MlError && e.code === 'CONFLICT')) throw e;
          await discardStagedExperiment(staging, plan.name);
          if (attempt >= 3) {
            skipped.push({ what: keyOf(plan), reason: e.message });
            return;
          }
          // A writer outside the import (track_experiment, the Python client) created this name meanwhile.
          const name = uniqueExperimentName(suggestedName, taken);
          taken.add(name.toLowerCase());
          plan = await planNewExperiment({ ...plan.update, name }, ctx);
          await writeStagedExperiment(staging, plan);
        }
      }
    });
  } catch (e) {
    if (!imported.length) throw e;
    throw new MlError(
      'CONFLICT',
      `Import stopped after ${imported.length} of ${staged.length} new runs: ${e instanceof Error ? e.message : String(e)}`,
      'Fix the cause and import again; runs already imported are skipped.',
    );
  } finally {
    await removeTree(staging);
  }
}
