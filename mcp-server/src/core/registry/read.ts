/**
 * Reading the registry: `readRegistry(project)` and `readModel(project, name)`. Other modules call these and never
 * parse the registry's files themselves. Which version holds each stage is derived here from the event log
 * (deriveStages, pure), the same way the Python client derives it.
 */
import * as path from 'node:path';
import { MlError, notFound } from '../errors.js';
import { parseJsonObject } from '../json.js';
import { assertModelName, isModelName } from '../names.js';
import type { Project } from '../project.js';
import { listEntryKinds, readText } from '../store/disk.js';
import {
  EventRecord,
  SEMVER,
  VersionRecord,
  type ModelVersion,
  type RegisteredModel,
  type RegistrySummary,
  type StageHolder,
} from './types.js';

/** events.jsonl read whole is refused above this: ~100,000 events, far more than any model's history. */
export const MAX_EVENT_LOG_BYTES = 32 * 1024 * 1024;
/** One event line is a few hundred bytes; a reason is capped at 4,000 characters. */
export const MAX_EVENT_LINE_BYTES = 64 * 1024;
/** A version record holds params, metrics and the environment: a few KiB. */
export const MAX_VERSION_BYTES = 4 * 1024 * 1024;

export const registryDir = (project: Project) => path.join(project.specweaveDir, 'registry');
export const modelDir = (project: Project, name: string) => path.join(registryDir(project), assertModelName(name));
export const versionsDir = (project: Project, name: string) => path.join(modelDir(project, name), 'versions');
export const eventsFile = (project: Project, name: string) => path.join(modelDir(project, name), 'events.jsonl');
export const versionFile = (project: Project, name: string, version: string) => path.join(versionsDir(project, name), `${version}.json`);
export const lockFile = (project: Project, name: string) => path.join(modelDir(project, name), '.lock');

/** Semver order: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

const HINT_EDITED =
  'The registry is written only by register_model, promote_model and rollback_model (or specweave_ml.registry): restore the file from git (git checkout -- <file>), then call again.';

function corrupt(message: string): MlError {
  return new MlError('CORRUPT', message, HINT_EDITED);
}

/**
 * The events of one log. A line that is not JSON at all is a write torn by a crash (appends put a newline before
 * the next line, so it stays isolated): skipped and counted. A line that is JSON but not a valid event, or out of
 * order, means the log was edited: CORRUPT, naming the line.
 */
export function parseEventLog(text: string, label: string, model: string): { events: EventRecord[]; skipped: number } {
  const events: EventRecord[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!.replace(/\r$/, '');
    if (!line.trim()) continue;
    const where = `${label} line ${i + 1}`;
    if (Buffer.byteLength(line) > MAX_EVENT_LINE_BYTES)
      throw corrupt(`${where} is over ${MAX_EVENT_LINE_BYTES} bytes; no event is that long.`);
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      skipped += 1;
      continue;
    }
    const parsed = EventRecord.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw corrupt(`${where} is not a valid registry event: ${issue.path.join('.') || 'the line'}: ${issue.message}.`);
    }
    const e = parsed.data;
    if (e.model !== model) throw corrupt(`${where} names model ${JSON.stringify(e.model)}, not ${JSON.stringify(model)}.`);
    if ((e.event === 'register') !== (e.stage === null))
      throw corrupt(`${where}: a ${e.event} event ${e.stage === null ? 'needs' : 'has no'} a stage.`);
    const last = events[events.length - 1];
    if (last && e.seq <= last.seq) throw corrupt(`${where} has seq ${e.seq} after seq ${last.seq}; events are only appended, in order.`);
    events.push(e);
  }
  return { events, skipped };
}

/**
 * Which version holds each stage, replaying the log. A stage keeps the stack of its holders: promote pushes,
 * rollback returns to an earlier holder (dropping the ones after it) or, for a version that never held the stage,
 * pushes it. A default rollback therefore walks back one holder at a time.
 */
export function deriveStages(events: readonly EventRecord[]): StageHolder[] {
  // Stacks are changed in place: a stage promoted thousands of times must not cost a copy per event.
  const stages = new Map<string, { stack: string[]; since_seq: number; since: string }>();
  for (const e of events) {
    if (e.stage === null) continue;
    let held = stages.get(e.stage);
    if (!held) stages.set(e.stage, (held = { stack: [], since_seq: e.seq, since: e.time }));
    const { stack } = held;
    if (e.event === 'rollback') {
      const at = stack.lastIndexOf(e.version);
      if (at >= 0) stack.length = at + 1;
      else stack.push(e.version);
    } else if (stack[stack.length - 1] !== e.version) {
      stack.push(e.version);
    }
    held.since_seq = e.seq;
    held.since = e.time;
  }
  return [...stages].map(([stage, h]) => ({
    stage,
    version: h.stack[h.stack.length - 1]!,
    since_seq: h.since_seq,
    since: h.since,
    previous: h.stack.slice(0, -1),
  }));
}

async function readVersions(project: Project, name: string): Promise<VersionRecord[]> {
  const dir = versionsDir(project, name);
  const entries = await listEntryKinds(dir);
  const records: VersionRecord[] = [];
  for (const [file, kind] of entries) {
    if (file.startsWith('.')) continue; // temp files of a writer, never records
    const m = /^(.+)\.json$/.exec(file);
    const label = project.relative(path.join(dir, file));
    if (!m || !SEMVER.test(m[1]!)) continue;
    if (kind !== 'file') throw corrupt(`${label} is a ${kind === 'symlink' ? 'symbolic link' : kind}, not a version record.`);
    const text = await readText(path.join(dir, file), { maxBytes: MAX_VERSION_BYTES });
    if (text === undefined) continue;
    const parsed = VersionRecord.safeParse(parseJsonObject(text, label, HINT_EDITED));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw corrupt(`${label} is not a valid version record: ${issue.path.join('.') || 'the record'}: ${issue.message}.`);
    }
    if (parsed.data.version !== m[1] || parsed.data.model !== name)
      throw corrupt(`${label} records ${parsed.data.model} ${parsed.data.version}, not ${name} ${m[1]}.`);
    records.push(parsed.data);
  }
  return records.sort((a, b) => compareVersions(a.version, b.version));
}

/** The events of a model's log (torn lines skipped and counted). */
export async function readEvents(project: Project, name: string): Promise<{ events: EventRecord[]; skipped: number }> {
  const file = eventsFile(project, name);
  const text = await readText(file, { maxBytes: MAX_EVENT_LOG_BYTES });
  return text === undefined ? { events: [], skipped: 0 } : parseEventLog(text, project.relative(file), name);
}

/** One model: its versions with their lineage, the holder of each stage now, and the event history. */
export async function readModel(project: Project, name: string): Promise<RegisteredModel> {
  const dir = modelDir(project, name);
  const [records, { events, skipped }] = await Promise.all([readVersions(project, name), readEvents(project, name)]);
  if (records.length === 0 && events.length === 0) {
    throw notFound(
      `No model ${JSON.stringify(name)} in the registry.`,
      'Call list_models to see the registered names, or register_model to register one.',
    );
  }
  const known = new Set(records.map((r) => r.version));
  for (const e of events) {
    if (!known.has(e.version))
      throw corrupt(
        `${project.relative(eventsFile(project, name))}: event ${e.seq} (${e.event}) names version ${e.version}, which has no record in versions/.`,
      );
  }
  const stages = deriveStages(events);
  const versions: ModelVersion[] = records.map((record) => ({
    version: record.version,
    stages: stages.filter((s) => s.version === record.version).map((s) => s.stage),
    record,
  }));
  return {
    name,
    path: project.relative(dir),
    versions,
    latest: versions[versions.length - 1]?.version ?? null,
    stages,
    events,
    skipped_lines: skipped,
  };
}

/** Every model in the registry; a model whose files are broken is listed in `broken` with why, not thrown. */
export async function readRegistry(project: Project): Promise<RegistrySummary> {
  const entries = await listEntryKinds(registryDir(project));
  const models: RegisteredModel[] = [];
  const ignored: string[] = [];
  const broken: { name: string; reason: string }[] = [];
  for (const [name, kind] of [...entries].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (name.startsWith('.')) continue;
    if (kind !== 'directory' || !isModelName(name)) {
      ignored.push(name);
      continue;
    }
    try {
      models.push(await readModel(project, name));
    } catch (e) {
      if (!(e instanceof MlError) || e.code === 'NOT_FOUND') {
        if (e instanceof MlError) continue; // an empty folder: a registration that never got written
        throw e;
      }
      broken.push({ name, reason: e.message });
    }
  }
  return { models, ignored, broken };
}

/** The version holding `stage` now, or null. */
export function stageHolder(model: RegisteredModel, stage: string): string | null {
  return model.stages.find((s) => s.stage === stage)?.version ?? null;
}
