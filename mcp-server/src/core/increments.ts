/** Increments: create them, find them by number or name, read and update their metadata. */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { parseCriterion, type Criterion } from './criteria.js';
import { resolveCriteria, resolvePrimaryMetric, resolveSelection, resolveThresholds, withCriteriaSection } from './increment-settings.js';
import { MlError, invalid, notFound } from './errors.js';
import { parseJsonObject, stringifyCanonical } from './json.js';
import { slugify } from './names.js';
import { PROBLEM_PROFILES, PROBLEM_TYPES, isProblemType, type ProblemType } from './problem-types.js';
import type { Project } from './project.js';
import { inferDirection as inferDirectionName } from './ranking.js';
import { SELECTION_SETTINGS, type SelectionSetting } from './selection.js';
import { DEFAULT_THRESHOLDS, GATES, THRESHOLDS } from './gates/index.js';
import {
  listDirectories,
  listEntryKinds,
  makeDirs,
  moveDirectoryIntoPlace,
  readText,
  removeTree,
  withLock,
  writeAtomic,
  writeNewFile,
  type EntryKind,
} from './store/disk.js';
import { ensureGitignore, removeDeadLeftovers } from './store/leftovers.js';
import { renderPlan, renderSpec, renderTasks, renderTests } from '../render/increment-templates.js';

export const LIFECYCLE_FOLDERS = ['_archive', '_abandoned', '_paused', '_backlog'];
const NUMBERED = /^(\d{3,4})[GJAE]?-/;

export interface Increment {
  id: string;
  dir: string;
}

export type Direction = 'maximize' | 'minimize';

/** The gates' thresholds by key (core/gates/index.ts lists them with their defaults). */
export type Thresholds = Record<string, number>;

export interface MlSettings {
  problem_type: ProblemType | null;
  primary_metric: string | null;
  direction: Direction | null;
  success_criteria: Criterion[];
  thresholds: Thresholds;
  /** How candidates are ranked (core/selection.ts); "auto" unless the increment says otherwise. */
  selection: SelectionSetting;
  /** Metric names of the team's own, accepted although the vocabulary does not know them. */
  custom_metrics: string[];
}

export interface IncrementMetadata {
  raw: Record<string, unknown>;
  ml: MlSettings;
}

export function experimentsDir(inc: Increment): string {
  return path.join(inc.dir, 'experiments');
}

/** The active increments (numbered folders directly under increments/), sorted. */
export async function listIncrements(project: Project): Promise<Increment[]> {
  const names = await listDirectories(project.incrementsDir);
  return names.filter((n) => NUMBERED.test(n)).map((id) => ({ id, dir: path.join(project.incrementsDir, id) }));
}

/** "0042", "42", "0042-churn-model" or a unique prefix of the folder name. */
export async function resolveIncrement(project: Project, ref: string): Promise<Increment> {
  const wanted = ref.trim();
  if (!wanted || /[\\/\0]/.test(wanted) || wanted.includes('..')) {
    throw invalid(
      `Invalid increment reference ${JSON.stringify(ref)}.`,
      'Pass the increment number ("0042" or "42") or its folder name ("0042-churn-model").',
    );
  }
  const all = await listIncrements(project);
  const exact = all.find((i) => i.id === wanted);
  if (exact) return exact;
  let matches: Increment[];
  if (/^\d+$/.test(wanted)) {
    const n = Number(wanted);
    matches = all.filter((i) => Number(NUMBERED.exec(i.id)![1]) === n);
  } else {
    matches = all.filter((i) => i.id.startsWith(wanted));
  }
  if (matches.length === 1) return matches[0]!;
  const list = (matches.length ? matches : all).map((i) => i.id);
  if (matches.length > 1) {
    throw new MlError(
      'AMBIGUOUS',
      `Increment ${JSON.stringify(ref)} matches ${matches.length} folders: ${list.join(', ')}.`,
      'Pass the full folder name.',
    );
  }
  throw notFound(
    `No increment ${JSON.stringify(ref)} in ${project.relative(project.incrementsDir)}.`,
    all.length
      ? `Existing increments: ${list.slice(0, 20).join(', ')}${list.length > 20 ? ', …' : ''}.`
      : 'There are no increments yet: call create_increment first.',
  );
}

/**
 * The highest increment number used anywhere (active and lifecycle folders). Every numbered entry of increments/
 * counts, files and symlinks too, so a new increment never lands on a name something already occupies.
 */
async function highestNumber(project: Project, top: Map<string, EntryKind>): Promise<number> {
  const names = [...top.keys()];
  for (const f of LIFECYCLE_FOLDERS) names.push(...(await listDirectories(path.join(project.incrementsDir, f))));
  let max = 0;
  for (const name of names) {
    const m = NUMBERED.exec(name);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

export interface CreateIncrementInput {
  title: string;
  problem_type?: string | null;
  primary_metric?: string | null;
  direction?: Direction | null;
  success_criteria?: string[] | null;
  /** Metric names of the caller's own that the vocabulary does not know, accepted in criteria and as primary. */
  custom_metrics?: string[] | null;
}

export interface CreatedIncrement {
  increment: string;
  path: string;
  files: string[];
  problem_type: ProblemType;
  primary_metric: string;
  direction: Direction;
  success_criteria: Criterion[];
}

export async function createIncrement(project: Project, input: CreateIncrementInput, now = new Date()): Promise<CreatedIncrement> {
  const title = input.title.trim();
  const slug = slugify(title);
  if (!slug)
    throw invalid(
      `The title ${JSON.stringify(input.title)} has no letters or digits to name the folder with.`,
      'Pass a descriptive title, e.g. "Fraud detection".',
    );
  const problemType = input.problem_type ?? 'classification';
  if (!isProblemType(problemType)) {
    throw invalid(`Unknown problem_type ${JSON.stringify(problemType)}.`, `Use one of: ${PROBLEM_TYPES.join(', ')}.`);
  }
  const profile = PROBLEM_PROFILES[problemType];
  const customMetrics = input.custom_metrics ?? [];
  const criteria = resolveCriteria(input.success_criteria ?? [], customMetrics);
  const primaryMetric = input.primary_metric?.trim() ? resolvePrimaryMetric(input.primary_metric, customMetrics) : profile.primaryMetric;
  const direction = input.direction ?? (input.primary_metric ? inferDirectionName(primaryMetric) : profile.direction);

  const created = await withLock(path.join(project.incrementsDir, '.create.lock'), async () => {
    const top = await listEntryKinds(project.incrementsDir);
    const number = (await highestNumber(project, top)) + 1;
    if (number > 9999) throw new MlError('CONFLICT', 'All increment numbers up to 9999 are used.', 'Archive or renumber old increments.');
    const id = `${String(number).padStart(4, '0')}-${slug}`;
    const dir = path.join(project.incrementsDir, id);
    const stamp = now.toISOString();
    const metadata = {
      id,
      title,
      status: 'planning',
      type: 'feature',
      created: stamp,
      lastActivity: stamp,
      ml: {
        problem_type: problemType,
        primary_metric: primaryMetric,
        direction,
        success_criteria: criteria,
        thresholds: DEFAULT_THRESHOLDS,
        ...(customMetrics.length ? { custom_metrics: [...customMetrics] } : {}),
      },
    };
    const template = {
      id,
      title,
      problemType,
      primaryMetric,
      direction,
      criteria,
      minImprovement: DEFAULT_THRESHOLDS.min_improvement!,
      gates: GATES.map((g) => ({
        id: g.id,
        summary: g.summary,
        thresholds: (g.thresholds ?? []).map((t) => ({ key: t.key, value: t.default })),
      })),
      project: slugify(path.basename(project.root)) || 'default',
      date: stamp.slice(0, 10),
    };
    // Plan: every file rendered before anything is written.
    const files: Record<string, string> = {
      'metadata.json': stringifyCanonical(metadata),
      'spec.md': renderSpec(template),
      'plan.md': renderPlan(template),
      'tasks.md': renderTasks(template),
      'tests.md': renderTests(template),
    };
    await writeIncrementWhole(project, dir, files);
    await removeDeadLeftovers(project.incrementsDir, top);
    return {
      increment: id,
      path: project.relative(dir),
      files: Object.keys(files),
      problem_type: problemType,
      primary_metric: primaryMetric,
      direction,
      success_criteria: criteria,
    };
  });
  await ensureGitignore(project.specweaveDir, { recheck: true });
  return created;
}

const INCREMENT_FOLDERS = ['experiments', 'data', 'models', 'notebooks'];

/**
 * Writes the increment's files and folders in a private staging folder (`increments/.staging-<pid>-<hex>`, which
 * nothing lists as an increment) and renames it into place: the increment appears complete or not at all, and a
 * crash leaves at worst a staging folder that the next create_increment removes.
 */
async function writeIncrementWhole(project: Project, dir: string, files: Record<string, string>): Promise<void> {
  const staging = path.join(project.incrementsDir, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    for (const [name, text] of Object.entries(files)) await writeNewFile(path.join(staging, name), text);
    for (const sub of INCREMENT_FOLDERS) await makeDirs(path.join(staging, sub));
    if (!(await moveDirectoryIntoPlace(staging, dir))) {
      throw new MlError(
        'CONFLICT',
        `${project.relative(dir)} already exists.`,
        'Another writer created it meanwhile; call create_increment again.',
      );
    }
  } finally {
    await removeTree(staging); // nothing left to remove after a successful rename
  }
}

export async function readIncrementMetadata(project: Project, inc: Increment): Promise<IncrementMetadata> {
  const file = path.join(inc.dir, 'metadata.json');
  const text = await readText(file);
  if (text === undefined) {
    throw new MlError(
      'CORRUPT',
      `${project.relative(file)} is missing.`,
      'Recreate it (id, status, type, created, lastActivity) or create the increment with create_increment.',
    );
  }
  const raw = parseJsonObject(
    text,
    project.relative(file),
    'Fix the file; it must be a JSON object (id, status, type, created, lastActivity, ml).',
  );
  return { raw, ml: readMlSettings(raw.ml) };
}

function readMlSettings(value: unknown): MlSettings {
  const ml = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const thresholds = (ml.thresholds && typeof ml.thresholds === 'object' ? ml.thresholds : {}) as Record<string, unknown>;
  const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
  const criteria: Criterion[] = [];
  for (const c of Array.isArray(ml.success_criteria) ? ml.success_criteria : []) {
    if (typeof c === 'string') {
      const parsed = parseCriterion(c);
      if (parsed) criteria.push(parsed);
    } else if (c && typeof c === 'object') {
      const o = c as Record<string, unknown>;
      const parsed = typeof o.text === 'string' ? parseCriterion(o.text) : undefined;
      if (typeof o.metric === 'string' && typeof o.value === 'number' && ['>', '>=', '<', '<='].includes(String(o.op))) {
        criteria.push({
          metric: o.metric,
          op: o.op as Criterion['op'],
          value: o.value,
          text: typeof o.text === 'string' ? o.text : `${o.metric} ${o.op} ${o.value}`,
          ...(o.custom === true ? { custom: true as const } : {}),
        });
      } else if (parsed) criteria.push(parsed);
    }
  }
  const problem = typeof ml.problem_type === 'string' && isProblemType(ml.problem_type) ? ml.problem_type : null;
  return {
    problem_type: problem,
    primary_metric: typeof ml.primary_metric === 'string' && ml.primary_metric ? ml.primary_metric : null,
    direction: ml.direction === 'maximize' || ml.direction === 'minimize' ? ml.direction : null,
    selection: SELECTION_SETTINGS.includes(ml.selection as SelectionSetting) ? (ml.selection as SelectionSetting) : 'auto',
    custom_metrics: Array.isArray(ml.custom_metrics) ? ml.custom_metrics.filter((m): m is string => typeof m === 'string') : [],
    success_criteria: criteria,
    thresholds: Object.fromEntries(THRESHOLDS.map((t) => [t.key, num(thresholds[t.key], t.default)])),
  };
}

/** Read-modify-write of metadata.json under the increment's lock; unknown keys are kept. */
export async function updateIncrementMetadata(
  project: Project,
  inc: Increment,
  change: (raw: Record<string, unknown>) => Record<string, unknown> | undefined,
): Promise<void> {
  await withLock(path.join(inc.dir, '.lock'), async () => {
    const { raw } = await readIncrementMetadata(project, inc);
    const next = change(raw);
    if (!next) return;
    await writeAtomic(path.join(inc.dir, 'metadata.json'), stringifyCanonical(next));
    await removeDeadLeftovers(inc.dir, await listEntryKinds(inc.dir));
  });
}

export interface IncrementSettingsUpdate {
  primary_metric?: string | null;
  direction?: Direction | null;
  success_criteria?: string[] | null;
  custom_metrics?: string[] | null;
  thresholds?: Record<string, number> | null;
  selection?: string | null;
}

export interface UpdatedIncrement {
  increment: string;
  changed: string[];
  ml: MlSettings;
  files: string[];
}

/**
 * update_increment: validates every setting first (names against the vocabulary, criteria, threshold keys), then,
 * under the increment's lock, rewrites spec.md's Success Criteria from the new criteria and metadata.json last, so a
 * crash in between leaves a disagreement validate_increment reports, never a half-written file.
 */
export async function updateIncrementSettings(project: Project, inc: Increment, u: IncrementSettingsUpdate): Promise<UpdatedIncrement> {
  return withLock(path.join(inc.dir, '.lock'), async () => {
    const { raw, ml } = await readIncrementMetadata(project, inc);
    const custom = [...new Set([...ml.custom_metrics, ...(u.custom_metrics ?? [])])];
    const next = { ...((raw.ml && typeof raw.ml === 'object' ? raw.ml : {}) as Record<string, unknown>) };
    const changed: string[] = [];
    if (u.primary_metric != null) {
      next.primary_metric = resolvePrimaryMetric(u.primary_metric, custom);
      if (u.direction == null) next.direction = inferDirectionName(next.primary_metric as string);
      changed.push('primary_metric');
    }
    if (u.direction != null) ((next.direction = u.direction), changed.push('direction'));
    let criteria = ml.success_criteria;
    if (u.success_criteria != null) {
      criteria = resolveCriteria(u.success_criteria, custom);
      next.success_criteria = criteria;
      changed.push('success_criteria');
    }
    if (u.thresholds != null) {
      next.thresholds = { ...ml.thresholds, ...resolveThresholds(u.thresholds) };
      changed.push('thresholds');
    }
    if (u.selection != null) ((next.selection = resolveSelection(u.selection)), changed.push('selection'));
    if (u.custom_metrics?.length) ((next.custom_metrics = custom), changed.push('custom_metrics'));
    if (!changed.length)
      throw invalid(
        'Nothing to change.',
        'Pass at least one of primary_metric, direction, success_criteria, custom_metrics, thresholds, selection.',
      );

    const specFile = path.join(inc.dir, 'spec.md');
    const spec = u.success_criteria != null ? await readText(specFile) : undefined;
    const newSpec = spec !== undefined ? withCriteriaSection(spec, criteria, custom) : undefined;
    const newMeta = stringifyCanonical({ ...raw, ml: next, lastActivity: new Date().toISOString() });
    const files: string[] = [];
    if (newSpec !== undefined && newSpec !== spec) {
      await writeAtomic(specFile, newSpec);
      files.push(project.relative(specFile));
    }
    await writeAtomic(path.join(inc.dir, 'metadata.json'), newMeta);
    files.push(project.relative(path.join(inc.dir, 'metadata.json')));
    return { increment: inc.id, changed, ml: readMlSettings(next), files };
  });
}
