/**
 * Success criteria: "Precision@10 > 0.25", "RMSE < $50", "MAPE < 10%" — the phrasing of specs — and their
 * machine-readable form {metric, op, value}. docs/format.md ("Success criteria") lists what is recognised.
 */
import { parseCriterionText, type UnresolvedCriterion } from './metrics/vocabulary.js';

export type Comparator = '>' | '>=' | '<' | '<=';

export interface Criterion {
  /** The canonical metric name ("f1_macro", "r2", "precision_at_10"), or the slug of a custom metric. */
  metric: string;
  op: Comparator;
  value: number;
  text: string;
  /** Set when the metric is not in the vocabulary and the caller accepted it as their own. */
  custom?: true;
}

/** Why a criterion was not accepted, with the fix; `suggestions` are "did you mean" metric keys. */
export interface CriterionProblem {
  text: string;
  message: string;
  suggestions: string[];
  /** True when the only problem is an unknown metric, which `custom_metrics` would accept. */
  unknownMetric: boolean;
  slug: string;
}

export type CriterionReading = { criterion: Criterion } | { problem: CriterionProblem } | undefined;

/**
 * Reads one criterion against the metric vocabulary. Undefined for prose (no "<metric> <op> <number>" shape). An
 * unknown metric is a problem with suggestions unless `customMetrics` names it (by its slug or as written).
 */
export function readCriterion(text: string, customMetrics: readonly string[] = []): CriterionReading {
  const r = parseCriterionText(text);
  if (!r) return undefined;
  if (r.ok) return { criterion: { metric: r.metric, op: r.op, value: r.value, text: r.text } };
  if (
    r.reason === 'unknown_metric' &&
    customMetrics.some((m) => m === r.slug || m === r.metric_text || m.toLowerCase() === r.metric_text.toLowerCase())
  ) {
    return { criterion: { metric: r.slug, op: r.op, value: r.value, text: r.text, custom: true } };
  }
  return { problem: problemOf(r) };
}

function problemOf(r: UnresolvedCriterion): CriterionProblem {
  return { text: r.text, message: r.message, suggestions: r.suggestions, unknownMetric: r.reason === 'unknown_metric', slug: r.slug };
}

/** A criterion whose metric the vocabulary knows, else undefined (prose, or an unknown metric). */
export function parseCriterion(text: string, customMetrics: readonly string[] = []): Criterion | undefined {
  const r = readCriterion(text, customMetrics);
  return r && 'criterion' in r ? r.criterion : undefined;
}

export function meetsCriterion(actual: number, c: Criterion): boolean {
  if (Number.isNaN(actual)) return false;
  switch (c.op) {
    case '>':
      return actual > c.value;
    case '>=':
      return actual >= c.value;
    case '<':
      return actual < c.value;
    case '<=':
      return actual <= c.value;
  }
}

/**
 * The bullets under a "Success Criteria" heading of a markdown document: the criteria, the prose that is not one,
 * and the criteria that name no known metric (`customMetrics` accepts named ones).
 */
export function criteriaFromMarkdown(
  markdown: string,
  customMetrics: readonly string[] = [],
): { criteria: Criterion[]; unparsed: string[]; problems: CriterionProblem[] } {
  const criteria: Criterion[] = [];
  const unparsed: string[] = [];
  const problems: CriterionProblem[] = [];
  let inSection = false;
  let level = 0;
  for (const line of markdown.split(/\r?\n/)) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const isCriteria = /^(?:\d+[.)]\s*)?success\s+(?:criteria|metrics)\b/i.test(heading[2]!.trim());
      if (isCriteria) {
        inSection = true;
        level = heading[1]!.length;
      } else if (inSection && heading[1]!.length <= level) {
        inSection = false;
      }
      continue;
    }
    // Seed-style specs also state them inline: "- Success metrics: Precision@10 > 0.25, Recall@10 > 0.15".
    const inline = /^\s*[-*+]\s+\**success\s+(?:criteria|metrics)\**\s*:\**\s*(.+)$/i.exec(line);
    if (!inSection && !inline) continue;
    if (!inline && !/^\s*[-*+]\s+/.test(line)) continue;
    const body = inline ? inline[1]! : line.replace(/^\s*[-*+]\s+/, '');
    // One bullet may hold several criteria: "Precision@10 > 0.25, Recall@10 > 0.15".
    for (const part of splitCriteria(body)) {
      const r = readCriterion(part, customMetrics);
      if (!r) unparsed.push(part.trim());
      else if ('criterion' in r) criteria.push(r.criterion);
      else problems.push(r.problem);
    }
  }
  return { criteria, unparsed, problems };
}

function splitCriteria(text: string): string[] {
  const parts = text.split(/\s*(?:,|;|\band\b)\s*(?=[^,;]*(?:>|<|≥|≤))/i).filter((p) => p.trim());
  return parts.length ? parts : [text];
}

const criterionKey = (c: Criterion) => `${c.metric}|${c.op}|${c.value}`;

/** Criteria from both places, each once (same metric, op and value). */
export function mergeCriteria(...lists: Criterion[][]): Criterion[] {
  const seen = new Map<string, Criterion>();
  for (const c of lists.flat()) if (!seen.has(criterionKey(c))) seen.set(criterionKey(c), c);
  return [...seen.values()];
}

/** The criteria only one of two lists holds: what a hand edit of spec.md or metadata.json changed. */
export function criteriaDifference(source: Criterion[], other: Criterion[]): { onlyInSource: Criterion[]; onlyInOther: Criterion[] } {
  const a = new Set(source.map(criterionKey));
  const b = new Set(other.map(criterionKey));
  return { onlyInSource: source.filter((c) => !b.has(criterionKey(c))), onlyInOther: other.filter((c) => !a.has(criterionKey(c))) };
}
