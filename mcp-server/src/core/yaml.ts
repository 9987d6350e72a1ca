/**
 * metadata.yaml in the restricted style of docs/format.md: block collections indented by two spaces, every
 * string double-quoted with JSON escaping, so that a standard-library reader can parse what any writer emits.
 * Reading accepts the YAML people type (comments, plain scalars, flow collections) but refuses anchors, aliases
 * and tags, which no writer of the format emits and which turn a few hundred bytes into gigabytes (docs/format.md,
 * "What readers accept"). Foreign YAML read by the importers may use anchors, within bounds (parseForeignYaml).
 */
import { constructFromEvents, EVENT_ID, parseEvents, YAMLException, type Event } from 'js-yaml';
import { MlError } from './errors.js';
import { encodeNumber, isStackOverflow, MAX_NESTING_DEPTH, nestsDeeperThan, ParseLimitError, stripBom } from './json.js';

/** Keys of an experiment's metadata.yaml in their documented order; unknown keys follow, sorted. */
export const METADATA_KEY_ORDER = [
  'name',
  'status',
  'baseline',
  'tags',
  'notes',
  'created',
  'started',
  'ended',
  'duration_seconds',
  'updated',
  'git',
  'environment',
  'artifacts',
  'source',
];

/** JSON string escaping plus the characters YAML does not allow raw or reads as line breaks. */
export function quoteYamlString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
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

/** The file text of an experiment's metadata.yaml. Refuses what the readers would refuse: nesting past the cap. */
export function stringifyMetadataYaml(meta: Record<string, unknown>): string {
  if (nestsDeeperThan(meta, MAX_NESTING_DEPTH)) {
    throw new MlError(
      'INVALID_INPUT',
      `Refused to write a metadata.yaml nesting collections more than ${MAX_NESTING_DEPTH} levels deep: the format's readers refuse such files (docs/format.md, "What readers accept").`,
      'Flatten the nested value.',
    );
  }
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
    // Each level indents by two: past the depth cap the full parser reports the nesting with a line number.
    if (next === undefined || parentIndent >= 2 * MAX_NESTING_DEPTH) throw NOT_RESTRICTED;
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
        if (indent >= 2 * MAX_NESTING_DEPTH) throw NOT_RESTRICTED;
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
  if (text.includes('\r') || (text.includes('#') && /(^|\s)#/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, '""')))) return undefined;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  try {
    return new RestrictedReader(lines).document();
  } catch (e) {
    if (e === NOT_RESTRICTED) return undefined;
    throw e;
  }
}

/** Most values (scalars and collections, every alias counted as all it stands for) a foreign YAML file may hold. */
export const MAX_FOREIGN_YAML_VALUES = 100_000;

const lineAt = (text: string, offset: number): number => {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line += 1;
  return line;
};

const tooDeep = (line?: number) =>
  new ParseLimitError(`nests collections more than ${MAX_NESTING_DEPTH} levels deep${line ? ` (line ${line})` : ''}`);

/**
 * The events of a YAML text; ParseLimitError for nesting past the cap, YAMLException for broken YAML. js-yaml's
 * own cap (N + 1 accepts N levels) keeps its recursive parser off the stack limit, but it undercounts flow
 * collections inside block ones, so the readers count levels on the events too.
 */
function yamlEvents(text: string): Event[] {
  try {
    return parseEvents(text, { maxDepth: MAX_NESTING_DEPTH + 1 });
  } catch (e) {
    if (e instanceof YAMLException && e.reason.startsWith('nesting exceeded maxDepth')) throw tooDeep(e.mark ? e.mark.line + 1 : undefined);
    if (isStackOverflow(e)) throw tooDeep();
    throw e;
  }
}

const FORMAT_NEVER_WRITES = 'which this format never writes';

/**
 * Refuses the first anchor, alias or tag (the format's own files have none, see docs/format.md) and nesting past
 * MAX_NESTING_DEPTH.
 */
function refuseWhatTheFormatNeverWrites(text: string, events: Event[]): void {
  const open: number[] = []; // the event types of the open documents and collections
  let depth = 0;
  for (const event of events) {
    if (event.type === EVENT_ID.ALIAS) {
      const name = text.slice(event.anchorStart, event.anchorEnd);
      throw new ParseLimitError(`uses a YAML alias (*${name}, line ${lineAt(text, event.anchorStart)}), ${FORMAT_NEVER_WRITES}`);
    }
    if (event.type === EVENT_ID.DOCUMENT) {
      open.push(event.type);
      continue;
    }
    if (event.type === EVENT_ID.POP) {
      if (open.pop() !== EVENT_ID.DOCUMENT) depth -= 1;
      continue;
    }
    if (event.tagStart !== -1) {
      const tag = text.slice(event.tagStart, event.tagEnd);
      throw new ParseLimitError(`uses the YAML tag ${tag} (line ${lineAt(text, event.tagStart)}), ${FORMAT_NEVER_WRITES}`);
    }
    if (event.anchorStart !== -1) {
      const name = text.slice(event.anchorStart, event.anchorEnd);
      throw new ParseLimitError(`uses a YAML anchor (&${name}, line ${lineAt(text, event.anchorStart)}), ${FORMAT_NEVER_WRITES}`);
    }
    if (event.type !== EVENT_ID.SCALAR) {
      open.push(event.type);
      depth += 1;
      if (depth > MAX_NESTING_DEPTH) throw tooDeep(lineAt(text, event.start));
    }
  }
}

interface OpenCollection {
  /** Values produced before this collection opened. */
  producedBefore: number;
  /** Levels of collections in this one's subtree, itself included, aliases expanded (a scalar has 0). */
  height: number;
  anchor: string | undefined;
}

/**
 * Bounds what the aliases of a foreign YAML file stand for, before anything is built: at most
 * MAX_FOREIGN_YAML_VALUES values with every alias expanded, at most MAX_NESTING_DEPTH levels with aliases expanded,
 * and no alias inside the node it names (a cycle, which every recursive walk would follow forever).
 */
function boundAliasExpansion(text: string, events: Event[]): void {
  const expanded = new Map<string, { values: number; height: number }>();
  const openAnchors = new Map<string, number>();
  const stack: OpenCollection[] = [];
  let produced = 0;
  const add = (values: number, height: number, offset: number) => {
    produced += values;
    if (produced > MAX_FOREIGN_YAML_VALUES) {
      throw new ParseLimitError(
        `expands its YAML aliases to more than ${MAX_FOREIGN_YAML_VALUES.toLocaleString('en-US')} values (line ${lineAt(text, offset)}): a YAML bomb or a file far larger than any real one`,
      );
    }
    if (stack.length + height > MAX_NESTING_DEPTH) {
      if (height === 1) throw tooDeep(lineAt(text, offset)); // a collection opened, no alias involved
      throw new ParseLimitError(
        `nests collections more than ${MAX_NESTING_DEPTH} levels deep once its YAML aliases are expanded (line ${lineAt(text, offset)})`,
      );
    }
    const parent = stack[stack.length - 1];
    if (parent && parent.height < height + 1) parent.height = height + 1;
  };
  const anchorOf = (event: { anchorStart: number; anchorEnd: number }) =>
    event.anchorStart === -1 ? undefined : text.slice(event.anchorStart, event.anchorEnd);
  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.SCALAR: {
        add(1, 0, event.valueStart);
        const anchor = anchorOf(event);
        if (anchor !== undefined) expanded.set(anchor, { values: 1, height: 0 });
        break;
      }
      case EVENT_ID.ALIAS: {
        const name = text.slice(event.anchorStart, event.anchorEnd);
        if (openAnchors.get(name)) {
          throw new ParseLimitError(
            `uses the YAML alias *${name} inside the node it names (line ${lineAt(text, event.anchorStart)}), a loop no reader can expand`,
          );
        }
        const target = expanded.get(name) ?? { values: 1, height: 0 }; // an unknown alias: js-yaml refuses it next
        add(target.values, target.height, event.anchorStart);
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        add(1, 1, event.start);
        const anchor = anchorOf(event);
        if (anchor !== undefined) openAnchors.set(anchor, (openAnchors.get(anchor) ?? 0) + 1);
        stack.push({ producedBefore: produced - 1, height: 1, anchor });
        break;
      }
      case EVENT_ID.POP: {
        const closed = stack.pop();
        if (!closed) break; // the end of a document
        const parent = stack[stack.length - 1];
        if (parent && parent.height < closed.height + 1) parent.height = closed.height + 1;
        if (closed.anchor !== undefined) {
          openAnchors.set(closed.anchor, openAnchors.get(closed.anchor)! - 1);
          expanded.set(closed.anchor, { values: produced - closed.producedBefore, height: closed.height });
        }
        break;
      }
      default:
        break;
    }
  }
}

/** The documents of checked events. */
function construct(text: string, events: Event[], maxAliases: number): unknown[] {
  try {
    return constructFromEvents(events, { source: text, maxAliases });
  } catch (e) {
    if (isStackOverflow(e)) throw tooDeep();
    throw e;
  }
}

/**
 * YAML that another tool wrote (W&B config.yaml, DVC params.yaml / dvc.yaml / dvc.lock, MLflow meta.yaml), as
 * js-yaml's load reads it. Anchors and aliases are legitimate there (DVC params share blocks), so they are bounded
 * rather than refused: see boundAliasExpansion. Tags beyond the core schema are refused by js-yaml itself.
 * Throws ParseLimitError past a bound, YAMLException for broken YAML; callers name the file.
 */
export function parseForeignYaml(text: string): unknown {
  const source = stripBom(text);
  const events = yamlEvents(source);
  boundAliasExpansion(source, events);
  const documents = construct(source, events, -1);
  if (documents.length === 0) throw new YAMLException('expected a document, but the input is empty');
  if (documents.length > 1) throw new YAMLException('expected a single document in the stream, but found more');
  return documents[0];
}

/** Parses a YAML mapping; anything else is a CORRUPT error naming the file. */
export function parseYamlMapping(text: string, fileLabel: string | (() => string)): Record<string, unknown> {
  const label = () => (typeof fileLabel === 'string' ? fileLabel : fileLabel());
  const fast = parseRestrictedYaml(stripBom(text));
  if (fast) return fast;
  let documents: unknown[];
  try {
    const source = stripBom(text);
    const events = yamlEvents(source);
    refuseWhatTheFormatNeverWrites(source, events);
    documents = construct(source, events, 0);
  } catch (e) {
    if (e instanceof ParseLimitError) {
      const hint = e.message.includes(FORMAT_NEVER_WRITES)
        ? 'Rewrite the file without anchors (&), aliases (*) and tags (!): write each value out in full. Or remove the file.'
        : 'Flatten the file or remove it.';
      throw new MlError('CORRUPT', `${label()} ${e.message}.`, hint);
    }
    throw new MlError('CORRUPT', `${label()} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, 'Fix or remove the file.');
  }
  if (documents.length > 1)
    throw new MlError(
      'CORRUPT',
      `${label()} holds more than one YAML document.`,
      'Keep one document (remove the extra "---" lines) or remove the file.',
    );
  const data = documents[0];
  if (data === undefined || data === null) return {};
  if (!isPlainObject(data)) throw new MlError('CORRUPT', `${label()} must hold a YAML mapping.`, 'Fix or remove the file.');
  return data;
}
