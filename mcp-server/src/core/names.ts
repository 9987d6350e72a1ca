/** Naming rules of the format: increment slugs, experiment names, metric names. */
import { invalid } from './errors.js';

const EXPERIMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A lowercase slug from free text: "Fraud Detection (v2)!" → "fraud-detection-v2". */
export function slugify(text: string, maxLength = 50): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, maxLength).replace(/-+$/, '');
}

export function assertExperimentName(name: string): string {
  if (!EXPERIMENT_NAME.test(name) || name.includes('..')) {
    throw invalid(
      `Invalid experiment name ${JSON.stringify(name)}.`,
      'Use 1–100 characters: letters, digits, ".", "_" or "-", starting with a letter or digit, e.g. "xgboost-depth6".',
    );
  }
  return name;
}

export function isExperimentName(name: string): boolean {
  return EXPERIMENT_NAME.test(name) && !name.includes('..');
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$/i;

/**
 * Any text as a valid experiment name: accents dropped, every run of other characters becomes "-", ".." collapses,
 * leading punctuation and trailing "-"/"." go, at most 100 characters; "run" when nothing is left.
 * "My run #3 (best)" → "My-run-3-best"; "ŝtep/α=0.1" → "step-0.1".
 */
export function toExperimentName(raw: string): string {
  let name = String(raw)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100)
    .replace(/[-.]+$/, '');
  if (WINDOWS_RESERVED.test(name)) name = `${name.slice(0, 99)}_`;
  return EXPERIMENT_NAME.test(name) && !name.includes('..') ? name : 'run';
}

/**
 * A valid name for `raw` that is not taken, comparing case-insensitively (folders on macOS and Windows): the
 * sanitised name, else "-2", "-3", … appended (the base shortened to keep 100 characters). `takenLower` holds the
 * taken names in lower case; nothing is added to it — the caller records the name it uses.
 */
export function uniqueExperimentName(raw: string, takenLower: ReadonlySet<string>): string {
  const lower = takenLower;
  const base = toExperimentName(raw);
  if (!lower.has(base.toLowerCase())) return base;
  for (let i = 2; ; i += 1) {
    const suffix = `-${i}`;
    const candidate = `${base.slice(0, 100 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
    if (!lower.has(candidate.toLowerCase())) return candidate;
  }
}

/** Metric names compared loosely: "Precision@10" = "precision_at_10" = "precision@10"; "R²" = "r2". */
export function normalizeMetricName(name: string): string {
  return name
    .toLowerCase()
    .replace(/²/g, '2')
    .replace(/@/g, '_at_')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * A registered model's name (docs/registry.md): lower case, so two names never share a folder on a
 * case-insensitive disk, and free of "@" and "#", which GTO's git tags (`name@v1.0.0`, `name#stage#N`) reserve.
 */
const MODEL_NAME = /^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$/;

export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name) && !WINDOWS_RESERVED.test(name);
}

export function assertModelName(name: string): string {
  if (!isModelName(name)) {
    throw invalid(
      `Invalid model name ${JSON.stringify(name)}.`,
      'Use 1–64 characters: lower-case letters, digits, "-" or "_", starting and ending with a letter or digit, e.g. "churn-classifier".',
    );
  }
  return name;
}
