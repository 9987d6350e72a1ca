/**
 * complete_increment: closes an ML increment. Runs the quality gates and refuses on a failing one unless forced with
 * a reason; gathers what COMPLETION-SUMMARY.md states (experiments, best model and why, training time, model size,
 * served latency, gates, deployment readiness); then writes the summary, the living docs and the HTML report, and
 * sets metadata.json's status to SpecWeave's `completed` last, so the status says completed only once everything
 * else is written. Every check that can refuse runs before the first write (docs/completion.md).
 */
import * as path from 'node:path';
import { rankExperiments, type Comparison, type RankedExperiment } from './comparison.js';
import { LOAD_TEST_TAG } from './deployment.js';
import { syncDocs, type DocChange } from './docs-sync.js';
import { MlError, invalid } from './errors.js';
import { readAllExperiments, type Experiment } from './experiments.js';
import { readIncrementMetadata, type Increment } from './increments.js';
import { stringifyCanonical } from './json.js';
import { modelFormatOf } from './model-formats.js';
import type { Project } from './project.js';
import { metricValue } from './ranking.js';
import { readRegistry, stageHolder } from './registry/read.js';
import { planReport, REPORT_FILE, writeReportPlan } from './report.js';
import { PRODUCTION } from './registry/types.js';
import { canonicalKey, facetOf } from './selection.js';
import { listEntryKinds, readText, removeFile, withLock, writeAtomic } from './store/disk.js';
import { removeDeadLeftovers } from './store/leftovers.js';
import { assertWritableTargets } from './store/write-plan.js';
import { validateIncrement, type Check, type Validation } from './validation.js';
import { renderCompletionSummary } from '../render/completion-summary.js';

export const SUMMARY_FILE = 'COMPLETION-SUMMARY.md';
/** SpecWeave's status for a closed increment (its IncrementStatus enum: planning, active, …, completed). */
export const COMPLETED_STATUS = 'completed';
/** Statuses SpecWeave never closes from: the increment must be resumed first. */
const NOT_CLOSABLE = ['abandoned', 'paused', 'backlog'];
const MAX_REASON_CHARS = 2000;

export interface CompletionArgs {
  force?: boolean | null;
  reason?: string | null;
}

export interface ExperimentLine {
  experiment: string;
  status: string;
  baseline: boolean;
  best: boolean;
  /** The selection value with where it was measured; null when the experiment was not ranked. */
  selection: RankedExperiment['selection'] | null;
  test_value: number | null;
  /** The comparison's other columns (the metrics most experiments logged), as logged. */
  metrics: Record<string, number>;
  note: string | null;
}

export interface Measured {
  value: number;
  /** Where the number comes from, in words. */
  source: string;
}

export interface LoadTestFacts {
  experiment: string;
  when: string | null;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
}

export interface Readiness {
  gates_pass: boolean;
  production: { model: string; version: string; experiment: string } | null;
  /** Why no production version was found, or the registry's state; null when one is there. */
  production_note: string | null;
  load_test: string | null;
  ready: boolean;
}

export interface CompletionFacts {
  increment: string;
  title: string;
  completed_at: string;
  forced: boolean;
  reason: string | null;
  primary_metric: string | null;
  selection: Comparison['selection'] | null;
  experiments: ExperimentLine[];
  best: {
    experiment: string;
    params: [string, unknown][];
    training_time: Measured | null;
    model_size: (Measured & { artifact: string | null }) | null;
  } | null;
  comparison: Comparison | null;
  load_tests: LoadTestFacts[];
  validation: Validation;
  readiness: Readiness;
}

export interface CompletionResult {
  increment: string;
  status: string;
  completed_at: string;
  forced: boolean;
  reason: string | null;
  verdict: Validation['verdict'];
  failing_gates: string[];
  best_experiment: string | null;
  summary: string;
  docs: DocChange[];
  report: string | null;
  report_note: string | null;
  deployment_ready: boolean;
  readiness: Readiness;
}

/** Refuses force without a reason before anything is read: the reason is what a forced completion records. */
export function checkCompletionArgs(args: CompletionArgs): { force: boolean; reason: string | null } {
  const reason = args.reason?.trim() ? args.reason.trim() : null;
  if (args.force && !reason) {
    throw invalid(
      'force: true needs a reason: a forced completion records why the failing gates were accepted.',
      'Call again with reason, e.g. {"force": true, "reason": "explainability signed off by the reviewer on 2026-12-01"}.',
    );
  }
  if (reason && reason.length > MAX_REASON_CHARS)
    throw invalid(`The reason has ${reason.length} characters; at most ${MAX_REASON_CHARS} are recorded.`, 'Shorten it.');
  return { force: args.force === true, reason };
}

const flatten = (obj: Record<string, unknown>, prefix = ''): [string, unknown][] =>
  Object.keys(obj)
    .sort()
    .flatMap((k) => {
      const v = obj[k];
      const key = prefix ? `${prefix}.${k}` : k;
      return v && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, key) : [[key, v] as [string, unknown]];
    });

/** A logged metric by what it measures: "fit_time_s" is training_time_s. */
function metricByKey(metrics: Record<string, number>, key: string): number | undefined {
  if (metrics[key] !== undefined) return metrics[key];
  const name = Object.keys(metrics).find((k) => canonicalKey(k) === key);
  return name === undefined ? undefined : metrics[name];
}

function trainingTime(e: Experiment): Measured | null {
  const logged = metricByKey(e.metrics, 'training_time_s');
  if (logged !== undefined && Number.isFinite(logged)) return { value: logged, source: 'the training_time_s metric' };
  if (e.meta.duration_seconds !== null)
    return {
      value: e.meta.duration_seconds,
      source: "the experiment's recorded duration, started to ended, which includes everything the run did",
    };
  return null;
}

function modelSize(e: Experiment): (Measured & { artifact: string | null }) | null {
  const model = e.meta.artifacts.find((a) => modelFormatOf(a.path));
  if (model) return { value: model.bytes, source: 'the recorded model artifact', artifact: model.path };
  const logged = metricByKey(e.metrics, 'model_size_bytes');
  if (logged !== undefined && Number.isFinite(logged)) return { value: logged, source: 'the model_size_bytes metric', artifact: null };
  return null;
}

const isLoadTest = (e: Experiment) => e.meta.tags.includes(LOAD_TEST_TAG);

/** Load tests, the most recent first (by end, else start or creation time). */
function loadTests(experiments: Experiment[]): LoadTestFacts[] {
  const when = (e: Experiment) => e.meta.ended ?? e.meta.started ?? e.meta.created ?? null;
  return experiments
    .filter((e) => isLoadTest(e) && e.status !== 'failed' && e.status !== 'killed')
    .map((e) => ({ experiment: e.name, when: when(e), metrics: e.metrics, params: e.params }))
    .sort((a, b) => ((b.when ?? '') < (a.when ?? '') ? -1 : (b.when ?? '') > (a.when ?? '') ? 1 : a.experiment < b.experiment ? -1 : 1));
}

async function productionVersion(project: Project, inc: Increment): Promise<Pick<Readiness, 'production' | 'production_note'>> {
  const registry = await readRegistry(project);
  const mine = registry.models.filter((m) => m.versions.some((v) => v.record.increment === inc.id));
  for (const m of mine) {
    const holder = stageHolder(m, PRODUCTION);
    const record = m.versions.find((v) => v.version === holder)?.record;
    if (holder && record?.increment === inc.id)
      return { production: { model: m.name, version: holder, experiment: record.experiment }, production_note: null };
  }
  if (!mine.length)
    return {
      production: null,
      production_note: 'no model of this increment is registered (register_model, then promote_model to production)',
    };
  return {
    production: null,
    production_note: `registered as ${mine.map((m) => m.name).join(', ')}, but no version from this increment holds production (promote_model)`,
  };
}

/** Everything the summary states, read once. Throws only for what makes the increment unreadable. */
export async function gatherCompletion(
  project: Project,
  inc: Increment,
  validation: Validation,
  done: { at: string; forced: boolean; reason: string | null },
): Promise<CompletionFacts> {
  const [meta, loaded] = await Promise.all([readIncrementMetadata(project, inc), readAllExperiments(project, inc)]);
  const models = { experiments: loaded.experiments.filter((e) => !isLoadTest(e)), broken: loaded.broken };
  let comparison: Comparison | null = null;
  try {
    comparison = models.experiments.length ? rankExperiments(inc, meta.ml, models) : null;
  } catch (e) {
    if (!(e instanceof MlError)) throw e; // no metric to rank on: the summary says so
  }
  const ranked = new Map((comparison?.ranking ?? []).map((r) => [r.experiment, r]));
  const skipped = new Map((comparison?.skipped ?? []).map((s) => [s.experiment, s]));
  const bestEntry = comparison ? (comparison.best_candidate ?? comparison.best) : null;
  const experiments: ExperimentLine[] = [...models.experiments]
    .sort((a, b) => (ranked.get(a.name)?.rank ?? Infinity) - (ranked.get(b.name)?.rank ?? Infinity) || (a.name < b.name ? -1 : 1))
    .map((e) => ({
      experiment: e.name,
      status: e.status,
      baseline: e.baseline,
      best: e.name === bestEntry?.experiment,
      selection: ranked.get(e.name)?.selection ?? null,
      test_value: ranked.get(e.name)?.test_value ?? skipped.get(e.name)?.test_value ?? null,
      metrics: Object.fromEntries(
        (comparison?.columns ?? [])
          .filter((k) => k !== comparison?.primary_metric && facetOf(k).split !== 'cv')
          .flatMap((k) => {
            const v = metricValue(e.metrics, k);
            return v === undefined ? [] : [[k, v] as const];
          }),
      ),
      note: skipped.get(e.name)?.reason ?? null,
    }));
  const bestExp = models.experiments.find((e) => e.name === bestEntry?.experiment);
  const gatesPass = validation.verdict !== 'fail';
  const prod = await productionVersion(project, inc);
  const tests = loadTests(loaded.experiments);
  return {
    increment: inc.id,
    title: typeof meta.raw.title === 'string' ? meta.raw.title : inc.id,
    completed_at: done.at,
    forced: done.forced,
    reason: done.reason,
    primary_metric: comparison?.primary_metric ?? meta.ml.primary_metric,
    selection: comparison?.selection ?? null,
    experiments,
    best:
      bestEntry && bestExp
        ? {
            experiment: bestExp.name,
            params: flatten(bestExp.params),
            training_time: trainingTime(bestExp),
            model_size: modelSize(bestExp),
          }
        : null,
    comparison,
    load_tests: tests,
    validation,
    readiness: {
      gates_pass: gatesPass,
      ...prod,
      load_test: tests[0]?.experiment ?? null,
      ready: gatesPass && prod.production !== null && tests.length > 0,
    },
  };
}

/** spec.md with its frontmatter status set (SpecWeave's desync check compares it with metadata.json). */
export function withSpecStatus(spec: string, status: string): string {
  const m = /^(---\r?\n)([\s\S]*?)(\r?\n---(?:\r?\n|$))/.exec(spec);
  if (!m || !/^status:.*$/m.test(m[2]!)) return spec;
  return m[1]! + m[2]!.replace(/^status:.*$/m, `status: ${status}`) + m[3]! + spec.slice(m[0].length);
}

/** The completion as metadata.json records it: SpecWeave's keys, and the ML facts under ml.completion. */
function completedMetadata(raw: Record<string, unknown>, facts: CompletionFacts): Record<string, unknown> {
  const ml = raw.ml && typeof raw.ml === 'object' && !Array.isArray(raw.ml) ? (raw.ml as Record<string, unknown>) : {};
  const failing = facts.validation.checks.filter((c) => c.status === 'fail').map((c) => c.id);
  return {
    ...raw,
    status: COMPLETED_STATUS,
    lastActivity: facts.completed_at,
    ...(typeof raw.readyForReviewAt === 'string' ? {} : { readyForReviewAt: facts.completed_at }),
    approvedAt: facts.completed_at,
    ml: {
      ...ml,
      completion: {
        completed_at: facts.completed_at,
        previous_status: typeof raw.status === 'string' ? raw.status : null,
        verdict: facts.validation.verdict,
        forced: facts.forced,
        reason: facts.reason,
        failing_gates: facts.forced ? failing : [],
        best_experiment: facts.best?.experiment ?? null,
        summary: SUMMARY_FILE,
      },
    },
  };
}

function refuseFailing(inc: Increment, failing: Check[]): MlError {
  return new MlError(
    'CONFLICT',
    `${inc.id} cannot be completed: ${failing.length} gate${failing.length === 1 ? '' : 's'} fail${failing.length === 1 ? 's' : ''} (${failing
      .map((c) => `${c.id}: ${c.message}`)
      .join('; ')}). Nothing was written.`,
    'Fix what the gates say and call complete_increment again (validate_increment shows every check), or call with force: true and a reason that is recorded.',
  );
}

/**
 * The HTML report (render_report's planner), written after metadata.json says completed so that the report shows
 * it. The status is already committed then: a failure here is reported in the result, not thrown.
 */
async function writeHtmlReport(project: Project, inc: Increment): Promise<{ report: string | null; note: string | null }> {
  try {
    await writeReportPlan(project, await planReport(project, inc.id));
    return { report: project.relative(path.join(inc.dir, REPORT_FILE)), note: null };
  } catch (e) {
    if (!(e instanceof MlError)) throw e;
    return {
      report: null,
      note: `the increment is completed, but report.html was not written: ${e.message} Call render_report once that is fixed.`,
    };
  }
}

/** Closes the increment: gates, summary, living docs, spec.md and metadata.json status, HTML report. */
export async function completeIncrement(
  project: Project,
  inc: Increment,
  args: CompletionArgs,
  now = new Date(),
): Promise<CompletionResult> {
  const { force, reason } = checkCompletionArgs(args);
  const summaryFile = path.join(inc.dir, SUMMARY_FILE);
  const metadataFile = path.join(inc.dir, 'metadata.json');
  const specFile = path.join(inc.dir, 'spec.md');
  // The increment's lock: metadata writers (track_experiment's planning → active, update_increment) wait, and two
  // completions never interleave.
  return withLock(path.join(inc.dir, '.lock'), async () => {
    const { raw } = await readIncrementMetadata(project, inc);
    const status = typeof raw.status === 'string' ? raw.status : null;
    if (status === COMPLETED_STATUS) {
      const done = (raw.ml as Record<string, any> | undefined)?.completion;
      throw new MlError(
        'CONFLICT',
        `${inc.id} is already completed${done?.completed_at ? ` (${done.completed_at}${done.forced ? ', forced' : ''})` : ''}; ${SUMMARY_FILE} records it. Nothing was written.`,
        'A completed increment is not completed again. To record new work, reopen it (set status to "active" in metadata.json and spec.md, as SpecWeave allows completed → active), then call complete_increment.',
      );
    }
    if (status && NOT_CLOSABLE.includes(status)) {
      throw new MlError(
        'CONFLICT',
        `${inc.id} is ${status}; SpecWeave does not close a ${status} increment. Nothing was written.`,
        'Resume it (status "active") first, then call complete_increment.',
      );
    }
    const validation = await validateIncrement(project, inc);
    const failing = validation.checks.filter((c) => c.status === 'fail');
    if (failing.length && !force) throw refuseFailing(inc, failing);

    const at = now.toISOString();
    const facts = await gatherCompletion(project, inc, validation, { at, forced: force && failing.length > 0, reason });
    const summary = renderCompletionSummary(facts);
    const specBefore = await readText(specFile);
    const specAfter = specBefore === undefined ? undefined : withSpecStatus(specBefore, COMPLETED_STATUS);
    const metadata = stringifyCanonical(completedMetadata(raw, facts));
    // Plan: every target a plain file, the living docs and the report renderable (broken markers refuse here),
    // before any write. The report is planned again after the status changes, so that it shows "completed".
    const reportFiles = (await planReport(project, inc.id)).files.map((f) => f.path);
    await assertWritableTargets(project, [summaryFile, metadataFile, ...(specAfter !== specBefore ? [specFile] : []), ...reportFiles]);
    await syncDocs(project, inc, { dry_run: true, now });

    const summaryBefore = await readText(summaryFile);
    let docs: DocChange[];
    try {
      await writeAtomic(summaryFile, summary);
      docs = (await syncDocs(project, inc, { now })).changes;
      if (specAfter !== undefined && specAfter !== specBefore) await writeAtomic(specFile, specAfter);
    } catch (e) {
      // The status did not change: put the summary back as it was, so a failed call leaves no completion behind.
      if (summaryBefore === undefined) await removeFile(summaryFile).catch(() => undefined);
      else await writeAtomic(summaryFile, summaryBefore).catch(() => undefined);
      if (specBefore !== undefined && specAfter !== specBefore) await writeAtomic(specFile, specBefore).catch(() => undefined);
      throw e;
    }
    // The commit point: metadata.json says completed only once the summary, docs and spec.md are written.
    await writeAtomic(metadataFile, metadata);
    await removeDeadLeftovers(inc.dir, await listEntryKinds(inc.dir));

    const report = await writeHtmlReport(project, inc);
    return {
      increment: inc.id,
      status: COMPLETED_STATUS,
      completed_at: at,
      forced: facts.forced,
      reason,
      verdict: validation.verdict,
      failing_gates: failing.map((c) => c.id),
      best_experiment: facts.best?.experiment ?? null,
      summary: project.relative(summaryFile),
      docs,
      report: report.report,
      report_note: report.note,
      deployment_ready: facts.readiness.ready,
      readiness: facts.readiness,
    };
  });
}
