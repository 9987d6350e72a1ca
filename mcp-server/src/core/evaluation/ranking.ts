/**
 * Ranking metrics, one list per query (or user), averaged over queries.
 *
 * Definitions (binary relevance = grade > 0; R = number of relevant items of the query, in or out of the list):
 *  - precision@k = hits in the top k / k (k is fixed even when the list is shorter)
 *  - recall@k    = hits in the top k / R
 *  - hit_rate@k  = 1 if any hit in the top k, else 0
 *  - map@k       = (Σ_{i ≤ k, item i relevant} precision@i) / min(k, R)
 *  - mrr         = 1 / rank of the first relevant item in the whole list (0 if none)
 *  - ndcg@k      = DCG@k / ideal DCG@k with linear gains (the grade) and discount 1/log2(rank + 1), exactly
 *                  sklearn.metrics.ndcg_score: when scores are given, tied scores share the average gain of the
 *                  tie group (ignore_ties=False); the ideal ranking uses the grades of all R relevant items.
 *  - coverage@k  = distinct items in any query's top k / catalogue size (all queries, relevant items or not).
 * Within a list, tied scores are broken by input order for every metric except ndcg.
 * Queries without any relevant item carry no information about ranking quality; they are left out of the
 * averages (a warning gives their number). Empty lists are kept: they score 0.
 */
import type { Metrics } from './types.js';

export interface RankingQuery {
  id: string;
  /** Items in ranked order (best first). */
  items: string[];
  /** Relevance grade of each listed item (0 = not relevant), aligned with `items`. */
  gains: Float64Array;
  /** Scores aligned with `items` (descending), when the ranking came from scores: used for tie-aware NDCG. */
  scores?: Float64Array;
  /** Grades of all relevant items of the query, including relevant items missing from the list. */
  relevantGrades: number[];
}

export interface RankingOptions {
  ks: number[];
  /** Defaults to the number of distinct items seen in the lists and relevance judgements. */
  catalogueSize?: number;
}

/** Per-query metric values (for averaging and for bootstrap over queries); index = query among `evaluated`. */
export interface RankingOutcome {
  metrics: Metrics;
  perQuery: Record<string, Float64Array>;
  evaluated: number;
  warnings: string[];
}

export function rankingMetrics(queries: RankingQuery[], opts: RankingOptions): RankingOutcome {
  const warnings: string[] = [];
  const evaluated = queries.filter((q) => q.relevantGrades.length > 0);
  const skipped = queries.length - evaluated.length;
  if (skipped > 0) warnings.push(`${skipped} of ${queries.length} queries have no relevant item and are left out of the ranking averages`);
  const perQuery: Record<string, Float64Array> = {};
  const keyFns: Array<[string, (q: RankingQuery) => number]> = [['mrr', reciprocalRank]];
  for (const k of opts.ks) {
    keyFns.push([`precision_at_${k}`, (q) => hitsAt(q, k) / k]);
    keyFns.push([`recall_at_${k}`, (q) => hitsAt(q, k) / q.relevantGrades.length]);
    keyFns.push([`ndcg_at_${k}`, (q) => ndcgAt(q, k)]);
    keyFns.push([`map_at_${k}`, (q) => averagePrecisionAt(q, k)]);
    keyFns.push([`hit_rate_at_${k}`, (q) => (hitsAt(q, k) > 0 ? 1 : 0)]);
  }
  const metrics: Metrics = {};
  for (const [key, fn] of keyFns) {
    const v = Float64Array.from(evaluated, fn);
    perQuery[key] = v;
    metrics[key] = v.length > 0 ? mean(v) : null;
  }
  if (evaluated.length === 0) warnings.push('ranking metrics are undefined: no query has a relevant item');
  const catalogue = opts.catalogueSize ?? catalogueOf(queries);
  for (const k of opts.ks) metrics[`coverage_at_${k}`] = catalogue > 0 ? coveredAt(queries, k) / catalogue : null;
  if (catalogue === 0) warnings.push('coverage is undefined: the catalogue is empty');
  return { metrics, perQuery, evaluated: evaluated.length, warnings };
}

function mean(v: Float64Array): number {
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

function hitsAt(q: RankingQuery, k: number): number {
  let hits = 0;
  const end = Math.min(k, q.items.length);
  for (let i = 0; i < end; i++) if (q.gains[i]! > 0) hits++;
  return hits;
}

function reciprocalRank(q: RankingQuery): number {
  for (let i = 0; i < q.items.length; i++) if (q.gains[i]! > 0) return 1 / (i + 1);
  return 0;
}

function averagePrecisionAt(q: RankingQuery, k: number): number {
  let hits = 0;
  let sum = 0;
  const end = Math.min(k, q.items.length);
  for (let i = 0; i < end; i++) {
    if (q.gains[i]! > 0) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / Math.min(k, q.relevantGrades.length);
}

function discountCumsum(length: number, k: number): Float64Array {
  const c = new Float64Array(length);
  let s = 0;
  for (let i = 0; i < length; i++) {
    if (i < k) s += 1 / Math.log2(i + 2);
    c[i] = s;
  }
  return c;
}

/** DCG@k; with scores, each run of tied scores gets its mean gain at every position it spans (sklearn). */
function dcgAt(q: RankingQuery, k: number): number {
  const n = q.items.length;
  const cum = discountCumsum(n, k);
  let dcg = 0;
  let start = 0;
  while (start < n) {
    let end = start + 1;
    if (q.scores) while (end < n && q.scores[end] === q.scores[start]) end++;
    let gain = 0;
    for (let i = start; i < end; i++) gain += q.gains[i]!;
    const discounts = cum[end - 1]! - (start > 0 ? cum[start - 1]! : 0);
    dcg += (gain / (end - start)) * discounts;
    start = end;
  }
  return dcg;
}

function ndcgAt(q: RankingQuery, k: number): number {
  const ideal = [...q.relevantGrades].sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i]! / Math.log2(i + 2);
  return idcg > 0 ? dcgAt(q, k) / idcg : 0;
}

function coveredAt(queries: RankingQuery[], k: number): number {
  const seen = new Set<string>();
  for (const q of queries) for (let i = 0; i < Math.min(k, q.items.length); i++) seen.add(q.items[i]!);
  return seen.size;
}

function catalogueOf(queries: RankingQuery[]): number {
  const seen = new Set<string>();
  for (const q of queries) for (const it of q.items) seen.add(it);
  return seen.size;
}
