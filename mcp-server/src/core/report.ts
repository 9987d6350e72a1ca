/**
 * The browser report: `.specweave/increments/<id>/report.html` per increment and the project index
 * `.specweave/report.html`. This module gathers what the report shows (experiments, ranking, histories, the best
 * model's plots, gates, registry versions, notes) into the payload of core/report/payload.ts and returns a plan of
 * files; render/report/ turns payloads into HTML; writeReportPlan writes the plan. complete_increment and
 * compare_experiments call planReport and write its files with their own.
 */
import * as path from 'node:path';
import { rankExperiments, type Comparison } from './comparison.js';
import { MlError } from './errors.js';
import { listExperimentNames, readAllExperiments, type Experiment } from './experiments.js';
import { listIncrements, readIncrementMetadata, resolveIncrement, type Increment, type IncrementMetadata } from './increments.js';
import { isInside, type Project } from './project.js';
import { readRegistry, type RegistrySummary } from './registry/index.js';
import { buildReportPayload, num, type RegistryRow, type ReportPayload, type ReportPlot } from './report/payload.js';
import { readReportHistories } from './report/histories.js';
import { isFile, readText, writeAtomic } from './store/disk.js';
import { assertWritableTargets } from './store/write-plan.js';
import { validateIncrement } from './validation.js';
import { PALETTE } from '../render/svg/svg.js';
import { renderIncrementReport } from '../render/report/increment-page.js';
import { renderIndexPage, type IndexRow } from '../render/report/index-page.js';

export const REPORT_FILE = 'report.html';

/** An evaluation plot larger than this is left out of the report (the evaluation's own plots are a few KiB). */
const MAX_PLOT_BYTES = 2 * 1024 * 1024;
const MAX_PLOTS = 12;
/** The index works out the best run of an increment it is not rendering only up to this many experiments. */
const MAX_SUMMARISED_EXPERIMENTS = 2000;

export interface IncrementReportSummary {
  increment: string;
  file: string;
  bytes: number;
  experiments: number;
  ranked: number;
  best: string | null;
  curves: number;
  points_kept: number;
  points_logged: number;
}

export interface ReportPlan {
  /** Absolute paths and their full texts, written in this order (the index last, as it links to the others). */
  files: { path: string; text: string }[];
  increments: IncrementReportSummary[];
  index: string;
}

/**
 * The registry's current versions (through its read API): each stage's holder, and the latest version when it
 * holds no stage. A registry that cannot be read is a note in the report, not a failed render.
 */
async function registryRows(project: Project): Promise<{ rows: RegistryRow[]; note: string | null }> {
  let summary: RegistrySummary;
  try {
    summary = await readRegistry(project);
  } catch (e) {
    if (!(e instanceof MlError)) throw e;
    return { rows: [], note: `The registry could not be read: ${e.message}` };
  }
  const rows: RegistryRow[] = [];
  for (const model of summary.models) {
    const record = (version: string) => model.versions.find((v) => v.version === version)?.record;
    const row = (stage: string, version: string): RegistryRow => ({
      name: model.name,
      stage,
      version,
      experiment: record(version)?.experiment ?? null,
      increment: record(version)?.increment ?? null,
    });
    for (const s of model.stages) rows.push(row(s.stage, s.version));
    if (model.latest && !model.stages.some((s) => s.version === model.latest)) rows.push(row('latest (no stage)', model.latest));
  }
  const broken = summary.broken.map((b) => `${b.name} (${b.reason})`);
  const note =
    rows.length === 0 && broken.length === 0
      ? 'No model is registered in this project.'
      : broken.length
        ? `Unreadable models: ${broken.join('; ')}`
        : null;
  return { rows, note };
}

function metadataFacts(meta: IncrementMetadata | null, inc: Increment) {
  const raw = meta?.raw ?? {};
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    id: inc.id,
    title: s(raw.title) ?? inc.id,
    status: s(raw.status) ?? 'unknown',
    created: s(raw.created),
    lastActivity: s(raw.lastActivity),
  };
}

/** Evaluation plots the best experiment recorded (SVG files inside the increment), as data for the report. */
async function bestPlots(inc: Increment, best: Experiment | undefined): Promise<ReportPayload['best_plots']> {
  if (!best) return null;
  const files: ReportPlot[] = [];
  const skipped: string[] = [];
  const svgs = best.meta.artifacts.filter((a) => /\.svg$/i.test(a.path)).slice(0, MAX_PLOTS);
  for (const a of svgs) {
    const file = path.resolve(best.dir, a.path);
    if (!isInside(inc.dir, file)) {
      skipped.push(`${a.path}: outside the increment`);
      continue;
    }
    try {
      const text = await readText(file, { maxBytes: MAX_PLOT_BYTES });
      if (text === undefined) skipped.push(`${a.path}: missing`);
      else if (!looksLikeSvg(text)) skipped.push(`${a.path}: not an SVG document`);
      else files.push({ name: a.path, title: svgTitle(text) ?? a.path, svg: text });
    } catch (e) {
      // A link, a special file or an oversized file: named in the report, never read.
      skipped.push(`${a.path}: ${e instanceof MlError ? e.message : 'unreadable'}`);
    }
  }
  return { experiment: best.name, files, skipped };
}

/** An SVG document: an optional XML prolog and comments, then an <svg> root. Anything else is not shown. */
function looksLikeSvg(text: string): boolean {
  return /^\uFEFF?\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(text.slice(0, 4096));
}

function svgTitle(text: string): string | undefined {
  const m = /<title>([^<]{1,200})<\/title>/.exec(text.slice(0, 4096));
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

interface GatheredIncrement {
  payload: ReportPayload;
  comparison: Comparison | null;
}

/** Everything one increment's report shows, as its payload. Reads; writes nothing. */
export async function gatherIncrementReport(project: Project, inc: Increment): Promise<GatheredIncrement> {
  const [meta, loaded, registry] = await Promise.all([
    readIncrementMetadata(project, inc).catch((e: unknown) => (e instanceof MlError ? null : Promise.reject(e))),
    readAllExperiments(project, inc),
    registryRows(project),
  ]);
  const ml = meta?.ml ?? null;
  let comparison: Comparison | null = null;
  let comparisonError: string | null = loaded.experiments.length ? null : 'no experiments tracked yet';
  if (loaded.experiments.length) {
    try {
      comparison = rankExperiments(inc, ml, loaded);
    } catch (e) {
      if (!(e instanceof MlError)) throw e;
      comparisonError = e.message;
    }
  }
  const bestName = comparison?.best_candidate?.experiment ?? comparison?.best?.experiment;
  const best = loaded.experiments.find((e) => e.name === bestName);
  const [histories, plots, gates] = await Promise.all([
    readReportHistories(loaded.experiments, comparison?.selection.key ?? null),
    bestPlots(inc, best),
    validateIncrement(project, inc, loaded, comparison).catch((e: unknown) => (e instanceof MlError ? null : Promise.reject(e))),
  ]);
  const payload = buildReportPayload(
    {
      increment: metadataFacts(meta, inc),
      ml,
      experiments: loaded.experiments,
      broken: loaded.broken,
      comparison,
      comparisonError,
      series: histories.series,
      folds: histories.folds,
      foldMetric: histories.foldMetric,
      unreadableHistories: histories.unreadable,
      plots,
      gates: gates ? { verdict: gates.verdict, checks: gates.checks } : null,
      registry,
    },
    PALETTE,
  );
  return { payload, comparison };
}

function summaryOf(project: Project, inc: Increment, file: string, text: string, p: ReportPayload): IncrementReportSummary {
  return {
    increment: inc.id,
    file: project.relative(file),
    bytes: Buffer.byteLength(text),
    experiments: p.runs.n,
    ranked: p.increment.ranked,
    best: p.runs.best === null ? null : p.runs.name[p.runs.best]!,
    curves: p.curves.metrics.length,
    points_kept: p.curves.points_kept,
    points_logged: p.curves.points_logged,
  };
}

/** One row of the project index, from an increment's payload. */
function indexRow(p: ReportPayload, hasReport: boolean): IndexRow {
  const best = p.runs.best;
  return {
    id: p.increment.id,
    title: p.increment.title,
    status: p.increment.status,
    primary_metric: p.increment.primary_metric,
    direction: p.increment.direction,
    selection_label: p.selection?.label ?? null,
    experiments: p.increment.experiments_total,
    ranked: p.increment.ranked,
    best: best === null ? null : { name: p.runs.name[best]!, value: p.runs.sel[best] ?? null, test: p.runs.test[best] ?? null },
    verdict: p.gates?.verdict ?? null,
    report: hasReport ? `increments/${p.increment.id}/${REPORT_FILE}` : null,
  };
}

/** The index row of an increment not rendered in this call: its ranking only, no histories. */
async function quickIndexRow(project: Project, inc: Increment): Promise<IndexRow> {
  const [meta, names] = await Promise.all([
    readIncrementMetadata(project, inc).catch((e: unknown) => (e instanceof MlError ? null : Promise.reject(e))),
    listExperimentNames(inc),
  ]);
  // compare_experiments rewrites the index after every comparison: an other increment's best is worked out only
  // when that is cheap; a large one shows its count and links to its own report.
  const summarised = names.length <= MAX_SUMMARISED_EXPERIMENTS;
  const loaded = summarised ? await readAllExperiments(project, inc) : null;
  let c: Comparison | null = null;
  try {
    c = loaded?.experiments.length ? rankExperiments(inc, meta?.ml ?? null, loaded) : null;
  } catch (e) {
    if (!(e instanceof MlError)) throw e;
  }
  const facts = metadataFacts(meta, inc);
  const best = c?.best_candidate ?? c?.best ?? null;
  const hasReport = await isFile(path.join(inc.dir, REPORT_FILE));
  return {
    id: inc.id,
    title: facts.title,
    status: facts.status,
    primary_metric: c?.primary_metric ?? meta?.ml.primary_metric ?? null,
    direction: c?.direction ?? meta?.ml.direction ?? null,
    selection_label: c
      ? c.selection.source === 'cv'
        ? `${c.selection.key} CV mean`
        : c.selection.source === 'validation'
          ? `val_${c.selection.key}`
          : `${c.selection.key} (test)`
      : null,
    experiments: loaded ? loaded.experiments.length + loaded.broken.length : names.length,
    ranked: loaded ? (c?.ranking.length ?? 0) : null,
    best: best ? { name: best.experiment, value: num(best.value), test: num(best.test_value) } : null,
    verdict: null,
    report: hasReport ? `increments/${inc.id}/${REPORT_FILE}` : null,
  };
}

/**
 * The files render_report writes: the report of the increment named (every increment when none is), and the
 * project index. Reads only; nothing is written.
 */
export async function planReport(project: Project, incrementRef?: string | null): Promise<ReportPlan> {
  const all = await listIncrements(project);
  const chosen = incrementRef ? [await resolveIncrement(project, incrementRef)] : all;
  const files: ReportPlan['files'] = [];
  const increments: IncrementReportSummary[] = [];
  const rows = new Map<string, IndexRow>();
  let registry: ReportPayload['registry'] | null = null;
  for (const inc of chosen) {
    const { payload } = await gatherIncrementReport(project, inc);
    registry = payload.registry;
    const file = path.join(inc.dir, REPORT_FILE);
    const text = renderIncrementReport(payload);
    files.push({ path: file, text });
    increments.push(summaryOf(project, inc, file, text, payload));
    rows.set(inc.id, indexRow(payload, true));
  }
  for (const inc of all) if (!rows.has(inc.id)) rows.set(inc.id, await quickIndexRow(project, inc));
  const index = path.join(project.specweaveDir, REPORT_FILE);
  files.push({
    path: index,
    text: renderIndexPage({
      rows: all.map((i) => rows.get(i.id)!),
      registry: registry ?? (await registryRows(project)),
    }),
  });
  return { files, increments, index };
}

/** Writes a plan: every target checked first (nothing written if one is refused), then each file atomically. */
export async function writeReportPlan(project: Project, plan: ReportPlan): Promise<void> {
  await assertWritableTargets(
    project,
    plan.files.map((f) => f.path),
  );
  for (const f of plan.files) await writeAtomic(f.path, f.text);
}
