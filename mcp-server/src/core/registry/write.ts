/**
 * Writing the registry: register a version, promote a version to a stage, roll a stage back. Each change holds the
 * model's lock (`registry/<name>/.lock`, the store's lock protocol, honoured by the Python client) while it reads
 * the log, decides and writes, so concurrent writers never lose an event or share a version number. A version
 * record is created whole and never replaced (writeIfMissing); events are appended whole lines. Slow work (hashing
 * the artifact, running the gates) happens before the lock is taken.
 */
import * as path from 'node:path';
import { invalid, MlError, notFound } from '../errors.js';
import type { GitInfo } from '../git-info.js';
import { resolveIncrement } from '../increments.js';
import { stringifyCanonical } from '../json.js';
import { assertModelName } from '../names.js';
import type { Project } from '../project.js';
import { appendLines, listEntryKinds, withLock, writeIfMissing } from '../store/disk.js';
import { ensureGitignore, removeDeadLeftovers } from '../store/leftovers.js';
import { validateIncrement } from '../validation.js';
import { artifactDrift, snapshotLineage } from './lineage.js';
import { compareVersions, eventsFile, lockFile, readEvents, readModel, versionFile } from './read.js';
import { EVENT_KEY_ORDER, PRODUCTION, REGISTRY_FORMAT, SEMVER, STAGE_NAME, type EventRecord, type VersionRecord } from './types.js';
import { gitActor, tagForEvent, type TagResult } from './git-tags.js';

export interface RegistryContext {
  git: () => Promise<GitInfo | null>;
  now?: () => Date;
  /** Who acts; by default SPECWEAVE_ACTOR, else git's user.name <user.email>, else null. */
  actor?: string | null;
}

const BUMPS = ['major', 'minor', 'patch'] as const;
type Bump = (typeof BUMPS)[number];

/** The first version of a model when none is given. */
export const FIRST_VERSION = '1.0.0';

/** "1.2.3", "v1.2.3", or a bump keyword; anything else is refused with the accepted forms. */
export function parseVersionArg(given: string): string | Bump {
  const v = given.trim().replace(/^v/, '');
  if (SEMVER.test(v) || (BUMPS as readonly string[]).includes(v)) return v;
  throw invalid(
    `Invalid version ${JSON.stringify(given)}.`,
    'Pass a semantic version such as "1.4.0" (or "v1.4.0"), or "major", "minor" or "patch"; omit it to bump the patch number.',
  );
}

/** The next version: the one given (it must be above every registered one), else a bump of the latest. */
export function nextVersion(latest: string | null, given: string | undefined): string {
  const wanted = given === undefined ? 'patch' : parseVersionArg(given);
  if (SEMVER.test(wanted)) {
    if (latest !== null && compareVersions(wanted, latest) <= 0) {
      throw new MlError(
        'CONFLICT',
        `Version ${wanted} is ${wanted === latest ? 'already registered' : `lower than the latest, ${latest}`}; versions are never reused or registered out of order.`,
        `Pass a version above ${latest}, or omit version to register ${nextVersion(latest, undefined)}.`,
      );
    }
    return wanted;
  }
  if (latest === null) return FIRST_VERSION;
  const [major, minor, patch] = latest.split('.').map(Number) as [number, number, number];
  if (wanted === 'major') return `${major + 1}.0.0`;
  if (wanted === 'minor') return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

export function assertStage(stage: string): string {
  if (!STAGE_NAME.test(stage))
    throw invalid(
      `Invalid stage ${JSON.stringify(stage)}.`,
      'Use a lower-case name of up to 32 letters, digits, "-" or "_", e.g. "staging" or "production".',
    );
  return stage;
}

function cleanReason(reason: string | null | undefined): string | null {
  const r = reason?.trim();
  if (!r) return null;
  if (r.length > 4000)
    throw invalid('reason is over 4,000 characters.', 'Give the reason in a sentence or two; link to a longer document.');
  return r;
}

/** One event line: keys in the documented order, compact (the Python client writes the same bytes). */
export function eventLine(e: EventRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const k of EVENT_KEY_ORDER) ordered[k] = e[k];
  return JSON.stringify(ordered);
}

async function actorOf(project: Project, ctx: RegistryContext): Promise<string | null> {
  if (ctx.actor !== undefined) return ctx.actor;
  return gitActor(project);
}

/** Appends one event under the lock already held; its seq follows the log's last. */
async function appendEvent(
  project: Project,
  name: string,
  events: EventRecord[],
  fields: Omit<EventRecord, 'seq' | 'model'>,
): Promise<EventRecord> {
  const event: EventRecord = { seq: (events[events.length - 1]?.seq ?? 0) + 1, model: name, ...fields };
  await appendLines(eventsFile(project, name), [eventLine(event)]);
  return event;
}

// ---------------------------------------------------------------------------------------------------------------
// Register

export interface RegisterInput {
  name: string;
  increment: string;
  experiment: string;
  artifact?: string | null;
  version?: string | null;
  description?: string | null;
  git_tag?: boolean | null;
}

export interface RegisterResult {
  record: VersionRecord;
  event: EventRecord;
  path: string;
  tags: TagResult[];
}

export async function registerModel(project: Project, input: RegisterInput, ctx: RegistryContext): Promise<RegisterResult> {
  const name = assertModelName(input.name);
  if (input.version != null) parseVersionArg(input.version); // refuse a malformed version before any work
  const description = cleanReason(input.description);
  const inc = await resolveIncrement(project, input.increment);
  // Outside the lock: hashing a large model and asking git take time and do not depend on the registry.
  const [lineage, registeredGit, actor] = await Promise.all([
    snapshotLineage(project, inc, input.experiment, input.artifact ?? undefined),
    ctx.git(),
    actorOf(project, ctx),
  ]);
  await ensureGitignore(project.specweaveDir);
  const { record, event } = await withLock(lockFile(project, name), async () => {
    const [{ events }, model] = await Promise.all([readEvents(project, name), readModel(project, name).catch(missingIsEmpty)]);
    const version = nextVersion(model?.latest ?? null, input.version ?? undefined);
    const time = (ctx.now?.() ?? new Date()).toISOString();
    const record: VersionRecord = {
      format: REGISTRY_FORMAT,
      model: name,
      version,
      created: time,
      actor,
      description,
      ...lineage,
      registered_git: registeredGit,
    };
    const file = versionFile(project, name, version);
    if (!(await writeIfMissing(file, stringifyCanonical(record)))) {
      throw new MlError(
        'CONFLICT',
        `${project.relative(file)} already exists.`,
        'Another writer registered this version; call again to register the next one.',
      );
    }
    const event = await appendEvent(project, name, events, {
      time,
      event: 'register',
      version,
      stage: null,
      previous: null,
      actor,
      reason: description,
      forced: false,
      gates: null,
    });
    // Temp files of writers that died mid-write (docs/format.md, "Leftovers"): readers skip them, the next writer clears them.
    const dir = path.dirname(file);
    await removeDeadLeftovers(dir, await listEntryKinds(dir));
    return { record, event };
  });
  const tags = input.git_tag ? [await tagForEvent(project, record, event)] : [];
  return { record, event, path: project.relative(versionFile(project, name, record.version)), tags };
}

function missingIsEmpty(e: unknown): undefined {
  if (e instanceof MlError && e.code === 'NOT_FOUND') return undefined;
  throw e;
}

// ---------------------------------------------------------------------------------------------------------------
// Promote

export interface PromoteInput {
  name: string;
  version: string;
  stage: string;
  reason?: string | null;
  force?: boolean | null;
  git_tag?: boolean | null;
}

export interface StageChange {
  event: EventRecord | null;
  /** False when the version already held the stage: nothing was written. */
  changed: boolean;
  stage: string;
  version: string;
  previous: string | null;
  /** What was overridden by force: failing gates, a changed artifact. Empty when nothing was. */
  overridden: string[];
  gates: EventRecord['gates'];
  tags: TagResult[];
}

/** The production gates: the increment's validation, run now. What fails (or why it cannot run) is returned. */
async function productionGates(project: Project, record: VersionRecord): Promise<{ gates: EventRecord['gates']; problems: string[] }> {
  let inc;
  try {
    inc = await resolveIncrement(project, record.increment);
  } catch (e) {
    if (!(e instanceof MlError)) throw e;
    return { gates: null, problems: [`the gates of ${record.increment} cannot be run: ${e.message}`] };
  }
  const v = await validateIncrement(project, inc);
  const failed = v.checks.filter((c) => c.status === 'fail');
  return {
    gates: { increment: inc.id, verdict: v.verdict, failed: failed.map((c) => c.id) },
    problems: failed.map((c) => `gate ${c.id} fails: ${c.message}`),
  };
}

export async function promoteModel(project: Project, input: PromoteInput, ctx: RegistryContext): Promise<StageChange> {
  const name = assertModelName(input.name);
  const stage = assertStage(input.stage);
  const version = parseVersionArg(input.version);
  if (!SEMVER.test(version))
    throw invalid(
      `promote_model needs an exact version, not ${JSON.stringify(input.version)}.`,
      'Pass a registered version such as "1.2.0" (get_model lists them).',
    );
  const reason = cleanReason(input.reason);
  const before = await readModel(project, name);
  const target = before.versions.find((v) => v.version === version);
  if (!target)
    throw notFound(`${name} has no version ${version}.`, `Registered versions: ${before.versions.map((v) => v.version).join(', ')}.`);
  // Outside the lock: the gates read the whole increment.
  const drift = await artifactDrift(project, target.record.artifact);
  const { gates, problems } = stage === PRODUCTION ? await productionGates(project, target.record) : { gates: null, problems: [] };
  const overridden = drift ? [drift, ...problems] : problems;
  if (overridden.length > 0) {
    if (!input.force) {
      throw new MlError(
        'CONFLICT',
        `${name} ${version} was not promoted to ${stage}: ${overridden.join('; ')}.`,
        stage === PRODUCTION && problems.length
          ? `Fix what the gates say and promote again (validate_increment {increment: "${target.record.increment}"} shows every check), or pass force: true with a reason, which is recorded.`
          : 'Restore the registered file, or register the new file as a new version; or pass force: true with a reason, which is recorded.',
      );
    }
    if (!reason)
      throw invalid(
        'force needs a reason: it is recorded in the event log with the override.',
        'Pass reason, e.g. "hotfix approved by the on-call lead, gates re-run tomorrow".',
      );
  }
  const actor = await actorOf(project, ctx);
  const change = await withLock(lockFile(project, name), async () => {
    const now = await readModel(project, name);
    const holder = now.stages.find((s) => s.stage === stage)?.version ?? null;
    if (holder === version) return { event: null, changed: false, previous: holder };
    const event = await appendEvent(project, name, now.events, {
      time: (ctx.now?.() ?? new Date()).toISOString(),
      event: 'promote',
      version,
      stage,
      previous: holder,
      actor,
      reason,
      forced: overridden.length > 0,
      gates,
    });
    return { event, changed: true, previous: holder };
  });
  const tags = input.git_tag && change.event ? [await tagForEvent(project, target.record, change.event)] : [];
  return { ...change, stage, version, overridden, gates, tags };
}

// ---------------------------------------------------------------------------------------------------------------
// Rollback

export interface RollbackInput {
  name: string;
  stage: string;
  to_version?: string | null;
  reason?: string | null;
  git_tag?: boolean | null;
}

export async function rollbackModel(project: Project, input: RollbackInput, ctx: RegistryContext): Promise<StageChange> {
  const name = assertModelName(input.name);
  const stage = assertStage(input.stage);
  const wanted = input.to_version == null ? undefined : parseVersionArg(input.to_version);
  if (wanted !== undefined && !SEMVER.test(wanted))
    throw invalid(
      `to_version must be an exact version, not ${JSON.stringify(input.to_version)}.`,
      'Pass a version that held the stage before (get_model shows the history), or omit it for the previous holder.',
    );
  const reason = cleanReason(input.reason);
  const actor = await actorOf(project, ctx);
  const result = await withLock(lockFile(project, name), async () => {
    const model = await readModel(project, name);
    const held = model.stages.find((s) => s.stage === stage);
    if (!held)
      throw new MlError(
        'CONFLICT',
        `No version of ${name} holds ${stage}; there is nothing to roll back.`,
        'Use promote_model to put a version in the stage.',
      );
    const to = wanted ?? held.previous[held.previous.length - 1];
    if (to === undefined)
      throw new MlError(
        'CONFLICT',
        `${name} ${held.version} is the only version that has held ${stage}; there is no earlier holder to roll back to.`,
        'Promote another version with promote_model instead.',
      );
    if (to === held.version)
      throw new MlError(
        'CONFLICT',
        `${name} ${to} already holds ${stage}.`,
        'Pass a different to_version, or omit it for the previous holder.',
      );
    if (!held.previous.includes(to)) {
      throw new MlError(
        'CONFLICT',
        `${name} ${to} is not an earlier holder of ${stage} (earlier holders: ${held.previous.join(', ') || 'none'}); a rollback only returns to one.`,
        `Use promote_model to put ${to} in ${stage}${stage === PRODUCTION ? ' (the gates run)' : ''}.`,
      );
    }
    const record = model.versions.find((v) => v.version === to)!.record;
    // Returning to a file that has changed since would serve something nobody registered.
    const drift = await artifactDrift(project, record.artifact);
    if (drift)
      throw new MlError(
        'CONFLICT',
        `${name} was not rolled back to ${to}: ${drift}.`,
        'Restore the registered file (git checkout), then roll back again.',
      );
    const event = await appendEvent(project, name, model.events, {
      time: (ctx.now?.() ?? new Date()).toISOString(),
      event: 'rollback',
      version: to,
      stage,
      previous: held.version,
      actor,
      reason,
      forced: false,
      gates: null,
    });
    return { event, record, previous: held.version };
  });
  const tags = input.git_tag ? [await tagForEvent(project, result.record, result.event)] : [];
  return {
    event: result.event,
    changed: true,
    stage,
    version: result.event.version,
    previous: result.previous,
    overridden: [],
    gates: null,
    tags,
  };
}
