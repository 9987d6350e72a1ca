/**
 * Git for the registry, through the hardened runner git-info uses (importers/git-read.ts): who acts (git's
 * user.name and user.email), and, when a caller asks, annotated tags in GTO's convention so GTO and other
 * git-native tools see the same registry: `name@vX.Y.Z` for a registration, `name#stage#N` for a stage assignment
 * (N = the event's seq). The event log stays the source of truth; a tag that cannot be made is reported, never fatal.
 */
import { git, gitText } from '../importers/git-read.js';
import type { Project } from '../project.js';
import type { EventRecord, VersionRecord } from './types.js';

/** The project's code may live in an enclosing repository, as for git-info. */
const GIT_OPTIONS = { allowRepoAbove: true };
/** A tag must never start a signing program the repository's config names. */
const NO_SIGNING = ['-c', 'tag.gpgSign=false', '-c', 'tag.forceSignAnnotated=false'];

export interface TagResult {
  tag: string;
  created: boolean;
  /** The commit tagged, when created. */
  commit: string | null;
  /** Why it was not created. */
  error: string | null;
}

/** SPECWEAVE_ACTOR, else "user.name <user.email>" from git's config, else null. */
export async function gitActor(project: Project): Promise<string | null> {
  const fromEnv = process.env.SPECWEAVE_ACTOR?.trim();
  if (fromEnv) return fromEnv.slice(0, 300);
  const read = (key: string) =>
    gitText(project.root, ['config', '--get', key], GIT_OPTIONS)
      .then((s) => s.trim())
      .catch(() => '');
  const [name, email] = await Promise.all([read('user.name'), read('user.email')]);
  const actor = name && email ? `${name} <${email}>` : name || email;
  return actor ? actor.slice(0, 300) : null;
}

/** GTO's tag name for an event. */
export function gtoTagName(event: EventRecord): string {
  return event.event === 'register' ? `${event.model}@v${event.version}` : `${event.model}#${event.stage}#${event.seq}`;
}

function gtoMessage(event: EventRecord): string {
  return event.event === 'register'
    ? `Registering artifact ${event.model} version v${event.version}`
    : `Assigning stage ${event.stage} to artifact ${event.model} version v${event.version}`;
}

/** Creates the event's annotated tag on the commit the version was registered at. */
export async function tagForEvent(project: Project, record: VersionRecord, event: EventRecord): Promise<TagResult> {
  const tag = gtoTagName(event);
  const commit = record.registered_git?.commit ?? null;
  if (!commit || !/^[0-9a-f]{7,64}$/.test(commit)) {
    return { tag, created: false, commit: null, error: 'the version was registered outside a git repository (no commit to tag)' };
  }
  try {
    await git(project.root, [...NO_SIGNING, 'tag', '-a', tag, '-m', gtoMessage(event), commit], GIT_OPTIONS);
    return { tag, created: true, commit, error: null };
  } catch (e) {
    return { tag, created: false, commit: null, error: (e as Error).message.split('\n')[0]!.slice(0, 300) };
  }
}
