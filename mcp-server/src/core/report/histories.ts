/**
 * The per-step histories of many experiments for the report: history.jsonl read in batches through the sandboxed
 * disk layer, parsed, and split into curves (per metric, per step) and the primary metric's fold scores. Lines that
 * do not parse are skipped and counted, as every reader of the format does.
 */
import * as path from 'node:path';
import type { Experiment } from '../experiments.js';
import { decodeNumber, parseLenientJson } from '../json.js';
import { canonicalKey, facetOf } from '../selection.js';
import { readText, readTexts } from '../store/disk.js';
import { MlError } from '../errors.js';
import type { Series } from './payload.js';

export interface ReportHistories {
  series: Map<string, Map<string, Series>>;
  folds: Map<string, number[]>;
  foldMetric: string | null;
  skippedLines: number;
  /** History files that could not be read (a link leaving the project, a file over the size cap), with why. */
  unreadable: { run: string; reason: string }[];
}

/** Files per batch: enough to keep the disk busy, few enough that the texts of one batch stay small. */
const BATCH = 400;

/**
 * One metric's points of one file as they are read: steps and values in log order, and whether the steps so far
 * rise strictly (writers append in step order, so that is the common case and needs no sorting).
 */
class SeriesBuilder {
  readonly x: number[] = [];
  readonly y: number[] = [];
  private ordered = true;

  add(step: number, value: number): void {
    if (this.ordered && this.x.length && step <= this.x[this.x.length - 1]!) this.ordered = false;
    this.x.push(step);
    this.y.push(value);
  }

  /** Ascending by step; a repeated step keeps the point logged last. */
  finish(): Series {
    if (this.ordered) return { x: this.x, y: this.y };
    const byStep = new Map<number, number>();
    this.x.forEach((step, i) => byStep.set(step, this.y[i]!));
    const sorted = [...byStep.entries()].sort((p, q) => p[0] - q[0]);
    return { x: sorted.map(([step]) => step), y: sorted.map(([, v]) => v) };
  }
}

type Metrics = Map<string, SeriesBuilder>;

function add(metrics: Metrics, metric: string, step: number, value: number): void {
  let b = metrics.get(metric);
  if (!b) metrics.set(metric, (b = new SeriesBuilder()));
  b.add(step, value);
}

/**
 * The canonical line every writer emits: {"metric":…,"value":…,"step":…,"timestamp":…}. Matching it with one regular
 * expression over the whole file is several times faster than building an object per line, which matters at a
 * million points; a file with any other line goes through the JSON reader instead.
 */
const CANONICAL_LINE =
  /^\{"metric":("(?:[^"\\\r\n]|\\.)*"),"value":(-?\d[\d.eE+-]*|"NaN"|"-?Infinity"|NaN|-?Infinity),"step":(\d+),"timestamp":"[^"\\\r\n]*"\}\r?$/gm;
const BLANK = /^\s*$/;

/** The points of a file made only of canonical lines (and blank ones); undefined for any other file. */
function fastPoints(text: string): Metrics | undefined {
  const metrics: Metrics = new Map();
  let covered = 0;
  CANONICAL_LINE.lastIndex = 0;
  for (let m = CANONICAL_LINE.exec(text); m !== null; m = CANONICAL_LINE.exec(text)) {
    // Between two matched lines only line breaks (or blank lines) may stand.
    if (m.index > covered && !BLANK.test(text.slice(covered, m.index))) return undefined;
    covered = m.index + m[0].length;
    const raw = m[1]!;
    const metric = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    const v = m[2]!;
    add(metrics, metric, Number(m[3]), v.charCodeAt(0) === 34 ? decodeNumber(v.slice(1, -1))! : Number(v));
  }
  return covered === text.length || BLANK.test(text.slice(covered)) ? metrics : undefined;
}

/** Every valid point of a history file by metric, and how many lines were skipped (not JSON, or not a point). */
function parsePoints(text: string): { metrics: Metrics; skipped: number } {
  const fast = fastPoints(text);
  if (fast) return { metrics: fast, skipped: 0 };
  const metrics: Metrics = new Map();
  let skipped = 0;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let o: unknown;
    try {
      o = parseLenientJson(line);
    } catch {
      skipped += 1;
      continue;
    }
    const p = (o && typeof o === 'object' ? o : {}) as Record<string, unknown>;
    const value = decodeNumber(p.value);
    const step = Number(p.step);
    if (typeof p.metric !== 'string' || value === undefined || !Number.isInteger(step) || step < 0) {
      skipped += 1;
      continue;
    }
    add(metrics, p.metric, step, value);
  }
  return { metrics, skipped };
}

/**
 * The history texts of a batch in one call; when one file is refused, each file on its own, so one bad history
 * leaves that run without curves instead of failing the report.
 */
async function readBatch(batch: Experiment[], unreadable: ReportHistories['unreadable']): Promise<(string | undefined)[]> {
  const files = batch.map((e) => path.join(e.dir, 'history.jsonl'));
  try {
    return await readTexts(files);
  } catch (e) {
    if (!(e instanceof MlError)) throw e;
  }
  return Promise.all(
    files.map((f, i) =>
      readText(f).catch((e: unknown) => {
        if (!(e instanceof MlError)) throw e;
        unreadable.push({ run: batch[i]!.name, reason: e.message });
        return undefined;
      }),
    ),
  );
}

export async function readReportHistories(experiments: Experiment[], primaryKey: string | null): Promise<ReportHistories> {
  const series = new Map<string, Map<string, Series>>();
  const folds = new Map<string, number[]>();
  let foldMetric: string | null = null;
  let skippedLines = 0;
  const unreadable: ReportHistories['unreadable'] = [];
  for (let start = 0; start < experiments.length; start += BATCH) {
    const batch = experiments.slice(start, start + BATCH);
    const texts = await readBatch(batch, unreadable);
    batch.forEach((e, i) => {
      const text = texts[i];
      if (!text) return;
      const { metrics, skipped } = parsePoints(text);
      skippedLines += skipped;
      const curves = new Map<string, Series>();
      for (const [metric, builder] of metrics) {
        const f = facetOf(metric);
        if (f.split === 'cv' && f.stat === undefined) {
          // Fold scores: only the primary metric's, in fold order.
          if (primaryKey !== null && canonicalKey(metric) === primaryKey) {
            foldMetric ??= metric;
            folds.set(e.name, builder.finish().y);
          }
          continue;
        }
        curves.set(metric, builder.finish());
      }
      if (curves.size) series.set(e.name, curves);
    });
  }
  return { series, folds, foldMetric, skippedLines, unreadable };
}
