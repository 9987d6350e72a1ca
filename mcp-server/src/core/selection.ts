/**
 * Selection apart from reporting. The candidate is chosen on a selection value — the primary metric's
 * cross-validation mean where folds are logged, else a validation metric — and only reported on the test set.
 * Choosing on the test set is allowed as a last resort, and the selection gate warns about it.
 * Pure: experiments' metrics in, facts out. docs/format.md ("Selection") is the rule.
 */
import { normalizeMetricName } from './names.js';
import { resolveMetric, vocabulary, type Split, type Stat } from './metrics/vocabulary.js';

export type SelectionSource = 'cv' | 'validation' | 'test';
export type SelectionSetting = 'auto' | SelectionSource;
export const SELECTION_SETTINGS: readonly SelectionSetting[] = ['auto', 'cv', 'validation', 'test'];

/** What one logged metric name measures: the canonical metric, where (split) and which summary (stat). */
export interface Facet {
  key: string;
  split: Split | undefined;
  stat: Stat | undefined;
  /** -1 when the logged value is the negated metric (scikit-learn's neg_* scorers). */
  sign: 1 | -1;
}

const facets = new Map<string, Facet>();
const SPLIT_PREFIX = new RegExp(`^(${Object.keys(vocabulary.splits).join('|')})_(.+)$`);
const STAT_SUFFIX = new RegExp(`^(.+)_(${Object.keys(vocabulary.stats).join('|')})$`);

/** The facet of a metric name; names the vocabulary does not know are split on the same prefixes and suffixes. */
export function facetOf(name: string): Facet {
  let f = facets.get(name);
  if (f) return f;
  const r = resolveMetric(name);
  if (r) {
    f = { key: r.key, split: r.split, stat: r.stat, sign: r.sign };
  } else {
    let n = normalizeMetricName(name);
    let split: Split | undefined;
    let stat: Stat | undefined;
    const p = SPLIT_PREFIX.exec(n);
    if (p) [split, n] = [vocabulary.splits[p[1]!], p[2]!];
    const s = STAT_SUFFIX.exec(n);
    if (s) [stat, n] = [vocabulary.stats[s[2]!], s[1]!];
    f = { key: n, split, stat, sign: 1 };
  }
  if (facets.size > 50_000) facets.clear(); // names come from files: keep the cache bounded
  facets.set(name, f);
  return f;
}

/** The canonical key of a metric name ("R^2" → "r2", "neg_root_mean_squared_error" → "rmse", "my_score" → "my_score"). */
export function canonicalKey(name: string): string {
  return facetOf(name).key;
}

/** A value measured at one place: the CV mean (with its spread and fold count), a validation value, a test value. */
export interface Measurement {
  source: SelectionSource;
  /** The metric name as logged. */
  name: string;
  value: number;
  std: number | null;
  count: number | null;
}

/** An experiment's metrics indexed by what they measure, values turned to the canonical sign. */
export class MetricIndex {
  private readonly byFacet = new Map<string, { name: string; value: number }>();

  constructor(metrics: Record<string, number>) {
    for (const [name, raw] of Object.entries(metrics)) {
      const f = facetOf(name);
      const value = f.sign === -1 && f.stat !== 'std' && f.stat !== 'count' ? -raw : raw;
      const id = facetId(f.key, f.split === 'test' ? undefined : f.split, f.stat);
      // The plain name wins over a prefixed alias ("accuracy" over "test_accuracy") when both are logged.
      const have = this.byFacet.get(id);
      if (!have || name.length < have.name.length) this.byFacet.set(id, { name, value });
    }
  }

  get(key: string, split: Split | undefined, stat?: Stat): { name: string; value: number } | undefined {
    return this.byFacet.get(facetId(key, split === 'test' ? undefined : split, stat));
  }

  /** The primary metric measured at `source`, or undefined when the experiment did not log it there. */
  measure(key: string, source: SelectionSource): Measurement | undefined {
    if (source === 'cv') {
      const mean = this.get(key, 'cv', 'mean');
      if (!mean) return undefined;
      return {
        source,
        name: mean.name,
        value: mean.value,
        std: this.get(key, 'cv', 'std')?.value ?? null,
        count: this.get(key, 'cv', 'count')?.value ?? null,
      };
    }
    const v = this.get(key, source === 'validation' ? 'validation' : undefined);
    return v ? { source, name: v.name, value: v.value, std: null, count: null } : undefined;
  }
}

const facetId = (key: string, split: Split | undefined, stat: Stat | undefined) => `${key}|${split ?? ''}|${stat ?? ''}`;

export interface SourceChoice {
  source: SelectionSource;
  /** Why this source: the setting, or which candidates lacked the better ones. */
  reason: string;
}

const SOURCE_TEXT: Record<SelectionSource, string> = {
  cv: 'cross-validation mean',
  validation: 'validation metric',
  test: 'test metric',
};

/**
 * Which measurement ranks the candidates. A fixed setting is obeyed; `auto` takes the first of CV mean, validation
 * and test that every usable candidate logged, so candidates are never compared on different data.
 */
export function chooseSource(setting: SelectionSetting, key: string, candidates: { name: string; index: MetricIndex }[]): SourceChoice {
  if (setting !== 'auto') return { source: setting, reason: `the increment's selection setting is "${setting}"` };
  if (candidates.length === 0) return { source: 'test', reason: 'there are no candidates, only baselines' };
  const lacking: string[] = [];
  for (const source of ['cv', 'validation'] as const) {
    const without = candidates.filter((c) => !c.index.measure(key, source)).map((c) => c.name);
    if (without.length === 0) return { source, reason: `every candidate logged the ${SOURCE_TEXT[source]} of ${key}` };
    const name = source === 'cv' ? `cv_${key}_mean` : `val_${key}`;
    lacking.push(without.length === candidates.length ? `no candidate logged ${name}` : `${name} is missing for ${listNames(without)}`);
  }
  return { source: 'test', reason: lacking.join('; ') };
}

function listNames(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.length} candidates (${names.slice(0, 2).join(', ')}, …)`;
}

export function describeSource(m: { source: SelectionSource; count?: number | null }, key: string): string {
  if (m.source === 'cv') return `the ${m.count ? `${m.count}-fold ` : ''}cross-validation mean of ${key}`;
  return `the ${SOURCE_TEXT[m.source]} ${m.source === 'validation' ? `val_${key}` : key}`;
}
