/**
 * export_experiments: the experiments of an increment as one flat table (a row per experiment, a column per fact,
 * param and metric), written to experiments/export.<csv|json|md> inside the increment. The table is a pure function
 * of the experiments' files; python/specweave_ml/export.py builds the same table and writes the same bytes
 * (docs/completion.md, "Export").
 */
import * as path from 'node:path';
import { rankExperiments } from './comparison.js';
import { LOAD_TEST_TAG } from './deployment.js';
import { MlError, invalid } from './errors.js';
import { readAllExperiments, type BrokenExperiment, type Experiment } from './experiments.js';
import { experimentsDir, readIncrementMetadata, type Increment, type MlSettings } from './increments.js';
import type { Project } from './project.js';
import { canonicalKey, MetricIndex, type Measurement, type SelectionSource } from './selection.js';
import { writeAtomic } from './store/disk.js';
import { assertWritableTargets } from './store/write-plan.js';
import { EXPORT_FORMATS, renderExport, type ExportFormat, type ExportTable, type ExportValue } from '../render/export.js';

export { EXPORT_FORMATS, type ExportFormat };

/** The fixed columns, in their default order; params.* and metrics.* columns sit between `tags` and `cv_mean`. */
const LEADING = ['name', 'status', 'baseline', 'tags'] as const;
const TRAILING = ['cv_mean', 'cv_std', 'duration_seconds', 'commit', 'selection_source', 'selection_metric', 'selection_value'] as const;

export interface ExportResult {
  increment: string;
  format: ExportFormat;
  path: string;
  rows: number;
  columns: string[];
  primary_metric: string | null;
  selection_source: SelectionSource | null;
  skipped: BrokenExperiment[];
}

/**
 * Nested params as dotted keys ({"model": {"lr": 0.1}} → "model.lr"), keys sorted at every level. A key that two
 * paths produce ("a.b" and {"a": {"b"}}) keeps the first value met in that order.
 */
function flattenParams(obj: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flattenParams(v as Record<string, unknown>, key, out);
    else if (!out.has(key)) out.set(key, v);
  }
  return out;
}

/** A param value as a cell: scalars as themselves, arrays as compact JSON with keys sorted. */
function paramCell(v: unknown): ExportValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return { json: compactJson(v) };
}

function compactJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(compactJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${compactJson(o[k])}`)
      .join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify(Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
  return JSON.stringify(v ?? null);
}

/** The primary metric as a test (reporting) value, as compare_experiments reads it. */
function testMeasure(e: Experiment, primary: string, index: MetricIndex, key: string): Measurement | undefined {
  const exact = e.metrics[primary];
  if (exact !== undefined && !/^(cv|val|valid|validation)_/.test(primary))
    return { source: 'test', name: primary, value: exact, std: null, count: null };
  return index.measure(key, 'test');
}

interface Selection {
  primary: string;
  key: string;
  source: SelectionSource;
}

/**
 * Which metric and source compare_experiments selects on; null when no experiment logged a metric. Load tests
 * measure a deployment and are never candidates, so they do not decide the source (specweave_ml._selection agrees).
 */
function selectionOf(
  inc: Increment,
  ml: MlSettings | null,
  loaded: { experiments: Experiment[]; broken: BrokenExperiment[] },
): Selection | null {
  if (!ml?.primary_metric && !loaded.experiments.some((e) => Object.keys(e.metrics).length)) return null;
  const all = rankExperiments(inc, ml, loaded);
  const primary = all.primary_metric;
  const models = loaded.experiments.filter((e) => !e.meta.tags.includes(LOAD_TEST_TAG));
  let source = all.selection.source;
  if (models.length < loaded.experiments.length) {
    try {
      source = rankExperiments(inc, ml, { experiments: models, broken: loaded.broken }, { primary_metric: primary }).selection.source;
    } catch (e) {
      if (!(e instanceof MlError)) throw e; // only load tests logged the primary metric: the first answer stands
    }
  }
  return { primary, key: canonicalKey(primary), source };
}

function rowOf(e: Experiment, sel: Selection | null): Map<string, ExportValue> {
  const row = new Map<string, ExportValue>([
    ['name', e.name],
    ['status', e.status],
    ['baseline', e.baseline],
    ['tags', e.meta.tags.join(';')],
  ]);
  for (const [k, v] of flattenParams(e.params)) row.set(`params.${k}`, paramCell(v));
  for (const k of Object.keys(e.metrics)) row.set(`metrics.${k}`, e.metrics[k]!);
  const index = new MetricIndex(e.metrics);
  const cv = sel ? index.measure(sel.key, 'cv') : undefined;
  const chosen = sel
    ? sel.source === 'test'
      ? testMeasure(e, sel.primary, index, sel.key)
      : index.measure(sel.key, sel.source)
    : undefined;
  row.set('cv_mean', cv?.value ?? null);
  row.set('cv_std', cv?.std ?? null);
  row.set('duration_seconds', e.meta.duration_seconds);
  row.set('commit', e.meta.git?.commit ?? null);
  row.set('selection_source', chosen ? sel!.source : null);
  row.set('selection_metric', chosen?.name ?? null);
  row.set('selection_value', chosen?.value ?? null);
  return row;
}

/** JavaScript's default sort (UTF-16 code units); export.py sorts the same way. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every column the experiments give, in the default order. */
function defaultColumns(rows: Map<string, ExportValue>[]): string[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const r of rows)
    for (const k of r.keys()) {
      if (k.startsWith('params.')) params.add(k);
      else if (k.startsWith('metrics.')) metrics.add(k);
    }
  return [...LEADING, ...[...params].sort(byCodeUnits), ...[...metrics].sort(byCodeUnits), ...TRAILING];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const cur = [i];
    for (let j = 1; j <= b.length; j += 1) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest known columns to a wrong name: a bare "accuracy" finds "metrics.accuracy". */
export function suggestColumns(wanted: string, known: string[], limit = 3): string[] {
  const lower = wanted.toLowerCase();
  return known
    .map((k) => {
      const bare = k.replace(/^(params|metrics)\./, '').toLowerCase();
      return { k, d: Math.min(editDistance(lower, k.toLowerCase()), editDistance(lower, bare)) };
    })
    .filter((x) => x.d <= Math.max(2, Math.floor(wanted.length / 3)))
    .sort((a, b) => a.d - b.d || byCodeUnits(a.k, b.k))
    .slice(0, limit)
    .map((x) => x.k);
}

/**
 * The columns asked for, in the order asked: exact names, or "params.*" / "metrics.*" for every param or metric
 * column. A name that is no column is an error naming the closest ones.
 */
export function chooseColumns(asked: readonly string[] | null | undefined, known: string[]): string[] {
  if (!asked?.length) return known;
  const out: string[] = [];
  for (const raw of asked) {
    const name = raw.trim();
    const group = /^(params|metrics)\.\*$/.exec(name);
    const picked = group ? known.filter((k) => k.startsWith(`${group[1]}.`)) : known.includes(name) ? [name] : undefined;
    if (!picked) {
      const near = suggestColumns(name, known);
      throw invalid(
        `Unknown column ${JSON.stringify(raw)}${near.length ? `; did you mean ${near.map((n) => JSON.stringify(n)).join(', ')}` : ''}?`,
        `Columns: ${LEADING.join(', ')}, params.<name>, metrics.<name>, ${TRAILING.join(', ')}; "params.*" and "metrics.*" take them all. Omit columns for every one.`,
      );
    }
    for (const p of picked) if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The table of an increment's experiments (pure): rows sorted by name, the columns asked for. */
export function buildExportTable(
  inc: Increment,
  ml: MlSettings | null,
  loaded: { experiments: Experiment[]; broken: BrokenExperiment[] },
  columns?: readonly string[] | null,
): { table: ExportTable; selection: Selection | null } {
  const selection = selectionOf(inc, ml, loaded);
  const experiments = [...loaded.experiments].sort((a, b) => byCodeUnits(a.name, b.name));
  const rows = experiments.map((e) => rowOf(e, selection));
  const chosen = chooseColumns(columns, defaultColumns(rows));
  return { table: { columns: chosen, rows: rows.map((r) => chosen.map((c) => r.get(c) ?? null)) }, selection };
}

export const EXPORT_FILE: Record<ExportFormat, string> = { csv: 'export.csv', json: 'export.json', markdown: 'export.md' };

/** Reads the experiments, renders the table and writes it over experiments/export.<ext> in one atomic write. */
export async function exportExperiments(
  project: Project,
  inc: Increment,
  opts: { format: ExportFormat; columns?: readonly string[] | null },
): Promise<ExportResult> {
  const [meta, loaded] = await Promise.all([readIncrementMetadata(project, inc).catch(() => undefined), readAllExperiments(project, inc)]);
  const { table, selection } = buildExportTable(inc, meta?.ml ?? null, loaded, opts.columns);
  const text = renderExport(opts.format, table);
  const file = path.join(experimentsDir(inc), EXPORT_FILE[opts.format]);
  await assertWritableTargets(project, [file]);
  await writeAtomic(file, text);
  return {
    increment: inc.id,
    format: opts.format,
    path: project.relative(file),
    rows: table.rows.length,
    columns: table.columns,
    primary_metric: selection?.primary ?? null,
    selection_source: selection?.source ?? null,
    skipped: loaded.broken,
  };
}
