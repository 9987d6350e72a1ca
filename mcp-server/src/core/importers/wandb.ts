/**
 * Reads W&B run folders without writing anything: a single `offline-run-<time>-<id>/` (or synced `run-…`) folder,
 * or a `wandb/` folder holding several. Per run: `files/config.yaml` (values wrapped as `{value: …}`, `_wandb`
 * skipped), `files/wandb-summary.json` (numeric, non-`_` keys), `files/wandb-metadata.json` (startedAt, git,
 * program) and, where an older client wrote it, `files/wandb-history.jsonl`.
 *
 * An offline run of a current wandb (0.19 to 0.31 at least) writes none of those files: everything is in the
 * binary transaction log `run-<id>.wandb`, read here (readWandbLog) and turned into the same shapes. Where both
 * exist (a synced run), the files win key by key and the log fills in what they lack.
 */
import path from 'node:path';
import { readChunks } from '../store/disk.js';
import { describeError, listDir, MAX_FILE_BYTES, readTextNoFollow } from './fs-read.js';
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
        // W&B links latest-run, debug.log and debug-internal.log to the newest run's; only a linked run folder is
        // a run left out, worth a word.
        if (WANDB_RUN_FOLDER.test(entry.name)) warnings.push(`${label(entry.name)} is a symbolic link; not followed.`);
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
  const entries = await listDir(folder.abs);
  const log = await readLogOf(folder, entries, warn);
  const filesEntry = entries.find((e) => e.name === 'files');
  if (!filesEntry && !log) return { reason: 'no files/ folder and no run-<id>.wandb log' };
  if (filesEntry?.isSymbolicLink() && !log) return { reason: 'files/ is a symbolic link (not followed)' };
  const filesDir = path.join(folder.abs, 'files');
  const present = new Map(filesEntry?.isDirectory() ? (await listDir(filesDir)).map((e) => [e.name, e]) : []);

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

  const config = withDefaults(parse('config.yaml', await readFile('config.yaml'), parseForeignYaml), log?.config);
  const summary = withDefaults(parse('wandb-summary.json', await readFile('wandb-summary.json'), parseLenientJson), log?.summary);
  const metadata = withDefaults(parse('wandb-metadata.json', await readFile('wandb-metadata.json'), parseLenientJson), log?.metadata);
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
  const rows: unknown[] | undefined =
    historyText !== undefined ? historyText.split('\n').map((line) => (line.trim() ? line : undefined)) : log?.history;
  if (rows !== undefined) {
    const perMetric = new Map<string, { value: number; step: number; timeMs: number }[]>();
    let bad = 0;
    const historyName = historyText !== undefined ? 'files/wandb-history.jsonl' : `${log!.file}`;
    rows.forEach((line, index) => {
      if (line === undefined) return;
      let row: unknown = line;
      if (typeof line === 'string') {
        try {
          row = parseLenientJson(line);
        } catch {
          bad += 1;
          return;
        }
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
    if (bad > 0) warn(`${historyName}: ${bad} malformed line${bad === 1 ? '' : 's'} skipped.`);
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
    // W&B's runtime is whole seconds; the log's last timestamp is finer, and later for a run under a second.
    const byRuntime = started && runtimeSeconds !== undefined ? Date.parse(started) + Math.round(runtimeSeconds * 1000) : Number.NaN;
    const last = Math.max(...[byRuntime, log?.lastSeenMs ?? Number.NaN].filter(Number.isFinite));
    ended = Number.isFinite(last) ? isoFromEpochMs(last) : isoFromText(meta.heartbeatAt);
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

// ---------------------------------------------------------------------------------------------------------------
// The transaction log, run-<id>.wandb
//
// Framing (W&B's own, LevelDB's log format): a 7-byte header ":W&B", 0xBEE1 little-endian, version 0; then records
// in 32 KiB blocks, each piece behind a 7-byte header (CRC-32 of the type byte and the data, length, type: 1 whole,
// 2 first, 3 middle, 4 last piece). A block's tail shorter than a header is padding. Each whole record is a
// protobuf `wandb_internal.Record`; only the fields read below are decoded, by number (wandb_internal.proto).

const LOG_IDENT = ':W&B';
const LOG_MAGIC = 0xbee1;
const LOG_BLOCK = 32 * 1024;
const LOG_HEADER = 7;

/** What a run's log holds, in the shapes of the files/ a synced run has (so one code path maps both). */
interface WandbLog {
  file: string;
  /** Like files/config.yaml: each key's value wrapped as {value}. */
  config: Record<string, unknown>;
  /** Like files/wandb-summary.json. */
  summary: Record<string, unknown>;
  /** Like files/wandb-metadata.json, plus display_name, notes, tags, exitcode and state. */
  metadata: Record<string, unknown>;
  /** Like the lines of files/wandb-history.jsonl, parsed. */
  history: Record<string, unknown>[];
  /** The latest time any record carries (history, system stats), epoch ms. */
  lastSeenMs: number;
}

async function readLogOf(
  folder: { abs: string; name: string },
  entries: { name: string; isFile(): boolean; isSymbolicLink(): boolean }[],
  warn: (message: string) => void,
): Promise<WandbLog | undefined> {
  const id = WANDB_RUN_FOLDER.exec(folder.name)?.[3];
  const entry = entries.find((e) => (id ? e.name === `run-${id}.wandb` : /^run-[A-Za-z0-9]+\.wandb$/.test(e.name)));
  if (!entry) return undefined;
  if (entry.isSymbolicLink() || !entry.isFile()) {
    warn(`${entry.name} is not a regular file; not read.`);
    return undefined;
  }
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of readChunks(path.join(folder.abs, entry.name), { maxBytes: MAX_FILE_BYTES })) chunks.push(chunk);
    return decodeLog(entry.name, Buffer.concat(chunks), warn);
  } catch (error) {
    warn(`${entry.name} unreadable (${describeError(error)}); skipped.`);
    return undefined;
  }
}

/** The log's records, whole. A damaged piece ends the reading with a warning; a record cut short at the end is a
 * run still being written (or killed mid-write) and ends it silently. */
function* logRecords(file: string, data: Buffer, warn: (message: string) => void): Generator<Buffer> {
  if (data.length < LOG_HEADER || data.toString('latin1', 0, 4) !== LOG_IDENT || data.readUInt16LE(4) !== LOG_MAGIC) {
    throw new Error('not a W&B transaction log (no :W&B header)');
  }
  let pos = LOG_HEADER;
  let pending: Buffer[] | undefined;
  while (pos + LOG_HEADER <= data.length) {
    const left = LOG_BLOCK - (pos % LOG_BLOCK);
    if (left < LOG_HEADER) {
      pos += left;
      continue;
    }
    const checksum = data.readUInt32LE(pos);
    const length = data.readUInt16LE(pos + 4);
    const type = data[pos + 6]!;
    if (type === 0 && length === 0) {
      pos += left; // zero padding to the block's end
      continue;
    }
    const start = pos + LOG_HEADER;
    if (start + length > data.length) return;
    const piece = data.subarray(start, start + length);
    if (type < 1 || type > 4 || length > left - LOG_HEADER || crc32(piece, crc32(Buffer.of(type))) !== checksum) {
      warn(`${file} is damaged at byte ${pos}; the records after it were not read.`);
      return;
    }
    pos = start + length;
    if (type === 1) yield piece;
    else if (type === 2) pending = [piece];
    else if (pending) {
      pending.push(piece);
      if (type === 4) {
        yield Buffer.concat(pending);
        pending = undefined;
      }
    }
  }
}

function decodeLog(file: string, data: Buffer, warn: (message: string) => void): WandbLog {
  const log: WandbLog = { file, config: {}, summary: {}, metadata: {}, history: [], lastSeenMs: Number.NaN };
  const meta = log.metadata;
  const seen = (ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms) && !(ms <= log.lastSeenMs)) log.lastSeenMs = ms;
  };
  let bad = 0;
  for (const raw of logRecords(file, data, warn)) {
    try {
      for (const [field, value] of protoFields(raw)) {
        if (!(value instanceof Uint8Array)) continue;
        if (field === 2) log.history.push(historyRow(value, seen));
        else if (field === 3) applyItems(log.summary, value, false);
        else if (field === 5) applyItems(log.config, value, true);
        else if (field === 7) seen(firstTimestamp(value, 1));
        else if (field === 17) readRunRecord(value, log);
        else if (field === 18) readExitRecord(value, meta);
        else if (field === 26) readEnvironment(value, meta);
      }
    } catch {
      bad += 1;
    }
  }
  if (bad > 0) warn(`${file}: ${bad} undecodable record${bad === 1 ? '' : 's'} skipped.`);
  if (meta.exitcode === undefined) meta.state = 'running'; // no exit record: still running, or killed before it
  return log;
}

/** RunRecord: run_id 1, config 4, display_name 8, notes 9, tags 10, host 13, start_time 17, git 21. */
function readRunRecord(buf: Uint8Array, log: WandbLog): void {
  const meta = log.metadata;
  const tags: string[] = [];
  for (const [field, value] of protoFields(buf)) {
    if (!(value instanceof Uint8Array)) continue;
    if (field === 1) meta.id = text(value);
    else if (field === 4) applyItems(log.config, value, true);
    else if (field === 8) meta.display_name = text(value);
    else if (field === 9) meta.notes = text(value);
    else if (field === 10) tags.push(text(value));
    else if (field === 13) meta.host ??= text(value);
    else if (field === 17) meta.startedAt = isoFromEpochMs(timestampMs(value)) ?? meta.startedAt;
    else if (field === 21) meta.git = gitRepo(value);
  }
  if (tags.length) meta.tags = tags;
}

/** RunExitRecord: exit_code 1 (int32; absent when 0), runtime 2. */
function readExitRecord(buf: Uint8Array, meta: Record<string, unknown>): void {
  meta.exitcode = 0;
  for (const [field, value] of protoFields(buf)) if (field === 1 && typeof value !== 'object') meta.exitcode = int32(value);
}

/** EnvironmentRecord: os 1, python 2, started_at 3, program 6, code_path 7, git 9, root 11, host 12, username 13. */
function readEnvironment(buf: Uint8Array, meta: Record<string, unknown>): void {
  const names: Record<number, string> = { 1: 'os', 2: 'python', 6: 'program', 7: 'codePath', 12: 'host', 13: 'username' };
  for (const [field, value] of protoFields(buf)) {
    if (!(value instanceof Uint8Array)) continue;
    if (names[field]) meta[names[field]] = text(value);
    else if (field === 3) meta.startedAt ??= isoFromEpochMs(timestampMs(value));
    else if (field === 9) meta.git = { ...gitRepo(value), ...(isPlainObject(meta.git) ? meta.git : {}) };
  }
}

/** GitRepoRecord: remote_url 1, commit 2. */
function gitRepo(buf: Uint8Array): Record<string, string> {
  const git: Record<string, string> = {};
  for (const [field, value] of protoFields(buf)) {
    if (value instanceof Uint8Array && (field === 1 || field === 2)) git[field === 1 ? 'remote' : 'commit'] = text(value);
  }
  return git;
}

/**
 * ConfigRecord / SummaryRecord: update 1 and remove 2, each item a key 1 or a nested_key path 2 and value_json 16.
 * Config values are stored wrapped as {value}, as config.yaml has them.
 */
function applyItems(target: Record<string, unknown>, buf: Uint8Array, wrap: boolean): void {
  for (const [field, value] of protoFields(buf)) {
    if (!(value instanceof Uint8Array) || (field !== 1 && field !== 2)) continue;
    const { keys, json } = item(value);
    if (!keys.length) continue;
    const [top, ...rest] = keys;
    if (wrap) {
      const holder = isPlainObject(target[top!]) && 'value' in (target[top!] as object) ? (target[top!] as Record<string, unknown>) : {};
      if (field === 2 && !rest.length) delete target[top!];
      else {
        holder.value = setPath(holder.value, rest, field === 1 ? parseValue(json) : undefined, field === 2);
        target[top!] = holder;
      }
    } else {
      const updated = setPath(target, keys, field === 1 ? parseValue(json) : undefined, field === 2);
      Object.assign(target, updated);
      if (field === 2 && keys.length === 1) delete target[top!];
    }
  }
}

/** `base` with the value at `keys` set (or removed); a missing or non-mapping step becomes a mapping. */
function setPath(base: unknown, keys: string[], value: unknown, remove: boolean): unknown {
  if (!keys.length) return remove ? undefined : value;
  const out: Record<string, unknown> = isPlainObject(base) ? base : {};
  const [head, ...rest] = keys;
  if (remove && !rest.length) delete out[head!];
  else out[head!] = setPath(out[head!], rest, value, remove);
  return out;
}

/** HistoryRecord: items 1 (key 1 or nested_key 2, value_json 16) and step 2 (num 1) → a history.jsonl-like row. */
function historyRow(buf: Uint8Array, seen: (ms: number | undefined) => void): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  let stepNum: number | undefined;
  for (const [field, value] of protoFields(buf)) {
    if (!(value instanceof Uint8Array)) continue;
    if (field === 1) {
      const { keys, json } = item(value);
      if (!keys.length) continue;
      const parsed = parseValue(json);
      const key = keys.join('.');
      // A nested dict logged as one value ({"val": {"loss": 0.2}}) becomes val.loss, as in the summary.
      if (isPlainObject(parsed) && !('_type' in parsed)) Object.assign(row, flattenObject(parsed, key));
      else row[key] = parsed;
    } else if (field === 2) {
      stepNum = 0;
      for (const [f, v] of protoFields(value)) if (f === 1 && typeof v !== 'object') stepNum = Number(v);
    }
  }
  if (typeof row._step !== 'number' && stepNum !== undefined) row._step = stepNum;
  if (typeof row._timestamp === 'number') seen(Math.round(row._timestamp * 1000)); // as the history points
  return row;
}

function item(buf: Uint8Array): { keys: string[]; json: string } {
  let key: string | undefined;
  const nested: string[] = [];
  let json = 'null';
  for (const [field, value] of protoFields(buf)) {
    if (!(value instanceof Uint8Array)) continue;
    if (field === 1) key = text(value);
    else if (field === 2) nested.push(text(value));
    else if (field === 16) json = text(value);
  }
  return { keys: key ? [key] : nested, json };
}

/** value_json as W&B writes it: JSON, with NaN and ±Infinity bare. */
function parseValue(json: string): unknown {
  try {
    return parseLenientJson(json);
  } catch {
    return json;
  }
}

/** google.protobuf.Timestamp (seconds 1, nanos 2) → epoch ms. */
function timestampMs(buf: Uint8Array): number {
  let seconds = 0;
  let nanos = 0;
  for (const [field, value] of protoFields(buf)) {
    if (field === 1 && typeof value !== 'object') seconds = Number(value);
    else if (field === 2 && typeof value !== 'object') nanos = Number(value);
  }
  return seconds * 1000 + Math.round(nanos / 1e6);
}

function firstTimestamp(buf: Uint8Array, field: number): number | undefined {
  for (const [f, value] of protoFields(buf)) if (f === field && value instanceof Uint8Array) return timestampMs(value);
  return undefined;
}

const utf8 = new TextDecoder();
function text(buf: Uint8Array): string {
  return utf8.decode(buf);
}

function int32(value: number | bigint): number {
  return Number(BigInt.asIntN(32, BigInt(value)));
}

/**
 * The fields of one protobuf message, in order: [number, value]. Varints come as numbers (bigint past 2^53),
 * fixed-width values as numbers, length-delimited ones as bytes. Throws on a malformed message.
 */
function* protoFields(buf: Uint8Array): Generator<[number, number | bigint | Uint8Array]> {
  let pos = 0;
  const varint = (): number | bigint => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const byte = buf[pos++]!;
      if (i === 7 && byte & 0x80) return bigVarint(buf, pos - 8, (p) => (pos = p));
      result += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte & 0x80)) return result;
    }
    throw new Error('varint too long');
  };
  while (pos < buf.length) {
    const key = varint();
    if (typeof key !== 'number') throw new Error('bad field key');
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) yield [field, varint()];
    else if (wire === 2) {
      const length = varint();
      if (typeof length !== 'number' || pos + length > buf.length) throw new Error('bad length');
      yield [field, buf.subarray(pos, pos + length)];
      pos += length;
    } else if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (pos + size > buf.length) throw new Error('truncated fixed field');
      const view = new DataView(buf.buffer, buf.byteOffset + pos, size);
      yield [field, size === 8 ? view.getFloat64(0, true) : view.getUint32(0, true)];
      pos += size;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

function bigVarint(buf: Uint8Array, start: number, setPos: (p: number) => void): bigint {
  let result = 0n;
  let shift = 0n;
  for (let pos = start; pos < buf.length && shift < 70n; pos += 1) {
    const byte = buf[pos]!;
    result |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if (!(byte & 0x80)) {
      setPos(pos + 1);
      return BigInt.asUintN(64, result);
    }
  }
  throw new Error('bad varint');
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (zlib's), continuing from `seed`; Node 20's zlib.crc32 is not in every 20.x. */
function crc32(data: Uint8Array, seed = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = (seed ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i += 1) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** `primary` where it has a key, `fallback` for the rest; either may be absent or not a mapping. */
function withDefaults(primary: unknown, fallback: Record<string, unknown> | undefined): unknown {
  if (!fallback) return primary;
  if (primary === undefined || primary === null) return fallback;
  return isPlainObject(primary) ? { ...fallback, ...primary } : primary;
}
