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
import {
  bestOf,
  improvementOver,
  inferDirection,
  metricValue,
  rankByMetric,
  type Direction,
  type Improvement,
  type Tie,
} from './ranking.js';
import { resolveMetric, suggestMetrics } from './metrics/vocabulary.js';
import { canonicalKey, chooseSource, MetricIndex, type Measurement, type SelectionSetting, type SelectionSource } from './selection.js';

/** Experiments with this tag record a load test of a served model (docs/deployment.md). */
export const LOAD_TEST_TAG = 'load-test';

export interface CompareOptions {
  primary_metric?: string | null;
  direction?: Direction | null;
  metrics?: string[] | null;
}

export interface RankedExperiment {
  rank: number;
  experiment: string;
  /** The selection value the ranking used (see `selection`). */
  value: number;
  /** The selection measurement: CV mean with its std and fold count, a validation value, or the test value. */
  selection: Measurement;
  /** The primary metric on the test set, for reporting; null when not logged. */
  test_value: number | null;
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
  /** The improvement of the best candidate over the best baseline, and on what it was measured. */
  improvement: (Improvement & { measured_on: SelectionSource }) | null;
  /** How candidates were ranked: the setting, the source used and why. */
  selection: { setting: SelectionSetting; source: SelectionSource; key: string; reason: string };
  /** Tied selection values among the ranked experiments, and how each tie was broken. */
  ties: Tie[];
  /** Experiments not ranked: no selection value (their test value and status are kept for the record), or broken. */
  skipped: { experiment: string; reason: string; status?: string; test_value?: number }[];
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
  { experiments: all, broken }: { experiments: Experiment[]; broken: BrokenExperiment[] },
  opts: CompareOptions = {},
): Comparison {
  // A load test (specweave_ml.loadgen) measures a served model; it is never a model candidate, and its latency
  // metrics must not become the primary metric of an increment that names none.
  const experiments = all.filter((e) => !e.meta.tags.includes(LOAD_TEST_TAG));
  const loadTests = all.filter((e) => e.meta.tags.includes(LOAD_TEST_TAG));
  const primary = opts.primary_metric?.trim() || choosePrimary(experiments, ml?.primary_metric ?? null);
  if (!primary) {
    throw invalid(
      `No primary metric for ${inc.id}: the increment names none and no experiment has metrics.`,
      'Pass primary_metric, or track experiments with metrics first.',
    );
  }
  if (opts.primary_metric?.trim()) assertMetricUnderstood(primary, experiments, ml);
  const direction: Direction = opts.direction ?? (ml?.primary_metric === primary && ml.direction ? ml.direction : inferDirection(primary));
  const direction_source = opts.direction ? 'argument' : ml?.primary_metric === primary && ml.direction ? 'increment' : 'inferred';
  const columns = opts.metrics?.length
    ? [primary, ...opts.metrics.filter((m) => normalizeMetricName(m) !== normalizeMetricName(primary))]
    : defaultColumns(experiments, primary);

  const key = canonicalKey(primary);
  const indexed = new Map(experiments.map((e) => [e, new MetricIndex(e.metrics)]));
  const usable = (e: Experiment) => e.status !== 'failed' && e.status !== 'killed';
  const candidates = experiments.filter((e) => !e.baseline && usable(e) && hasAnyMeasure(indexed.get(e)!, key, primary, e));
  const setting = ml?.selection ?? 'auto';
  const choice = chooseSource(
    setting,
    key,
    candidates.map((e) => ({ name: e.name, index: indexed.get(e)! })),
  );
  const measureOf = (e: Experiment): Measurement | undefined =>
    choice.source === 'test' ? testMeasure(e, primary, indexed.get(e)!, key) : indexed.get(e)!.measure(key, choice.source);
  const measures = new Map(experiments.map((e) => [e, measureOf(e)]));
  const testOf = (e: Experiment) => testMeasure(e, primary, indexed.get(e)!, key)?.value;

  const { ranked, missing, ties } = rankByMetric(
    experiments,
    (e) => measures.get(e)?.value,
    direction,
    (e) => measures.get(e)?.std,
  );
  const { best, bestBaseline, bestCandidate } = bestOf(ranked);
  const toRanked = (r: (typeof ranked)[number]): RankedExperiment => ({
    rank: r.rank,
    experiment: r.experiment.name,
    value: r.value,
    selection: measures.get(r.experiment)!,
    test_value: testOf(r.experiment) ?? null,
    baseline: r.experiment.baseline,
    status: r.experiment.status,
    best: r === best,
    metrics: Object.fromEntries(columns.map((c) => [c, metricValue(r.experiment.metrics, c)]).filter(([, v]) => v !== undefined)),
    duration_seconds: r.experiment.meta.duration_seconds,
    tags: r.experiment.meta.tags,
  });
  const ranking = ranked.map(toRanked);
  const find = (r: (typeof ranked)[number] | undefined) => (r ? ranking[r.rank - 1]! : null);
  const improvement = bestCandidate
    ? improvementOverBaselines(
        primary,
        direction,
        bestCandidate.experiment,
        experiments.filter((e) => e.baseline && usable(e)),
        testOf,
        (e) => measures.get(e)?.value,
        choice.source,
      )
    : null;
  const bestBaselineEntry = improvement ? (ranking.find((r) => r.experiment === improvement.baseline) ?? null) : find(bestBaseline);
  const selectionName = choice.source === 'cv' ? `cv_${key}_mean` : choice.source === 'validation' ? `val_${key}` : primary;
  return {
    increment: inc.id,
    primary_metric: primary,
    direction,
    direction_source,
    columns,
    ranking,
    best: find(best),
    best_baseline: bestBaselineEntry,
    best_candidate: find(bestCandidate),
    improvement,
    selection: { setting, source: choice.source, key, reason: choice.reason },
    ties: ties.filter((t) =>
      t.experiments.some((n) => ranking.find((r) => r.experiment === n && r.status !== 'failed' && r.status !== 'killed')),
    ),
    skipped: [
      ...missing.map((e) => {
        const test = testOf(e);
        return {
          experiment: e.name,
          reason: `no ${selectionName} metric`,
          status: e.status,
          ...(test !== undefined ? { test_value: test } : {}),
        };
      }),
      ...broken.map((b) => ({ experiment: b.name, reason: b.reason })),
      ...loadTests.map((e) => ({ experiment: e.name, reason: `a load test (tagged ${LOAD_TEST_TAG}), not a model`, status: e.status })),
    ],
    experiments_total: all.length + broken.length,
  };
}

/**
 * A primary metric passed by name must mean something: a metric of the vocabulary, a custom metric of the
 * increment, or a name some experiment logged. Anything else is an error with suggestions, not an empty ranking.
 */
function assertMetricUnderstood(primary: string, experiments: Experiment[], ml: MlSettings | null): void {
  if (resolveMetric(primary) || ml?.custom_metrics.includes(primary)) return;
  const key = canonicalKey(primary);
  if (experiments.some((e) => Object.keys(e.metrics).some((k) => canonicalKey(k) === key))) return;
  const suggestions = suggestMetrics(primary);
  throw invalid(
    `"${primary}" is not a known metric and no experiment logged it${suggestions.length ? `; did you mean ${suggestions.map((x) => `"${x}"`).join(', ')}` : ''}.`,
    'Pass a metric from docs/metrics.md or one the experiments logged (list_experiments shows them).',
  );
}

/** Whether an experiment logged the primary metric anywhere (CV, validation or test). */
function hasAnyMeasure(index: MetricIndex, key: string, primary: string, e: Experiment): boolean {
  return (
    index.measure(key, 'cv') !== undefined ||
    index.measure(key, 'validation') !== undefined ||
    testMeasure(e, primary, index, key) !== undefined
  );
}

/** The primary metric as a test (reporting) value: the exact name first, else what the vocabulary says it measures. */
function testMeasure(e: Experiment, primary: string, index: MetricIndex, key: string): Measurement | undefined {
  const exact = e.metrics[primary];
  if (exact !== undefined && canonicalKey(primary) === key && !/^(cv|val|valid|validation)_/.test(primary))
    return { source: 'test', name: primary, value: exact, std: null, count: null };
  return index.measure(key, 'test');
}

/**
 * The best candidate against the best baseline, on the test values when the candidate and a baseline have them (the
 * test set reports; it does not select), else on the selection values.
 */
function improvementOverBaselines(
  primary: string,
  direction: Direction,
  candidate: Experiment,
  baselines: Experiment[],
  testOf: (e: Experiment) => number | undefined,
  selectionOf: (e: Experiment) => number | undefined,
  source: SelectionSource,
): (Improvement & { measured_on: SelectionSource }) | null {
  const on = testOf(candidate) !== undefined && baselines.some((b) => testOf(b) !== undefined) ? 'test' : source;
  const valueOf = on === 'test' ? testOf : selectionOf;
  const cv = valueOf(candidate);
  if (cv === undefined || Number.isNaN(cv)) return null;
  const ranked = rankByMetric(baselines, valueOf, direction).ranked.filter((r) => !Number.isNaN(r.value));
  const base = ranked[0];
  if (!base) return null;
  const observed = [cv, ...ranked.map((r) => r.value)].filter(Number.isFinite);
  return {
    ...improvementOver(
      primary,
      direction,
      { name: base.experiment.name, value: base.value },
      { name: candidate.name, value: cv },
      observed,
    ),
    measured_on: on,
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
