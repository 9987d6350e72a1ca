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

/** Parses a YAML mapping; anything else is a CORRUPT error naming the file. */
export function parseYamlMapping(text: string, fileLabel: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = load(stripBom(text));
  } catch (e) {
    throw new MlError('CORRUPT', `${fileLabel} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 'Fix or remove the file.');
  }
  if (data === undefined || data === null) return {};
  if (!isPlainObject(data)) throw new MlError('CORRUPT', `${fileLabel} must hold a YAML mapping.`, 'Fix or remove the file.');
  return data;
}
