/**
 * Generated sections inside files people also edit: the text between a begin and an end marker belongs to the
 * generator, everything outside them to people. Pure string functions.
 */
const begin = (key: string) => `<!-- specweave-ml:begin ${key} -->`;
const end = (key: string) => `<!-- specweave-ml:end ${key} -->`;

/** Replaces the marked section `key` in `existing`, or appends it; text outside the markers is kept byte for byte. */
export function upsertSection(existing: string, key: string, body: string): string {
  const block = `${begin(key)}\n${body.trimEnd()}\n${end(key)}`;
  const start = existing.indexOf(begin(key));
  const stop = existing.indexOf(end(key));
  if (start >= 0 && stop > start) return existing.slice(0, start) + block + existing.slice(stop + end(key).length);
  const sep = existing.length === 0 || existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  return `${existing}${sep}${block}\n`;
}

export function hasSection(existing: string, key: string): boolean {
  return existing.includes(begin(key));
}

/** Every marked section whose key starts with `prefix`, whole (markers included), in file order. */
export function sectionsWithPrefix(existing: string, prefix: string): string[] {
  const out: string[] = [];
  const re = new RegExp(
    `<!-- specweave-ml:begin (${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^>]*?) -->[\\s\\S]*?<!-- specweave-ml:end \\1 -->`,
    'g',
  );
  for (const m of existing.matchAll(re)) out.push(m[0]);
  return out;
}

/**
 * Why the markers of section `key` in `existing` cannot be trusted, or undefined when they can (none, or one
 * begin followed by one end). upsertSection on broken markers would append a second copy or swallow the text
 * between them, so writers refuse such a file instead.
 */
export function sectionMarkerProblem(existing: string, key: string): string | undefined {
  const count = (marker: string) => existing.split(marker).length - 1;
  const begins = count(begin(key));
  const ends = count(end(key));
  if (begins === 0 && ends === 0) return undefined;
  if (begins > 1 || ends > 1) return `the generated section "${key}" is marked more than once`;
  if (begins === 0) return `the generated section "${key}" has an end marker without its begin marker`;
  if (ends === 0) return `the generated section "${key}" has a begin marker without its end marker`;
  if (existing.indexOf(end(key)) < existing.indexOf(begin(key))) return `the generated section "${key}" ends before it begins`;
  return undefined;
}
