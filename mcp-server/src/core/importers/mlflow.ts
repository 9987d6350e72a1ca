/**
 * Reads an MLflow file store (`mlruns/`) without writing anything.
 *
 * Layout: `<store>/<experiment id>/meta.yaml` and `<store>/<experiment id>/<run id>/{meta.yaml,params/,metrics/,tags/}`;
 * deleted experiments under `<store>/.trash/`; the model registry under `<store>/models/`; MLflow 3 logged models
 * under `<store>/<experiment id>/models/m-*` (neither is a run).
 */
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { describeError, listDir, listDirSync, readTextNoFollow, readTextNoFollowSync, TimeSlicer } from './fs-read.js';
import type {
  HistoryPoint,
  ImportedRun,
  ImportedStatus,
  ImporterDefinition,
  ImportScan,
  MlflowScanOptions,
  SkippedEntry,
} from './types.js';
import {
  coerceParamText,
  isoFromEpochMs,
  isPlainObject,
  latestByStep,
  ParseLimitError,
  parseForeignYaml,
  parseNumberText,
} from './values.js';

export const mlflowImporter: ImporterDefinition<'mlflow'> = {
  format: 'mlflow',
  tool: 'MLflow',
  looksFor: 'MLflow file store: a folder (mlruns/) with <experiment id>/meta.yaml folders or .trash/, or one experiment folder',
  usualFolder: 'mlruns',
  async detect(absDir) {
    const entries = await listDir(absDir);
    if (entries.some((e) => e.name === '.trash' && e.isDirectory())) return true;
    if (entries.some((e) => e.name === 'meta.yaml' && e.isFile()) && (await looksLikeExperimentMeta(path.join(absDir, 'meta.yaml'))))
      return true;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && (await looksLikeExperimentMeta(path.join(absDir, e.name, 'meta.yaml'))))
        return true;
    }
    return false;
  },
  async scan(absDir, options) {
    const scan = await scanMlflow(absDir, { sourceLabel: options.sourceLabel, includeDeleted: options.includeDeleted ?? false });
    // MLflow's default store is now the SQLite file: say so when the file-store reading finds nothing beside one.
    if (!scan.runs.length && !scan.skipped.length && (await listDir(absDir)).some((e) => e.name === 'mlflow.db' && e.isFile())) {
      scan.warnings.push(
        `No file-store runs in ${options.sourceLabel ?? '.'}, but it holds mlflow.db (MLflow's SQLite store): import it with format "mlflow-sqlite".`,
      );
    }
    return scan;
  },
};

/** An experiment's meta.yaml (not a run's). */
async function looksLikeExperimentMeta(absPath: string): Promise<boolean> {
  try {
    const text = await readTextNoFollow(absPath);
    return /^experiment_id:/m.test(text) && !/^run_(?:id|uuid):/m.test(text);
  } catch {
    return false;
  }
}

/** Folders inside an experiment folder that are not runs. */
const NON_RUN_FOLDERS = new Set(['tags', 'models', 'traces', 'datasets', 'logged_models', 'prompts', 'artifacts']);

export const STATUS_BY_CODE: Record<string, ImportedStatus> = {
  '1': 'running',
  '2': 'running', // SCHEDULED: not finished yet
  '3': 'completed',
  '4': 'failed',
  '5': 'killed',
  RUNNING: 'running',
  SCHEDULED: 'running',
  FINISHED: 'completed',
  FAILED: 'failed',
  KILLED: 'killed',
};

interface ExperimentRef {
  id: string;
  name: string;
  absDir: string;
  /** Path of the experiment folder relative to the store, with "/". */
  rel: string;
  deleted: boolean;
  deletedWhy?: string;
}

interface RegisteredVersion {
  name: string;
  version: string | number;
  stage: string | null;
}

type RunOutcome = { run: ImportedRun } | { skipped: SkippedEntry } | { partial: string } | null;

const SIMPLE_LINE = /^([A-Za-z_][\w.-]*):(?: (.*))?$/;
const INT = /^-?\d+$/;
const FLOAT = /^-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * MLflow writes meta.yaml with yaml.safe_dump: one `key: scalar` per line. Reading those lines directly is ~10×
 * faster than a full YAML parser, which matters at thousands of runs; anything else falls back to the bounded
 * foreign-YAML reader.
 */
export function parseFlatYaml(text: string): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const m = SIMPLE_LINE.exec(line);
    if (!m) return undefined;
    const v = m[2] ?? '';
    let value: unknown;
    if (v === '' || v === 'null' || v === '~') value = null;
    else if (v === "''" || v === '""') value = '';
    else if (v === '[]') value = [];
    else if (v === '{}') value = {};
    else if (v === 'true' || v === 'false') value = v === 'true';
    else if (INT.test(v)) value = Number(v);
    else if (FLOAT.test(v)) value = Number(v);
    else if (v.length >= 2 && v.startsWith("'") && v.endsWith("'") && !v.slice(1, -1).replace(/''/g, '').includes("'")) {
      value = v.slice(1, -1).replace(/''/g, "'");
    } else if (
      /^[A-Za-z0-9/_.][^#]*$/.test(v) &&
      !v.includes(': ') &&
      !/\s$/.test(v) &&
      !/^(?:yes|no|on|off|nan|inf|\.nan|\.inf|-\.inf|true|false|null)$/i.test(v)
    ) {
      value = v;
    } else {
      return undefined;
    }
    if (m[2] === undefined && value === null) {
      // "key:" with nothing after it may open a block mapping or sequence on the next lines: let js-yaml decide.
      return undefined;
    }
    out[m[1]!] = value;
  }
  return out;
}

/** undefined for text that is not a YAML mapping; throws ParseLimitError (a bomb, too deep) so the reason is told. */
function parseYamlMapping(text: string): Record<string, unknown> | undefined {
  const fast = parseFlatYaml(text);
  if (fast) return fast;
  try {
    const value: unknown = parseForeignYaml(text);
    return isPlainObject(value) ? value : undefined;
  } catch (error) {
    if (error instanceof ParseLimitError) throw error;
    return undefined;
  }
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

export async function scanMlflow(absDir: string, options: MlflowScanOptions = {}): Promise<ImportScan> {
  const includeDeleted = options.includeDeleted ?? false;
  const sourceLabel = options.sourceLabel ?? '.';
  const slicer = new TimeSlicer();
  const warnings: string[] = [];
  const skipped: SkippedEntry[] = [];
  const read = readTextNoFollowSync;
  const list = listDirSync;
  const relLabel = (rel: string) => (sourceLabel === '.' ? rel : `${sourceLabel}/${rel}`);

  const rootEntries = list(absDir);
  const experiments: ExperimentRef[] = [];
  let registryDir: string | undefined;

  // The source may be a single experiment folder rather than the whole store.
  const rootMeta = rootEntries.find((e) => e.name === 'meta.yaml' && e.isFile());
  let rootMetaData: Record<string, unknown> | undefined;
  try {
    if (rootMeta) rootMetaData = parseYamlMapping(read(path.join(absDir, 'meta.yaml')));
  } catch {
    rootMetaData = undefined;
  }
  if (
    rootMetaData &&
    rootMetaData.experiment_id !== undefined &&
    rootMetaData.run_id === undefined &&
    rootMetaData.run_uuid === undefined
  ) {
    experiments.push({ id: str(rootMetaData.experiment_id) ?? path.basename(absDir), name: '', absDir, rel: '.', deleted: false });
  } else {
    for (const entry of rootEntries) {
      if (entry.isSymbolicLink()) {
        warnings.push(`${relLabel(entry.name)} is a symbolic link; not followed.`);
        continue;
      }
      if (!entry.isDirectory()) continue;
      if (entry.name === 'models') {
        registryDir = path.join(absDir, entry.name);
      } else if (entry.name === '.trash') {
        for (const trashed of list(path.join(absDir, '.trash'))) {
          if (trashed.isSymbolicLink()) {
            warnings.push(`${relLabel(`.trash/${trashed.name}`)} is a symbolic link; not followed.`);
          } else if (trashed.isDirectory() && !trashed.name.startsWith('.')) {
            experiments.push({
              id: trashed.name,
              name: '',
              absDir: path.join(absDir, '.trash', trashed.name),
              rel: `.trash/${trashed.name}`,
              deleted: true,
              deletedWhy: 'deleted experiment (under .trash)',
            });
          }
        }
      } else if (!entry.name.startsWith('.')) {
        experiments.push({ id: entry.name, name: '', absDir: path.join(absDir, entry.name), rel: entry.name, deleted: false });
      }
    }
  }

  const registry = registryDir ? readRegistry(registryDir, warnings, relLabel) : new Map<string, RegisteredVersion[]>();

  // Experiments: their meta.yaml and the run folders inside.
  const runJobs: { exp: ExperimentRef; runDir: string }[] = [];
  for (const exp of experiments) {
    await slicer.maybeYield();
    let entries: Dirent[];
    try {
      entries = list(exp.absDir);
    } catch (error) {
      warnings.push(`${relLabel(exp.rel)}: cannot list (${describeError(error)}).`);
      continue;
    }
    const runDirs: string[] = [];
    for (const entry of entries) {
      if (entry.isSymbolicLink()) {
        warnings.push(`${relLabel(`${exp.rel}/${entry.name}`)} is a symbolic link; not followed.`);
      } else if (entry.isDirectory() && !entry.name.startsWith('.') && !NON_RUN_FOLDERS.has(entry.name)) {
        runDirs.push(entry.name);
      }
    }
    if (exp.deleted && !includeDeleted) {
      // Everything under .trash is deleted: no need to read it.
      for (const runDir of runDirs)
        skipped.push({ what: `MLflow run ${runDir} (${relLabel(`${exp.rel}/${runDir}`)})`, reason: exp.deletedWhy ?? 'deleted' });
      continue;
    }
    const hasMeta = entries.some((e) => e.name === 'meta.yaml' && e.isFile());
    let meta: Record<string, unknown> | undefined;
    let problem: string | undefined;
    if (!hasMeta) {
      problem = 'has no meta.yaml (partly committed store?)';
    } else {
      try {
        meta = parseYamlMapping(read(path.join(exp.absDir, 'meta.yaml')));
        if (!meta) problem = 'has a meta.yaml that is not a YAML mapping';
      } catch (error) {
        problem = `has an unreadable meta.yaml (${describeError(error)})`;
      }
    }
    if (problem || !meta) {
      warnings.push(
        `Experiment folder ${relLabel(exp.rel)} ${problem}; ${runDirs.length} run folder${runDirs.length === 1 ? '' : 's'} in it not imported.`,
      );
      for (const runDir of runDirs)
        skipped.push({ what: `MLflow run ${runDir} (${relLabel(`${exp.rel}/${runDir}`)})`, reason: `its experiment folder ${problem}` });
      continue;
    }
    exp.name = str(meta.name) ?? '';
    if (meta.experiment_id !== undefined) exp.id = str(meta.experiment_id) ?? exp.id;
    if (!exp.deleted && meta.lifecycle_stage === 'deleted') {
      exp.deleted = true;
      exp.deletedWhy = 'deleted experiment (lifecycle_stage: deleted)';
    }
    for (const runDir of runDirs) runJobs.push({ exp, runDir });
  }

  const partials = new Map<ExperimentRef, string[]>();
  const ctx: RunContext = { includeDeleted, sourceLabel, warnings, registry, relLabel };
  const outcomes: RunOutcome[] = [];
  for (const { exp, runDir } of runJobs) {
    await slicer.maybeYield();
    try {
      outcomes.push(scanRun(exp, runDir, ctx));
    } catch (error) {
      outcomes.push({
        skipped: { what: `MLflow run ${runDir} (${relLabel(`${exp.rel}/${runDir}`)})`, reason: `unreadable: ${describeError(error)}` },
      });
    }
  }
  const runs: ImportedRun[] = [];
  outcomes.forEach((outcome, i) => {
    if (!outcome) return;
    if ('run' in outcome) runs.push(outcome.run);
    else if ('skipped' in outcome) skipped.push(outcome.skipped);
    else {
      const { exp } = runJobs[i]!;
      const list = partials.get(exp) ?? [];
      list.push(outcome.partial);
      partials.set(exp, list);
      skipped.push({
        what: `MLflow run ${outcome.partial} (${relLabel(`${exp.rel}/${outcome.partial}`)})`,
        reason: 'no meta.yaml (partly committed run)',
      });
    }
  });
  for (const [exp, names] of partials) {
    const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, … (${names.length - 5} more)` : '');
    warnings.push(
      `Experiment ${exp.id}${exp.name ? ` (${exp.name})` : ''}: ${names.length} run folder${names.length === 1 ? '' : 's'} without meta.yaml skipped (partly committed store?): ${shown}.`,
    );
  }

  runs.sort((a, b) => (a.started ?? '').localeCompare(b.started ?? '') || a.key.localeCompare(b.key));
  skipped.sort((a, b) => a.what.localeCompare(b.what));
  return { format: 'mlflow', runs, skipped, warnings };
}

interface RunContext {
  includeDeleted: boolean;
  sourceLabel: string;
  warnings: string[];
  registry: Map<string, RegisteredVersion[]>;
  relLabel: (rel: string) => string;
}

function scanRun(exp: ExperimentRef, runDir: string, ctx: RunContext): RunOutcome {
  const abs = `${exp.absDir}/${runDir}`;
  const rel = `${exp.rel === '.' ? '' : `${exp.rel}/`}${runDir}`;
  const what = `MLflow run ${runDir} (${ctx.relLabel(rel)})`;
  const entries = listDirSync(abs);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const metaEntry = byName.get('meta.yaml');
  if (!metaEntry) return { partial: runDir };
  if (metaEntry.isSymbolicLink()) return { skipped: { what, reason: 'meta.yaml is a symbolic link (not followed)' } };
  let meta: Record<string, unknown> | undefined;
  try {
    meta = parseYamlMapping(readTextNoFollowSync(`${abs}/meta.yaml`));
  } catch (error) {
    return { skipped: { what, reason: `meta.yaml unreadable (${describeError(error)})` } };
  }
  if (!meta) return { skipped: { what, reason: 'meta.yaml is not a valid YAML mapping' } };
  // The folder name is the run id MLflow itself uses (and it survives YAML reading "1e5…" ids as numbers).
  const runId = runDir;
  if (exp.deleted || meta.lifecycle_stage === 'deleted') {
    if (!ctx.includeDeleted) {
      return {
        skipped: { what, reason: exp.deleted ? (exp.deletedWhy ?? 'deleted experiment') : 'deleted run (lifecycle_stage: deleted)' },
      };
    }
  }

  const warn = (message: string) => ctx.warnings.push(`${ctx.relLabel(rel)}: ${message}`);
  const [paramTexts, tagTexts, metricTexts] = ['params', 'tags', 'metrics'].map((folder) => {
    const entry = byName.get(folder);
    if (!entry) return new Map<string, string>();
    if (entry.isSymbolicLink()) {
      warn(`${folder} is a symbolic link; not followed.`);
      return new Map<string, string>();
    }
    return readKeyedFolder(`${abs}/${folder}`, '', (m) => warn(`${folder}/${m}`));
  });

  const params: Record<string, unknown> = {};
  for (const [key, text] of [...paramTexts!].sort(([a], [b]) => a.localeCompare(b))) params[key] = coerceParamText(text);

  const tags: string[] = [];
  const notes: string[] = [];
  const tagMap = tagTexts!;
  for (const [key, value] of [...tagMap].sort(([a], [b]) => a.localeCompare(b))) {
    if (key.startsWith('mlflow.')) continue;
    tags.push(value === '' ? key : `${key}=${value}`);
  }
  const note = tagMap.get('mlflow.note.content')?.trim();
  if (note) notes.push(note);

  const metrics: Record<string, number> = {};
  const history: HistoryPoint[] = [];
  for (const [metric, text] of [...metricTexts!].sort(([a], [b]) => a.localeCompare(b))) {
    const points = parseMetricFile(text);
    if (points.bad > 0) warn(`metrics/${metric}: ${points.bad} malformed line${points.bad === 1 ? '' : 's'} skipped.`);
    const best = latestByStep(points.points);
    if (!best) {
      if (points.bad > 0 || text.trim() !== '') continue;
      warn(`metrics/${metric} is empty.`);
      continue;
    }
    metrics[metric] = best.value;
    for (const p of points.points) history.push({ metric, value: p.value, step: p.step, timestamp: p.iso });
  }

  const rawStatus = str(meta.status);
  const status: ImportedStatus = (rawStatus && STATUS_BY_CODE[rawStatus.toUpperCase()]) || 'completed';
  if (rawStatus && !STATUS_BY_CODE[rawStatus.toUpperCase()]) warn(`unknown status ${JSON.stringify(rawStatus)}; read as completed.`);
  const started = isoFromEpochMs(meta.start_time);
  const ended = status === 'running' ? null : isoFromEpochMs(meta.end_time);

  const commit = tagMap.get('mlflow.source.git.commit')?.trim() || null;
  const branch = tagMap.get('mlflow.source.git.branch')?.trim() || null;
  const runName = str(meta.run_name) || tagMap.get('mlflow.runName') || runId;
  const parent = tagMap.get('mlflow.parentRunId')?.trim();
  const source: Record<string, unknown> = {
    tool: 'mlflow',
    run_id: runId,
    experiment_id: exp.id,
    experiment_name: exp.name,
    path: ctx.sourceLabel,
    run_path: rel,
  };
  if (parent) source.parent_run_id = parent;
  const user = tagMap.get('mlflow.user') ?? str(meta.user_id);
  if (user) source.user = user;
  const entryPoint = tagMap.get('mlflow.source.name');
  if (entryPoint) source.entry_point = entryPoint;
  if (exp.deleted || meta.lifecycle_stage === 'deleted') source.deleted = true;
  const registered = ctx.registry.get(runId);
  if (registered) source.registered_models = registered;

  return {
    run: {
      key: `mlflow:${runId}`,
      suggestedName: runName,
      params,
      metrics,
      history,
      tags,
      status,
      started,
      ended,
      git: commit || branch ? { commit, branch } : null,
      notes,
      source,
    },
  };
}

/** Files of a params/, tags/ or metrics/ folder by key; a key containing "/" is a sub-folder. */
function readKeyedFolder(
  absDir: string,
  prefix: string,
  warn: (message: string) => void,
  out = new Map<string, string>(),
): Map<string, string> {
  for (const entry of listDirSync(absDir)) {
    const key = `${prefix}${entry.name}`;
    if (entry.isSymbolicLink()) {
      warn(`${key} is a symbolic link; not followed.`);
    } else if (entry.isDirectory()) {
      readKeyedFolder(`${absDir}/${entry.name}`, `${key}/`, warn, out);
    } else if (entry.isFile() && !entry.name.startsWith('.')) {
      try {
        out.set(key, readTextNoFollowSync(`${absDir}/${entry.name}`));
      } catch (error) {
        warn(`${key} unreadable (${describeError(error)}); skipped.`);
      }
    }
  }
  return out;
}

interface MetricPoint {
  value: number;
  step: number;
  timeMs: number;
  iso: string;
}

/**
 * Lines `timestamp value step` (2-field old form `timestamp value` has step 0; MLflow 3 adds a run id and more).
 * Timestamps are epoch milliseconds.
 */
export function parseMetricFile(text: string): { points: MetricPoint[]; bad: number } {
  const points: MetricPoint[] = [];
  let bad = 0;
  for (const rawLine of text.split('\n')) {
    const point = parseMetricLineFast(rawLine) ?? parseMetricLine(rawLine);
    if (point === null) continue;
    if (point === undefined) bad += 1;
    else points.push(point);
  }
  return { points, bad };
}

/** The common case, `<int> <number> <int>[ …]` separated by single spaces, without regular expressions. */
function parseMetricLineFast(line: string): MetricPoint | undefined {
  const a = line.indexOf(' ');
  if (a <= 0) return undefined;
  const b = line.indexOf(' ', a + 1);
  const end = line.endsWith('\r') ? line.length - 1 : line.length;
  const c = b < 0 ? -1 : line.indexOf(' ', b + 1);
  const timeMs = Number(line.slice(0, a));
  const value = parseNumberText(line.slice(a + 1, b < 0 ? end : b));
  const step = b < 0 ? 0 : Number(line.slice(b + 1, c < 0 ? end : c));
  if (!Number.isInteger(timeMs) || value === undefined || !Number.isSafeInteger(step) || (b >= 0 && b + 1 === (c < 0 ? end : c)))
    return undefined;
  const iso = isoFromEpochMs(timeMs);
  return iso === null ? undefined : { value, step, timeMs, iso };
}

/** Any whitespace between fields; null for a blank line, undefined for a malformed one. */
function parseMetricLine(rawLine: string): MetricPoint | null | undefined {
  const line = rawLine.trim();
  if (!line) return null;
  const fields = line.split(/\s+/);
  if (fields.length < 2) return undefined;
  const timeMs = Number(fields[0]);
  const value = parseNumberText(fields[1]!);
  const step = fields.length >= 3 ? Number(fields[2]) : 0;
  const iso = Number.isInteger(timeMs) ? isoFromEpochMs(timeMs) : null;
  if (iso === null || value === undefined || !Number.isSafeInteger(step)) return undefined;
  return { value, step, timeMs, iso };
}

/** Registered model versions by the run they came from (models/<name>/version-N/meta.yaml). */
function readRegistry(registryDir: string, warnings: string[], relLabel: (rel: string) => string): Map<string, RegisteredVersion[]> {
  const byRun = new Map<string, RegisteredVersion[]>();
  for (const model of listDirSync(registryDir)) {
    if (!model.isDirectory()) continue;
    for (const version of listDirSync(path.join(registryDir, model.name))) {
      if (!version.isDirectory() || !version.name.startsWith('version-')) continue;
      const metaPath = path.join(registryDir, model.name, version.name, 'meta.yaml');
      let meta: Record<string, unknown> | undefined;
      try {
        meta = parseYamlMapping(readTextNoFollowSync(metaPath));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          warnings.push(`${relLabel(`models/${model.name}/${version.name}/meta.yaml`)} unreadable (${describeError(error)}).`);
        }
        continue;
      }
      const runId = str(meta?.run_id);
      if (!meta || !runId) continue;
      const entry: RegisteredVersion = {
        name: str(meta.name) ?? model.name,
        version: typeof meta.version === 'number' ? meta.version : (str(meta.version) ?? version.name.slice('version-'.length)),
        stage: str(meta.current_stage) ?? null,
      };
      const listForRun = byRun.get(runId) ?? [];
      listForRun.push(entry);
      byRun.set(runId, listForRun);
    }
  }
  for (const versions of byRun.values()) versions.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version));
  return byRun;
}
