/** Experiment names for imported runs (docs/format.md: ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$, no ".."). */

const VALID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
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
  return VALID.test(name) && !name.includes('..') ? name : 'run';
}

/**
 * A valid name for `raw` that is not in `taken`, comparing case-insensitively (folders on macOS and Windows):
 * the sanitised name, else "-2", "-3", … appended (the base shortened to keep 100 characters).
 * Adds nothing to `taken`; the caller records the name it uses.
 */
export function uniqueExperimentName(raw: string, taken: Iterable<string>): string {
  const lower = new Set<string>();
  for (const t of taken) lower.add(t.toLowerCase());
  const base = toExperimentName(raw);
  if (!lower.has(base.toLowerCase())) return base;
  for (let i = 2; ; i += 1) {
    const suffix = `-${i}`;
    const candidate = `${base.slice(0, 100 - suffix.length).replace(/[-.]+$/, '')}${suffix}`;
    if (!lower.has(candidate.toLowerCase())) return candidate;
  }
}
