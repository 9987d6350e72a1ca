/**
 * The metric vocabulary: one data file (python/specweave_ml/metrics.json, bundled into the server and shipped with
 * the Python client) says, for every canonical metric key, its direction, bounds, display name and the names people
 * and libraries use for it. This module resolves any of those names — "macro F1", "R^2", "neg_root_mean_squared_error",
 * "eval/accuracy", "cv_rmse_std", "Precision@10" — to the canonical key, and parses success criteria written the way
 * specs write them. python/specweave_ml/metrics.py implements the same rules; test/fixtures/metric-phrasings.json
 * holds the cases both must agree on. docs/metrics.md is generated from the data file.
 */
import data from '../../../../python/specweave_ml/metrics.json' with { type: 'json' };
import { normalizeMetricName } from '../names.js';

export type Direction = 'maximize' | 'minimize';
/** 'none' for settings that are recorded but are not a quality (the tuned decision threshold, a count). */
export type MetricDirection = Direction | 'none';
export type Split = 'train' | 'validation' | 'test' | 'cv';
export type Stat = 'mean' | 'std' | 'count';
/** [lower, upper]; null is an open end (−∞ or +∞). */
export type Bounds = [number | null, number | null];
export type Comparator = '>' | '>=' | '<' | '<=';

export interface MetricEntry {
  key: string;
  display: string;
  direction: MetricDirection;
  bounds: Bounds;
  bounded: boolean;
  fraction?: boolean;
  family?: 'at_k';
  evaluate_predictions?: string[];
  aliases: string[];
  sklearn_scorers?: { name: string; sign: 1 | -1 }[];
  note?: string;
}

interface VocabularyFile {
  splits: Record<string, Split>;
  split_keys: Record<Split, string>;
  stats: Record<string, Stat>;
  fallback_minimize_words: string[];
  metrics: MetricEntry[];
}

export interface ResolvedMetric {
  known: true;
  /** The canonical metric: "rmse", "f1_macro", "precision_at_10" ("map_at_k" when the name gave no k). */
  key: string;
  /** The canonical name of what was logged, facets included: "cv_rmse_mean", "val_loss", "train_accuracy". */
  name: string;
  split?: Split;
  stat?: Stat;
  k?: number;
  /** -1 when the logged value is the negated metric (scikit-learn's neg_* scorers): metric = sign × value. */
  sign: 1 | -1;
  /** Direction of the canonical metric. */
  direction: MetricDirection;
  /** Direction in which the value logged under the given name improves (flipped by sign; a std improves downwards). */
  value_direction: MetricDirection;
  bounds: Bounds;
  bounded: boolean;
  /** Stored as a fraction (0.1 = 10 %), so "10%" in a criterion means 0.1. */
  fraction: boolean;
  display: string;
}

export const vocabulary = data as unknown as VocabularyFile;

/**
 * The normalisation every lookup uses: accents and compatibility forms folded ("R²" → "r2"), "^" before a digit
 * dropped ("R^2" → "r2"), "@" → "_at_", other punctuation and spaces → "_".
 */
export function normalizeName(name: string): string {
  return String(name)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\^(?=\d)/g, '')
    .replace(/@/g, '_at_')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

interface IndexHit {
  entry: MetricEntry;
  sign: 1 | -1;
}

/** normalised alias → metric. Built once; a name claimed by two metrics is a broken data file, so it throws. */
const INDEX: Map<string, IndexHit> = buildIndex(vocabulary.metrics);

function buildIndex(metrics: MetricEntry[]): Map<string, IndexHit> {
  const index = new Map<string, IndexHit>();
  const add = (alias: string, hit: IndexHit) => {
    const n = normalizeName(alias);
    const prior = index.get(n);
    if (prior && (prior.entry !== hit.entry || prior.sign !== hit.sign))
      throw new Error(`metrics.json: "${alias}" names both ${prior.entry.key} and ${hit.entry.key}`);
    index.set(n, hit);
  };
  for (const entry of metrics) {
    add(entry.key, { entry, sign: 1 });
    for (const a of entry.aliases) add(a, { entry, sign: 1 });
    for (const s of entry.sklearn_scorers ?? []) add(s.name, { entry, sign: s.sign });
  }
  return index;
}

export const METRICS: readonly MetricEntry[] = vocabulary.metrics;
export const METRIC_KEYS: readonly string[] = vocabulary.metrics.map((m) => m.key);

const SPLIT_PREFIX = new RegExp(`^(${Object.keys(vocabulary.splits).join('|')})(?:_\\d+)?_(.+)$`);
const STAT_SUFFIX = new RegExp(`^(.+)_(${Object.keys(vocabulary.stats).join('|')})$`);
/** GridSearchCV's cv_results_ columns: mean_test_<scorer>, std_train_<scorer>. */
const SEARCH_CV_COLUMN = /^(mean|std)_(test|train)_(.+)$/;
const AT_K = /^(.+)_at_(\d+|k)$/;

function lookup(n: string): (IndexHit & { key: string; k?: number }) | undefined {
  const hit = INDEX.get(n);
  if (hit) return { ...hit, key: hit.entry.key };
  const m = AT_K.exec(n);
  if (!m) return undefined;
  const family = INDEX.get(`${m[1]}_at_k`);
  if (!family || family.entry.family !== 'at_k') return undefined;
  const base = family.entry.key.replace(/_at_k$/, '');
  if (m[2] === 'k') return { ...family, key: family.entry.key };
  const k = Number(m[2]);
  if (!Number.isSafeInteger(k) || k < 1) return undefined;
  return { ...family, key: `${base}_at_${k}`, k };
}

/**
 * The canonical metric a name stands for, or undefined when the vocabulary does not know it. Layers are peeled one
 * at a time until the rest is a known name: a split prefix ("val_", "eval/", "validation_0-"), a CV summary suffix
 * ("_mean", "_std", "_count"), GridSearchCV's "mean_test_", and scikit-learn's "neg_".
 */
export function resolveMetric(name: string): ResolvedMetric | undefined {
  let n = normalizeName(name);
  let split: Split | undefined;
  let stat: Stat | undefined;
  let sign: 1 | -1 = 1;
  for (;;) {
    const hit = lookup(n);
    if (hit) return build(hit, split, stat, (sign * hit.sign) as 1 | -1);
    let m: RegExpExecArray | null;
    if (!split && !stat && (m = SEARCH_CV_COLUMN.exec(n))) {
      stat = m[1] as Stat;
      split = m[2] === 'test' ? 'cv' : 'train';
      n = m[3]!;
    } else if (!stat && (m = STAT_SUFFIX.exec(n))) {
      stat = vocabulary.stats[m[2]!];
      n = m[1]!;
    } else if (!split && (m = SPLIT_PREFIX.exec(n))) {
      split = vocabulary.splits[m[1]!];
      n = m[2]!;
    } else if (sign === 1 && n.startsWith('neg_')) {
      sign = -1;
      n = n.slice(4);
    } else {
      return undefined;
    }
  }
}

function build(
  hit: IndexHit & { key: string; k?: number },
  split: Split | undefined,
  stat: Stat | undefined,
  sign: 1 | -1,
): ResolvedMetric {
  const e = hit.entry;
  const name = `${split ? vocabulary.split_keys[split] : ''}${hit.key}${stat ? `_${stat}` : ''}`;
  const r: ResolvedMetric = {
    known: true,
    key: hit.key,
    name,
    sign,
    direction: e.direction,
    value_direction: valueDirection(e.direction, stat, sign),
    bounds: [e.bounds[0], e.bounds[1]],
    bounded: e.bounded,
    fraction: e.fraction === true,
    display: hit.k !== undefined ? e.display.replace(/@k$/, `@${hit.k}`) : e.display,
  };
  if (split) r.split = split;
  if (stat) r.stat = stat;
  if (hit.k !== undefined) r.k = hit.k;
  return r;
}

function valueDirection(direction: MetricDirection, stat: Stat | undefined, sign: 1 | -1): MetricDirection {
  if (stat === 'count') return 'none';
  if (stat === 'std') return 'minimize';
  if (direction === 'none' || sign === 1) return direction;
  return direction === 'maximize' ? 'minimize' : 'maximize';
}

/**
 * The logged value as the canonical metric: a neg_root_mean_squared_error of −55 is rmse 55. A std or count is not
 * negated (the spread of −x is the spread of x). Unknown names come back unchanged.
 */
export function toCanonical(name: string, value: number): { name: string; value: number; known: boolean } {
  const r = resolveMetric(name);
  if (!r) return { name, value, known: false };
  const flip = r.sign === -1 && r.stat !== 'std' && r.stat !== 'count';
  return { name: r.name, value: flip ? -value : value, known: true };
}

/**
 * The name-based rule for names the vocabulary does not know, the same as inferDirection in core/ranking.ts: a word
 * of the name that says loss, error, time, size… means smaller is better.
 */
export function fallbackDirection(name: string): Direction {
  const words = normalizeMetricName(name).split('_');
  return words.some((w) => vocabulary.fallback_minimize_words.includes(w)) ? 'minimize' : 'maximize';
}

/** Which way the value logged under `name` improves; the name-based rule when the vocabulary has no direction for it. */
export function metricDirection(name: string): Direction {
  const r = resolveMetric(name);
  return r && r.value_direction !== 'none' ? r.value_direction : fallbackDirection(name);
}

/**
 * "Did you mean" candidates for a name the vocabulary does not know: canonical keys whose names are closest by edit
 * distance or share the most words, best first (ties by key). An @k family is suggested with the input's k.
 */
export function suggestMetrics(name: string, limit = 3): string[] {
  const n = normalizeName(name);
  if (!n) return [];
  const k = /_at_(\d+)/.exec(n)?.[1];
  const best = new Map<string, number>();
  for (const [alias, hit] of INDEX) {
    let candidate = alias;
    let key = hit.entry.key;
    if (hit.entry.family === 'at_k' && k !== undefined) {
      candidate = alias.replace(/_at_k$/, `_at_${k}`);
      key = key.replace(/_at_k$/, `_at_${k}`);
    }
    const score = similarity(n, candidate);
    if (score >= 0.5 && score > (best.get(key) ?? -1)) best.set(key, score);
  }
  return [...best.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([key]) => key);
}

/** The larger of normalised edit similarity and word overlap (Jaccard), in [0, 1]. */
function similarity(a: string, b: string): number {
  const edit = 1 - editDistance(a, b) / Math.max(a.length, b.length);
  const wa = new Set(a.split('_'));
  const wb = new Set(b.split('_'));
  let shared = 0;
  for (const w of wa) if (wb.has(w)) shared += 1;
  const overlap = shared / (wa.size + wb.size - shared);
  return Math.max(edit, overlap);
}

/** Edit distance counting a swap of two neighbours as one edit ("rsme" is one edit from "rmse"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

// ---------------------------------------------------------------- success criteria

export interface ResolvedCriterion {
  ok: true;
  known: true;
  /** The canonical name to look up in metrics.json ("f1_macro", "val_loss", "precision_at_10"). */
  metric: string;
  op: Comparator;
  value: number;
  text: string;
  /** A value stated next to the metric ("precision@10=0.28 > 0.25"): an observation, not part of the name. */
  observed?: number;
  resolved: ResolvedMetric;
}

export interface UnresolvedCriterion {
  ok: false;
  known: boolean;
  reason: 'unknown_metric' | 'out_of_range' | 'percent_of_non_fraction';
  /** What to tell the caller, with the fix. */
  message: string;
  text: string;
  /** The metric as written, and as a slug for accepting it as a custom metric. */
  metric_text: string;
  slug: string;
  op: Comparator;
  value: number;
  observed?: number;
  suggestions: string[];
}

export type CriterionResult = ResolvedCriterion | UnresolvedCriterion;

/** Operator phrasings, longest first so "at least" wins over a shorter match. */
const OP_PHRASES: [string, Comparator][] = [
  ['greater than or equal to', '>='],
  ['less than or equal to', '<='],
  ['no less than', '>='],
  ['not less than', '>='],
  ['no more than', '<='],
  ['not more than', '<='],
  ['no greater than', '<='],
  ['no higher than', '<='],
  ['no lower than', '>='],
  ['at least', '>='],
  ['at most', '<='],
  ['greater than', '>'],
  ['more than', '>'],
  ['higher than', '>'],
  ['larger than', '>'],
  ['less than', '<'],
  ['lower than', '<'],
  ['smaller than', '<'],
  ['exceeds', '>'],
  ['exceed', '>'],
  ['above', '>'],
  ['over', '>'],
  ['below', '<'],
  ['under', '<'],
  ['>=', '>='],
  ['=>', '>='],
  ['≥', '>='],
  ['<=', '<='],
  ['=<', '<='],
  ['≤', '<='],
  ['>', '>'],
  ['<', '<'],
];
const OP_BY_PHRASE = new Map(OP_PHRASES);
const OP_SOURCE = OP_PHRASES.map(([p]) => (/^[a-z ]+$/.test(p) ? `\\b${p.replace(/ /g, '\\s+')}\\b` : escapeRegExp(p))).join('|');
const NUMBER_SOURCE = String.raw`[-+]?\$?\s*[-+]?(?:\d[\d,]*)?\.?\d+(?:e[-+]?\d+)?`;
const FILLER = String.raw`(?:\b(?:is|of|should\s+be|must\s+be|to\s+be|stays|remains)\s+)?`;
/** "<metric> <op> <number>[%] [anything]" — "RMSE below 50", "precision@10=0.28 > 0.25 target". */
const METRIC_FIRST = new RegExp(`^(.+?)\\s*${FILLER}(${OP_SOURCE})\\s*(${NUMBER_SOURCE})\\s*(%|\\bpercent\\b)?(.*)$`, 'i');
/** "<op> <number>[%] [of|in] <metric>" — "at least 0.8 accuracy". */
const VALUE_FIRST = new RegExp(`^(${OP_SOURCE})\\s*(${NUMBER_SOURCE})\\s*(%|\\bpercent\\b)?\\s+(?:(?:of|in|for)\\s+)?(.+?)$`, 'i');
/** A value written beside the metric name: "precision@10=0.28", "recall@10 (0.12)". */
const OBSERVED =
  /^(.*?)\s*(?:=\s*([-+]?(?:\d[\d,]*)?\.?\d+)\s*%?|\(\s*(?:currently|now|baseline|observed|was)?\s*([-+]?(?:\d[\d,]*)?\.?\d+)\s*%?\s*\))\s*$/i;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A success criterion as specs write it, resolved against the vocabulary. Undefined when the text has no
 * "<metric> <comparison> <number>" shape (prose). Percentages become fractions for metrics stored as fractions
 * ("MAPE < 10%" → mape < 0.1); a neg_* scorer becomes its positive metric with the comparison turned round.
 */
export function parseCriterionText(text: string): CriterionResult | undefined {
  const clean = text
    .trim()
    .replace(/^(?:[-*+]\s+)?(?:\[[ xX]\]\s+)?/, '')
    .replace(/[*`]/g, '')
    .trim();
  const vf = VALUE_FIRST.exec(clean);
  const mf = vf ? null : METRIC_FIRST.exec(clean);
  if (!vf && !mf) return undefined;
  let metricText = vf ? vf[4]! : mf![1]!;
  const opText = vf ? vf[1]! : mf![2]!;
  const numberText = vf ? vf[2]! : mf![3]!;
  const percent = Boolean(vf ? vf[3] : mf![4]);
  let op = OP_BY_PHRASE.get(opText.toLowerCase().replace(/\s+/g, ' '))!;
  let value = Number(numberText.replace(/[$,\s]/g, ''));
  if (!Number.isFinite(value)) return undefined;
  let observed: number | undefined;
  const obs = OBSERVED.exec(metricText!);
  if (obs && obs[1]!.trim()) {
    metricText = obs[1]!;
    observed = Number((obs[2] ?? obs[3])!.replace(/,/g, ''));
  }
  // "Success metrics: Precision@10 > 0.25" — the metric is what follows the last colon.
  metricText = metricText.split(':').pop()!.trim();
  const slug = normalizeName(metricText);
  if (!slug) return undefined;
  const resolved = resolveMetric(metricText);
  const shown = text.trim().replace(/^[-*+]\s+/, '');
  const base = { text: shown, metric_text: metricText, slug, ...(observed !== undefined ? { observed } : {}) };
  if (!resolved) {
    if (percent) value /= 100;
    const suggestions = suggestMetrics(metricText);
    const hint = suggestions.length ? ` Did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?` : '';
    return {
      ok: false,
      known: false,
      reason: 'unknown_metric',
      op,
      value,
      suggestions,
      ...base,
      message: `"${metricText}" is not a known metric.${hint} Name a metric from docs/metrics.md, or accept "${slug}" as a custom metric.`,
    };
  }
  const fail = (reason: UnresolvedCriterion['reason'], message: string): UnresolvedCriterion => ({
    ok: false,
    known: true,
    reason,
    op,
    value,
    suggestions: [resolved.name],
    message,
    ...base,
  });
  if (percent) {
    if (!resolved.fraction)
      return fail(
        'percent_of_non_fraction',
        `${resolved.display} is not a fraction, so "${numberText}%" has no meaning: give the threshold in ${resolved.display}'s own units.`,
      );
    value /= 100;
  }
  if (resolved.sign === -1 && resolved.stat !== 'std' && resolved.stat !== 'count') {
    value = -value;
    op = FLIPPED[op];
  }
  const range = rangeProblem(resolved, op, value);
  if (range) {
    const asPercent =
      resolved.fraction && !percent && value > 1 && value <= 100 ? ` If you meant a percentage, write ${value}% (= ${value / 100}).` : '';
    return fail('out_of_range', `${resolved.display} lies in ${formatBounds(resolved.bounds)}, so "${op} ${value}" ${range}.${asPercent}`);
  }
  return {
    ok: true,
    known: true,
    metric: resolved.name,
    op,
    value,
    text: shown,
    ...(observed !== undefined ? { observed } : {}),
    resolved,
  };
}

const FLIPPED: Record<Comparator, Comparator> = { '>': '<', '>=': '<=', '<': '>', '<=': '>=' };

/**
 * Why a threshold cannot be meant as written: it "can never hold" (accuracy > 1) or "always holds" (accuracy < 90,
 * usually a percentage without "%"). Undefined when it is a real constraint. A std or count has its own range.
 */
function rangeProblem(r: ResolvedMetric, op: Comparator, value: number): string | undefined {
  if (r.stat === 'std' || r.stat === 'count') return undefined;
  const [lo, hi] = r.bounds;
  const above = op === '>' || op === '>=';
  if (hi !== null && (value > hi || (op === '>' && value === hi))) return above ? 'can never hold' : 'always holds';
  if (lo !== null && (value < lo || (op === '<' && value === lo))) return above ? 'always holds' : 'can never hold';
  return undefined;
}

/** "[0, 1]", "[0, ∞)", "(−∞, 1]", "(−∞, ∞)". */
export function formatBounds([lo, hi]: Bounds): string {
  return `${lo === null ? '(−∞' : `[${lo}`}, ${hi === null ? '∞)' : `${hi}]`}`;
}
