/** Comparing the experiments of an increment: rank on the primary metric, find the best, measure the gain. */
import * as path from 'node:path';
import { invalid } from './errors.js';
import { readAllExperiments, type BrokenExperiment, type Experiment } from './experiments.js';
import { experimentsDir, readIncrementMetadata, type Increment, type MlSettings } from './increments.js';
import { normalizeMetricName } from './names.js';
import type { Project } from './project.js';
import { readText, withLock, writeAtomic } from './store/disk.js';
import { renderComparison } from '../render/comparison-report.js';
import { sectionsWithPrefix } from '../render/sections.js';
import { bestOf, improvementOver, inferDirection, metricValue, rankByMetric, type Direction, type Improvement } from './ranking.js';

export interface CompareOptions {
  primary_metric?: string | null;
  direction?: Direction | null;
  metrics?: string[] | null;
}

export interface RankedExperiment {
  rank: number;
  experiment: string;
  value: number;
  baseline: boolean;
  status: string;
  best: boolean;
  metrics: Record<string, number>;
  duration_seconds: number | null;
  tags: string[];
}

export interface Comparison {
  increment: string;
  primary_metric: string;
  direction: Direction;
  direction_source: 'argument' | 'increment' | 'inferred';
  columns: string[];
  ranking: RankedExperiment[];
  best: RankedExperiment | null;
  best_baseline: RankedExperiment | null;
  best_candidate: RankedExperiment | null;
  improvement: Improvement | null;
  skipped: { experiment: string; reason: string }[];
  experiments_total: number;
}

/** The metrics seen most often across experiments, primary first: the table's columns when none are asked for. */
function defaultColumns(experiments: Experiment[], primary: string, max = 6): string[] {
  const counts = new Map<string, number>();
  for (const e of experiments) for (const k of Object.keys(e.metrics)) counts.set(k, (counts.get(k) ?? 0) + 1);
  const seen = new Set([normalizeMetricName(primary)]);
  const others = [...counts.entries()]
    .filter(([k]) => !/^cv_.*_(mean|std)$/.test(k))
    // "precision@10" and "precision_at_10" are one metric: one column.
    .filter(([k]) => !seen.has(normalizeMetricName(k)) && seen.add(normalizeMetricName(k)))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([k]) => k);
  return [primary, ...others].slice(0, max);
}

function choosePrimary(experiments: Experiment[], fromIncrement: string | null): string | undefined {
  if (fromIncrement) return fromIncrement;
  const counts = new Map<string, number>();
  for (const e of experiments) for (const k of Object.keys(e.metrics)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
}

export async function compareExperiments(project: Project, inc: Increment, opts: CompareOptions = {}): Promise<Comparison> {
  const [meta, loaded] = await Promise.all([readIncrementMetadata(project, inc).catch(() => undefined), readAllExperiments(project, inc)]);
  return rankExperiments(inc, meta?.ml ?? null, loaded, opts);
}

/** The comparison of already-loaded experiments (validation reuses what it has read). */
export function rankExperiments(
  inc: Increment,
  ml: MlSettings | null,
  { experiments, broken }: { experiments: Experiment[]; broken: BrokenExperiment[] },
  opts: CompareOptions = {},
): Comparison {
  const primary = opts.primary_metric?.trim() || choosePrimary(experiments, ml?.primary_metric ?? null);
  if (!primary) {
    throw invalid(
      `No primary metric for ${inc.id}: the increment names none and no experiment has metrics.`,
      'Pass primary_metric, or track experiments with metrics first.',
    );
  }
  const direction: Direction = opts.direction ?? (ml?.primary_metric === primary && ml.direction ? ml.direction : inferDirection(primary));
  const direction_source = opts.direction ? 'argument' : ml?.primary_metric === primary && ml.direction ? 'increment' : 'inferred';
  const columns = opts.metrics?.length
    ? [primary, ...opts.metrics.filter((m) => normalizeMetricName(m) !== normalizeMetricName(primary))]
    : defaultColumns(experiments, primary);

  const { ranked, missing } = rankByMetric(experiments, primary, direction);
  const { best, bestBaseline, bestCandidate } = bestOf(ranked);
  const toRanked = (r: (typeof ranked)[number]): RankedExperiment => ({
    rank: r.rank,
    experiment: r.experiment.name,
    value: r.value,
    baseline: r.experiment.baseline,
    status: r.experiment.status,
    best: r === best,
    metrics: Object.fromEntries(columns.map((c) => [c, metricValue(r.experiment.metrics, c)]).filter(([, v]) => v !== undefined)),
    duration_seconds: r.experiment.meta.duration_seconds,
    tags: r.experiment.meta.tags,
  });
  const ranking = ranked.map(toRanked);
  const find = (r: (typeof ranked)[number] | undefined) => (r ? ranking[r.rank - 1]! : null);
  const improvement =
    bestBaseline && bestCandidate
      ? improvementOver(primary, direction, { name: bestBaseline.experiment.name, value: bestBaseline.value }, { name: bestCandidate.experiment.name, value: bestCandidate.value }, ranked.map((r) => r.value).filter(Number.isFinite))
      : null;
  return {
    increment: inc.id,
    primary_metric: primary,
    direction,
    direction_source,
    columns,
    ranking,
    best: find(best),
    best_baseline: find(bestBaseline),
    best_candidate: find(bestCandidate),
    improvement,
    skipped: [
      ...missing.map((e) => ({ experiment: e.name, reason: `no ${primary} metric` })),
      ...broken.map((b) => ({ experiment: b.name, reason: b.reason })),
    ],
    experiments_total: experiments.length + broken.length,
  };
}

/**
 * Writes experiments/comparison.md from the comparison. The significance sections compare_predictions added are
 * carried over: they are facts about prediction files, not about the ranking.
 */
export async function writeComparisonReport(inc: Increment, c: Comparison): Promise<string> {
  const file = path.join(experimentsDir(inc), 'comparison.md');
  await withLock(path.join(experimentsDir(inc), '.comparison.lock'), async () => {
    const kept = sectionsWithPrefix((await readText(file)) ?? '', 'significance ');
    await writeAtomic(file, kept.length ? `${renderComparison(c)}\n${kept.join('\n\n')}\n` : renderComparison(c));
  });
  return file;
}
