/**
 * Success criteria: "Precision@10 > 0.25", "RMSE < $50", "MAPE < 10%" — the phrasing of specs — and their
 * machine-readable form {metric, op, value}. docs/format.md ("Success criteria") lists what is recognised.
 */
import { normalizeMetricName } from './names.js';

export type Comparator = '>' | '>=' | '<' | '<=';

export interface Criterion {
  metric: string;
  op: Comparator;
  value: number;
  text: string;
}

const OPS: Record<string, Comparator> = { '>': '>', '>=': '>=', '=>': '>=', '≥': '>=', '<': '<', '<=': '<=', '=<': '<=', '≤': '<=' };

const CRITERION = /^\s*(?:[-*+]\s+)?(?:\[[ xX]\]\s+)?\**\s*(.+?)\s*\**\s*(>=|=>|<=|=<|≥|≤|>|<)\s*([-+]?\$?\s*[-+]?[\d,]*\.?\d+(?:e[-+]?\d+)?)\s*(%|[A-Za-z/]+)?\s*(.*)$/i;

/** Parses one criterion; undefined when the text does not have the `<metric> <op> <number>` shape. */
export function parseCriterion(text: string): Criterion | undefined {
  const m = CRITERION.exec(text);
  if (!m) return undefined;
  const [, rawMetric, rawOp, rawNumber, unit] = m;
  // "Success metrics: Precision@10 > 0.25" — the metric is what follows the last colon; bold marks are dropped.
  const metric = normalizeMetricName(rawMetric!.split(':').pop()!.replace(/\*/g, ''));
  if (!metric) return undefined;
  let value = Number(rawNumber!.replace(/[$,\s]/g, ''));
  if (!Number.isFinite(value)) return undefined;
  if (unit === '%') value /= 100;
  return { metric, op: OPS[rawOp!]!, value, text: text.trim().replace(/^[-*+]\s+/, '') };
}

export function meetsCriterion(actual: number, c: Criterion): boolean {
  if (Number.isNaN(actual)) return false;
  switch (c.op) {
    case '>': return actual > c.value;
    case '>=': return actual >= c.value;
    case '<': return actual < c.value;
    case '<=': return actual <= c.value;
  }
}

/** The bullets under a "Success Criteria" heading of a markdown document, with the ones that do not parse. */
export function criteriaFromMarkdown(markdown: string): { criteria: Criterion[]; unparsed: string[] } {
  const criteria: Criterion[] = [];
  const unparsed: string[] = [];
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
      const c = parseCriterion(part);
      if (c) criteria.push(c);
      else unparsed.push(part.trim());
    }
  }
  return { criteria, unparsed };
}

function splitCriteria(text: string): string[] {
  const parts = text.split(/\s*(?:,|;|\band\b)\s*(?=[^,;]*(?:>|<|≥|≤))/i).filter((p) => p.trim());
  return parts.length ? parts : [text];
}

/** Criteria from both places, each once (same metric, op and value). */
export function mergeCriteria(...lists: Criterion[][]): Criterion[] {
  const seen = new Map<string, Criterion>();
  for (const c of lists.flat()) {
    const key = `${c.metric}|${c.op}|${c.value}`;
    if (!seen.has(key)) seen.set(key, c);
  }
  return [...seen.values()];
}
