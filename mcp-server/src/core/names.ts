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

/** Turns any text into a valid experiment name (for imported runs). */
export function toExperimentName(raw: string): string {
  const cleaned = raw
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100)
    .replace(/[-.]+$/, '');
  return cleaned || 'run';
}

/** A name made unique against `taken` by appending -2, -3, … */
export function uniqueName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i += 1) {
    const suffix = `-${i}`;
    const candidate = `${base.slice(0, 100 - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
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
