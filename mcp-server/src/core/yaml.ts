/**
 * metadata.yaml in the restricted style of docs/format.md: block collections indented by two spaces, every
 * string double-quoted with JSON escaping, so that a standard-library reader can parse what any writer emits.
 * Reading accepts any YAML (people edit this file).
 */
import { load } from 'js-yaml';
import { MlError } from './errors.js';
import { encodeNumber, stripBom } from './json.js';

/** Keys of an experiment's metadata.yaml in their documented order; unknown keys follow, sorted. */
export const METADATA_KEY_ORDER = [
  'name', 'status', 'baseline', 'tags', 'notes', 'created', 'started', 'ended', 'duration_seconds', 'updated',
  'git', 'environment', 'artifacts', 'source',
];

/** JSON string escaping plus the characters YAML does not allow raw or reads as line breaks. */
export function quoteYamlString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Key order of the mappings inside known sequences; every other mapping is sorted. */
const ITEM_KEY_ORDER: Record<string, string[]> = { notes: ['time', 'text'], artifacts: ['path', 'bytes', 'sha256'] };

function scalar(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return quoteYamlString(value);
  if (typeof value === 'number') {
    const enc = encodeNumber(value);
    return typeof enc === 'string' ? quoteYamlString(enc) : String(enc);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return quoteYamlString(String(value));
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function orderedKeys(obj: Record<string, unknown>, order?: string[]): string[] {
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined);
  if (!order) return keys.sort();
  const known = order.filter((k) => keys.includes(k));
  return [...known, ...keys.filter((k) => !order.includes(k)).sort()];
}

function emitMapping(obj: Record<string, unknown>, indent: string, order?: string[]): string[] {
  const lines: string[] = [];
  for (const key of orderedKeys(obj, order)) {
    const value = obj[key];
    const label = `${indent}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : quoteYamlString(key)}:`;
    lines.push(...emitValue(label, value, indent, ITEM_KEY_ORDER[key]));
  }
  return lines;
}

function emitValue(label: string, value: unknown, indent: string, itemOrder?: string[]): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${label} []`];
    return [label, ...value.flatMap((item) => emitSequenceItem(item, `${indent}  `, itemOrder))];
  }
  if (isPlainObject(value)) {
    if (Object.keys(value).length === 0) return [`${label} {}`];
    return [label, ...emitMapping(value, `${indent}  `)];
  }
  return [`${label} ${scalar(value)}`];
}

function emitSequenceItem(item: unknown, indent: string, itemOrder?: string[]): string[] {
  if (isPlainObject(item) && Object.keys(item).length > 0) {
    // The first key shares the dash's line; the rest align under it.
    const inner = emitMapping(item, `${indent}  `, itemOrder);
    return [`${indent}- ${inner[0]!.trimStart()}`, ...inner.slice(1)];
  }
  if (Array.isArray(item) && item.length > 0) {
    const inner = item.flatMap((sub) => emitSequenceItem(sub, `${indent}  `));
    return [`${indent}-`, ...inner];
  }
  return emitValue(`${indent}-`, item, indent);
}

/** The file text of an experiment's metadata.yaml. */
export function stringifyMetadataYaml(meta: Record<string, unknown>): string {
  return `${emitMapping(meta, '', METADATA_KEY_ORDER).join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading. Files in the restricted style (what every writer of the format emits) take a fast line-based path;
// anything else — comments, plain scalars, flow collections a person typed — goes to the full YAML parser.
// The fast path matters when comparing thousands of experiments: it is several times faster than js-yaml.

const KEY = /^( *)([A-Za-z_][A-Za-z0-9_]*|"(?:[^"\\]|\\.)*"):(?: (.+))?$/;
const ITEM = /^( *)-(?: (.+))?$/;
const NOT_RESTRICTED = Symbol('not restricted');

function restrictedScalar(text: string): unknown {
  if (text === '[]') return [];
  if (text === '{}') return {};
  const c = text[0];
  // JSON.parse is exact for JSON-quoted strings, numbers, true, false and null; YAML reads them the same way.
  if (c === '"' || c === '-' || (c! >= '0' && c! <= '9') || text === 'true' || text === 'false' || text === 'null') {
    try {
      return JSON.parse(text);
    } catch {
      throw NOT_RESTRICTED;
    }
  }
  throw NOT_RESTRICTED;
}

function restrictedKey(raw: string): string {
  return raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
}

class RestrictedReader {
  private i = 0;
  constructor(private readonly lines: string[]) {}

  document(): Record<string, unknown> {
    const out = this.mapping(0, {});
    if (this.i !== this.lines.length) throw NOT_RESTRICTED;
    return out;
  }

  /** Keys at exactly `indent`, added to `into` (a sequence item's first key is already there). */
  private mapping(indent: number, into: Record<string, unknown>): Record<string, unknown> {
    while (this.i < this.lines.length) {
      const m = KEY.exec(this.lines[this.i]!);
      if (!m || m[1]!.length !== indent) break;
      this.i += 1;
      into[restrictedKey(m[2]!)] = m[3] !== undefined ? restrictedScalar(m[3]) : this.block(indent);
    }
    return into;
  }

  /** The value of a key with nothing after its colon: a sequence at the same or deeper indent, or a mapping. */
  private block(parentIndent: number): unknown {
    const next = this.lines[this.i];
    if (next === undefined) throw NOT_RESTRICTED;
    const item = ITEM.exec(next);
    if (item && item[1]!.length === parentIndent + 2) return this.sequence(parentIndent + 2);
    const key = KEY.exec(next);
    if (key && key[1]!.length === parentIndent + 2) return this.mapping(parentIndent + 2, {});
    throw NOT_RESTRICTED;
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (this.i < this.lines.length) {
      const m = ITEM.exec(this.lines[this.i]!);
      if (!m || m[1]!.length !== indent) break;
      this.i += 1;
      if (m[2] === undefined) {
        // A bare dash: the item is a nested sequence on the following lines.
        const nested = this.lines[this.i] === undefined ? undefined : ITEM.exec(this.lines[this.i]!);
        if (!nested || nested[1]!.length !== indent + 2) throw NOT_RESTRICTED;
        out.push(this.sequence(indent + 2));
        continue;
      }
      const first = KEY.exec(`${' '.repeat(indent + 2)}${m[2]}`);
      if (first) {
        const item: Record<string, unknown> = {};
        item[restrictedKey(first[2]!)] = first[3] !== undefined ? restrictedScalar(first[3]) : this.block(indent + 2);
        out.push(this.mapping(indent + 2, item));
      } else {
        out.push(restrictedScalar(m[2]!));
      }
    }
    return out;
  }
}

/** The mapping if the text is in the restricted style, else undefined. */
export function parseRestrictedYaml(text: string): Record<string, unknown> | undefined {
  if (text.includes('\r') || text.includes('#') && /(^|\s)#/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  try {
    return new RestrictedReader(lines).document();
  } catch (e) {
    if (e === NOT_RESTRICTED) return undefined;
    throw e;
  }
}

/** Parses a YAML mapping; anything else is a CORRUPT error naming the file. */
export function parseYamlMapping(text: string, fileLabel: string | (() => string)): Record<string, unknown> {
  const label = () => (typeof fileLabel === 'string' ? fileLabel : fileLabel());
  const fast = parseRestrictedYaml(stripBom(text));
  if (fast) return fast;
  let data: unknown;
  try {
    data = load(stripBom(text));
  } catch (e) {
    throw new MlError('CORRUPT', `${label()} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 'Fix or remove the file.');
  }
  if (data === undefined || data === null) return {};
  if (!isPlainObject(data)) throw new MlError('CORRUPT', `${label()} must hold a YAML mapping.`, 'Fix or remove the file.');
  return data;
}
