/**
 * The ML quality gates of an increment. validation.ts loads what the gates look at, once; each gate in
 * core/gates/ is a pure check over it. The verdict is the worst status. Read-only: validation never changes a file.
 */
import * as path from 'node:path';
import { rankExperiments, type Comparison } from './comparison.js';
import { MlError } from './errors.js';
import { readAllExperiments, readHistory, type Experiment } from './experiments.js';
import { DEFAULT_THRESHOLDS, GATES } from './gates/index.js';
import type { ArtifactOnDisk, Check, CheckStatus, GateContext } from './gates/types.js';
import { readIncrementMetadata, type Increment } from './increments.js';
import { isExplanationFile, modelFormatOf } from './model-formats.js';
import { isInside, type Project } from './project.js';
import { facetOf } from './selection.js';
import { fileDigest, listEntries, readText } from './store/disk.js';

export type { Check, CheckStatus } from './gates/types.js';

export interface Validation {
  increment: string;
  verdict: CheckStatus;
  ready: boolean;
  best_experiment: string | null;
  primary_metric: string | null;
  checks: Check[];
  summary: { pass: number; warn: number; fail: number };
}

/** Fold scores of the experiment's history: points of cv_<metric> (step = fold), by metric name. */
async function foldScores(best: Experiment | undefined): Promise<Map<string, number[]>> {
  const folds = new Map<string, number[]>();
  if (!best) return folds;
  const { points } = await readHistory(best.dir);
  for (const p of points) {
    const f = facetOf(p.metric);
    if (f.split !== 'cv' || f.stat !== undefined) continue;
    const values = folds.get(p.metric);
    if (values) values.push(p.value);
    else folds.set(p.metric, [p.value]);
  }
  return folds;
}

/** The recorded artifacts that could be a model or an explanation, with what the disk holds now. */
async function artifactsOnDisk(inc: Increment, best: Experiment | undefined): Promise<ArtifactOnDisk[]> {
  if (!best) return [];
  const relevant = best.meta.artifacts.filter((a) => modelFormatOf(a.path) || isExplanationFile(a.path));
  return Promise.all(
    relevant.map(async (recorded): Promise<ArtifactOnDisk> => {
      const file = path.resolve(best.dir, recorded.path);
      if (!isInside(inc.dir, file)) return { recorded, actual: 'outside the increment' };
      try {
        return { recorded, actual: await fileDigest(file) };
      } catch (e) {
        if (e instanceof MlError) throw e; // a symlink leaving the project: refused, not judged
        const code = (e as NodeJS.ErrnoException).code;
        return { recorded, actual: code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'not a regular file' };
      }
    }),
  );
}

/**
 * `preloaded` and `ranked`: the increment's experiments and their comparison (null: nothing to rank) when the caller
 * has just made them (render_report), so they are read and ranked once.
 */
export async function validateIncrement(
  project: Project,
  inc: Increment,
  preloaded?: Awaited<ReturnType<typeof readAllExperiments>>,
  ranked?: Comparison | null,
): Promise<Validation> {
  const [meta, files, spec, tasksMd, loaded] = await Promise.all([
    readIncrementMetadata(project, inc).catch((e: unknown) => (e instanceof MlError ? e : Promise.reject(e))),
    listEntries(inc.dir).then((l) => new Set(l)),
    readText(path.join(inc.dir, 'spec.md')),
    readText(path.join(inc.dir, 'tasks.md')),
    preloaded ?? readAllExperiments(project, inc),
  ]);
  const ml = meta instanceof MlError ? null : meta.ml;
  let comparison: Comparison | undefined;
  try {
    if (ranked !== undefined) comparison = ranked ?? undefined;
    else comparison = loaded.experiments.length ? rankExperiments(inc, ml, loaded) : undefined;
  } catch {
    comparison = undefined; // no metric to rank on: the beats-baseline gate says so
  }
  const bestName = comparison?.best_candidate?.experiment ?? comparison?.best?.experiment;
  const best = loaded.experiments.find((e) => e.name === bestName);
  const [bestFolds, bestArtifacts] = await Promise.all([foldScores(best), artifactsOnDisk(inc, best)]);
  const ctx: GateContext = {
    incrementId: inc.id,
    incrementPath: project.relative(inc.dir),
    meta,
    files,
    spec,
    tasksMd,
    experiments: loaded.experiments,
    broken: loaded.broken,
    comparison,
    best,
    bestFolds,
    bestArtifacts,
    thresholds: { ...DEFAULT_THRESHOLDS, ...ml?.thresholds },
  };
  const checks = GATES.flatMap((g) => g.check(ctx));
  const summary = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) summary[c.status] += 1;
  const verdict: CheckStatus = summary.fail ? 'fail' : summary.warn ? 'warn' : 'pass';
  return {
    increment: inc.id,
    verdict,
    ready: verdict !== 'fail',
    best_experiment: best?.name ?? null,
    primary_metric: comparison?.primary_metric ?? null,
    checks,
    summary,
  };
}
