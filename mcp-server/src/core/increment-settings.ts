/**
 * The ML settings of an increment — primary metric, direction, success criteria, thresholds, selection rule — as
 * create_increment and update_increment accept them: every name resolved against the metric vocabulary, every
 * criterion read, every threshold known. metadata.json is the source; spec.md's Success Criteria section is
 * rendered from it, so the two never silently disagree.
 */
import { readCriterion, type Criterion, type CriterionProblem } from './criteria.js';
import { invalid } from './errors.js';
import { THRESHOLDS } from './gates/index.js';
import { resolveMetric, suggestMetrics } from './metrics/vocabulary.js';
import { normalizeMetricName } from './names.js';
import { SELECTION_SETTINGS, type SelectionSetting } from './selection.js';

/** Criteria from their texts; every problem at once, with "did you mean" and the custom_metrics way out. */
export function resolveCriteria(texts: readonly string[], customMetrics: readonly string[] = []): Criterion[] {
  const criteria: Criterion[] = [];
  const problems: string[] = [];
  let unknown: CriterionProblem[] = [];
  for (const text of texts) {
    const r = readCriterion(text, customMetrics);
    if (!r) problems.push(`${JSON.stringify(text)} is not "<metric> <op> <number>"`);
    else if ('problem' in r) {
      problems.push(`${JSON.stringify(text)}: ${r.problem.message}`);
      if (r.problem.unknownMetric) unknown = [...unknown, r.problem];
    } else criteria.push(r.criterion);
  }
  if (problems.length) {
    const custom = unknown.length
      ? ` To use your own metric, also pass custom_metrics: ${JSON.stringify(unknown.map((u) => u.slug))}.`
      : '';
    throw invalid(
      `Cannot use these success criteria: ${problems.join('; ')}.`,
      `Write each as "<metric> <op> <number>" with a metric from docs/metrics.md, e.g. "f1_macro >= 0.8", "RMSE < 50", "MAPE < 10%".${custom}`,
    );
  }
  return criteria;
}

/**
 * The primary metric as stored: the vocabulary's canonical name ("R^2" → "r2", "Precision@10" → "precision_at_10",
 * "neg_root_mean_squared_error" → "rmse"), or a custom metric the caller named. Anything else is an error with
 * suggestions, never a silently different name.
 */
export function resolvePrimaryMetric(name: string, customMetrics: readonly string[] = []): string {
  const r = resolveMetric(name);
  if (r) return r.sign === -1 ? r.name.replace(/(^|_)neg_/, '$1') : r.name;
  const slug = normalizeMetricName(name);
  if (customMetrics.some((m) => m === name || normalizeMetricName(m) === slug)) return name.trim();
  const suggestions = suggestMetrics(name);
  throw invalid(
    `"${name}" is not a known metric${suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}` : ''}.`,
    `Use a metric from docs/metrics.md, or pass custom_metrics: ["${name.trim()}"] to rank on a metric of your own.`,
  );
}

/** Thresholds the gates read, each known and finite; unknown keys are an error naming the known ones. */
export function resolveThresholds(given: Record<string, number>): Record<string, number> {
  const known = new Map(THRESHOLDS.map((t) => [t.key, t]));
  for (const [key, value] of Object.entries(given)) {
    if (!known.has(key))
      throw invalid(
        `Unknown threshold ${JSON.stringify(key)}.`,
        `The gates read: ${THRESHOLDS.map((t) => `${t.key} (${t.summary})`).join('; ')}.`,
      );
    if (!Number.isFinite(value) || value < 0)
      throw invalid(`Threshold ${key} must be a finite number >= 0, not ${value}.`, `Default: ${known.get(key)!.default}.`);
  }
  return given;
}

export function resolveSelection(value: string): SelectionSetting {
  if (SELECTION_SETTINGS.includes(value as SelectionSetting)) return value as SelectionSetting;
  throw invalid(
    `Unknown selection ${JSON.stringify(value)}.`,
    `Use one of ${SELECTION_SETTINGS.join(', ')}: auto takes the CV mean where every candidate has it, else val_<metric>, else the test metric.`,
  );
}

const SECTION = /^##\s+(?:\d+[.)]\s*)?success\s+(?:criteria|metrics)\b.*$/im;

/**
 * spec.md with its Success Criteria section listing exactly `criteria`: the criterion bullets there are replaced,
 * prose around them is kept. A spec without the section gets one before "## Data Requirements" or at the end.
 */
export function withCriteriaSection(spec: string, criteria: Criterion[], customMetrics: readonly string[] = []): string {
  const bullets = criteria.length ? criteria.map((c) => `- ${c.text}`) : ['- _none yet: add them with update_increment_'];
  const lines = spec.split('\n');
  const start = lines.findIndex((l) => SECTION.test(l));
  if (start < 0) {
    const before = lines.findIndex((l) => /^##\s+data requirements/i.test(l));
    const block = ['## Success Criteria', '', ...bullets, ''];
    if (before < 0) return `${spec.replace(/\n*$/, '\n')}\n${block.join('\n')}`;
    return [...lines.slice(0, before), ...block, ...lines.slice(before)].join('\n');
  }
  let end = start + 1;
  while (end < lines.length && !/^#{1,2}\s/.test(lines[end]!)) end += 1;
  const body = lines.slice(start + 1, end).filter((l) => !isCriterionBullet(l, customMetrics));
  const firstText = body.findIndex((l) => l.trim() !== '');
  const lead = firstText < 0 ? [] : body.slice(0, firstText).filter((l) => l.trim() !== '');
  const rest = firstText < 0 ? [] : body.slice(firstText);
  return [
    ...lines.slice(0, start + 1),
    '',
    ...lead,
    ...bullets,
    ...(rest.length ? ['', ...trimBlank(rest)] : []),
    '',
    ...lines.slice(end),
  ].join('\n');
}

function isCriterionBullet(line: string, customMetrics: readonly string[]): boolean {
  if (!/^\s*[-*+]\s+/.test(line)) return false;
  if (/_none yet: add them with update_increment_/.test(line)) return true;
  return readCriterion(line.replace(/^\s*[-*+]\s+/, ''), customMetrics) !== undefined;
}

function trimBlank(lines: string[]): string[] {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a]!.trim()) a += 1;
  while (b > a && !lines[b - 1]!.trim()) b -= 1;
  return lines.slice(a, b);
}
