/**
 * Reads a running MLflow tracking server over its REST API (http-mlflow.ts), into the same run records as the
 * file-store and SQLite importers: same keys (`mlflow:<run id>`, so a run imported from the database and then from
 * its server is imported once), params, metrics with their full step history, tags, notes, status, times, git
 * commit and nested-run parent.
 *
 * Calls: experiments/search (or experiments/get, get-by-name for one experiment), runs/search with page_token
 * paging, and metrics/get-history (paged) for every metric of every run. The source is an http(s) URL; the UI's
 * link to an experiment (`<server>/#/experiments/<id>`) or `?experiment=<name>` imports that experiment only.
 */
import { invalid } from '../errors.js';
import { fetchAllPages, isHttpUrl, MlflowRestClient, parseTrackingServer } from '../http-mlflow.js';
import { STATUS_BY_CODE } from './mlflow.js';
import type {
  HistoryPoint,
  ImportedRun,
  ImportedStatus,
  ImporterDefinition,
  ImportScan,
  ImporterScanOptions,
  SkippedEntry,
} from './types.js';
import { coerceParamText, isoFromEpochMs, latestByStep, metricValue } from './values.js';

/** Most runs read from one server in one import; beyond it the import fails and says to import by experiment. */
export const MAX_REST_RUNS = 10_000;
/** Most metric history points read in one import (they are held in memory). */
export const MAX_REST_POINTS = 5_000_000;
/** Requests in flight at once while reading histories. */
const CONCURRENCY = 8;
const RUNS_PAGE = 1000;
const EXPERIMENTS_PAGE = 1000;
/** MLflow's own page size for metric histories (GET_METRIC_HISTORY_MAX_RESULTS). */
const HISTORY_PAGE = 25_000;
/** SQL backends store ±Infinity as ±DBL_MAX and serve them back so. */
const DBL_MAX = 1.7976931348623157e308;

export const mlflowRestImporter: ImporterDefinition<'mlflow-rest'> = {
  format: 'mlflow-rest',
  tool: 'MLflow',
  looksFor: 'MLflow tracking server over REST: an http(s) URL as the source, e.g. http://127.0.0.1:5000 (a folder never is one)',
  // A folder is never a server: URL sources go to scanUrl before any folder detection.
  detect: async () => false,
  scan: async () => {
    throw invalid(
      'The mlflow-rest importer reads a running tracking server, and the source is a folder.',
      'Pass the server URL as source (e.g. "http://127.0.0.1:5000"), or another format for a folder.',
    );
  },
  scanUrl: (url, options) => scanMlflowRest(url, options),
};

/** A run as runs/search returns it (only the fields read). */
interface RestRun {
  info: {
    run_id?: string;
    run_uuid?: string;
    run_name?: string;
    experiment_id?: string;
    user_id?: string;
    status?: string;
    start_time?: number | string;
    end_time?: number | string;
    lifecycle_stage?: string;
  };
  data?: {
    metrics?: { key: string; value: unknown; timestamp?: number | string; step?: number | string }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
}

interface RestExperiment {
  experiment_id: string;
  name: string;
  lifecycle_stage?: string;
}

interface RestPoint {
  key: string;
  value: unknown;
  timestamp?: number | string;
  step?: number | string;
}

export async function scanMlflowRest(source: string, options: ImporterScanOptions = {}): Promise<ImportScan> {
  if (!isHttpUrl(source)) throw invalid(`${source} is not an http(s) URL.`, 'Pass the tracking server URL, e.g. "http://127.0.0.1:5000".');
  const server = parseTrackingServer(source, 'The source', true);
  const client = new MlflowRestClient(server);
  const warnings: string[] = [];
  const skipped: SkippedEntry[] = [];

  const experiments = await readExperiments(client);
  if (!experiments.length) {
    // MLflow always lists its "Default" experiment (deleted or not) when asked for all of them.
    warnings.push(`${server.label} lists no experiments, not even MLflow's "Default": check that the URL is the tracking server's.`);
  }
  const byId = new Map(experiments.map((e) => [String(e.experiment_id), e]));
  const deletedExperiment = (e: RestExperiment) => e.lifecycle_stage === 'deleted';
  const wanted = experiments.filter((e) => options.includeDeleted || !deletedExperiment(e));
  for (const e of experiments) {
    if (!wanted.includes(e))
      skipped.push({ what: `MLflow experiment ${e.experiment_id} (${e.name})`, reason: 'deleted experiment (lifecycle_stage: deleted)' });
  }

  const restRuns = await readRuns(
    client,
    wanted.map((e) => String(e.experiment_id)),
  );
  const kept: RestRun[] = [];
  for (const run of restRuns) {
    const id = runIdOf(run);
    if (run.info.lifecycle_stage === 'deleted' && !options.includeDeleted) {
      skipped.push({ what: `MLflow run ${id} (${server.label})`, reason: 'deleted run (lifecycle_stage: deleted)' });
    } else if (id) kept.push(run);
  }

  const histories = await readHistories(client, kept);
  const runs = kept.map((run) => {
    const id = runIdOf(run);
    const r = buildRun(run, byId.get(String(run.info.experiment_id)), histories.get(id) ?? [], (m) => warnings.push(`run ${id}: ${m}`));
    r.source = { ...r.source, tracking_uri: server.label };
    if (
      run.info.lifecycle_stage === 'deleted' ||
      deletedExperiment(byId.get(String(run.info.experiment_id)) ?? { experiment_id: '', name: '' })
    )
      r.source.deleted = true;
    return r;
  });
  runs.sort((a, b) => (a.started ?? '').localeCompare(b.started ?? '') || a.key.localeCompare(b.key));
  skipped.sort((a, b) => a.what.localeCompare(b.what));
  return { format: 'mlflow-rest', runs, skipped, warnings };

  async function readExperiments(c: MlflowRestClient): Promise<RestExperiment[]> {
    const chosen = server.experiment;
    if (chosen && 'id' in chosen) return [experimentOf(await c.get('experiments/get', { experiment_id: chosen.id }))];
    if (chosen) return [experimentOf(await c.get('experiments/get-by-name', { experiment_name: chosen.name }))];
    return fetchAllPages<RestExperiment>(
      (page_token) => c.post('experiments/search', { max_results: EXPERIMENTS_PAGE, view_type: 'ALL', page_token }),
      'experiments',
      MAX_REST_RUNS,
      () => tooMany(`experiments`),
    );
  }

  function tooMany(what: string) {
    return invalid(
      `${server.label} holds more ${what} than one import reads (${MAX_REST_RUNS} runs, ${MAX_REST_POINTS} history points).`,
      `Import one experiment at a time: source "${server.label}/#/experiments/<id>" (the experiment's link in the MLflow UI).`,
    );
  }

  async function readRuns(c: MlflowRestClient, experimentIds: string[]): Promise<RestRun[]> {
    const out: RestRun[] = [];
    // MLflow caps experiment_ids per search; ask in groups.
    for (let i = 0; i < experimentIds.length; i += 100) {
      const ids = experimentIds.slice(i, i + 100);
      const runs = await fetchAllPages<RestRun>(
        (page_token) => c.post('runs/search', { experiment_ids: ids, max_results: RUNS_PAGE, run_view_type: 'ALL', page_token }),
        'runs',
        MAX_REST_RUNS - out.length,
        () => tooMany('runs'),
      );
      out.push(...runs.filter((r) => r && typeof r === 'object' && r.info && typeof r.info === 'object'));
    }
    return out;
  }

  /** Every metric's full history, per run id; requests run CONCURRENCY at a time. */
  async function readHistories(c: MlflowRestClient, list: RestRun[]): Promise<Map<string, RestPoint[]>> {
    const jobs = list.flatMap((run) => (run.data?.metrics ?? []).map((m) => ({ runId: runIdOf(run), key: m.key })));
    const out = new Map<string, RestPoint[]>();
    let next = 0;
    let points = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const { runId, key } = jobs[next++]!;
        const history = await fetchAllPages<RestPoint>(
          (page_token) => c.get('metrics/get-history', { run_id: runId, metric_key: key, max_results: HISTORY_PAGE, page_token }),
          'metrics',
          MAX_REST_POINTS - points,
          () => tooMany('metric history points'),
        );
        points += history.length;
        if (points > MAX_REST_POINTS) throw tooMany('metric history points');
        const all = out.get(runId) ?? [];
        for (const p of history) all.push({ ...p, key: p.key ?? key });
        out.set(runId, all);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, jobs.length) }, worker));
    return out;
  }
}

function experimentOf(body: Record<string, unknown>): RestExperiment {
  const e = body.experiment as RestExperiment | undefined;
  if (!e || typeof e !== 'object' || e.experiment_id === undefined) {
    throw invalid('The server answered experiments/get without an experiment.', 'Check that the URL is an MLflow tracking server.');
  }
  return e;
}

function runIdOf(run: RestRun): string {
  return String(run.info.run_id ?? run.info.run_uuid ?? '');
}

function epochMs(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** A metric value as MLflow's JSON carries it: a number, "NaN" / "Infinity" / "-Infinity", ±DBL_MAX for ±Infinity. */
function pointValue(raw: unknown): number | undefined {
  const value = metricValue(raw);
  return value === DBL_MAX ? Infinity : value === -DBL_MAX ? -Infinity : value;
}

function buildRun(run: RestRun, exp: RestExperiment | undefined, points: RestPoint[], warn: (m: string) => void): ImportedRun {
  const runId = runIdOf(run);
  const tagMap = new Map((run.data?.tags ?? []).map((t) => [t.key, t.value ?? '']));
  const params: Record<string, unknown> = {};
  for (const p of [...(run.data?.params ?? [])].sort((a, b) => a.key.localeCompare(b.key))) params[p.key] = coerceParamText(p.value ?? '');
  const tags: string[] = [];
  for (const [key, value] of [...tagMap].sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith('mlflow.')) tags.push(value === '' ? key : `${key}=${value}`);
  }
  const note = tagMap.get('mlflow.note.content')?.trim();

  const history: HistoryPoint[] = [];
  const byMetric = new Map<string, { value: number; step: number; timeMs: number }[]>();
  let bad = 0;
  for (const p of points) {
    const value = pointValue(p.value);
    const step = p.step === undefined ? 0 : Number(p.step);
    const timeMs = epochMs(p.timestamp);
    const timestamp = isoFromEpochMs(timeMs);
    if (value === undefined || !Number.isSafeInteger(step) || timeMs === undefined || timestamp === null) {
      bad += 1;
      continue;
    }
    history.push({ metric: p.key, value, step, timestamp });
    const list = byMetric.get(p.key) ?? [];
    list.push({ value, step, timeMs });
    byMetric.set(p.key, list);
  }
  if (bad) warn(`${bad} metric history points with a non-numeric value, step or timestamp skipped.`);
  history.sort((a, b) => a.metric.localeCompare(b.metric) || a.step - b.step || a.timestamp.localeCompare(b.timestamp));
  const metrics: Record<string, number> = {};
  for (const [metric, list] of [...byMetric].sort(([a], [b]) => a.localeCompare(b))) metrics[metric] = latestByStep(list)!.value;
  // A metric whose history could not be read keeps the latest value runs/search gave.
  for (const m of run.data?.metrics ?? []) {
    const value = pointValue(m.value);
    if (!(m.key in metrics) && value !== undefined) metrics[m.key] = value;
  }

  const rawStatus = String(run.info.status ?? '');
  const status: ImportedStatus = STATUS_BY_CODE[rawStatus.toUpperCase()] ?? 'completed';
  if (rawStatus && !STATUS_BY_CODE[rawStatus.toUpperCase()]) warn(`unknown status ${JSON.stringify(rawStatus)}; read as completed.`);
  const commit = tagMap.get('mlflow.source.git.commit')?.trim() || null;
  const branch = tagMap.get('mlflow.source.git.branch')?.trim() || null;
  const source: Record<string, unknown> = {
    tool: 'mlflow',
    store: 'rest',
    run_id: runId,
    experiment_id: String(run.info.experiment_id ?? ''),
    experiment_name: exp?.name ?? '',
  };
  const parent = tagMap.get('mlflow.parentRunId')?.trim();
  if (parent) source.parent_run_id = parent;
  const user = tagMap.get('mlflow.user') || run.info.user_id;
  if (user) source.user = user;
  const entryPoint = tagMap.get('mlflow.source.name');
  if (entryPoint) source.entry_point = entryPoint;
  return {
    key: `mlflow:${runId}`,
    suggestedName: run.info.run_name || tagMap.get('mlflow.runName') || runId,
    params,
    metrics,
    history,
    tags,
    status,
    started: isoFromEpochMs(epochMs(run.info.start_time)),
    ended: status === 'running' ? null : isoFromEpochMs(epochMs(run.info.end_time)),
    git: commit || branch ? { commit, branch } : null,
    notes: note ? [note] : [],
    source,
  };
}
