/**
 * sync_docs: writes what an increment learned into the living docs under .specweave/docs/internal/. Idempotent:
 * the generated text depends only on the increment's files, so a second run changes nothing, and text outside
 * the generated sections is kept.
 */
import * as path from 'node:path';
import { rankExperiments } from './comparison.js';
import { criteriaFromMarkdown, mergeCriteria } from './criteria.js';
import { readAllExperiments } from './experiments.js';
import { readIncrementMetadata, type Increment } from './increments.js';
import { slugify } from './names.js';
import type { Project } from './project.js';
import { MlError } from './errors.js';
import { listEntryKinds, listFiles, readText, withLock, writeAtomic } from './store/disk.js';
import { ensureGitignore, removeDeadLeftovers } from './store/leftovers.js';
import { assertWritableTargets } from './store/write-plan.js';
import {
  renderAdrBody,
  renderAdrHeader,
  renderModelSection,
  renderRunbookBody,
  renderRunbookHeader,
  type DocFacts,
} from '../render/living-docs.js';
import { hasSection, sectionMarkerProblem, upsertSection } from '../render/sections.js';
import { readRegistry, stageHolder, PRODUCTION } from './registry/index.js';
import type { RegistryDocFact } from '../render/living-docs.js';

export interface DocChange {
  path: string;
  action: 'create' | 'update' | 'unchanged';
}

export interface DocSync {
  increment: string;
  dry_run: boolean;
  changes: DocChange[];
  selected_model: string | null;
}

const ADR_NUMBER = /^(\d{4})-/;

function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.keys(obj)
    .sort()
    .flatMap((k) => {
      const v = obj[k];
      const key = prefix ? `${prefix}.${k}` : k;
      return v && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, key) : [[key, v] as [string, unknown]];
    });
}

/** Registered models with a version from this increment, with the production holder now (the registry's read API). */
async function registryFacts(project: Project, inc: Increment): Promise<RegistryDocFact[]> {
  const { models } = await readRegistry(project);
  return models
    .filter((m) => m.versions.some((v) => v.record.increment === inc.id))
    .map((m) => {
      const version = stageHolder(m, PRODUCTION);
      const held = m.stages.find((s) => s.stage === PRODUCTION);
      const record = m.versions.find((v) => v.version === version)?.record;
      return {
        name: m.name,
        latest: m.latest,
        path: m.path,
        production:
          record && held
            ? {
                version: record.version,
                increment: record.increment,
                experiment: record.experiment,
                sha256: record.artifact.sha256,
                since: held.since,
              }
            : null,
      };
    });
}

/** The ADR that already records this increment's model choice, or the next free number for a new one. */
async function locateAdr(adrDir: string, incId: string): Promise<{ file: string; existing?: string; number: string }> {
  const files = (await listFiles(adrDir)).filter((f) => f.endsWith('.md'));
  for (const f of files) {
    const text = await readText(path.join(adrDir, f));
    // A file with only one of the markers is still this increment's ADR: planDoc then refuses its broken markers.
    if (text && (hasSection(text, `adr ${incId}`) || sectionMarkerProblem(text, `adr ${incId}`)))
      return { file: path.join(adrDir, f), existing: text, number: ADR_NUMBER.exec(f)?.[1] ?? '0000' };
  }
  const max = files.reduce((m, f) => Math.max(m, Number(ADR_NUMBER.exec(f)?.[1] ?? 0)), 0);
  const number = String(max + 1).padStart(4, '0');
  const slug = `ml-model-choice-${slugify(incId.replace(/^\d+[A-Z]?-/, ''), 60)}`;
  return { file: path.join(adrDir, `${number}-${slug}.md`), number };
}

interface DocPlan {
  file: string;
  before: string | undefined;
  after: string;
}

/** The new text of a living doc, refusing an existing file whose generated-section markers are broken. */
function planDoc(project: Project, file: string, before: string | undefined, fresh: () => string, key: string, body: string): DocPlan {
  const problem = before === undefined ? undefined : sectionMarkerProblem(before, key);
  if (problem) {
    throw new MlError(
      'CORRUPT',
      `${project.relative(file)}: ${problem}; nothing was written.`,
      `Repair or remove the "<!-- specweave-ml:begin ${key} -->" / "<!-- specweave-ml:end ${key} -->" markers in that file, then call sync_docs again.`,
    );
  }
  return { file, before, after: upsertSection(before ?? fresh(), key, body) };
}

/**
 * Reads every input and renders every doc, in memory. Throws (a broken metadata.json, a doc with broken markers, a
 * target that is not a plain file) before anything is written.
 */
async function planDocs(project: Project, inc: Increment, now: Date): Promise<{ plans: DocPlan[]; selected: string | null }> {
  const archDir = path.join(project.docsDir, 'architecture');
  const adrDir = path.join(archDir, 'adr');
  const [meta, loaded, spec, registry] = await Promise.all([
    readIncrementMetadata(project, inc),
    readAllExperiments(project, inc),
    readText(path.join(inc.dir, 'spec.md')),
    registryFacts(project, inc),
  ]);
  const comparison = rankExperiments(inc, meta.ml, loaded);
  const best = loaded.experiments.find((e) => e.name === (comparison.best_candidate ?? comparison.best)?.experiment);
  const adr = await locateAdr(adrDir, inc.id);
  const runbookFile = path.join(project.docsDir, 'operations', `runbook-${slugify(inc.id.replace(/^\d+[A-Z]?-/, ''), 60)}-retraining.md`);
  const modelsFile = path.join(archDir, 'ml-models.md');
  const title = typeof meta.raw.title === 'string' ? meta.raw.title : inc.id;
  const rel = (abs: string) => path.relative(project.docsDir, abs).split(path.sep).join('/');
  const facts: DocFacts = {
    increment: inc.id,
    title,
    problemType: meta.ml.problem_type,
    comparison,
    bestParams: best ? flatten(best.params) : [],
    notes: Object.fromEntries(
      loaded.experiments.filter((e) => e.meta.notes.length).map((e) => [e.name, e.meta.notes[0]!.text.split('\n')[0]!]),
    ),
    criteria: mergeCriteria(meta.ml.success_criteria, spec ? criteriaFromMarkdown(spec).criteria : []),
    adrPath: rel(adr.file),
    adrTitle: `Model choice for ${title}`,
    runbookPath: rel(runbookFile),
    modelsDocPath: rel(modelsFile),
    comparisonPath: path
      .relative(project.docsDir, path.join(inc.dir, 'experiments', 'comparison.md'))
      .split(path.sep)
      .join('/'),
    registry,
  };
  const date = now.toISOString().slice(0, 10);
  const [modelsBefore, runbookBefore] = await Promise.all([readText(modelsFile), readText(runbookFile)]);
  // Written in this order: the ADR and the runbook before ml-models.md, which links to both, so a crash between
  // files never leaves a link to a file that does not exist yet.
  const plans = [
    planDoc(project, adr.file, adr.existing, () => renderAdrHeader(adr.number, facts, date), `adr ${inc.id}`, renderAdrBody(facts)),
    planDoc(project, runbookFile, runbookBefore, () => renderRunbookHeader(facts), `runbook ${inc.id}`, renderRunbookBody(facts)),
    planDoc(project, modelsFile, modelsBefore, () => MODELS_HEADER, inc.id, renderModelSection(facts)),
  ];
  await assertWritableTargets(
    project,
    plans.filter((p) => p.before !== p.after).map((p) => p.file),
  );
  return { plans, selected: best?.name ?? null };
}

const MODELS_HEADER =
  '# ML models\n\nOne section per ML increment, kept up to date by sync_docs. Text outside the generated sections is yours.\n\n';
/** How the changes are reported: models doc, ADR, runbook, whatever the order they are written in. */
const REPORT_ORDER = [2, 0, 1];

function report(project: Project, inc: Increment, dryRun: boolean, plan: { plans: DocPlan[]; selected: string | null }): DocSync {
  const changes: DocChange[] = REPORT_ORDER.map((i) => plan.plans[i]!).map((p) => ({
    path: project.relative(p.file),
    action: p.before === undefined ? 'create' : p.before === p.after ? 'unchanged' : 'update',
  }));
  return { increment: inc.id, dry_run: dryRun, changes, selected_model: plan.selected };
}

export async function syncDocs(project: Project, inc: Increment, opts: { dry_run?: boolean | null; now?: Date } = {}): Promise<DocSync> {
  const dryRun = opts.dry_run === true;
  const now = opts.now ?? new Date();
  // Plan without the lock first: a failure then writes nothing, not even the lock's folder, and a dry run or a
  // sync with nothing to change never blocks a writer.
  const first = await planDocs(project, inc, now);
  if (dryRun || first.plans.every((p) => p.before === p.after)) return report(project, inc, dryRun, first);
  // One writer at a time across the docs folder: ADR numbering must not race. Plan again under the lock, since
  // another sync may have changed the docs in between.
  return withLock(path.join(project.docsDir, '.sync.lock'), async () => {
    const plan = await planDocs(project, inc, now);
    const changed = plan.plans.filter((p) => p.before !== p.after);
    for (const p of changed) await writeAtomic(p.file, p.after);
    for (const dir of new Set(changed.map((p) => path.dirname(p.file)))) await removeDeadLeftovers(dir, await listEntryKinds(dir));
    await ensureGitignore(project.specweaveDir);
    return report(project, inc, false, plan);
  });
}
