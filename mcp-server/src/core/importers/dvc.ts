/**
 * Reads a DVC project without writing anything: the workspace (`params.yaml`, metrics files, `dvclive/` step
 * histories), experiments committed as git refs (`refs/exps/<baseline[0:2]>/<baseline[2:]>/<name>`, read from the
 * commits with git plumbing), and exported experiment folders `exps/<name>/` holding the same files.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describeError, listDir, readTextNoFollow, resolveInside } from './fs-read.js';
import { entryInfo } from '../store/disk.js';
import { catBlobs, gitText, lsTree, type TreeEntry } from './git-read.js';
import type { DvcScanOptions, HistoryPoint, ImportedRun, ImporterDefinition, ImportScan, SkippedEntry } from './types.js';
import {
  flattenObject,
  isoFromEpochMs,
  isPlainObject,
  latestByStep,
  metricValue,
  parseForeignYaml,
  parseLenientJson,
  parseNumberText,
  stripBom,
} from './values.js';

/** Metrics files read when present, after those dvc.yaml declares. */
const DEFAULT_METRICS_FILES = ['metrics.json', 'metrics.yaml', 'metrics.yml', 'dvclive/metrics.json', 'dvclive.json'];
/** Summaries written by DVCLive, whose `step` key is the step counter, not a metric. */
const DVCLIVE_SUMMARIES = new Set(['dvclive/metrics.json', 'dvclive.json']);
/** Where DVCLive writes per-step histories: 0.x `dvclive/<m>.tsv` and `dvclive/scalars/`, 1.x+ `dvclive/plots/metrics/`. */
const HISTORY_DIRS = ['dvclive', 'dvclive/scalars', 'dvclive/plots/metrics'];

interface SnapshotEntry {
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'other';
}

/** One state of a DVC project: the working tree or a commit. Paths are relative to the DVC project folder, "/"-separated. */
interface SnapshotReader {
  list(rel: string): Promise<SnapshotEntry[]>;
  /** undefined when the file does not exist; throws when it exists but cannot be read. */
  read(rel: string): Promise<string | undefined>;
  /**
   * Time for the points of a history file without a timestamp column (DVCLive 3.x writes only `step`): the
   * commit's date in git, the file's modification time in a folder.
   */
  fallbackTime(rel: string): Promise<string | null>;
}

interface Snapshot {
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  history: HistoryPoint[];
  started: string | null;
  ended: string | null;
  /** Files that contributed (for the report and the content hash). */
  files: string[];
}

function parseByExtension(rel: string, text: string): unknown {
  if (rel.endsWith('.json')) return parseLenientJson(text);
  return parseForeignYaml(text);
}

async function readSnapshot(reader: SnapshotReader, where: string, warn: (message: string) => void): Promise<Snapshot | undefined> {
  const files: string[] = [];
  const readData = async (rel: string): Promise<unknown> => {
    let text: string | undefined;
    try {
      text = await reader.read(rel);
    } catch (error) {
      warn(`${where}/${rel} unreadable (${describeError(error)}); skipped.`);
      return undefined;
    }
    if (text === undefined) return undefined;
    if (rel.endsWith('.toml')) {
      warn(`${where}/${rel}: TOML files are not read; skipped.`);
      return undefined;
    }
    try {
      const data = parseByExtension(rel, text);
      files.push(rel);
      return data;
    } catch (error) {
      warn(
        `${where}/${rel} is not valid ${rel.endsWith('.json') ? 'JSON' : 'YAML'} (${(error as Error).message.split('\n')[0]}); skipped.`,
      );
      return undefined;
    }
  };

  // dvc.yaml: the params and metrics files it declares.
  const paramFiles = ['params.yaml'];
  const metricFiles: string[] = [];
  const dvcYaml = await readData('dvc.yaml');
  if (isPlainObject(dvcYaml)) {
    const addPath = (list: string[], p: unknown) => {
      if (typeof p === 'string' && p && !list.includes(path.posix.normalize(p))) list.push(path.posix.normalize(p));
    };
    const addItems = (list: string[], items: unknown, isParams: boolean) => {
      if (!Array.isArray(items)) return;
      for (const item of items) {
        if (typeof item === 'string') {
          if (!isParams) addPath(list, item); // a bare string under params: is a key of params.yaml
        } else if (isPlainObject(item)) {
          for (const key of Object.keys(item)) addPath(list, key);
        }
      }
    };
    // Top-level params: (written by DVCLive's log_param) lists files; a stage's params: lists keys of params.yaml.
    addItems(paramFiles, dvcYaml.params, false);
    addItems(metricFiles, dvcYaml.metrics, false);
    if (isPlainObject(dvcYaml.stages)) {
      for (const stage of Object.values(dvcYaml.stages)) {
        if (!isPlainObject(stage)) continue;
        addItems(paramFiles, stage.params, true);
        addItems(metricFiles, stage.metrics, false);
      }
    }
  }
  for (const f of DEFAULT_METRICS_FILES) if (!metricFiles.includes(f)) metricFiles.push(f);

  const params: Record<string, unknown> = {};
  for (const rel of paramFiles) {
    const data = await readData(rel);
    if (data === undefined || data === null) continue;
    if (!isPlainObject(data)) {
      warn(`${where}/${rel} is not a mapping; skipped.`);
      continue;
    }
    for (const [k, v] of Object.entries(flattenObject(data))) if (!(k in params)) params[k] = v;
  }

  const metrics: Record<string, number> = {};
  for (const rel of metricFiles) {
    const data = await readData(rel);
    if (data === undefined || data === null) continue;
    if (!isPlainObject(data)) {
      warn(`${where}/${rel} is not a mapping; skipped.`);
      continue;
    }
    for (const [k, v] of Object.entries(flattenObject(data))) {
      if (DVCLIVE_SUMMARIES.has(rel) && k === 'step') continue;
      const n = metricValue(v);
      if (n !== undefined && !(k in metrics)) metrics[k] = n;
    }
  }

  // dvclive histories.
  const history: HistoryPoint[] = [];
  const seenHistory = new Set<string>();
  const tsvs: { rel: string; metric: string }[] = [];
  const collect = async (dir: string, base: string, recursive: boolean) => {
    for (const entry of await reader.list(dir)) {
      const rel = `${dir}/${entry.name}`;
      if (entry.kind === 'symlink') warn(`${where}/${rel} is a symbolic link; not followed.`);
      else if (entry.kind === 'file' && entry.name.endsWith('.tsv'))
        tsvs.push({
          rel,
          metric: rel
            .slice(base.length + 1, -4)
            .split('/')
            .join('.'),
        });
      else if (entry.kind === 'dir' && recursive) await collect(rel, base, true);
    }
  };
  for (const dir of HISTORY_DIRS) await collect(dir, dir, dir !== 'dvclive');
  let minMs = Number.POSITIVE_INFINITY;
  let maxMs = Number.NEGATIVE_INFINITY;
  for (const { rel, metric } of tsvs) {
    if (seenHistory.has(metric)) continue;
    let text: string | undefined;
    try {
      text = await reader.read(rel);
    } catch (error) {
      warn(`${where}/${rel} unreadable (${describeError(error)}); skipped.`);
      continue;
    }
    if (text === undefined) continue;
    const parsed = parseTsv(stripBom(text), metric.split('.').pop()!, await reader.fallbackTime(rel));
    if (!parsed) {
      warn(`${where}/${rel} has no header with a value column; skipped.`);
      continue;
    }
    if (parsed.bad > 0) warn(`${where}/${rel}: ${parsed.bad} malformed row${parsed.bad === 1 ? '' : 's'} skipped.`);
    if (parsed.points.length === 0) continue;
    seenHistory.add(metric);
    files.push(rel);
    for (const p of parsed.points) {
      history.push({ metric, value: p.value, step: p.step, timestamp: p.iso });
      if (p.hasTime) {
        minMs = Math.min(minMs, p.timeMs);
        maxMs = Math.max(maxMs, p.timeMs);
      }
    }
    if (!(metric in metrics)) metrics[metric] = latestByStep(parsed.points)!.value;
  }

  if (files.filter((f) => f !== 'dvc.yaml').length === 0) return undefined;
  return {
    params,
    metrics,
    history,
    started: Number.isFinite(minMs) ? isoFromEpochMs(minMs) : null,
    ended: Number.isFinite(maxMs) ? isoFromEpochMs(maxMs) : null,
    files,
  };
}

interface TsvPoint {
  value: number;
  step: number;
  timeMs: number;
  hasTime: boolean;
  iso: string;
}

/** A DVCLive history: a header `timestamp step <metric>` (any order; timestamp and step optional), tab-separated. */
export function parseTsv(text: string, metricName: string, fallbackTime: string | null): { points: TsvPoint[]; bad: number } | undefined {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return { points: [], bad: 0 };
  const header = lines[0]!.split('\t').map((h) => h.trim());
  const tIdx = header.indexOf('timestamp');
  const sIdx = header.indexOf('step');
  let vIdx = header.indexOf(metricName);
  if (vIdx < 0) vIdx = header.findIndex((_, i) => i !== tIdx && i !== sIdx);
  if (vIdx < 0) return undefined;
  const fallbackMs = fallbackTime ? Date.parse(fallbackTime) : 0;
  const points: TsvPoint[] = [];
  let bad = 0;
  for (let row = 1; row < lines.length; row += 1) {
    const cells = lines[row]!.split('\t');
    const value = parseNumberText(cells[vIdx] ?? '');
    const step = sIdx >= 0 ? Number(cells[sIdx]) : row - 1;
    const rawTime = tIdx >= 0 ? Number(cells[tIdx]) : Number.NaN;
    const hasTime = Number.isFinite(rawTime) && (cells[tIdx] ?? '').trim() !== '';
    const timeMs = hasTime ? rawTime : fallbackMs;
    const iso = isoFromEpochMs(Math.round(timeMs));
    if (value === undefined || !Number.isSafeInteger(step) || iso === null || (tIdx >= 0 && !hasTime)) {
      bad += 1;
      continue;
    }
    points.push({ value, step, timeMs, hasTime, iso });
  }
  return { points, bad };
}

/** The working tree under `root`, never following symlinks out of it. */
function fsReader(root: string): SnapshotReader {
  return {
    async fallbackTime(rel) {
      const target = await resolveInside(root, rel);
      if ('error' in target) return null;
      const info = await entryInfo(target.abs).catch(() => undefined);
      return info ? isoFromEpochMs(Math.round(info.mtimeMs)) : null;
    },
    async list(rel) {
      const target = await resolveInside(root, rel);
      if ('error' in target || target.kind !== 'dir') return [];
      return (await listDir(target.abs)).map((e) => ({
        name: e.name,
        kind: e.isSymbolicLink() ? 'symlink' : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other',
      }));
    },
    async read(rel) {
      const target = await resolveInside(root, rel);
      if ('error' in target) {
        if (target.error === 'missing') return undefined;
        throw new Error(target.error);
      }
      if (target.kind !== 'file') return undefined;
      return readTextNoFollow(target.abs);
    },
  };
}

/** A commit's tree under `prefix` (the DVC project folder relative to the repository root). */
function gitReader(repoRoot: string, entries: TreeEntry[], prefix: string, fallbackTime: string | null): SnapshotReader {
  const byPath = new Map<string, TreeEntry>();
  const children = new Map<string, Map<string, SnapshotEntry>>();
  const kindOf = (e: TreeEntry): SnapshotEntry['kind'] => (e.mode === '120000' ? 'symlink' : e.type === 'blob' ? 'file' : 'other');
  for (const e of entries) {
    if (!e.path.startsWith(prefix)) continue;
    const rel = e.path.slice(prefix.length);
    byPath.set(rel, e);
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i += 1) {
      const dir = parts.slice(0, i).join('/');
      const map = children.get(dir) ?? new Map<string, SnapshotEntry>();
      children.set(dir, map);
      if (!map.has(parts[i]!)) map.set(parts[i]!, { name: parts[i]!, kind: i === parts.length - 1 ? kindOf(e) : 'dir' });
    }
  }
  return {
    fallbackTime: async () => fallbackTime,
    async list(rel) {
      return [...(children.get(rel)?.values() ?? [])];
    },
    async read(rel) {
      const entry = byPath.get(path.posix.normalize(rel));
      if (!entry) return undefined;
      if (entry.mode === '120000') throw new Error('is a symbolic link (not followed)');
      if (entry.type !== 'blob') return undefined;
      const blob = (await catBlobs(repoRoot, [entry.oid])).get(entry.oid);
      if (!blob) throw new Error(`object ${entry.oid} missing from the repository`);
      return blob.toString('utf8');
    },
  };
}

function contentHash(snapshot: Snapshot): string {
  const stable = JSON.stringify([
    Object.entries(snapshot.params).sort(),
    Object.entries(snapshot.metrics)
      .map(([k, v]) => [k, String(v)])
      .sort(),
  ]);
  return createHash('sha256').update(stable).digest('hex').slice(0, 12);
}

const EXP_REF = /^refs\/exps\/([0-9a-f]{2})\/([0-9a-f]{38})\/(.+)$/;
const INTERNAL_EXP_REF = /^refs\/exps\/(exec|celery|temp|runs)(\/|$)|^refs\/exps\/stash$/;

export async function scanDvc(absDir: string, options: DvcScanOptions = {}): Promise<ImportScan> {
  const sourceLabel = options.sourceLabel ?? '.';
  const warnings: string[] = [];
  const skipped: SkippedEntry[] = [];
  const runs: ImportedRun[] = [];
  const warn = (m: string) => warnings.push(m);
  const label = (rel: string) => (sourceLabel === '.' ? rel : `${sourceLabel}/${rel}`);

  // The git repository holding the source, if any.
  let repoRoot: string | undefined;
  let prefix = '';
  let head: { commit: string | null; branch: string | null } | null = null;
  try {
    repoRoot = (await gitText(absDir, ['rev-parse', '--show-toplevel'])).trim();
    prefix = (await gitText(absDir, ['rev-parse', '--show-prefix'])).trim();
    const commit = (await gitText(absDir, ['rev-parse', '--verify', '-q', 'HEAD']).catch(() => '')).trim() || null;
    const branch = (await gitText(absDir, ['symbolic-ref', '--short', '-q', 'HEAD']).catch(() => '')).trim() || null;
    head = { commit, branch };
  } catch {
    repoRoot = undefined;
  }

  // The workspace.
  const workspace = await readSnapshot(fsReader(absDir), sourceLabel, warn);
  if (workspace) {
    runs.push({
      key: `dvc:workspace:${sourceLabel}:${contentHash(workspace)}`,
      suggestedName: 'workspace',
      params: workspace.params,
      metrics: workspace.metrics,
      history: workspace.history,
      tags: [],
      status: 'completed',
      started: workspace.started,
      ended: workspace.ended,
      git: head,
      notes: [],
      source: { tool: 'dvc', kind: 'workspace', path: sourceLabel, files: workspace.files },
    });
  }

  // Committed experiments: refs/exps/…
  const fromGit = new Set<string>();
  if (repoRoot) {
    let refs: string[] = [];
    try {
      refs = (await gitText(repoRoot, ['for-each-ref', '--format=%(objectname)%09%(refname)%09%(committerdate:iso-strict)', 'refs/exps/']))
        .split('\n')
        .filter(Boolean);
    } catch (error) {
      warn(`Cannot list DVC experiment refs: ${(error as Error).message}`);
    }
    for (const line of refs) {
      const [sha, ref, date] = line.split('\t') as [string, string, string | undefined];
      if (INTERNAL_EXP_REF.test(ref)) continue;
      const m = EXP_REF.exec(ref);
      if (!m) {
        skipped.push({ what: `git ref ${ref}`, reason: 'not a DVC experiment ref (refs/exps/<baseline>/<name>)' });
        continue;
      }
      const name = m[3]!;
      const baseline = `${m[1]}${m[2]}`;
      const committed = isoFromTextSafe(date);
      let snapshot: Snapshot | undefined;
      try {
        const tree = await lsTree(repoRoot, sha, prefix);
        snapshot = await readSnapshot(gitReader(repoRoot, tree, prefix, committed), `${ref}:${prefix}`.replace(/:$/, ''), warn);
      } catch (error) {
        skipped.push({ what: `DVC experiment ${name} (${ref})`, reason: `cannot read the commit: ${(error as Error).message}` });
        continue;
      }
      if (!snapshot) {
        skipped.push({
          what: `DVC experiment ${name} (${ref})`,
          reason: `no params or metrics files under ${prefix || 'the repository root'} in commit ${sha.slice(0, 7)}`,
        });
        continue;
      }
      fromGit.add(name);
      runs.push({
        key: `dvc:exp:${sha}`,
        suggestedName: name,
        params: snapshot.params,
        metrics: snapshot.metrics,
        history: snapshot.history,
        tags: [],
        status: 'completed',
        started: snapshot.started,
        ended: snapshot.ended ?? committed,
        git: { commit: sha, branch: null },
        notes: [],
        source: { tool: 'dvc', kind: 'experiment', name, ref, baseline, commit: sha, path: sourceLabel, files: snapshot.files },
      });
    }
  }

  // Exported experiment folders: exps/<name>/.
  const expsDir = await resolveInside(absDir, 'exps');
  if (!('error' in expsDir) && expsDir.kind === 'dir') {
    const entries = (await listDir(expsDir.abs)).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (entry.isSymbolicLink()) {
        warn(`${label(`exps/${entry.name}`)} is a symbolic link; not followed.`);
        continue;
      }
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const snapshot = await readSnapshot(fsReader(path.join(expsDir.abs, entry.name)), label(`exps/${entry.name}`), warn);
      if (!snapshot) continue;
      if (fromGit.has(entry.name)) {
        skipped.push({
          what: `DVC experiment folder ${label(`exps/${entry.name}`)}`,
          reason: `experiment ${entry.name} is read from its git ref instead`,
        });
        continue;
      }
      runs.push({
        key: `dvc:snapshot:${sourceLabel}/exps/${entry.name}`,
        suggestedName: entry.name,
        params: snapshot.params,
        metrics: snapshot.metrics,
        history: snapshot.history,
        tags: [],
        status: 'completed',
        started: snapshot.started,
        ended: snapshot.ended,
        git: null,
        notes: [],
        source: {
          tool: 'dvc',
          kind: 'exported-experiment',
          name: entry.name,
          path: sourceLabel,
          folder: label(`exps/${entry.name}`),
          files: snapshot.files,
        },
      });
    }
  }

  return { format: 'dvc', runs, skipped, warnings };
}

function isoFromTextSafe(text: string | undefined): string | null {
  if (!text) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

const DVC_FILES = ['dvc.yaml', 'dvc.lock', 'params.yaml', 'dvclive.json'];
const DVC_FOLDERS = ['.dvc', 'dvclive'];

export const dvcImporter: ImporterDefinition<'dvc'> = {
  format: 'dvc',
  tool: 'DVC',
  looksFor: 'DVC: dvc.yaml, dvc.lock, .dvc/, params.yaml, dvclive/ or dvclive.json',
  async detect(absDir) {
    return (await listDir(absDir)).some(
      (e) => (e.isFile() && DVC_FILES.includes(e.name)) || (e.isDirectory() && DVC_FOLDERS.includes(e.name)),
    );
  },
  scan: (absDir, options) => scanDvc(absDir, { sourceLabel: options.sourceLabel, projectRoot: options.projectRoot }),
};
