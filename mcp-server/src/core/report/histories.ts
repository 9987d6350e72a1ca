/**
 * The per-step histories of many experiments for the report: history.jsonl read in batches through the sandboxed
 * disk layer, parsed, and split into curves (per metric, per step) and the primary metric's fold scores. Lines that
 * do not parse are skipped and counted, as every reader of the format does.
 */
import * as path from 'node:path';
import type { Experiment } from '../experiments.js';
import { decodeNumber, parseLenientJson } from '../json.js';
import { canonicalKey, facetOf } from '../selection.js';
import { readTexts } from '../store/disk.js';
import type { Series } from './payload.js';

export interface ReportHistories {
  series: Map<string, Map<string, Series>>;
  folds: Map<string, number[]>;
  foldMetric: string | null;
  skippedLines: number;
}

/** Files per batch: enough to keep the disk busy, few enough that the texts of one batch stay small. */
const BATCH = 400;

/** The lines of a history file as objects: one JSON.parse of the whole file when it is clean, else line by line. */
function parseLines(text: string): { objects: unknown[]; skipped: number } {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  try {
    return { objects: JSON.parse(`[${lines.join(',')}]`) as unknown[], skipped: 0 };
  } catch {
    // A crashed writer's half line, or Python's bare NaN: each line on its own, with the lenient reader.
  }
  const objects: unknown[] = [];
  let skipped = 0;
  for (const line of lines) {
    try {
      objects.push(parseLenientJson(line));
    } catch {
      skipped += 1;
    }
  }
  return { objects, skipped };
}

export async function readReportHistories(experiments: Experiment[], primaryKey: string | null): Promise<ReportHistories> {
  const series = new Map<string, Map<string, Series>>();
  const folds = new Map<string, number[]>();
  let foldMetric: string | null = null;
  let skippedLines = 0;
  for (let start = 0; start < experiments.length; start += BATCH) {
    const batch = experiments.slice(start, start + BATCH);
    const texts = await readTexts(batch.map((e) => path.join(e.dir, 'history.jsonl')));
    batch.forEach((e, i) => {
      const text = texts[i];
      if (!text) return;
      const { objects, skipped } = parseLines(text);
      skippedLines += skipped;
      const byMetric = new Map<string, Map<number, number>>();
      for (const o of objects) {
        if (!o || typeof o !== 'object') {
          skippedLines += 1;
          continue;
        }
        const p = o as Record<string, unknown>;
        const value = decodeNumber(p.value);
        const step = Number(p.step);
        if (typeof p.metric !== 'string' || value === undefined || !Number.isInteger(step)) {
          skippedLines += 1;
          continue;
        }
        let points = byMetric.get(p.metric);
        if (!points) byMetric.set(p.metric, (points = new Map()));
        points.set(step, value); // a repeated step keeps the point logged last
      }
      const curves = new Map<string, Series>();
      for (const [metric, points] of byMetric) {
        const f = facetOf(metric);
        if (f.split === 'cv' && f.stat === undefined) {
          // Fold scores: only the primary metric's, in fold order.
          if (primaryKey !== null && canonicalKey(metric) === primaryKey) {
            foldMetric ??= metric;
            folds.set(
              e.name,
              [...points.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v),
            );
          }
          continue;
        }
        const sorted = [...points.entries()].sort((a, b) => a[0] - b[0]);
        curves.set(metric, { x: sorted.map(([s]) => s), y: sorted.map(([, v]) => v) });
      }
      if (curves.size) series.set(e.name, curves);
    });
  }
  return { series, folds, foldMetric, skippedLines };
}
