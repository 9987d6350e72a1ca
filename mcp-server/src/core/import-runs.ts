/**
 * import_runs: brings the runs of another tracker (MLflow file store, DVC, W&B offline folders) into an increment
 * as experiments. The importers only read the source; this module writes, through the same code path as
 * track_experiment. Re-importing a source creates no duplicates: each experiment remembers its run's key.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { MlError, invalid } from './errors.js';
import { createExperimentStaged, markIncrementActive, readAllExperiments, type TrackContext } from './experiments.js';
import { experimentsDir, type Increment } from './increments.js';
import { scanSource, type ImportFormat, type ImportedRun } from './importers/index.js';
import { uniqueExperimentName } from './names.js';
import type { Project } from './project.js';
import { isDirectory, removeTree } from './store/disk.js';

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

async function sourceDir(project: Project, source: string): Promise<string> {
  const dir = await project.resolveReadable(source, 'source');
  if (!(await isDirectory(dir))) {
    throw invalid(`The source ${JSON.stringify(source)} is not a folder in the project.`, 'Pass a folder relative to the project root, such as "mlruns", "wandb" or the DVC project folder ".".');
  }
  return dir;
}

export async function importRuns(project: Project, inc: Increment, opts: ImportOptions, ctx: TrackContext): Promise<ImportResult> {
  const dir = await sourceDir(project, opts.source);
  const label = project.relative(dir) || '.';
  const scan = await scanSource(dir, { format: opts.format ?? undefined, includeDeleted: opts.include_deleted === true, projectRoot: project.root, sourceLabel: label });

  const { experiments } = await readAllExperiments(project, inc);
  const importedKeys = new Set(experiments.map((e) => e.meta.source.key).filter((k): k is string => typeof k === 'string'));
  const taken = new Set(experiments.map((e) => e.name.toLowerCase()));
  const warnings = [...scan.warnings];
  const todo: { run: ImportedRun; name: string }[] = [];
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
  const skipped = [...scan.skipped];
  // Each run is written whole into a private staging folder and renamed into place (createExperimentStaged).
  const staging = path.join(experimentsDir(inc), `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  let next = 0;
  const writer = async () => {
    while (next < todo.length) {
      const { run } = todo[next++]!;
      let { name } = todo[next - 1]!;
      const history = run.history.filter((p) => Number.isInteger(p.step) && p.step >= 0);
      if (history.length < run.history.length) warnings.push(`${name}: ${run.history.length - history.length} history points with a negative or fractional step were left out`);
      const update = {
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
      for (let attempt = 0; ; attempt += 1) {
        try {
          await createExperimentStaged(project, inc, staging, { ...update, name }, ctx);
          imported.push({ experiment: name, run: run.key });
          break;
        } catch (e) {
          if (e instanceof MlError && e.code === 'CONFLICT' && attempt < 3) {
            // Another writer created this name meanwhile: take the next free one.
            name = uniqueExperimentName(run.suggestedName, taken);
            taken.add(name.toLowerCase());
            continue;
          }
          skipped.push({ what: run.key, reason: e instanceof MlError ? e.message : String(e) });
          break;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(WRITERS, todo.length) }, writer));
  } finally {
    await removeTree(staging);
  }
  if (imported.length) await markIncrementActive(project, inc, new Date().toISOString());
  imported.sort((a, b) => (a.experiment < b.experiment ? -1 : 1));
  return { increment: inc.id, source: label, format: scan.format, imported, already_imported: already, skipped, warnings };
}
