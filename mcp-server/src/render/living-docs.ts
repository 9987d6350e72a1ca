/**
 * The living-docs text sync_docs maintains: a section per increment in ml-models.md, the model-choice ADR and
 * the retraining runbook. Pure: facts in, markdown out. Generated text sits between markers so that everything
 * people write outside them survives every sync.
 */
import type { Comparison, RankedExperiment } from '../core/comparison.js';
import type { Criterion } from '../core/criteria.js';
import { cell, fmt, fmtPercent } from './format.js';
import { fmtMeasurement, selectionSentence } from './comparison-report.js';

export interface DocFacts {
  increment: string;
  title: string;
  problemType: string | null;
  comparison: Comparison;
  /** Parameters of the chosen model, flattened ("model.max_depth"). */
  bestParams: [string, unknown][];
  /** First note of each experiment, for "what else was tried". */
  notes: Record<string, string>;
  criteria: Criterion[];
  adrPath: string;
  adrTitle: string;
  runbookPath: string;
  modelsDocPath: string;
  comparisonPath: string;
  /** Registered models with a version from this increment, and who holds production now (model registry). */
  registry?: RegistryDocFact[];
}

/** One registered model as the living docs show it (core/registry: the holder is derived from the event log). */
export interface RegistryDocFact {
  name: string;
  latest: string | null;
  /** The version in production now, or null when none is. */
  production: { version: string; increment: string; experiment: string; sha256: string; since: string } | null;
  /** The registry folder, relative to the project root. */
  path: string;
}

/** "- In production: **churn 1.0.2** (…)" per registered model; nothing when the increment registered none. */
function registryLines(f: DocFacts): string[] {
  return (f.registry ?? []).map((m) =>
    m.production
      ? `- In production: **${m.name} ${m.production.version}** (${m.production.increment}/${m.production.experiment}, sha256 ${m.production.sha256.slice(0, 12)}…, since ${m.production.since}); latest registered ${m.latest}; registry \`${m.path}\``
      : `- Registered as ${m.name} (latest ${m.latest}); no version in production yet; registry \`${m.path}\``,
  );
}

function chosen(f: DocFacts) {
  return f.comparison.best_candidate ?? f.comparison.best;
}

function relLink(from: string, to: string): string {
  const a = from.split('/').slice(0, -1);
  const b = to.split('/');
  let i = 0;
  while (i < a.length && a[i] === b[i]) i += 1;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

function whyLines(f: DocFacts): string[] {
  const c = f.comparison;
  const best = chosen(f);
  if (!best) return ['- No experiment has the primary metric yet.'];
  const lines = [
    `- Best of ${c.ranking.length} ranked experiments on ${c.primary_metric} (${c.direction}): ${describeValues(c, best)}.`,
    `- ${selectionSentence(c)}`,
  ];
  if (c.improvement)
    lines.push(
      `- Beats the best baseline ${c.improvement.baseline} (${fmt(c.improvement.baseline_value)}) on the ${c.improvement.measured_on === 'test' ? 'test set' : `${c.improvement.measured_on} value`} by ${fmt(c.improvement.absolute)} absolute, ${fmtPercent(c.improvement.improvement)} by the ${c.improvement.rule.replace(/_/g, ' ')} rule.`,
    );
  const runnerUp = c.ranking.find(
    (r) => r.experiment !== best.experiment && !r.baseline && r.status !== 'failed' && r.status !== 'killed' && Number.isFinite(r.value),
  );
  if (runnerUp) lines.push(`- Runner-up ${runnerUp.experiment}: ${fmt(runnerUp.value)}.`);
  const others = Object.entries(best.metrics).filter(([k]) => k !== c.primary_metric);
  if (others.length) lines.push(`- Other metrics: ${others.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}.`);
  return lines;
}

function triedLines(f: DocFacts): string[] {
  const best = chosen(f);
  const c = f.comparison;
  const note = (name: string) => (f.notes[name] ? ` — ${f.notes[name]}` : '');
  const ranked = c.ranking.map((r) => {
    const mark =
      r.experiment === best?.experiment ? ' **selected**' : r.baseline ? ' (baseline)' : r.status !== 'completed' ? ` (${r.status})` : '';
    return `- ${r.experiment}: ${describeValues(c, r)}${mark}${note(r.experiment)}`;
  });
  const unranked = c.skipped.map((s) => {
    const value = s.test_value !== undefined ? `${c.primary_metric}=${fmt(s.test_value)} ` : '';
    const why = s.status === 'failed' || s.status === 'killed' ? `(${s.status})` : `(not ranked: ${s.reason})`;
    return `- ${s.experiment}: ${value}${why}${note(s.experiment)}`;
  });
  return [...ranked, ...unranked];
}

/** "roc_auc=0.88 on the test set, selected on CV mean 0.88 ± 0.0079 (5)", or the one value when they are the same. */
function describeValues(c: Comparison, r: RankedExperiment): string {
  if (c.selection.source === 'test') return `${c.primary_metric}=${fmt(r.value)}`;
  const sel = `${c.selection.source === 'cv' ? 'CV mean' : 'validation'} ${fmtMeasurement(r.selection)}`;
  return `${c.primary_metric}=${fmt(r.test_value)} on the test set, ${sel}`;
}

function paramLines(f: DocFacts): string[] {
  if (!f.bestParams.length) return ['- (none recorded)'];
  const shown = f.bestParams.slice(0, 25).map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (f.bestParams.length > 25) shown.push(`- … ${f.bestParams.length - 25} more in params.json`);
  return shown;
}

export function renderModelSection(f: DocFacts): string {
  const best = chosen(f);
  return [
    `## ${f.title} (increment ${f.increment})`,
    '',
    `- Problem type: ${f.problemType ?? 'unspecified'}`,
    `- Selected model: ${best ? `**${best.experiment}**` : 'none yet'}`,
    `- Decision record: [${f.adrTitle}](${relLink(f.modelsDocPath, f.adrPath)})`,
    `- Retraining: [runbook](${relLink(f.modelsDocPath, f.runbookPath)})`,
    `- Full comparison: [comparison.md](${relLink(f.modelsDocPath, f.comparisonPath)})`,
    ...registryLines(f),
    '',
    '### Why this model',
    '',
    ...whyLines(f),
    '',
    '### What else was tried',
    '',
    ...triedLines(f),
    '',
    '### Hyperparameters',
    '',
    ...paramLines(f),
  ].join('\n');
}

export function renderAdrHeader(number: string, f: DocFacts, date: string): string {
  return `# ADR-${number}: ${f.adrTitle}\n\n**Status**: proposed\n**Created**: ${date}\n**Increment**: ${f.increment}\n\n`;
}

export function renderAdrBody(f: DocFacts): string {
  const best = chosen(f);
  const c = f.comparison;
  return [
    '## Context',
    '',
    `Increment ${f.increment} (${f.title}) needs a ${f.problemType ?? 'ML'} model. Candidates were ranked on ${c.primary_metric} (${c.direction}); ${c.experiments_total} experiments were recorded.`,
    '',
    '## Decision',
    '',
    best ? `Use **${best.experiment}**.` : 'No model has been chosen yet.',
    '',
    ...whyLines(f),
    '',
    '## Alternatives considered',
    '',
    ...triedLines(f),
    '',
    '## Consequences',
    '',
    `- The model is retrained and re-validated as described in the [retraining runbook](${relLink(f.adrPath, f.runbookPath)}).`,
    ...(f.criteria.length ? [`- It must keep meeting: ${f.criteria.map((x) => x.text).join('; ')}.`] : []),
  ].join('\n');
}

export function renderRunbookHeader(f: DocFacts): string {
  return `# Runbook: retraining the ${f.title} model\n\n`;
}

export function renderRunbookBody(f: DocFacts): string {
  const best = chosen(f);
  const c = f.comparison;
  const criteria = f.criteria.length
    ? f.criteria.map((x) => `- ${cell(x.text)}`)
    : [`- ${c.primary_metric} no worse than the current model`];
  return [
    `Current model: ${best ? `**${best.experiment}** (${c.primary_metric}=${fmt(best.test_value ?? best.value)}${best.test_value !== null ? ' on the test set' : ''})` : 'none yet'}, from increment ${f.increment}.`,
    ...(f.registry?.length
      ? ['', ...registryLines(f), '- Roll back with rollback_model {name, stage: "production"} (the previous holder), then sync_docs.']
      : []),
    '',
    '## When to retrain',
    '',
    `- The live ${c.primary_metric} falls below the acceptance thresholds below.`,
    '- Input data drifts (feature distributions or the label rate move away from the training data).',
    '- New labelled data covers a period or segment the model has not seen.',
    '',
    '## How',
    '',
    '1. Create a new increment (create_increment) that refers to this one.',
    '2. Retrain the current configuration on fresh data as a baseline-to-beat, plus any new candidates; track each (track_experiment).',
    '3. Compare (compare_experiments) and validate (validate_increment); only a passing increment replaces the model.',
    '4. Sync the docs (sync_docs) so this runbook and the ADR point at the new model.',
    '',
    '## Acceptance thresholds',
    '',
    ...criteria,
    '',
    '## Current hyperparameters',
    '',
    ...paramLines(f),
  ].join('\n');
}
