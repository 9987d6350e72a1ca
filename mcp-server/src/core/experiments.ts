/**
 * Experiments: create or update one (params and metrics merge, notes and history append), read one, read all.
 * Every change happens under the experiment's lock so concurrent writers — several servers, the Python client —
 * lose nothing; bulk writers create new experiments whole in a staging folder instead (docs/format.md, "Writing
 * safely").
 */
import * as path from 'node:path';
import { MlError, invalid, notFound } from './errors.js';
import type { GitInfo } from './git-info.js';
import { experimentsDir, updateIncrementMetadata, type Increment } from './increments.js';
import { decodeNumber, parseJsonObject, parseLenientJson, stringifyCanonical, stringifyLine } from './json.js';
import { toCanonical } from './metrics/vocabulary.js';
import { assertExperimentName, isExperimentName } from './names.js';
import type { Project } from './project.js';
import { facetOf } from './selection.js';
import {
  appendLines,
  fileDigest,
  isFile,
  listDirectories,
  listEntryKinds,
  makeDirs,
  moveDirectoryIntoPlace,
  readText,
  readTexts,
  removeTree,
  withLock,
  writeAtomic,
  writeNewFile,
} from './store/disk.js';
import { ensureGitignore, removeDeadLeftovers } from './store/leftovers.js';
import { assertPlainFilesIn } from './store/write-plan.js';
import { METADATA_KEY_ORDER, parseYamlMapping, stringifyMetadataYaml } from './yaml.js';

export const EXPERIMENT_STATUSES = ['running', 'completed', 'failed', 'killed'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export interface HistoryPoint {
  metric: string;
  value: number;
  step: number;
  timestamp: string;
}

export interface Artifact {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Note {
  time: string;
  text: string;
}

/** metadata.yaml as read: the documented keys typed, everything else kept in `extra`. */
export interface ExperimentMeta {
  name: string;
  status: ExperimentStatus;
  baseline: boolean;
  tags: string[];
  notes: Note[];
  created: string | null;
  started: string | null;
  ended: string | null;
  duration_seconds: number | null;
  updated: string | null;
  git: GitInfo | null;
  environment: Record<string, unknown>;
  artifacts: Artifact[];
  source: Record<string, unknown>;
  extra: Record<string, unknown>;
}

export interface Experiment {
  name: string;
  dir: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  meta: ExperimentMeta;
  baseline: boolean;
  status: ExperimentStatus;
}

export interface ExperimentUpdate {
  name: string;
  params?: Record<string, unknown> | null;
  metrics?: Record<string, number> | null;
  history?: { metric: string; value: number; step: number; timestamp?: string | null }[] | null;
  tags?: string[] | null;
  note?: string | null;
  status?: ExperimentStatus | null;
  baseline?: boolean | null;
  artifacts?: string[] | null;
  /** Importers: where the run came from. */
  source?: Record<string, unknown> | null;
  /** Importers: the run's own times, instead of now. */
  started?: string | null;
  ended?: string | null;
  /** Importers: the run's own git commit instead of the project's. */
  git?: GitInfo | null;
  /** Importers: several notes at once (note appends one). */
  notes?: string[] | null;
}

export interface TrackContext {
  git: () => Promise<GitInfo | null>;
  now?: () => Date;
}

export interface TrackResult {
  experiment: string;
  path: string;
  created: boolean;
  status: ExperimentStatus;
  baseline: boolean;
  metrics: Record<string, number>;
  params_count: number;
  history_points_added: number;
  artifacts: Artifact[];
}

const ENVIRONMENT = { node: process.version, platform: `${process.platform}-${process.arch}` };

export function experimentDir(inc: Increment, name: string): string {
  return path.join(experimentsDir(inc), assertExperimentName(name));
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

function readJsonObject(project: Project, file: () => string, text: string | undefined): Record<string, unknown> | undefined {
  return text === undefined
    ? undefined
    : parseJsonObject(text, () => project.relative(file()), 'Fix or delete the file; the other files of the experiment are intact.');
}

function decodeMetrics(project: Project, file: () => string, raw: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    const n = decodeNumber(v);
    if (n === undefined) {
      throw new MlError(
        'CORRUPT',
        `${project.relative(file())}: metric ${JSON.stringify(k)} has the non-numeric value ${JSON.stringify(v)}.`,
        'Metric values are numbers or "NaN", "Infinity", "-Infinity".',
      );
    }
    out[k] = n;
  }
  return out;
}

const str = (v: unknown) => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : null);

function readMeta(name: string, raw: Record<string, unknown>): ExperimentMeta {
  const known = new Set(METADATA_KEY_ORDER);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!known.has(k)) extra[k] = v;
  const status = EXPERIMENT_STATUSES.includes(raw.status as ExperimentStatus) ? (raw.status as ExperimentStatus) : 'completed';
  const notes = (Array.isArray(raw.notes) ? raw.notes : []).map((n): Note =>
    n && typeof n === 'object'
      ? { time: str((n as Record<string, unknown>).time) ?? '', text: String((n as Record<string, unknown>).text ?? '') }
      : { time: '', text: String(n) },
  );
  const artifacts = (Array.isArray(raw.artifacts) ? raw.artifacts : [])
    .filter((a): a is Record<string, unknown> => !!a && typeof a === 'object' && typeof (a as Record<string, unknown>).path === 'string')
    .map((a) => ({ path: String(a.path), bytes: Number(a.bytes ?? 0), sha256: String(a.sha256 ?? '') }));
  const git = raw.git && typeof raw.git === 'object' ? (raw.git as Record<string, unknown>) : null;
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  return {
    name,
    status,
    baseline: raw.baseline === true,
    tags: (Array.isArray(raw.tags) ? raw.tags : []).map(String),
    notes,
    created: str(raw.created),
    started: str(raw.started),
    ended: str(raw.ended),
    duration_seconds: typeof raw.duration_seconds === 'number' ? raw.duration_seconds : null,
    updated: str(raw.updated),
    git: git ? { commit: str(git.commit), branch: str(git.branch), dirty: git.dirty === true } : null,
    environment: obj(raw.environment),
    artifacts,
    source: obj(raw.source),
    extra,
  };
}

const SUMMARY_FILES = ['params.json', 'metrics.json', 'metadata.yaml'] as const;

/** An experiment from the texts of its three summary files. Throws CORRUPT for a broken file, naming it. */
function parseExperiment(
  project: Project,
  inc: Increment,
  dir: string,
  name: string,
  [paramsText, metricsText, metaText]: (string | undefined)[],
): Experiment {
  // File names for messages are built only when a file turns out to be broken.
  const file = (f: string) => () => path.join(dir, f);
  const params = readJsonObject(project, file('params.json'), paramsText);
  const metricsRaw = readJsonObject(project, file('metrics.json'), metricsText);
  if (params === undefined && metricsRaw === undefined && metaText === undefined) {
    throw notFound(
      `No experiment ${JSON.stringify(name)} in ${inc.id}.`,
      'Call list_experiments to see the names, or track_experiment to create it.',
    );
  }
  const metaRaw = metaText === undefined ? {} : parseYamlMapping(metaText, () => project.relative(path.join(dir, 'metadata.yaml')));
  const meta = readMeta(name, metaRaw);
  return {
    name,
    dir,
    params: params ?? {},
    metrics: decodeMetrics(project, file('metrics.json'), metricsRaw ?? {}),
    meta,
    baseline: meta.baseline,
    status: meta.status,
  };
}

/** Reads one experiment's summary files (not its history). Throws CORRUPT for a broken file, naming it. */
export async function readExperiment(project: Project, inc: Increment, name: string): Promise<Experiment> {
  const dir = experimentDir(inc, name);
  const texts = await Promise.all(SUMMARY_FILES.map((f) => readText(path.join(dir, f))));
  return parseExperiment(project, inc, dir, name, texts);
}

export interface BrokenExperiment {
  name: string;
  reason: string;
}

/** Names of the experiment folders of an increment. */
export async function listExperimentNames(inc: Increment): Promise<string[]> {
  const names = await listDirectories(experimentsDir(inc));
  return names.filter((n) => !n.startsWith('.') && !n.startsWith('_'));
}

/** Every experiment of an increment; broken ones are reported, not dropped silently and not fatal. */
export async function readAllExperiments(
  project: Project,
  inc: Increment,
): Promise<{ experiments: Experiment[]; broken: BrokenExperiment[] }> {
  const names = await listExperimentNames(inc);
  const experiments: Experiment[] = [];
  const broken: BrokenExperiment[] = [];
  const valid = names.filter((name) => {
    if (isExperimentName(name)) return true;
    broken.push({ name, reason: 'the folder name is not a valid experiment name' });
    return false;
  });
  const root = experimentsDir(inc);
  const dirs = valid.map((name) => `${root}${path.sep}${name}`);
  const texts = await readTexts(dirs.flatMap((dir) => SUMMARY_FILES.map((f) => `${dir}${path.sep}${f}`)));
  valid.forEach((name, i) => {
    try {
      experiments.push(parseExperiment(project, inc, dirs[i]!, name, texts.slice(i * 3, i * 3 + 3)));
    } catch (e) {
      broken.push({ name, reason: e instanceof MlError ? e.message : String(e) });
    }
  });
  broken.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { experiments, broken };
}

/**
 * The run keys (`source.key`) the experiments of an increment record, for the importer's dedupe. Reads only each
 * metadata.yaml. One that does not parse fails the call: the run it holds could otherwise be imported twice.
 */
export async function readImportedRunKeys(project: Project, inc: Increment, names: string[]): Promise<Set<string>> {
  const root = experimentsDir(inc);
  const valid = names.filter(isExperimentName);
  const texts = await readTexts(valid.map((name) => `${root}${path.sep}${name}${path.sep}metadata.yaml`));
  const keys = new Set<string>();
  valid.forEach((name, i) => {
    const text = texts[i];
    if (text === undefined) return;
    let raw: Record<string, unknown>;
    try {
      raw = parseYamlMapping(text, () => project.relative(path.join(root, name, 'metadata.yaml')));
    } catch (e) {
      if (!(e instanceof MlError)) throw e;
      throw new MlError(
        'CORRUPT',
        `${e.message} import_runs cannot tell which run that experiment holds; nothing was imported.`,
        'Fix or delete that metadata.yaml, then import again.',
      );
    }
    const source = raw.source;
    const key = source && typeof source === 'object' ? (source as Record<string, unknown>).key : undefined;
    if (typeof key === 'string') keys.add(key);
  });
  return keys;
}

/** The history points of an experiment; lines that do not parse (a crashed writer) are counted, not fatal. */
export async function readHistory(dir: string): Promise<{ points: HistoryPoint[]; skippedLines: number }> {
  const text = await readText(path.join(dir, 'history.jsonl'));
  const points: HistoryPoint[] = [];
  let skippedLines = 0;
  if (!text) return { points, skippedLines };
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      const o = parseLenientJson(line) as Record<string, unknown>;
      const value = decodeNumber(o.value);
      const step = Number(o.step);
      if (typeof o.metric !== 'string' || value === undefined || !Number.isInteger(step)) throw new Error('bad point');
      points.push({ metric: o.metric, value, step, timestamp: String(o.timestamp ?? '') });
    } catch {
      skippedLines += 1;
    }
  }
  return { points, skippedLines };
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/**
 * Finds a file an experiment refers to (an artifact, a predictions file): in the experiment folder first, then
 * relative to the increment. Never outside the increment, whatever the path or its symlinks say.
 */
export async function resolveExperimentFile(
  project: Project,
  inc: Increment,
  dir: string,
  given: string,
  what = 'artifact path',
): Promise<string> {
  const inExperiment = await project.resolveWithin(inc.dir, dir, given, what);
  if (await isFile(inExperiment)) return inExperiment;
  const inIncrement = await project.resolveWithin(inc.dir, inc.dir, given, what);
  if (await isFile(inIncrement)) return inIncrement;
  throw notFound(
    `${what === 'artifact path' ? 'Artifact' : 'File'} ${JSON.stringify(given)} not found: looked for ${project.relative(inExperiment)} and ${project.relative(inIncrement)}.`,
    'Save the file first, then pass its path relative to the experiment folder (e.g. "model.pkl") or to the increment (e.g. "models/model-v3.pkl").',
  );
}

function validateUpdate(u: ExperimentUpdate): void {
  assertExperimentName(u.name);
  for (const p of u.history ?? []) {
    if (!p.metric || typeof p.metric !== 'string')
      throw invalid('A history point has no metric name.', 'Each point is {metric, value, step}.');
    if (!Number.isInteger(p.step) || p.step < 0)
      throw invalid(
        `History point for ${JSON.stringify(p.metric)} has step ${p.step}.`,
        'step must be an integer >= 0 (epoch, iteration or fold index).',
      );
  }
  for (const t of u.tags ?? [])
    if (!t.trim()) throw invalid('Empty tag.', 'Tags are non-empty strings such as "baseline" or "production-candidate".');
}

/**
 * scikit-learn's neg_* scores are recorded as the metric they negate: neg_root_mean_squared_error −55 is rmse 55
 * (docs/metrics.md). Every other name is kept as logged.
 */
function positiveMetric(name: string, value: number): { metric: string; value: number } {
  if (!/(^|[_/])neg_/i.test(name)) return { metric: name, value };
  const c = toCanonical(name, value);
  return { metric: c.name, value: c.value };
}

/** A per-fold cross-validation score: cv_<metric> with no summary suffix; its step is the fold index. */
function isFoldMetric(metric: string): boolean {
  const f = facetOf(metric);
  return f.split === 'cv' && f.stat === undefined;
}

/**
 * The summary of a fold metric's points: cv_<m>_mean, cv_<m>_std (sample, ddof = 1; omitted for one fold) and
 * cv_<m>_count, over one score per fold (a fold logged twice counts its last point). The Python client writes the
 * same keys; the last fold alone is never a summary.
 */
export function foldSummary(metric: string, points: HistoryPoint[]): Record<string, number> {
  const byFold = new Map<number, number>();
  for (const p of points) if (p.metric === metric) byFold.set(p.step, p.value);
  const values = [...byFold.values()];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const out: Record<string, number> = { [`${metric}_mean`]: mean, [`${metric}_count`]: values.length };
  if (values.length > 1) out[`${metric}_std`] = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return out;
}

/** Summary values implied by history: per metric, the point with the highest step (ties: the last logged). */
function latestByStep(points: HistoryPoint[]): Map<string, HistoryPoint> {
  const latest = new Map<string, HistoryPoint>();
  for (const p of points) {
    const cur = latest.get(p.metric);
    if (!cur || p.step >= cur.step) latest.set(p.metric, p);
  }
  return latest;
}

interface Merged {
  created: boolean;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  meta: ExperimentMeta;
  newPoints: HistoryPoint[];
}

/**
 * The merge rules of an update, as a pure function of what is on disk: params and metrics merge, tags, notes and
 * history append, the summary of a logged metric is its highest-step point, times follow the status.
 */
function mergeUpdate(
  existing: Experiment | undefined,
  oldPoints: HistoryPoint[],
  update: ExperimentUpdate,
  stamp: string,
  git: GitInfo | null,
  digests: Artifact[],
): Merged {
  const params = { ...(existing?.params ?? {}), ...(update.params ?? {}) };
  const metrics = { ...(existing?.metrics ?? {}) };
  const newPoints: HistoryPoint[] = (update.history ?? []).map((p) => ({
    ...positiveMetric(p.metric, p.value),
    step: p.step,
    timestamp: p.timestamp ?? stamp,
  }));
  if (newPoints.length) {
    const all = [...oldPoints, ...newPoints];
    const latest = latestByStep(all);
    for (const metric of new Set(newPoints.map((p) => p.metric))) {
      if (isFoldMetric(metric)) {
        delete metrics[metric]; // an older writer's last-fold summary
        Object.assign(metrics, foldSummary(metric, all));
      } else {
        metrics[metric] = latest.get(metric)!.value;
      }
    }
  }
  const folded = new Set(newPoints.map((p) => p.metric).filter(isFoldMetric));
  for (const [name, value] of Object.entries(update.metrics ?? {})) {
    const m = positiveMetric(name, value);
    // An importer passes the source's latest value of every metric; for fold scores that is the last fold,
    // which is never a summary: their summary is the fold mean, std and count above.
    if (!folded.has(m.metric)) metrics[m.metric] = m.value;
  }

  const meta: ExperimentMeta = existing?.meta ?? {
    name: update.name,
    status: 'completed',
    baseline: false,
    tags: [],
    notes: [],
    created: stamp,
    started: update.started !== undefined ? update.started : stamp,
    ended: null,
    duration_seconds: null,
    updated: stamp,
    git: null,
    environment: {},
    artifacts: [],
    source: {},
    extra: {},
  };
  // A new experiment without a status was tracked after the fact: it is complete.
  meta.status = update.status ?? meta.status;
  if (update.baseline != null) meta.baseline = update.baseline;
  for (const t of update.tags ?? []) if (!meta.tags.includes(t.trim())) meta.tags.push(t.trim());
  for (const note of [update.note, ...(update.notes ?? [])]) if (note?.trim()) meta.notes.push({ time: stamp, text: note.trim() });
  const endedBefore = existing ? meta.ended : undefined;
  if (update.started) meta.started = update.started;
  if (meta.status === 'running') meta.ended = null;
  // An importer passes the run's own end, null when the source does not know it.
  else if (update.ended !== undefined) meta.ended = update.ended;
  else if (!meta.ended) meta.ended = stamp;
  // Only a new end changes the duration: a note or a metric added later keeps it, and so does the sum of sessions
  // the Python client records for a reopened experiment.
  if (meta.ended !== endedBefore || meta.duration_seconds === null || update.started) {
    meta.duration_seconds = meta.started && meta.ended ? Math.max(0, (Date.parse(meta.ended) - Date.parse(meta.started)) / 1000) : null;
  }
  meta.updated = stamp;
  meta.git = git;
  meta.environment = { ...meta.environment, ...ENVIRONMENT };
  for (const d of digests) {
    const i = meta.artifacts.findIndex((a) => a.path === d.path);
    if (i >= 0) meta.artifacts[i] = d;
    else meta.artifacts.push(d);
  }
  meta.source = update.source ?? (Object.keys(meta.source).length ? meta.source : { tool: 'mcp' });
  return { created: existing === undefined, params, metrics, meta, newPoints };
}

/** The three summary files of a merged experiment, as file name and text. */
function summaryFiles(m: Merged): [string, string][] {
  return [
    ['params.json', stringifyCanonical(m.params)],
    ['metrics.json', stringifyCanonical(m.metrics)],
    ['metadata.yaml', stringifyMetadataYaml(metaToYaml(m.meta))],
  ];
}

const historyLines = (points: HistoryPoint[]) =>
  points.map((p) => stringifyLine({ metric: p.metric, value: p.value, step: p.step, timestamp: p.timestamp }));

function trackResult(project: Project, dir: string, name: string, m: Merged): TrackResult {
  return {
    experiment: name,
    path: project.relative(dir),
    created: m.created,
    status: m.meta.status,
    baseline: m.meta.baseline,
    metrics: m.metrics,
    params_count: Object.keys(m.params).length,
    history_points_added: m.newPoints.length,
    artifacts: m.meta.artifacts,
  };
}

export async function trackExperiment(project: Project, inc: Increment, update: ExperimentUpdate, ctx: TrackContext): Promise<TrackResult> {
  validateUpdate(update);
  const dir = experimentDir(inc, update.name);
  const stamp = (ctx.now ?? (() => new Date()))().toISOString();
  // Outside the lock: git and artifact hashing can be slow and do not depend on the experiment's files.
  const git = update.git !== undefined ? update.git : await ctx.git();
  const artifactPaths = await Promise.all((update.artifacts ?? []).map((a) => resolveExperimentFile(project, inc, dir, a)));
  const digests = await Promise.all(
    artifactPaths.map(async (abs) => ({ path: path.relative(dir, abs).split(path.sep).join('/'), ...(await fileDigest(abs)) })),
  );

  const result = await withLock(path.join(dir, '.lock'), async () => {
    // One directory listing tells a new experiment (nothing to read) from an existing one, shows targets that are
    // not plain files, and finds the crash leftovers of dead writers.
    const entries = await listEntryKinds(dir);
    const present = (f: string) => entries.get(f) === 'file';
    // Plan: read and parse everything, merge, render. A broken file throws here, before anything is written.
    const existing = SUMMARY_FILES.some(present) ? await readExperiment(project, inc, update.name) : undefined;
    const oldPoints = update.history?.length && present('history.jsonl') ? (await readHistory(dir)).points : [];
    const merged = mergeUpdate(existing, oldPoints, update, stamp, git, digests);
    const summaries = summaryFiles(merged);
    const lines = historyLines(merged.newPoints);
    assertPlainFilesIn(project, dir, entries, [...SUMMARY_FILES, ...(lines.length ? ['history.jsonl'] : [])]);
    // Write: history first, then the summaries. A crash in between leaves the summary one point behind the
    // history, the state docs/format.md allows and the next point of that metric repairs; never a summary
    // without its point. The summaries are independent files: their flushes overlap, each atomic on its own.
    await appendLines(path.join(dir, 'history.jsonl'), lines);
    await Promise.all(summaries.map(([name, text]) => writeAtomic(path.join(dir, name), text)));
    await removeDeadLeftovers(dir, entries);
    return trackResult(project, dir, update.name, merged);
  });
  if (result.created) await markIncrementActive(project, inc, stamp);
  await ensureGitignore(project.specweaveDir);
  return result;
}

/** A new experiment rendered in full, ready to be written whole (createExperimentStaged, the importer). */
export interface StagedExperiment {
  name: string;
  files: [string, string][];
  merged: Merged;
  update: ExperimentUpdate;
}

/** Validates and renders a new experiment without touching the disk: every file's text, in memory. */
export async function planNewExperiment(update: ExperimentUpdate, ctx: TrackContext): Promise<StagedExperiment> {
  validateUpdate(update);
  const stamp = (ctx.now ?? (() => new Date()))().toISOString();
  const git = update.git !== undefined ? update.git : await ctx.git();
  const merged = mergeUpdate(undefined, [], update, stamp, git, []);
  const lines = historyLines(merged.newPoints);
  const files = summaryFiles(merged);
  if (lines.length) files.push(['history.jsonl', `${lines.join('\n')}\n`]);
  return { name: update.name, files, merged, update };
}

/** Writes a planned experiment's files, flushed, into `<stagingRoot>/<name>/`, a folder no reader looks at. */
export async function writeStagedExperiment(stagingRoot: string, plan: StagedExperiment): Promise<void> {
  const staged = path.join(stagingRoot, plan.name);
  await makeDirs(staged); // once, rather than each file discovering the folder is missing
  await Promise.all(plan.files.map(([name, text]) => writeNewFile(path.join(staged, name), text)));
}

/**
 * Renames a staged experiment into `experiments/<name>`: it appears complete or not at all. Fails with CONFLICT
 * (the staged copy stays for the caller to drop) when an experiment of that name appeared meanwhile.
 */
export async function publishStagedExperiment(
  project: Project,
  inc: Increment,
  stagingRoot: string,
  plan: StagedExperiment,
): Promise<TrackResult> {
  const dir = experimentDir(inc, plan.name);
  if (!(await moveDirectoryIntoPlace(path.join(stagingRoot, plan.name), dir))) {
    throw new MlError(
      'CONFLICT',
      `An experiment named ${JSON.stringify(plan.name)} appeared while importing.`,
      'Import again; the run gets another name.',
    );
  }
  return trackResult(project, dir, plan.name, plan.merged);
}

/** Drops a staged experiment that will not be published. */
export async function discardStagedExperiment(stagingRoot: string, name: string): Promise<void> {
  await removeTree(path.join(stagingRoot, name));
}

/**
 * Creates a new experiment whole, for bulk writers (the importer): its files are written in a private staging
 * folder (`experiments/.staging-*`, which readers ignore) and the folder is renamed into place, so the experiment
 * appears complete or not at all, without the experiment lock and with about half the file operations of
 * trackExperiment. Fails with
 * CONFLICT when an experiment of that name appeared meanwhile; the caller picks another name.
 */
export async function createExperimentStaged(
  project: Project,
  inc: Increment,
  stagingRoot: string,
  update: ExperimentUpdate,
  ctx: TrackContext,
): Promise<TrackResult> {
  const plan = await planNewExperiment(update, ctx);
  await writeStagedExperiment(stagingRoot, plan);
  return publishStagedExperiment(project, inc, stagingRoot, plan);
}

function metaToYaml(meta: ExperimentMeta): Record<string, unknown> {
  const { extra, ...known } = meta;
  return { ...extra, ...known };
}

/** The first experiment turns a planned increment into an active one (SpecWeave's planning → active). */
export async function markIncrementActive(project: Project, inc: Increment, stamp: string): Promise<void> {
  await updateIncrementMetadata(project, inc, (raw) => {
    const status = raw.status === 'planned' ? 'planning' : raw.status;
    if (status !== 'planning') return undefined;
    return { ...raw, status: 'active', lastActivity: stamp };
  }).catch(() => undefined); // A broken metadata.json is reported by validate_increment, not here.
}
