/**
 * JSON as the format defines it: canonical on write (sorted keys, 2 spaces, trailing newline, non-finite numbers
 * as the strings "NaN" / "Infinity" / "-Infinity"), lenient on read (BOM, CRLF, Python's bare NaN tokens).
 */
import { MlError } from './errors.js';

/**
 * Deepest nesting of arrays and objects (YAML: collections) any reader accepts: `[[1]]` is 2 levels. The format's
 * own files nest 4 levels at most; the cap keeps a hostile file from overflowing the stack of every recursive walk
 * that follows the parse (canonical writing, flattening, JSON.stringify of a result).
 */
export const MAX_NESTING_DEPTH = 64;

/**
 * A file beyond a reader's limits: nested too deep, a YAML bomb, YAML this format never writes. The message says
 * what is wrong but not which file: callers name the file (MlError for the project's files, a warning in imports).
 */
export class ParseLimitError extends Error {
  override name = 'ParseLimitError';
}

/** V8's "Maximum call stack size exceeded": a parser or walk recursed too deep on hostile input. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

export const TOO_DEEP = `nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep, which no file of this format does`;

/** True when `value` nests deeper than `levels`. The recursion stops at the limit, so it cannot overflow. */
export function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (nestsDeeperThan(item, levels - 1)) return true;
    return false;
  }
  for (const key in value) if (nestsDeeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  return false;
}

const NON_FINITE_STRINGS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};

/** A number as it is stored: finite numbers as themselves, others as their string form. */
export function encodeNumber(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** A stored metric value back to a number; undefined when it is not a number at all. */
export function decodeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value in NON_FINITE_STRINGS) return NON_FINITE_STRINGS[value];
  return undefined;
}

function canonicalize(value: unknown): unknown {
  if (typeof value === 'number') return encodeNumber(value);
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = canonicalize(v);
    }
    return out;
  }
  return value;
}

/** The canonical file text of a JSON value. Refuses what the readers would refuse: nesting past the cap. */
export function stringifyCanonical(value: unknown): string {
  if (nestsDeeperThan(value, MAX_NESTING_DEPTH)) {
    throw new MlError(
      'INVALID_INPUT',
      `Refused to write a JSON file nesting arrays and objects more than ${MAX_NESTING_DEPTH} levels deep: the format's readers refuse such files (docs/format.md, "What readers accept").`,
      'Flatten the nested value, for example params {"model": {"lr": 0.1}} as {"model.lr": 0.1}.',
    );
  }
  return `${JSON.stringify(canonicalize(value), null, 2)}\n`;
}

/** One history line: keys in the documented order, no sorting, no trailing newline. */
export function stringifyLine(value: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'number' ? encodeNumber(v) : v;
  return JSON.stringify(out);
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses JSON written by any well-meaning writer. Python's json.dumps writes bare NaN / Infinity / -Infinity;
 * those become the format's strings so the result is ordinary data. Throws SyntaxError for broken JSON and
 * ParseLimitError for JSON nested deeper than MAX_NESTING_DEPTH.
 */
export function parseLenientJson(text: string): unknown {
  let value: unknown;
  try {
    value = parseJsonText(stripBom(text));
  } catch (e) {
    if (isStackOverflow(e)) throw new ParseLimitError(TOO_DEEP);
    throw e;
  }
  // V8 parses a million nested arrays without trouble; what comes after (stringify, canonical writing) would not.
  // Going past the cap takes 2 × (cap + 1) brackets, so short texts (history lines, by the hundred thousand) skip it.
  if (text.length >= 2 * (MAX_NESTING_DEPTH + 1) && nestsDeeperThan(value, MAX_NESTING_DEPTH)) throw new ParseLimitError(TOO_DEEP);
  return value;
}

function parseJsonText(clean: string): unknown {
  try {
    return JSON.parse(clean);
  } catch (first) {
    const quoted = quoteBareNonFinite(clean);
    if (quoted === clean) throw first;
    return JSON.parse(quoted);
  }
}

/** Rewrites bare NaN / Infinity / -Infinity tokens that stand outside strings as quoted strings. */
function quoteBareNonFinite(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = endOfString(text, i);
      out += text.slice(i, end);
      i = end;
      continue;
    }
    const token = ['-Infinity', 'Infinity', 'NaN'].find((t) => text.startsWith(t, i));
    if (token) {
      out += `"${token}"`;
      i += token.length;
      continue;
    }
    out += ch;
    i += 1;
  }
  return out;
}

function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i += 1;
  }
  return text.length;
}

/**
 * A file that must hold a JSON object; anything else is a CORRUPT error naming the file, with how to recover.
 * The label may be a function: scans of thousands of files only pay for it when a file is broken.
 */
export function parseJsonObject(
  text: string,
  fileLabel: string | (() => string),
  hint = 'Fix or delete the file.',
): Record<string, unknown> {
  const label = () => (typeof fileLabel === 'string' ? fileLabel : fileLabel());
  let data: unknown;
  try {
    data = parseLenientJson(text);
  } catch (e) {
    if (e instanceof ParseLimitError) throw new MlError('CORRUPT', `${label()} ${e.message}.`, hint);
    throw new MlError('CORRUPT', `${label()} is not valid JSON: ${(e as Error).message}.`, hint);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new MlError('CORRUPT', `${label()} must hold a JSON object.`, hint);
  return data as Record<string, unknown>;
}
