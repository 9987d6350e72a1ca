/**
 * Reads an MLflow SQLite tracking store (`sqlite:///mlflow.db`, MLflow's default store since 3.7) without writing
 * anything, into the same run records as the file-store importer (mlflow.ts): same keys (`mlflow:<run id>`, so a
 * run imported from either store is imported once), params, metrics with their full step history, tags, notes,
 * status, times, git commit and nested-run parent.
 *
 * Tables read: experiments, runs, params, metrics (the history), latest_metrics (only for a metric without
 * history), tags, and model_versions when present. The file is read whole through store/disk.ts, capped.
 */
import path from 'node:path';
import { invalid } from '../errors.js';
import { lstatChecked, readChunks } from '../store/disk.js';
import { describeError, listDir, TimeSlicer } from './fs-read.js';
import { STATUS_BY_CODE } from './mlflow.js';
import { SqliteDatabase, SqliteFormatError, type SqliteValue } from './sqlite-read.js';
import type {
  HistoryPoint,
  ImportedRun,
  ImportedStatus,
  ImporterDefinition,
  ImportScan,
  MlflowScanOptions,
  SkippedEntry,
} from './types.js';
import { coerceParamText, isoFromEpochMs } from './values.js';

/** The file MLflow creates for `sqlite:///mlflow.db`, looked for when the source is a folder. */
export const MLFLOW_DB = 'mlflow.db';
/** Largest database read: it is read whole into memory. */
export const MAX_DB_BYTES = 1024 * 1024 * 1024;
/** MLflow stores ±Infinity as ±DBL_MAX (SQL has no infinities); they are read back as the infinities logged. */
const DBL_MAX = 1.7976931348623157e308;

export interface MlflowSqliteScanOptions extends MlflowScanOptions {
  /** The database file's name inside the folder (default mlflow.db). */
  file?: string;
}

export const mlflowSqliteImporter: ImporterDefinition<'mlflow-sqlite'> = {
  format: 'mlflow-sqlite',
  tool: 'MLflow',
  looksFor: `MLflow SQLite store: an ${MLFLOW_DB} file (sqlite:///${MLFLOW_DB}), or a SQLite database given as the source`,
  readsFiles: true,
  async detect(absDir, file) {
    if (file) return (await readHeader(path.join(absDir, file))) === 'SQLite format 3\0';
    return (await listDir(absDir)).some((e) => e.name === MLFLOW_DB && e.isFile());
  },
  scan: (absDir, options) => scanMlflowSqlite(absDir, options),
};

async function readHeader(absPath: string): Promise<string> {
  try {
    for await (const chunk of readChunks(absPath, { chunkBytes: 16 })) return chunk.toString('latin1');
  } catch {
    // unreadable: not ours
  }
  return '';
}

type Row = Record<string, SqliteValue>;

interface RunParts {
  params: [string, string][];
  tags: Map<string, string>;
  history: Map<string, Series>;
  /** latest_metrics, used for a metric without history. */
  latest: Map<string, number>;
}

/** One metric's history in logging order, as parallel arrays. */
interface Series {
  values: number[];
  steps: number[];
  times: number[];
}

const METRIC_COLUMNS = ['value', 'is_nan', 'timestamp', 'step', 'run_uuid', 'key'];
const RUN_COLUMNS = [
  'run_uuid',
  'name',
  'experiment_id',
  'status',
  'start_time',
  'end_time',
  'lifecycle_stage',
  'user_id',
  'source_name',
  'source_version',
];

export async function scanMlflowSqlite(absDir: string, options: MlflowSqliteScanOptions = {}): Promise<ImportScan> {
  const file = options.file ?? MLFLOW_DB;
  const sourceLabel = options.sourceLabel ?? '.';
  const dbLabel = options.file ? sourceLabel : sourceLabel === '.' ? file : `${sourceLabel}/${file}`;
  const absFile = path.join(absDir, file);
  const db = await openDatabase(absFile, dbLabel);
  try {
    return await scanDatabase(db, absFile, dbLabel, sourceLabel, options);
  } catch (error) {
    // Data pages are read lazily, so damage past the schema shows up here.
    if (!(error instanceof SqliteFormatError)) throw error;
    throw invalid(`The MLflow database ${dbLabel} is damaged: ${error.message}.`, dbFix(dbLabel));
  }
}

async function scanDatabase(
  db: SqliteDatabase,
  absFile: string,
  dbLabel: string,
  sourceLabel: string,
  options: MlflowSqliteScanOptions,
): Promise<ImportScan> {
  const warnings: string[] = [];
  const skipped: SkippedEntry[] = [];
  const wal = await lstatChecked(`${absFile}-wal`).catch(() => undefined);
  if (wal?.isFile() && wal.size > 0) {
    warnings.push(
      `${dbLabel}-wal exists: changes MLflow has not yet written into ${dbLabel} are not imported (run again once MLflow has stopped).`,
    );
  }
  const slicer = new TimeSlicer();
  /** Calls fn with the named columns of every row (one reused array); lets the event loop run between pages. */
  const eachRow = async (table: string, columns: string[], fn: (values: SqliteValue[]) => void): Promise<void> => {
    if (!db.table(table)) return;
    for (const _ of db.scan(table, columns, fn)) await slicer.maybeYield();
  };
  const rowsOf = async (table: string, columns: string[]): Promise<Row[]> => {
    const rows: Row[] = [];
    await eachRow(table, columns, (values) => rows.push(Object.fromEntries(columns.map((c, i) => [c, values[i]!]))));
    return rows;
  };

  const experiments = new Map<string, { name: string; deleted: boolean }>();
  await eachRow('experiments', ['experiment_id', 'name', 'lifecycle_stage'], ([id, name, stage]) => {
    experiments.set(text(id), { name: text(name), deleted: stage === 'deleted' });
  });
  const parts = new Map<string, RunParts>();
  const partsOf = (runId: string): RunParts => {
    let p = parts.get(runId);
    if (!p) parts.set(runId, (p = { params: [], tags: new Map(), history: new Map(), latest: new Map() }));
    return p;
  };
  await eachRow('params', ['run_uuid', 'key', 'value'], ([run, key, value]) => partsOf(text(run)).params.push([text(key), text(value)]));
  await eachRow('tags', ['run_uuid', 'key', 'value'], ([run, key, value]) => partsOf(text(run)).tags.set(text(key), text(value)));
  let badPoints = 0;
  // The big table (one row per logged point): kept as parallel number arrays per metric, not an object per point.
  let lastRun = '';
  let lastParts: RunParts | undefined;
  await eachRow('metrics', METRIC_COLUMNS, (values) => {
    const value = metricValueOf(values);
    const [, , timeMs, step, run, key] = values;
    if (value === undefined || typeof timeMs !== 'number' || !(step === null || Number.isSafeInteger(step))) {
      badPoints += 1;
      return;
    }
    const runId = text(run);
    if (runId !== lastRun || !lastParts) {
      lastRun = runId;
      lastParts = partsOf(runId);
    }
    const name = text(key);
    let series = lastParts.history.get(name);
    if (!series) lastParts.history.set(name, (series = { values: [], steps: [], times: [] }));
    series.values.push(value);
    series.steps.push((step as number | null) ?? 0);
    series.times.push(timeMs);
  });
  await eachRow('latest_metrics', METRIC_COLUMNS, (values) => {
    const value = metricValueOf(values);
    if (value !== undefined) partsOf(text(values[4]!)).latest.set(text(values[5]!), value);
  });
  if (badPoints) warnings.push(`${dbLabel}: ${badPoints} metric rows with a non-numeric value, step or timestamp skipped.`);
  const registry = readRegistry(await rowsOf('model_versions', ['name', 'version', 'current_stage', 'run_id']));

  const runs: ImportedRun[] = [];
  for (const row of await rowsOf('runs', RUN_COLUMNS)) {
    const runId = text(row.run_uuid);
    const what = `MLflow run ${runId} (${dbLabel})`;
    const exp = experiments.get(text(row.experiment_id));
    const deleted = exp?.deleted
      ? 'deleted experiment (lifecycle_stage: deleted)'
      : row.lifecycle_stage === 'deleted'
        ? 'deleted run (lifecycle_stage: deleted)'
        : '';
    if (deleted && !options.includeDeleted) {
      skipped.push({ what, reason: deleted });
      continue;
    }
    const run = buildRun(row, runId, exp, parts.get(runId), (m) => warnings.push(`${dbLabel}: run ${runId}: ${m}`));
    run.source = { ...run.source, path: sourceLabel, database: dbLabel };
    if (deleted) run.source.deleted = true;
    const registered = registry.get(runId);
    if (registered) run.source.registered_models = registered;
    runs.push(run);
  }
  runs.sort((a, b) => (a.started ?? '').localeCompare(b.started ?? '') || a.key.localeCompare(b.key));
  skipped.sort((a, b) => a.what.localeCompare(b.what));
  return { format: 'mlflow-sqlite', runs, skipped, warnings };
}

/** Reads and checks the database; a missing, oversized or malformed file is an INVALID_INPUT error saying so. */
async function openDatabase(absFile: string, dbLabel: string): Promise<SqliteDatabase> {
  const fix = dbFix(dbLabel);
  let bytes: Buffer;
  try {
    bytes = await readWhole(absFile);
  } catch (error) {
    throw invalid(`The MLflow database ${dbLabel} cannot be read: ${describeError(error)}`, fix);
  }
  let db: SqliteDatabase;
  try {
    db = new SqliteDatabase(bytes);
  } catch (error) {
    if (!(error instanceof SqliteFormatError)) throw error;
    throw invalid(`The MLflow database ${dbLabel} is not a readable SQLite file: ${error.message}.`, fix);
  }
  const missing = ['experiments', 'runs'].filter((t) => !db.table(t));
  if (missing.length) {
    throw invalid(`${dbLabel} is a SQLite database but not an MLflow tracking store: it has no ${missing.join(' or ')} table.`, fix);
  }
  return db;
}

/** The file's bytes into one buffer sized from its length (a file that grows meanwhile is still capped). */
async function readWhole(absFile: string): Promise<Buffer> {
  const size = (await lstatChecked(absFile))?.size ?? 0;
  if (size > MAX_DB_BYTES) {
    throw new Error(`it is ${Math.round(size / 2 ** 20)} MiB, over the importer's limit of ${MAX_DB_BYTES / 2 ** 20} MiB`);
  }
  let out = Buffer.allocUnsafe(size);
  let filled = 0;
  for await (const chunk of readChunks(absFile, { maxBytes: MAX_DB_BYTES, chunkBytes: 8 * 1024 * 1024 })) {
    if (filled + chunk.length > out.length) out = Buffer.concat([out.subarray(0, filled), chunk]);
    else chunk.copy(out, filled);
    filled += chunk.length;
  }
  return out.subarray(0, filled);
}

function dbFix(dbLabel: string): string {
  return `Pass a folder holding MLflow's ${MLFLOW_DB} (or the database file itself), written by MLflow with sqlite:///…; check it with: sqlite3 ${dbLabel} 'PRAGMA integrity_check'.`;
}

function text(value: SqliteValue | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return Buffer.from(value).toString('utf8');
}

function num(value: SqliteValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** The logged value of a metrics row [value, is_nan, …]; undefined when it is not a number. */
function metricValueOf(values: SqliteValue[]): number | undefined {
  if (values[1] === 1) return NaN;
  const raw = num(values[0]);
  return raw === DBL_MAX ? Infinity : raw === -DBL_MAX ? -Infinity : raw;
}

function buildRun(
  row: Row,
  runId: string,
  exp: { name: string } | undefined,
  parts: RunParts | undefined,
  warn: (m: string) => void,
): ImportedRun {
  const tagMap = parts?.tags ?? new Map<string, string>();
  const params: Record<string, unknown> = {};
  for (const [key, value] of [...(parts?.params ?? [])].sort(([a], [b]) => a.localeCompare(b))) params[key] = coerceParamText(value);
  const tags: string[] = [];
  for (const [key, value] of [...tagMap].sort(([a], [b]) => a.localeCompare(b))) {
    if (!key.startsWith('mlflow.')) tags.push(value === '' ? key : `${key}=${value}`);
  }
  const note = tagMap.get('mlflow.note.content')?.trim();

  const metrics: Record<string, number> = {};
  const history: HistoryPoint[] = [];
  for (const [metric, series] of [...(parts?.history ?? [])].sort(([a], [b]) => a.localeCompare(b))) {
    metrics[metric] = series.values[latestIndex(series)]!;
    for (let i = 0; i < series.values.length; i += 1) {
      const timestamp = isoFromEpochMs(series.times[i]);
      if (timestamp !== null) history.push({ metric, value: series.values[i]!, step: series.steps[i]!, timestamp });
    }
  }
  for (const [metric, value] of parts?.latest ?? []) if (!(metric in metrics)) metrics[metric] = value;

  const rawStatus = text(row.status);
  const status: ImportedStatus = STATUS_BY_CODE[rawStatus.toUpperCase()] ?? 'completed';
  if (rawStatus && !STATUS_BY_CODE[rawStatus.toUpperCase()]) warn(`unknown status ${JSON.stringify(rawStatus)}; read as completed.`);
  const commit = tagMap.get('mlflow.source.git.commit')?.trim() || text(row.source_version).trim() || null;
  const branch = tagMap.get('mlflow.source.git.branch')?.trim() || null;
  const source: Record<string, unknown> = {
    tool: 'mlflow',
    store: 'sqlite',
    run_id: runId,
    experiment_id: text(row.experiment_id),
    experiment_name: exp?.name ?? '',
  };
  const parent = tagMap.get('mlflow.parentRunId')?.trim();
  if (parent) source.parent_run_id = parent;
  const user = tagMap.get('mlflow.user') || text(row.user_id);
  if (user) source.user = user;
  const entryPoint = tagMap.get('mlflow.source.name') || text(row.source_name);
  if (entryPoint) source.entry_point = entryPoint;
  return {
    key: `mlflow:${runId}`,
    suggestedName: text(row.name) || tagMap.get('mlflow.runName') || runId,
    params,
    metrics,
    history,
    tags,
    status,
    started: isoFromEpochMs(row.start_time),
    ended: status === 'running' ? null : isoFromEpochMs(row.end_time),
    git: commit || branch ? { commit, branch } : null,
    notes: note ? [note] : [],
    source,
  };
}

interface RegisteredVersion {
  name: string;
  version: string | number;
  stage: string | null;
}

/** The point a metric's summary takes: the last step's, the latest logged among equal steps (as latestByStep). */
function latestIndex(series: Series): number {
  let best = 0;
  for (let i = 1; i < series.values.length; i += 1) {
    const step = series.steps[i]!;
    const bestStep = series.steps[best]!;
    if (step > bestStep || (step === bestStep && series.times[i]! >= series.times[best]!)) best = i;
  }
  return best;
}

/** Registered model versions by the run they came from. */
function readRegistry(rows: Row[]): Map<string, RegisteredVersion[]> {
  const byRun = new Map<string, RegisteredVersion[]>();
  for (const row of rows) {
    const runId = text(row.run_id);
    if (!runId) continue;
    const list = byRun.get(runId) ?? [];
    list.push({
      name: text(row.name),
      version: num(row.version) ?? text(row.version),
      stage: row.current_stage ? text(row.current_stage) : null,
    });
    byRun.set(runId, list);
  }
  for (const versions of byRun.values()) versions.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version));
  return byRun;
}
