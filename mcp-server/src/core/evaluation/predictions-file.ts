/**
 * A parsed predictions file (predictions-parser.ts streams it into typed columns, columns.ts) and the conversions
 * of its columns into what the evaluation needs, with errors that name the file, the row and the column.
 */
import { codeAt, joinNumbers, numberAt, storedCell, type Cell, type StoredColumn } from './columns.js';
import { PredictionsError, locate } from './errors.js';
import { PredictionsParser, type ParsedColumns, type ParserOptions } from './predictions-parser.js';

export type { Cell };

export interface PredictionsTable {
  fileName: string;
  format: 'csv' | 'jsonl';
  /** Header order (CSV) or first-seen key order (JSONL). */
  columns: string[];
  rowCount: number;
  /**
   * The raw cells of a column as a new array, or undefined when the file has no such column. This costs an array
   * of the file's length: the conversions below read the compact storage directly.
   */
  column(name: string): Cell[] | undefined;
  /** The compact storage of a column (columns.ts). */
  stored(name: string): StoredColumn | undefined;
  /** "row 17" (CSV data row) or "line 17" (JSONL line), for error messages. */
  rowLabel(index: number): string;
}

/** Parses a whole file given as text; the server streams files through PredictionsParser instead. */
export function parsePredictions(text: string, fileName: string, format?: 'csv' | 'jsonl'): PredictionsTable {
  const parser = new PredictionsParser(fileName, format ? { format } : {});
  parser.push(text);
  return tableOf(parser.finish());
}

/** Parses a file that arrives in chunks (Buffers or strings, split anywhere). */
export async function parsePredictionChunks(
  chunks: AsyncIterable<Uint8Array | string>,
  fileName: string,
  opts: ParserOptions = {},
): Promise<PredictionsTable> {
  const parser = new PredictionsParser(fileName, opts);
  for await (const chunk of chunks) parser.push(chunk);
  return tableOf(parser.finish());
}

export function tableOf(parsed: ParsedColumns): PredictionsTable {
  const { fileName, format, columns, rowCount, data, lineNumbers } = parsed;
  return {
    fileName,
    format,
    columns,
    rowCount,
    column(name) {
      const col = data.get(name);
      if (col === undefined) return undefined;
      if (col.kind === 'cells') return col.cells.slice();
      return Array.from({ length: col.length }, (_, i) => storedCell(col, i));
    },
    stored: (name) => data.get(name),
    rowLabel: lineNumbers ? (i) => `line ${lineNumbers[i]}` : (i) => `row ${i + 1}`,
  };
}

function rowNumber(table: PredictionsTable, i: number): number {
  const m = /\d+$/.exec(table.rowLabel(i));
  return m ? Number(m[0]) : i + 1;
}

/** Throws the standard "file row N, column "c": detail" error. */
export function cellError(table: PredictionsTable, i: number, column: string, detail: string): PredictionsError {
  return new PredictionsError(`${locate(table.fileName, table.rowLabel(i), column)}: ${detail}`, {
    file: table.fileName,
    row: rowNumber(table, i),
    column,
  });
}

export function columnError(table: PredictionsTable, column: string, detail: string): PredictionsError {
  return new PredictionsError(`${locate(table.fileName, undefined, column)}: ${detail}`, { file: table.fileName, column });
}

/** The raw cells of a column; a clear error listing the available columns when it is missing. */
export function requireColumn(table: PredictionsTable, name: string, role: string): Cell[] {
  requireStored(table, name, role);
  return table.column(name)!;
}

function requireStored(table: PredictionsTable, name: string, role: string): StoredColumn {
  const col = table.stored(name);
  if (col === undefined)
    throw columnError(
      table,
      name,
      `no such column (needed as ${role}); the file has ${table.columns.map((c) => JSON.stringify(c)).join(', ') || 'no columns'}`,
    );
  return col;
}

/**
 * Converts every cell of a column into out, in row order so the first bad cell is the one reported. A "codes"
 * column converts each distinct value once (at its first row); a "numbers" column converts only its exceptions
 * and blanks, and numbers with `ofNumber`.
 */
function convertColumn<T>(
  col: StoredColumn,
  out: { [i: number]: T },
  convert: (cell: Cell, i: number) => T,
  ofNumber: (v: number) => T,
): void {
  if (col.kind === 'codes') {
    const memo = new Array<T>(col.values.length);
    const known = new Uint8Array(col.values.length);
    for (let i = 0; i < col.length; i++) {
      const code = codeAt(col, i);
      if (known[code] === 0) {
        memo[code] = convert(col.values[code], i);
        known[code] = 1;
      }
      out[i] = memo[code]!;
    }
  } else if (col.kind === 'numbers') {
    for (let i = 0; i < col.length; i++) {
      const v = numberAt(col, i);
      out[i] = Number.isNaN(v) ? convert(col.exceptions.get(i) ?? '', i) : ofNumber(v);
    }
  } else {
    for (let i = 0; i < col.length; i++) out[i] = convert(col.cells[i], i);
  }
}

/**
 * A column of finite numbers: empty cells, NaN, infinities and non-numeric text are errors naming the cell. The
 * array may be shared with the table (a column of numbers is held once): callers read it and never write it.
 */
export function numericColumn(table: PredictionsTable, name: string, role: string): Float64Array {
  const col = requireStored(table, name, role);
  if (col.kind === 'numbers') {
    // Numbers are stored as such: only a NaN (a blank or an exception) needs a look.
    const out = joinNumbers(col);
    for (let i = 0; i < out.length; i++) if (Number.isNaN(out[i]!)) toNumber(table, i, name, col.exceptions.get(i) ?? '');
    return out;
  }
  const out = new Float64Array(col.length);
  convertColumn(
    col,
    out,
    (cell, i) => toNumber(table, i, name, cell),
    (v) => v,
  );
  return out;
}

function toNumber(table: PredictionsTable, i: number, column: string, cell: Cell): number {
  if (typeof cell === 'number') {
    if (Number.isFinite(cell)) return cell;
  } else if (typeof cell === 'string') {
    // Number() skips surrounding whitespace itself; only "" and blanks (which it reads as 0) need a closer look.
    const fast = Number(cell);
    if (Number.isFinite(fast) && (fast !== 0 || cell.trim() !== '')) return fast;
    const s = cell.trim();
    if (s === '') throw cellError(table, i, column, 'is empty; a number is required');
    if (/^[+-]?nan$/i.test(s)) throw cellError(table, i, column, 'is NaN; predictions must be finite numbers');
    if (/^[+-]?(inf|infinity)$/i.test(s)) throw cellError(table, i, column, `is ${s}; predictions must be finite numbers`);
    throw cellError(table, i, column, `${JSON.stringify(cell)} is not a number`);
  } else if (cell === undefined || cell === null) {
    throw cellError(table, i, column, cell === null ? 'is null; a number is required' : 'is missing; a number is required');
  }
  throw cellError(table, i, column, `${JSON.stringify(cell)} is not a number`);
}

/**
 * A column of class labels as canonical strings: trimmed text, JSON numbers and booleans as text, booleans in
 * lower case ("True" = "true"). Numeric labels are canonicalised by `canonicalLabels` once all labels are known.
 */
export function labelColumn(table: PredictionsTable, name: string, role: string): string[] {
  const col = requireStored(table, name, role);
  const out = new Array<string>(col.length);
  convertColumn(col, out, (c, i) => labelOf(table, i, name, c), String);
  return out;
}

/**
 * A label column as codes into its distinct labels (labels[codes[i]] is row i's label, normalised as by
 * labelColumn): 1, 2 or 4 bytes a row where a string per row costs 8 plus the array's growth, at the evaluation's
 * memory peak. The labels are listed in order of first appearance, each once.
 */
export interface LabelCodes {
  codes: Uint8Array | Uint16Array | Uint32Array;
  labels: string[];
}

export function labelCodes(table: PredictionsTable, name: string, role: string): LabelCodes {
  const col = requireStored(table, name, role);
  // A "codes" column has at most as many labels as distinct cells (DICTIONARY_LIMIT, 16 bits); most have a few.
  const codes =
    col.kind !== 'codes'
      ? new Uint32Array(col.length)
      : col.values.length <= 256
        ? new Uint8Array(col.length)
        : new Uint16Array(col.length);
  const labels: string[] = [];
  const index = new Map<string, number>();
  const codeOf = (label: string) => {
    let c = index.get(label);
    if (c === undefined) {
      c = labels.length;
      index.set(label, c);
      labels.push(label);
    }
    return c;
  };
  convertColumn(
    col,
    codes,
    (c, i) => codeOf(labelOf(table, i, name, c)),
    (v) => codeOf(String(v)),
  );
  return { codes, labels };
}

/** The labels of a LabelCodes column as one string per row (after `canon`): for small inputs and comparisons. */
export function labelStrings(lc: LabelCodes, canon: (s: string) => string = (s) => s): string[] {
  const names = lc.labels.map(canon);
  const out = new Array<string>(lc.codes.length);
  for (let i = 0; i < out.length; i++) out[i] = names[lc.codes[i]!]!;
  return out;
}

function labelOf(table: PredictionsTable, i: number, name: string, c: Cell): string {
  let s: string;
  if (typeof c === 'string') s = c.length > 0 && c.charCodeAt(0) > 32 && c.charCodeAt(c.length - 1) > 32 ? c : c.trim();
  else if (typeof c === 'number' && Number.isFinite(c)) s = String(c);
  else if (typeof c === 'boolean') s = String(c);
  else if (c === undefined || c === null) throw cellError(table, i, name, `is ${c === null ? 'null' : 'missing'}; a label is required`);
  else throw cellError(table, i, name, `${JSON.stringify(c)} is not a class label`);
  if (s === '') throw cellError(table, i, name, 'is empty; a label is required');
  const f = s.charCodeAt(0) | 32; // lower-case first letter: only t/f can start a boolean
  if ((f === 116 || f === 102) && /^(true|false)$/i.test(s)) s = s.toLowerCase();
  return s;
}

/** Optional text column (ids, queries, items); a missing or empty cell is an error. */
export function textColumn(table: PredictionsTable, name: string, role: string): string[] {
  const col = requireStored(table, name, role);
  const out = new Array<string>(col.length);
  convertColumn(col, out, (c, i) => textOf(table, i, name, c), String);
  return out;
}

function textOf(table: PredictionsTable, i: number, name: string, c: Cell): string {
  if (typeof c === 'string' && c.trim() !== '') return c.trim();
  if (typeof c === 'number' && Number.isFinite(c)) return String(c);
  if (typeof c === 'boolean') return String(c);
  throw cellError(
    table,
    i,
    name,
    c === undefined || c === null || c === '' ? 'is empty; an identifier is required' : `${JSON.stringify(c)} is not an identifier`,
  );
}
