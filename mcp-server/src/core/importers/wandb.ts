/**
 * Reads W&B run folders without writing anything: a single `offline-run-<time>-<id>/` (or synced `run-…`) folder,
 * or a `wandb/` folder holding several. Per run: `files/config.yaml` (values wrapped as `{value: …}`, `_wandb`
 * skipped), `files/wandb-summary.json` (numeric, non-`_` keys), `files/wandb-metadata.json` (startedAt, git,
 * program) and, where an older client wrote it, `files/wandb-history.jsonl`. The binary `run-<id>.wandb` log is
 * not read.
 */
import path from 'node:path';
import { describeError, listDir, readTextNoFollow } from './fs-read.js';
import type { HistoryPoint, ImportedRun, ImportedStatus, ImportScan, SkippedEntry, WandbScanOptions } from './types.js';
import {
  flattenObject,
  isoFromEpochMs,
  isoFromText,
  isPlainObject,
  latestByStep,
  metricValue,
  parseForeignYaml,
  parseLenientJson,
  stripBom,
} from './values.js';

export const WANDB_RUN_FOLDER = /^(offline-run|run)-(\d{8}_\d{6})-([A-Za-z0-9]+)$/;

const STATE: Record<string, ImportedStatus> = {
  running: 'running',
  finished: 'completed',
  failed: 'failed',
  crashed: 'failed',
  killed: 'killed',
};

export async function scanWandb(absDir: string, options: WandbScanOptions = {}): Promise<ImportScan> {
  const sourceLabel = options.sourceLabel ?? '.';
  const warnings: string[] = [];
  const skipped: SkippedEntry[] = [];
  const runs: ImportedRun[] = [];
  const label = (rel: string) => (sourceLabel === '.' ? rel : `${sourceLabel}/${rel}`);

  const folders: { abs: string; rel: string; name: string }[] = [];
  const base = path.basename(absDir);
  const own = await listDir(absDir);
  if (WANDB_RUN_FOLDER.test(base) || own.some((e) => e.name === 'files' && e.isDirectory())) {
    folders.push({ abs: absDir, rel: '.', name: base });
  } else {
    for (const entry of own.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isSymbolicLink()) {
        // wandb/latest-run is W&B's own link to the newest run folder, which is listed anyway.
        if (entry.name !== 'latest-run') warnings.push(`${label(entry.name)} is a symbolic link; not followed.`);
        continue;
      }
      if (entry.isDirectory() && WANDB_RUN_FOLDER.test(entry.name))
        folders.push({ abs: path.join(absDir, entry.name), rel: entry.name, name: entry.name });
    }
  }

  for (const folder of folders) {
    const what = `W&B run folder ${label(folder.rel)}`;
    try {
      const outcome = await scanRunFolder(folder, sourceLabel, (m) => warnings.push(`${label(folder.rel)}: ${m}`));
      if ('run' in outcome) runs.push(outcome.run);
      else skipped.push({ what, reason: outcome.reason });
    } catch (error) {
      skipped.push({ what, reason: `unreadable: ${describeError(error)}` });
    }
  }
  runs.sort((a, b) => (a.started ?? '').localeCompare(b.started ?? '') || a.key.localeCompare(b.key));
  return { format: 'wandb', runs, skipped, warnings };
}

async function scanRunFolder(
  folder: { abs: string; rel: string; name: string },
  sourceLabel: string,
  warn: (message: string) => void,
): Promise<{ run: ImportedRun } | { reason: string }> {
  const filesEntry = (await listDir(folder.abs)).find((e) => e.name === 'files');
  if (!filesEntry) return { reason: 'no files/ folder' };
  if (filesEntry.isSymbolicLink()) return { reason: 'files/ is a symbolic link (not followed)' };
  const filesDir = path.join(folder.abs, 'files');
  const present = new Map((await listDir(filesDir)).map((e) => [e.name, e]));

  const readFile = async (name: string): Promise<string | undefined> => {
    const entry = present.get(name);
    if (!entry) return undefined;
    if (entry.isSymbolicLink()) {
      warn(`files/${name} is a symbolic link; not followed.`);
      return undefined;
    }
    try {
      return stripBom(await readTextNoFollow(path.join(filesDir, name)));
    } catch (error) {
      warn(`files/${name} unreadable (${describeError(error)}); skipped.`);
      return undefined;
    }
  };
  const parse = <T>(name: string, text: string | undefined, parser: (t: string) => T): T | undefined => {
    if (text === undefined) return undefined;
    try {
      return parser(text);
    } catch (error) {
      warn(`files/${name} is malformed (${(error as Error).message.split('\n')[0]}); skipped.`);
      return undefined;
    }
  };

  const config = parse('config.yaml', await readFile('config.yaml'), parseForeignYaml);
  const summary = parse('wandb-summary.json', await readFile('wandb-summary.json'), parseLenientJson);
  const metadata = parse('wandb-metadata.json', await readFile('wandb-metadata.json'), parseLenientJson);
  const historyText = await readFile('wandb-history.jsonl');
  if (!isPlainObject(config) && !isPlainObject(summary) && !isPlainObject(metadata) && historyText === undefined) {
    return { reason: 'no readable files/config.yaml, files/wandb-summary.json or files/wandb-metadata.json' };
  }

  const params: Record<string, unknown> = {};
  if (isPlainObject(config)) {
    for (const [key, raw] of Object.entries(config)) {
      if (key === '_wandb' || key === 'wandb_version') continue;
      const value = isPlainObject(raw) && 'value' in raw ? raw.value : raw;
      if (isPlainObject(value)) Object.assign(params, flattenObject(value, key));
      else params[key] = value;
    }
  } else if (config !== undefined && config !== null) {
    warn('files/config.yaml is not a mapping; skipped.');
  }

  const metrics: Record<string, number> = {};
  let runtimeSeconds: number | undefined;
  if (isPlainObject(summary)) {
    for (const [key, raw] of Object.entries(summary)) {
      if (key.startsWith('_')) continue;
      if (isPlainObject(raw)) {
        if ('_type' in raw) continue; // histograms, tables, images
        for (const [k, v] of Object.entries(flattenObject(raw, key))) {
          const n = metricValue(v);
          if (n !== undefined && !k.split('.').some((part) => part.startsWith('_'))) metrics[k] = n;
        }
        continue;
      }
      const n = metricValue(raw);
      if (n !== undefined) metrics[key] = n;
    }
    const wb = summary._wandb;
    const rt = isPlainObject(wb) && typeof wb.runtime === 'number' ? wb.runtime : summary._runtime;
    if (typeof rt === 'number' && Number.isFinite(rt)) runtimeSeconds = rt;
  }

  const history: HistoryPoint[] = [];
  if (historyText !== undefined) {
    const perMetric = new Map<string, { value: number; step: number; timeMs: number }[]>();
    let bad = 0;
    historyText.split('\n').forEach((line, index) => {
      if (!line.trim()) return;
      let row: unknown;
      try {
        row = parseLenientJson(line);
      } catch {
        bad += 1;
        return;
      }
      if (!isPlainObject(row)) {
        bad += 1;
        return;
      }
      const step = typeof row._step === 'number' && Number.isSafeInteger(row._step) ? row._step : index;
      const timeMs = typeof row._timestamp === 'number' ? Math.round(row._timestamp * 1000) : Number.NaN;
      const iso = isoFromEpochMs(timeMs);
      if (iso === null) {
        bad += 1;
        return;
      }
      for (const [key, raw] of Object.entries(row)) {
        if (key.startsWith('_')) continue;
        const value = metricValue(raw);
        if (value === undefined) continue;
        history.push({ metric: key, value, step, timestamp: iso });
        const list = perMetric.get(key) ?? [];
        list.push({ value, step, timeMs });
        perMetric.set(key, list);
      }
    });
    if (bad > 0) warn(`files/wandb-history.jsonl: ${bad} malformed line${bad === 1 ? '' : 's'} skipped.`);
    for (const [metric, points] of perMetric) if (!(metric in metrics)) metrics[metric] = latestByStep(points)!.value;
  }

  const meta = isPlainObject(metadata) ? metadata : {};
  const match = WANDB_RUN_FOLDER.exec(folder.name);
  const runId = (match?.[3] ?? (typeof meta.id === 'string' ? meta.id : undefined) ?? folder.name).toString();
  let started = isoFromText(meta.startedAt);
  if (!started && match) {
    const t = match[2]!; // YYYYMMDD_HHMMSS, the local time of the machine; taken as UTC for want of better
    started = isoFromText(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T${t.slice(9, 11)}:${t.slice(11, 13)}:${t.slice(13, 15)}`);
  }
  const state = typeof meta.state === 'string' ? STATE[meta.state.toLowerCase()] : undefined;
  const exitcode = typeof meta.exitcode === 'number' ? meta.exitcode : undefined;
  const status: ImportedStatus = state ?? (exitcode === undefined ? 'completed' : exitcode === 0 ? 'completed' : 'failed');
  let ended: string | null = null;
  if (status !== 'running') {
    if (started && runtimeSeconds !== undefined) ended = new Date(Date.parse(started) + Math.round(runtimeSeconds * 1000)).toISOString();
    else ended = isoFromText(meta.heartbeatAt);
  }
  const gitMeta = isPlainObject(meta.git) ? meta.git : undefined;
  const commit = typeof gitMeta?.commit === 'string' && gitMeta.commit ? gitMeta.commit : null;
  const branch = typeof gitMeta?.branch === 'string' && gitMeta.branch ? gitMeta.branch : null;

  const source: Record<string, unknown> = {
    tool: 'wandb',
    run_id: runId,
    path: sourceLabel,
    run_folder: folder.rel === '.' ? folder.name : folder.rel,
  };
  if (folder.name.startsWith('offline-')) source.offline = true;
  for (const key of ['program', 'codePath', 'host', 'username', 'python', 'os'] as const) {
    if (typeof meta[key] === 'string' && meta[key]) source[key === 'codePath' ? 'code_path' : key] = meta[key];
  }
  if (gitMeta && typeof gitMeta.remote === 'string' && gitMeta.remote) source.git_remote = gitMeta.remote;

  const name = [meta.display_name, meta.name].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  const notes = typeof meta.notes === 'string' && meta.notes.trim() ? [meta.notes.trim()] : [];
  const tags = Array.isArray(meta.tags) ? meta.tags.filter((t): t is string => typeof t === 'string') : [];

  return {
    run: {
      key: `wandb:${runId}`,
      suggestedName: name ?? runId,
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
