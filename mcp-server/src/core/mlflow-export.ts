/**
 * export_to_mlflow: an increment's experiments become runs of one experiment on a running MLflow tracking server,
 * over its REST API (http-mlflow.ts). Idempotent by run key: each run carries the tag `specweave.run_key` =
 * "<increment>/<experiment>", so exporting again finds the run instead of creating one, and sends only what differs:
 * missing params, changed tags, metric points the run does not have yet (compared point by point, so a history is
 * never duplicated), and the status and end time. MLflow refuses to change a logged param; a changed one is
 * reported in the warnings, not forced.
 *
 * A run is created with its key tag first and then filled, so an export cut off half way leaves a run the next
 * export finds and completes. Nothing is written in the project.
 *
 * What to send is decided by pure functions (desiredRun, diffRun, logBatches); exportToMlflow only talks.
 */
import { invalid, MlError } from './errors.js';
import { readAllExperiments, readHistory, type Experiment, type HistoryPoint } from './experiments.js';
import { fetchAllPages, MlflowApiError, MlflowRestClient, parseTrackingServer } from './http-mlflow.js';
import type { Increment } from './increments.js';
import type { Project } from './project.js';
import { inParallel } from './in-parallel.js';

/** The tag that identifies an exported run: "<increment>/<experiment>". */
export const RUN_KEY_TAG = 'specweave.run_key';
/** MLflow's limits on one runs/log-batch request (mlflow/utils/validation.py). */
export const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 } as const;
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;
const MAX_KEY = 250;
const MAX_EXPERIMENT_NAME = 500;
/** Most runs an export reads back from the MLflow experiment. */
const MAX_EXISTING_RUNS = 10_000;
const HISTORY_PAGE = 25_000;
/** Most points of one metric read back from an existing run to compare with. */
const MAX_HISTORY_POINTS = 5_000_000;
const CONCURRENCY = 8;
const DBL_MAX = 1.7976931348623157e308;

const STATUS_TO_MLFLOW = { running: 'RUNNING', completed: 'FINISHED', failed: 'FAILED', killed: 'KILLED' } as const;

export interface MlflowExportOptions {
  tracking_uri: string;
  experiment_name?: string | null;
}

export type RunAction = 'created' | 'updated' | 'unchanged';

export interface MlflowExportResult {
  increment: string;
  tracking_uri: string;
  experiment_name: string;
  experiment_id: string;
  url: string;
  created: number;
  updated: number;
  unchanged: number;
  runs: { experiment: string; run_id: string; action: RunAction }[];
  warnings: string[];
}

export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

/** What one specweave experiment should look like as an MLflow run. */
export interface DesiredRun {
  experiment: string;
  key: string;
  runName: string;
  startMs: number | null;
  endMs: number | null;
  status: (typeof STATUS_TO_MLFLOW)[keyof typeof STATUS_TO_MLFLOW];
  params: Map<string, string>;
  tags: Map<string, string>;
  points: MetricPoint[];
  /** The MLflow run id this experiment was imported from, and its parent's (source.run_id / parent_run_id). */
  sourceRunId?: string;
  sourceParentRunId?: string;
}

/** The state of an existing MLflow run, as far as the diff needs it. */
export interface ExistingRun {
  runId: string;
  status: string;
  endMs: number | null;
  params: Map<string, string>;
  tags: Map<string, string>;
  /** Identities (pointId) of the points logged, per metric. */
  points: Map<string, Set<string>>;
}

export interface RunChanges {
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
  metrics: MetricPoint[];
  update?: { status: string; end_time?: number };
  /** Params whose value differs in MLflow, which refuses to change them. */
  paramConflicts: string[];
}

/** MLflow's rule for param, metric and tag names: these characters, and no name a path would rewrite. */
export function isMlflowKey(name: string): boolean {
  if (!name || name.length > MAX_KEY || !/^[/\p{L}\p{N}_.\- :]*$/u.test(name)) return false;
  return !name.startsWith('/') && name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

/** A param value as MLflow keeps it (text), written as Python's mlflow.log_param would for the same value. */
export function paramText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'number')
    return Number.isNaN(value) ? 'nan' : value === Infinity ? 'inf' : value === -Infinity ? '-inf' : String(value);
  return JSON.stringify(value);
}

/** A metric value as MLflow's JSON takes it: NaN and the infinities are strings. */
function jsonValue(value: number): number | string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

/** One logged point's identity: SQL stores give ±Infinity back as ±DBL_MAX, so both spellings are the same point. */
export function pointId(step: number, timestamp: number, value: number): string {
  const v = Number.isNaN(value) ? 'NaN' : value >= DBL_MAX ? 'Infinity' : value <= -DBL_MAX ? '-Infinity' : String(value);
  return `${step}|${timestamp}|${v}`;
}

function ms(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

/** What the experiment should be in MLflow. Pure; warn is told what cannot be sent (names MLflow refuses). */
export function desiredRun(incId: string, exp: Experiment, history: HistoryPoint[], warn: (m: string) => void): DesiredRun {
  const m = exp.meta;
  const key = `${incId}/${exp.name}`;
  const startMs = ms(m.started) ?? ms(m.created);
  const endMs = exp.status === 'running' ? null : (ms(m.ended) ?? null);
  const params = new Map<string, string>();
  for (const [name, value] of Object.entries(exp.params).sort(([a], [b]) => a.localeCompare(b))) {
    const text = paramText(value);
    if (!isMlflowKey(name)) warn(`${exp.name}: param ${JSON.stringify(name)} not exported: MLflow refuses that name.`);
    else if (text.length > MAX_PARAM_VALUE)
      warn(`${exp.name}: param ${name} not exported: its value is over MLflow's ${MAX_PARAM_VALUE} characters.`);
    else params.set(name, text);
  }

  const tags = new Map<string, string>();
  const setTag = (name: string, value: string) => {
    if (!isMlflowKey(name)) return warn(`${exp.name}: tag ${JSON.stringify(name)} not exported: MLflow refuses that name.`);
    if (value.length > MAX_TAG_VALUE) {
      warn(`${exp.name}: tag ${name} cut to MLflow's ${MAX_TAG_VALUE} characters.`);
      value = value.slice(0, MAX_TAG_VALUE);
    }
    tags.set(name, value);
  };
  for (const tag of m.tags) {
    const eq = tag.indexOf('=');
    setTag(eq > 0 ? tag.slice(0, eq) : tag, eq > 0 ? tag.slice(eq + 1) : '');
  }
  setTag(RUN_KEY_TAG, key);
  setTag('specweave.increment', incId);
  setTag('specweave.experiment', exp.name);
  if (exp.baseline) setTag('specweave.baseline', 'true');
  const notes = m.notes.map((n) => n.text.trim()).filter(Boolean);
  if (notes.length) setTag('mlflow.note.content', notes.join('\n\n'));
  if (m.git?.commit) setTag('mlflow.source.git.commit', m.git.commit);
  if (m.git?.branch) setTag('mlflow.source.git.branch', m.git.branch);

  // Points without a time of their own (or summary metrics without history) take the run's end, else its start:
  // a fixed time, so exporting again finds the same point.
  const fallbackMs = endMs ?? startMs ?? 0;
  const points: MetricPoint[] = [];
  const seen = new Set<string>();
  const lastByMetric = new Map<string, MetricPoint>();
  const refused = new Set<string>();
  const add = (p: MetricPoint) => {
    if (!isMlflowKey(p.key)) return void refused.add(p.key);
    const id = `${p.key}\u0000${pointId(p.step, p.timestamp, p.value)}`;
    if (seen.has(id)) return;
    seen.add(id);
    points.push(p);
    const last = lastByMetric.get(p.key);
    if (!last || p.step > last.step || (p.step === last.step && p.timestamp >= last.timestamp)) lastByMetric.set(p.key, p);
  };
  for (const h of history) add({ key: h.metric, value: h.value, step: h.step, timestamp: ms(h.timestamp) ?? fallbackMs });
  for (const [metric, value] of Object.entries(exp.metrics).sort(([a], [b]) => a.localeCompare(b))) {
    const last = lastByMetric.get(metric);
    if (!last) add({ key: metric, value, step: 0, timestamp: fallbackMs });
    // MLflow's latest value is the point with the highest step, then the latest time: one more point makes the
    // summary the latest when it differs from the last history point.
    else if (pointId(0, 0, last.value) !== pointId(0, 0, value))
      add({ key: metric, value, step: last.step, timestamp: last.timestamp + 1 });
  }
  for (const name of refused) warn(`${exp.name}: metric ${JSON.stringify(name)} not exported: MLflow refuses that name.`);

  const source = m.source ?? {};
  return {
    experiment: exp.name,
    key,
    runName: exp.name,
    startMs,
    endMs,
    status: STATUS_TO_MLFLOW[exp.status],
    params,
    tags,
    points,
    ...(typeof source.run_id === 'string' ? { sourceRunId: source.run_id } : {}),
    ...(typeof source.parent_run_id === 'string' ? { sourceParentRunId: source.parent_run_id } : {}),
  };
}

/** What to send so that `existing` (undefined: a new run) matches `want`. Pure. */
export function diffRun(want: DesiredRun, existing: ExistingRun | undefined): RunChanges {
  const paramConflicts: string[] = [];
  const params: RunChanges['params'] = [];
  for (const [key, value] of want.params) {
    const have = existing?.params.get(key);
    if (have === undefined) params.push({ key, value });
    else if (have !== value) paramConflicts.push(key);
  }
  const tags = [...want.tags].filter(([key, value]) => existing?.tags.get(key) !== value).map(([key, value]) => ({ key, value }));
  const metrics = want.points.filter((p) => !existing?.points.get(p.key)?.has(pointId(p.step, p.timestamp, p.value)));
  let update: RunChanges['update'];
  const endChanged = want.endMs !== null && existing?.endMs !== want.endMs;
  if (!existing || existing.status !== want.status || endChanged) {
    update = { status: want.status, ...(want.endMs !== null ? { end_time: want.endMs } : {}) };
  }
  return { params, tags, metrics, update, paramConflicts };
}

/** The runs/log-batch bodies for the changes, each within MLflow's per-request limits. Pure. */
export function logBatches(
  changes: Pick<RunChanges, 'params' | 'tags' | 'metrics'>,
): { params: RunChanges['params']; tags: RunChanges['tags']; metrics: MetricPoint[] }[] {
  const out = [];
  let p = 0;
  let t = 0;
  let m = 0;
  while (p < changes.params.length || t < changes.tags.length || m < changes.metrics.length) {
    const params = changes.params.slice(p, p + BATCH_LIMITS.params);
    const tags = changes.tags.slice(t, t + BATCH_LIMITS.tags);
    const room = Math.min(BATCH_LIMITS.metrics, BATCH_LIMITS.total - params.length - tags.length);
    const metrics = changes.metrics.slice(m, m + room);
    p += params.length;
    t += tags.length;
    m += metrics.length;
    out.push({ params, tags, metrics });
  }
  return out;
}

/** The runs by nesting level (top-level runs first), so a child's parent already has its MLflow run id. */
function byNestingLevel(runs: DesiredRun[]): DesiredRun[][] {
  const bySource = new Map(runs.filter((r) => r.sourceRunId).map((r) => [r.sourceRunId!, r]));
  const depth = (r: DesiredRun): number => {
    let d = 0;
    const seen = new Set<DesiredRun>([r]);
    for (let p = r.sourceParentRunId ? bySource.get(r.sourceParentRunId) : undefined; p && !seen.has(p);) {
      seen.add(p);
      d += 1;
      p = p.sourceParentRunId ? bySource.get(p.sourceParentRunId) : undefined;
    }
    return d;
  };
  const levels: DesiredRun[][] = [];
  for (const r of runs) (levels[depth(r)] ??= []).push(r);
  return levels.filter(Boolean);
}

/** Creates or updates one run so it matches want. */
async function syncRun(
  client: MlflowRestClient,
  experimentId: string,
  want: DesiredRun,
  found: RestRun | undefined,
  warnings: string[],
): Promise<{ runId: string; action: RunAction }> {
  const state = found ? await existingState(client, found, new Set(want.points.map((p) => p.key))) : undefined;
  const changes = diffRun(want, state);
  for (const key of changes.paramConflicts) {
    warnings.push(
      `${want.experiment}: param ${key} is ${JSON.stringify(state!.params.get(key))} in MLflow run ${state!.runId} and ${JSON.stringify(want.params.get(key))} here; MLflow does not change a logged param (delete that run in MLflow and export again to replace it).`,
    );
  }
  let runId = state?.runId;
  if (!runId) {
    // The key tag goes in with the run itself: an export cut off after this request is completed by the next one.
    const created = await client.post('runs/create', {
      experiment_id: experimentId,
      run_name: want.runName,
      start_time: want.startMs ?? undefined,
      tags: [{ key: RUN_KEY_TAG, value: want.key }],
    });
    runId = runIdOf((created.run ?? { info: {} }) as RestRun);
    if (!runId) throw invalid(`${client.server.label} created a run without an id.`, 'Check that the URL is an MLflow tracking server.');
  }
  for (const batch of logBatches(changes)) {
    await client.post('runs/log-batch', {
      run_id: runId,
      params: batch.params,
      tags: batch.tags,
      metrics: batch.metrics.map((p) => ({ key: p.key, value: jsonValue(p.value), timestamp: p.timestamp, step: p.step })),
    });
  }
  if (changes.update) await client.post('runs/update', { run_id: runId, ...changes.update });
  const changed = changes.params.length || changes.tags.length || changes.metrics.length || changes.update;
  return { runId, action: !state ? 'created' : changed ? 'updated' : 'unchanged' };
}

interface RestRun {
  info: { run_id?: string; run_uuid?: string; status?: string; end_time?: number | string; start_time?: number | string };
  data?: { params?: { key: string; value: string }[]; tags?: { key: string; value: string }[]; metrics?: { key: string }[] };
}

const runIdOf = (run: RestRun) => String(run.info.run_id ?? run.info.run_uuid ?? '');

export async function exportToMlflow(project: Project, inc: Increment, opts: MlflowExportOptions): Promise<MlflowExportResult> {
  const server = parseTrackingServer(opts.tracking_uri, 'tracking_uri', false);
  const experimentName = (opts.experiment_name ?? inc.id).trim();
  if (!experimentName || experimentName.length > MAX_EXPERIMENT_NAME) {
    throw invalid(`experiment_name must be 1 to ${MAX_EXPERIMENT_NAME} characters.`, 'Leave it out to use the increment id.');
  }
  const warnings: string[] = [];
  const { experiments, broken } = await readAllExperiments(project, inc);
  for (const b of broken) warnings.push(`${b.name} not exported: ${b.reason}`);
  const desired: DesiredRun[] = [];
  for (const exp of experiments.sort((a, b) => a.name.localeCompare(b.name))) {
    const { points, skippedLines } = await readHistory(exp.dir);
    if (skippedLines) warnings.push(`${exp.name}: ${skippedLines} unreadable history lines not exported.`);
    desired.push(desiredRun(inc.id, exp, points, (m) => warnings.push(m)));
  }

  const client = new MlflowRestClient(server);
  const experimentId = await findOrCreateExperiment(client, experimentName);
  const existing = await existingRunsByKey(client, experimentId, inc.id, warnings);

  const runIdBySource = new Map<string, string>();
  const results: MlflowExportResult['runs'] = [];
  const exportOne = async (want: DesiredRun) => {
    if (want.sourceParentRunId) {
      const parentId = runIdBySource.get(want.sourceParentRunId);
      if (parentId) want.tags.set('mlflow.parentRunId', parentId);
    }
    const { runId, action } = await syncRun(client, experimentId, want, existing.get(want.key), warnings);
    if (want.sourceRunId) runIdBySource.set(want.sourceRunId, runId);
    results.push({ experiment: want.experiment, run_id: runId, action });
  };
  // Runs of one nesting level go CONCURRENCY at a time; a level starts once its parents have their run ids.
  try {
    for (const level of byNestingLevel(desired)) await inParallel(level, CONCURRENCY, exportOne);
  } catch (error) {
    if (!(error instanceof MlError) || !results.length) throw error;
    throw new MlError(
      error.code,
      `Export stopped after ${results.length} of ${desired.length} runs: ${error.message}`,
      `${error.hint ?? ''} Then export again: runs already exported are found by their ${RUN_KEY_TAG} tag and completed, not duplicated.`.trim(),
    );
  }
  results.sort((a, b) => a.experiment.localeCompare(b.experiment));
  warnings.sort();
  const count = (a: RunAction) => results.filter((r) => r.action === a).length;
  return {
    increment: inc.id,
    tracking_uri: server.label,
    experiment_name: experimentName,
    experiment_id: experimentId,
    url: `${server.base}/#/experiments/${encodeURIComponent(experimentId)}`,
    created: count('created'),
    updated: count('updated'),
    unchanged: count('unchanged'),
    runs: results,
    warnings,
  };
}

async function findOrCreateExperiment(client: MlflowRestClient, name: string): Promise<string> {
  let found: Record<string, unknown> | undefined;
  try {
    found = (await client.get('experiments/get-by-name', { experiment_name: name })).experiment as Record<string, unknown> | undefined;
  } catch (error) {
    if (!(error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw error;
  }
  if (found) {
    if (found.lifecycle_stage === 'deleted') {
      throw invalid(
        `The MLflow experiment ${JSON.stringify(name)} (id ${String(found.experiment_id)}) is deleted.`,
        `Restore it (mlflow experiments restore --experiment-id ${String(found.experiment_id)}) or pass another experiment_name.`,
      );
    }
    return String(found.experiment_id);
  }
  const created = await client.post('experiments/create', { name });
  if (created.experiment_id === undefined)
    throw invalid(`${client.server.label} created an experiment without an id.`, 'Check that the URL is an MLflow tracking server.');
  return String(created.experiment_id);
}

/** The experiment's active runs exported from this increment, by run key. */
async function existingRunsByKey(
  client: MlflowRestClient,
  experimentId: string,
  incId: string,
  warnings: string[],
): Promise<Map<string, RestRun>> {
  const runs = await fetchAllPages<RestRun>(
    (page_token) =>
      client.post('runs/search', {
        experiment_ids: [experimentId],
        // LIKE's wildcards in an id only widen the search; the exact key is compared below.
        filter: `tags.\`${RUN_KEY_TAG}\` LIKE '${incId.replace(/'/g, "\\'")}/%'`,
        run_view_type: 'ACTIVE_ONLY',
        max_results: 1000,
        page_token,
      }),
    'runs',
    MAX_EXISTING_RUNS,
    () =>
      new MlError(
        'INVALID_INPUT',
        `The MLflow experiment ${experimentId} holds over ${MAX_EXISTING_RUNS} runs of this increment.`,
        'Export into a new experiment_name.',
      ),
  );
  const byKey = new Map<string, RestRun>();
  for (const run of runs.sort((a, b) => Number(a.info.start_time ?? 0) - Number(b.info.start_time ?? 0))) {
    const key = run.data?.tags?.find((t) => t.key === RUN_KEY_TAG)?.value;
    if (!key?.startsWith(`${incId}/`)) continue;
    if (byKey.has(key))
      warnings.push(
        `MLflow holds two runs with ${RUN_KEY_TAG}=${key} (${runIdOf(byKey.get(key)!)} and ${runIdOf(run)}); the first is updated.`,
      );
    else byKey.set(key, run);
  }
  return byKey;
}

/** An existing run's params, tags, status and the points of the wanted metrics (full histories, paged). */
async function existingState(client: MlflowRestClient, run: RestRun, wanted: Set<string>): Promise<ExistingRun> {
  const runId = runIdOf(run);
  // Only the metrics there is something to send for: the others' histories cannot change the diff.
  const keys = (run.data?.metrics ?? []).map((m) => m.key).filter((k) => wanted.has(k));
  const points = new Map<string, Set<string>>();
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const history = await fetchAllPages<{ value: unknown; step?: number | string; timestamp?: number | string }>(
        (page_token) => client.get('metrics/get-history', { run_id: runId, metric_key: key, max_results: HISTORY_PAGE, page_token }),
        'metrics',
        MAX_HISTORY_POINTS,
        () =>
          invalid(
            `MLflow run ${runId} holds over ${MAX_HISTORY_POINTS} points of ${key}, more than an export compares.`,
            'Export into a new experiment_name.',
          ),
      );
      points.set(key, new Set(history.map((p) => pointId(Number(p.step ?? 0), Number(p.timestamp ?? 0), restValue(p.value)))));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, keys.length) }, worker));
  const end = run.info.end_time === undefined ? null : Number(run.info.end_time);
  return {
    runId,
    status: String(run.info.status ?? ''),
    endMs: end !== null && Number.isFinite(end) ? end : null,
    params: new Map((run.data?.params ?? []).map((p) => [p.key, p.value ?? ''])),
    tags: new Map((run.data?.tags ?? []).map((t) => [t.key, t.value ?? ''])),
    points,
  };
}

function restValue(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (raw === 'NaN') return NaN;
  if (raw === 'Infinity') return Infinity;
  if (raw === '-Infinity') return -Infinity;
  return Number(raw);
}
