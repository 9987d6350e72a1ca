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
import { listFiles, readText, withLock, writeAtomic } from './store/disk.js';
import { renderAdrBody, renderAdrHeader, renderModelSection, renderRunbookBody, renderRunbookHeader, type DocFacts } from '../render/living-docs.js';
import { hasSection, upsertSection } from '../render/sections.js';

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
  return Object.keys(obj).sort().flatMap((k) => {
    const v = obj[k];
    const key = prefix ? `${prefix}.${k}` : k;
    return v && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, key) : [[key, v] as [string, unknown]];
  });
}

/** The ADR that already records this increment's model choice, or the next free number for a new one. */
async function locateAdr(adrDir: string, incId: string): Promise<{ file: string; existing?: string; number: string }> {
  const files = (await listFiles(adrDir)).filter((f) => f.endsWith('.md'));
  for (const f of files) {
    const text = await readText(path.join(adrDir, f));
    if (text && hasSection(text, `adr ${incId}`)) return { file: path.join(adrDir, f), existing: text, number: ADR_NUMBER.exec(f)?.[1] ?? '0000' };
  }
  const max = files.reduce((m, f) => Math.max(m, Number(ADR_NUMBER.exec(f)?.[1] ?? 0)), 0);
  const number = String(max + 1).padStart(4, '0');
  const slug = `ml-model-choice-${slugify(incId.replace(/^\d+[A-Z]?-/, ''), 60)}`;
  return { file: path.join(adrDir, `${number}-${slug}.md`), number };
}

export async function syncDocs(project: Project, inc: Increment, opts: { dry_run?: boolean | null; now?: Date } = {}): Promise<DocSync> {
  const dryRun = opts.dry_run === true;
  const archDir = path.join(project.docsDir, 'architecture');
  const adrDir = path.join(archDir, 'adr');
  // One writer at a time across the docs folder: ADR numbering must not race.
  return withLock(path.join(project.docsDir, '.sync.lock'), async () => {
    const [meta, loaded, spec] = await Promise.all([
      readIncrementMetadata(project, inc),
      readAllExperiments(project, inc),
      readText(path.join(inc.dir, 'spec.md')),
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
      notes: Object.fromEntries(loaded.experiments.filter((e) => e.meta.notes.length).map((e) => [e.name, e.meta.notes[0]!.text.split('\n')[0]!])),
      criteria: mergeCriteria(meta.ml.success_criteria, spec ? criteriaFromMarkdown(spec).criteria : []),
      adrPath: rel(adr.file),
      adrTitle: `Model choice for ${title}`,
      runbookPath: rel(runbookFile),
      modelsDocPath: rel(modelsFile),
      comparisonPath: path.relative(project.docsDir, path.join(inc.dir, 'experiments', 'comparison.md')).split(path.sep).join('/'),
    };
    const date = (opts.now ?? new Date()).toISOString().slice(0, 10);
    const plans: { file: string; before: string | undefined; after: string }[] = [];
    const modelsBefore = await readText(modelsFile);
    plans.push({
      file: modelsFile,
      before: modelsBefore,
      after: upsertSection(modelsBefore ?? '# ML models\n\nOne section per ML increment, kept up to date by sync_docs. Text outside the generated sections is yours.\n\n', inc.id, renderModelSection(facts)),
    });
    plans.push({ file: adr.file, before: adr.existing, after: upsertSection(adr.existing ?? renderAdrHeader(adr.number, facts, date), `adr ${inc.id}`, renderAdrBody(facts)) });
    const runbookBefore = await readText(runbookFile);
    plans.push({ file: runbookFile, before: runbookBefore, after: upsertSection(runbookBefore ?? renderRunbookHeader(facts), `runbook ${inc.id}`, renderRunbookBody(facts)) });

    const changes: DocChange[] = plans.map((p) => ({
      path: project.relative(p.file),
      action: p.before === undefined ? 'create' : p.before === p.after ? 'unchanged' : 'update',
    }));
    if (!dryRun) {
      for (const p of plans) if (p.before !== p.after) await writeAtomic(p.file, p.after);
    }
    return { increment: inc.id, dry_run: dryRun, changes, selected_model: best?.name ?? null };
  });
}
