/**
 * The data of an increment's report.html as one compact JSON payload: column-oriented arrays (one entry per run,
 * in table order), strings that repeat (statuses, tags, categorical params) stored once in a dictionary, histories
 * downsampled to a fixed point budget. Pure: loaded experiments in, payload out. The browser code in
 * render/report/ reads exactly this shape (docs/report.md lists it).
 */
import type { Comparison } from '../comparison.js';
import { encodeNumber, stringifyCanonical } from '../json.js';
import type { BrokenExperiment, Experiment } from '../experiments.js';
import type { MlSettings } from '../increments.js';
import { metricValue } from '../ranking.js';
import type { Check, CheckStatus } from '../gates/types.js';
import { downsampleLttb, pointsPerSeries } from './downsample.js';

/** A number as JSON can carry it: finite numbers as themselves, NaN and the infinities as strings, missing as null. */
export type Num = number | string | null;

/** One run's per-step points of one metric, ascending by step (a repeated step keeps its last point). */
export interface Series {
  x: number[];
  y: number[];
}

export interface ReportPlot {
  name: string;
  title: string;
  svg: string;
}

export interface RegistryRow {
  name: string;
  stage: string;
  version: string;
  experiment: string | null;
  increment: string | null;
}

export interface ReportInput {
  increment: { id: string; title: string; status: string; created: string | null; lastActivity: string | null };
  ml: MlSettings | null;
  experiments: Experiment[];
  broken: BrokenExperiment[];
  comparison: Comparison | null;
  /** Why there is no ranking (no primary metric), when comparison is null. */
  comparisonError: string | null;
  /** Per run name: per metric, its per-step series (fold metrics excluded). */
  series: Map<string, Map<string, Series>>;
  /** Per run name: the fold scores of the primary metric (cv_<metric>), by fold index. */
  folds: Map<string, number[]>;
  /** The metric the folds are of (cv_<key>), when any run logged folds. */
  foldMetric: string | null;
  /** Runs whose history could not be read, with why (they have no curves). */
  unreadableHistories: { run: string; reason: string }[];
  plots: { experiment: string; files: ReportPlot[]; skipped: string[] } | null;
  gates: { verdict: CheckStatus; checks: Check[] } | null;
  registry: { rows: RegistryRow[]; note: string | null };
}

/** A column of values: numbers, or strings stored once in `dict` and referred to by index (-1 = missing). */
export type Column = { kind: 'num'; values: Num[] } | { kind: 'str'; dict: string[]; idx: number[] };

export interface ReportPayload {
  v: 1;
  increment: {
    id: string;
    title: string;
    status: string;
    problem_type: string | null;
    primary_metric: string | null;
    direction: string | null;
    created: string | null;
    last_activity: string | null;
    experiments_total: number;
    ranked: number;
  };
  selection: { source: string; key: string; reason: string; label: string; test_label: string } | null;
  /** Why nothing is ranked, when selection is null. */
  no_ranking: string | null;
  runs: {
    n: number;
    name: string[];
    status: number[];
    statuses: string[];
    tags: number[][];
    tag_names: string[];
    baseline: number[];
    rank: (number | null)[];
    sel: Num[];
    sel_std: Num[];
    test: Num[];
    duration: (number | null)[];
    best: number | null;
    best_baseline: number | null;
  };
  metrics: { name: string; column: Column }[];
  params: { name: string; column: Column }[];
  params_left_out: number;
  folds: { metric: string | null; values: (Num[] | null)[] };
  curves: {
    metrics: string[];
    /** Per metric: the runs with points, and their downsampled series (same order). */
    series: { runs: number[]; x: number[][]; y: Num[][] }[];
    points_per_series: number;
    points_logged: number;
    points_kept: number;
    metrics_left_out: number;
  };
  best_plots: { experiment: string; files: ReportPlot[]; skipped: string[] } | null;
  gates: { verdict: CheckStatus; checks: Check[] } | null;
  registry: { rows: RegistryRow[]; note: string | null };
  notes: { run: string; time: string; text: string }[];
  notes_total: number;
  broken: { name: string; reason: string }[];
  broken_total: number;
  /** Runs drawn without curves because their history.jsonl was refused, with why (at most 50). */
  unreadable_histories: { run: string; reason: string }[];
  palette: string[];
}

const MAX_PARAM_COLUMNS = 200;
const MAX_CURVE_METRICS = 12;
const MAX_NOTES = 300;
const MAX_BROKEN = 50;
const MAX_NOTE_CHARS = 2000;

export const num = (v: number | null | undefined): Num => (v === null || v === undefined ? null : encodeNumber(v));
/** Curve values only draw: six significant digits are more than a chart can show, and half the bytes. */
const round6 = (v: number): Num => (Number.isFinite(v) ? Number(v.toPrecision(6)) : encodeNumber(v));

/** Runs in table order: the ranking first (rank 1 on top), then unranked runs by name. */
function tableOrder(experiments: Experiment[], comparison: Comparison | null): Experiment[] {
  const byName = new Map(experiments.map((e) => [e.name, e]));
  const ranked = (comparison?.ranking ?? []).map((r) => byName.get(r.experiment)!).filter(Boolean);
  const seen = new Set(ranked);
  const rest = experiments.filter((e) => !seen.has(e)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [...ranked, ...rest];
}

/** A dictionary of strings in first-seen order, and each value's index in it. */
function dictionary(values: (string | null)[]): { dict: string[]; idx: number[] } {
  const dict: string[] = [];
  const at = new Map<string, number>();
  const idx = values.map((v) => {
    if (v === null) return -1;
    let i = at.get(v);
    if (i === undefined) {
      i = dict.length;
      dict.push(v);
      at.set(v, i);
    }
    return i;
  });
  return { dict, idx };
}

/** Numbers stay numbers when every present value is one; anything else becomes display text. */
function column(values: unknown[]): Column {
  if (values.every((v) => v === undefined || v === null || typeof v === 'number')) {
    return { kind: 'num', values: values.map((v) => num(v as number | null | undefined)) };
  }
  const text = (v: unknown): string | null =>
    v === undefined || v === null ? null : typeof v === 'string' ? v : typeof v === 'object' ? stringifyCanonical(v).trimEnd() : String(v);
  return { kind: 'str', ...dictionary(values.map(text)) };
}

function selectionLabels(c: Comparison): { label: string; test_label: string } {
  const key = c.selection.key;
  const label = c.selection.source === 'cv' ? `${key} CV mean ± std` : c.selection.source === 'validation' ? `val_${key}` : `${key} (test)`;
  return { label, test_label: `${c.primary_metric} (test)` };
}

/** Every metric with per-step points, most runs first, then by name; fold metrics are not curves. */
function curveMetrics(series: Map<string, Map<string, Series>>): string[] {
  const counts = new Map<string, number>();
  for (const byMetric of series.values()) for (const m of byMetric.keys()) counts.set(m, (counts.get(m) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([m]) => m);
}

function buildCurves(order: Experiment[], series: Map<string, Map<string, Series>>): ReportPayload['curves'] {
  const all = curveMetrics(series);
  const metrics = all.slice(0, MAX_CURVE_METRICS);
  let count = 0;
  let logged = 0;
  for (const byMetric of series.values()) {
    for (const [m, s] of byMetric) {
      logged += s.x.length;
      if (metrics.includes(m)) count += 1;
    }
  }
  const perSeries = pointsPerSeries(count);
  let kept = 0;
  const out = metrics.map((metric) => {
    const runs: number[] = [];
    const xs: number[][] = [];
    const ys: Num[][] = [];
    order.forEach((e, i) => {
      const s = series.get(e.name)?.get(metric);
      if (!s || s.x.length === 0) return;
      const d = downsampleLttb(s.x, s.y, perSeries);
      runs.push(i);
      xs.push(d.x);
      ys.push(d.y.map(round6));
      kept += d.x.length;
    });
    return { runs, x: xs, y: ys };
  });
  return {
    metrics,
    series: out,
    points_per_series: perSeries,
    points_logged: logged,
    points_kept: kept,
    metrics_left_out: all.length - metrics.length,
  };
}

function buildParams(order: Experiment[]): { params: ReportPayload['params']; left: number } {
  const keys = new Set<string>();
  for (const e of order) for (const k of Object.keys(e.params)) keys.add(k);
  const names = [...keys].sort();
  return {
    params: names.slice(0, MAX_PARAM_COLUMNS).map((name) => ({ name, column: column(order.map((e) => e.params[name])) })),
    left: Math.max(0, names.length - MAX_PARAM_COLUMNS),
  };
}

/** The metric columns: the comparison's (its primary excluded: it is the test column), else the most common. */
function metricColumns(order: Experiment[], comparison: Comparison | null): string[] {
  // Fold counts are in the selection column's ± already; a column of fives says nothing.
  if (comparison) return comparison.columns.slice(1).filter((c) => !/^cv_.*_count$/.test(c));
  const counts = new Map<string, number>();
  for (const e of order) for (const k of Object.keys(e.metrics)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 6)
    .map(([k]) => k);
}

function collectNotes(order: Experiment[]): { notes: ReportPayload['notes']; total: number } {
  const all = order.flatMap((e) =>
    e.meta.notes.map((n) => ({
      run: e.name,
      time: n.time,
      text: n.text.length > MAX_NOTE_CHARS ? `${n.text.slice(0, MAX_NOTE_CHARS - 1)}…` : n.text,
    })),
  );
  // Newest first; notes without a time last.
  all.sort((a, b) => (a.time === b.time ? (a.run < b.run ? -1 : 1) : a.time > b.time ? -1 : 1));
  return { notes: all.slice(0, MAX_NOTES), total: all.length };
}

export function buildReportPayload(input: ReportInput, palette: string[]): ReportPayload {
  const c = input.comparison;
  const order = tableOrder(input.experiments, c);
  const ranked = new Map((c?.ranking ?? []).map((r) => [r.experiment, r]));
  const skippedTest = new Map((c?.skipped ?? []).map((s) => [s.experiment, s.test_value]));
  const statuses = dictionary(order.map((e) => e.status));
  const tagNames: string[] = [];
  const tagIndex = new Map<string, number>();
  const tags = order.map((e) =>
    e.meta.tags.map((t) => {
      let i = tagIndex.get(t);
      if (i === undefined) [i] = [tagNames.length, tagIndex.set(t, tagNames.length), tagNames.push(t)];
      return i;
    }),
  );
  const indexOf = (name: string | undefined) => (name === undefined ? null : order.findIndex((e) => e.name === name));
  const best = c?.best_candidate ?? c?.best ?? null;
  const { params, left } = buildParams(order);
  const { notes, total } = collectNotes(order);
  const primary = c?.primary_metric ?? input.ml?.primary_metric ?? null;
  return {
    v: 1,
    increment: {
      id: input.increment.id,
      title: input.increment.title,
      status: input.increment.status,
      problem_type: input.ml?.problem_type ?? null,
      primary_metric: primary,
      direction: c?.direction ?? input.ml?.direction ?? null,
      created: input.increment.created,
      last_activity: input.increment.lastActivity,
      experiments_total: input.experiments.length + input.broken.length,
      ranked: c?.ranking.length ?? 0,
    },
    selection: c ? { source: c.selection.source, key: c.selection.key, reason: c.selection.reason, ...selectionLabels(c) } : null,
    no_ranking: c ? null : input.comparisonError,
    runs: {
      n: order.length,
      name: order.map((e) => e.name),
      status: statuses.idx,
      statuses: statuses.dict,
      tags,
      tag_names: tagNames,
      baseline: order.map((e) => (e.baseline ? 1 : 0)),
      rank: order.map((e) => ranked.get(e.name)?.rank ?? null),
      sel: order.map((e) => num(ranked.get(e.name)?.value)),
      sel_std: order.map((e) => num(ranked.get(e.name)?.selection.std)),
      test: order.map((e) => {
        const r = ranked.get(e.name);
        if (r) return num(r.test_value);
        return num(skippedTest.get(e.name) ?? (primary ? metricValue(e.metrics, primary) : undefined));
      }),
      duration: order.map((e) => e.meta.duration_seconds),
      best: best ? indexOf(best.experiment) : null,
      best_baseline: c?.best_baseline ? indexOf(c.best_baseline.experiment) : null,
    },
    metrics: metricColumns(order, c).map((name) => ({ name, column: column(order.map((e) => metricValue(e.metrics, name))) })),
    params,
    params_left_out: left,
    folds: {
      metric: input.foldMetric,
      values: order.map((e) => {
        const f = input.folds.get(e.name);
        return f && f.length ? f.map(num) : null;
      }),
    },
    curves: buildCurves(order, input.series),
    best_plots: input.plots,
    gates: input.gates,
    registry: input.registry,
    notes,
    notes_total: total,
    broken: input.broken.slice(0, MAX_BROKEN).map((b) => ({ name: b.name, reason: b.reason })),
    broken_total: input.broken.length,
    unreadable_histories: input.unreadableHistories.slice(0, MAX_BROKEN),
    palette,
  };
}
