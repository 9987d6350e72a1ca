/**
 * Parses a predictions file (CSV or JSONL, given as a string: the caller reads the file) into columns, and
 * converts cells with errors that name the file, the row and the column. CSV follows RFC 4180 (quoted fields,
 * doubled quotes, newlines inside quotes) with a header row; a leading BOM and CRLF line ends are accepted; fully
 * blank lines are skipped. CSV rows are numbered 1, 2, … from the first data row; JSONL rows by physical line.
 */
import { PredictionsError, locate } from "./errors.js";

/** A raw cell: CSV gives strings ("" for empty); JSONL gives any JSON value, `undefined` for a missing key. */
export type Cell = unknown;

export interface PredictionsTable {
  fileName: string;
  format: "csv" | "jsonl";
  /** Header order (CSV) or first-seen key order (JSONL). */
  columns: string[];
  rowCount: number;
  /** The raw cells of a column, or undefined when the file has no such column. */
  column(name: string): Cell[] | undefined;
  /** "row 17" (CSV data row) or "line 17" (JSONL line), for error messages. */
  rowLabel(index: number): string;
}

export function parsePredictions(text: string, fileName: string, format?: "csv" | "jsonl"): PredictionsTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const fmt = format ?? detectFormat(fileName, body);
  return fmt === "jsonl" ? parseJsonl(body, fileName) : parseCsv(body, fileName, fileName.toLowerCase().endsWith(".tsv") ? "\t" : ",");
}

function detectFormat(fileName: string, body: string): "csv" | "jsonl" {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson") || lower.endsWith(".json")) return "jsonl";
  if (lower.endsWith(".csv") || lower.endsWith(".tsv")) return "csv";
  return body.trimStart().startsWith("{") ? "jsonl" : "csv";
}

function tableOf(fileName: string, format: "csv" | "jsonl", columns: string[], data: Map<string, Cell[]>, rowCount: number, label: (i: number) => string): PredictionsTable {
  return { fileName, format, columns, rowCount, column: (name) => data.get(name), rowLabel: label };
}

const QUOTE = 34;
const CR = 13;
const LF = 10;

/**
 * One pass over the text, pushing each field straight into its column (no per-row arrays: a million-row file
 * parses in a few hundred milliseconds). Record 1 is the header; data row r is record r + 1.
 */
function parseCsv(text: string, fileName: string, delimiter: string): PredictionsTable {
  const delim = delimiter.charCodeAt(0);
  const n = text.length;
  let header: string[] | null = null;
  let cols: string[][] = [];
  let rows = 0;
  let pos = 0;
  while (pos < n) {
    const first = text.charCodeAt(pos);
    if (first === LF || first === CR) {
      pos += first === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1; // blank line
      continue;
    }
    const record = rows + (header === null ? 1 : 2);
    const fields: string[] | null = header === null ? [] : null;
    let j = 0;
    for (;;) {
      let value: string;
      if (text.charCodeAt(pos) === QUOTE) {
        [value, pos] = quotedField(text, pos, fileName, record);
        const after = text.charCodeAt(pos);
        if (pos < n && after !== delim && after !== CR && after !== LF)
          throw new PredictionsError(`${fileName} ${where(record)}: unexpected text after a closing quote`, { file: fileName, row: record - 1 });
      } else {
        const start = pos;
        let c = text.charCodeAt(pos);
        while (pos < n && c !== delim && c !== LF && c !== CR) c = text.charCodeAt(++pos);
        value = text.slice(start, pos);
      }
      if (fields) fields.push(value);
      else if (j < cols.length) cols[j]!.push(value);
      j++;
      const c = text.charCodeAt(pos);
      if (c === delim) {
        pos++;
        continue;
      }
      if (c === CR) pos++;
      if (text.charCodeAt(pos) === LF) pos++;
      break;
    }
    if (fields) {
      header = fields.map((f) => f.trim());
      checkHeader(header, fileName);
      cols = header.map(() => []);
      continue;
    }
    rows++;
    if (j !== cols.length)
      throw new PredictionsError(`${fileName} row ${rows}: expected ${cols.length} fields (as in the header), found ${j}`, { file: fileName, row: rows });
  }
  if (header === null) throw new PredictionsError(`${fileName} is empty: expected a header row and data rows`, { file: fileName });
  const names: string[] = header;
  const data = new Map<string, Cell[]>(names.map((h, k) => [h, cols[k]!]));
  return tableOf(fileName, "csv", names, data, rows, (i) => `row ${i + 1}`);
}

function where(record: number): string {
  return record === 1 ? "header" : `row ${record - 1}`;
}

function quotedField(text: string, pos: number, fileName: string, record: number): [string, number] {
  let out = "";
  let start = pos + 1;
  for (;;) {
    const q = text.indexOf('"', start);
    if (q < 0) throw new PredictionsError(`${fileName} ${where(record)}: a quoted field is never closed`, { file: fileName, row: record - 1 });
    out += text.slice(start, q);
    if (text.charCodeAt(q + 1) === QUOTE) {
      out += '"';
      start = q + 2;
      continue;
    }
    return [out, q + 1];
  }
}

function checkHeader(header: string[], fileName: string): void {
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new PredictionsError(`${fileName} header: column ${JSON.stringify(h)} appears twice`, { file: fileName, column: h });
    seen.add(h);
  }
}

function parseJsonl(text: string, fileName: string): PredictionsTable {
  const lines = text.split(/\r?\n/);
  const records: Array<Record<string, unknown>> = [];
  const lineNo: number[] = [];
  const columns: string[] = [];
  const known = new Set<string>();
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const obj = parseJsonLine(line, fileName, i + 1);
    for (const key of Object.keys(obj)) {
      if (!known.has(key)) {
        known.add(key);
        columns.push(key);
      }
    }
    records.push(obj);
    lineNo.push(i + 1);
  });
  if (records.length === 0) throw new PredictionsError(`${fileName} is empty: expected one JSON object per line`, { file: fileName });
  const data = new Map<string, Cell[]>(columns.map((c) => [c, records.map((r) => r[c])]));
  return tableOf(fileName, "jsonl", columns, data, records.length, (i) => `line ${lineNo[i]}`);
}

/** Python's json.dumps writes bare NaN/Infinity; quote them so the value check can report them precisely. */
const BARE_NON_FINITE = /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g;

function parseJsonLine(line: string, fileName: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    try {
      value = JSON.parse(line.replace(BARE_NON_FINITE, (m, str: string | undefined) => (str !== undefined ? str : `"${m}"`)));
    } catch (err) {
      throw new PredictionsError(`${fileName} line ${lineNumber}: not valid JSON (${(err as Error).message})`, { file: fileName, row: lineNumber });
    }
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new PredictionsError(`${fileName} line ${lineNumber}: expected a JSON object`, { file: fileName, row: lineNumber });
  return value as Record<string, unknown>;
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
  const col = table.column(name);
  if (col === undefined)
    throw columnError(table, name, `no such column (needed as ${role}); the file has ${table.columns.map((c) => JSON.stringify(c)).join(", ") || "no columns"}`);
  return col;
}

/** A column of finite numbers: empty cells, NaN, infinities and non-numeric text are errors naming the cell. */
export function numericColumn(table: PredictionsTable, name: string, role: string): Float64Array {
  const cells = requireColumn(table, name, role);
  const out = new Float64Array(cells.length);
  for (let i = 0; i < cells.length; i++) out[i] = toNumber(table, i, name, cells[i]);
  return out;
}

function toNumber(table: PredictionsTable, i: number, column: string, cell: Cell): number {
  if (typeof cell === "number") {
    if (Number.isFinite(cell)) return cell;
  } else if (typeof cell === "string") {
    // Number() skips surrounding whitespace itself; only "" and blanks (which it reads as 0) need a closer look.
    const fast = Number(cell);
    if (Number.isFinite(fast) && (fast !== 0 || cell.trim() !== "")) return fast;
    const s = cell.trim();
    if (s === "") throw cellError(table, i, column, "is empty; a number is required");
    if (/^[+-]?nan$/i.test(s)) throw cellError(table, i, column, "is NaN; predictions must be finite numbers");
    if (/^[+-]?(inf|infinity)$/i.test(s)) throw cellError(table, i, column, `is ${s}; predictions must be finite numbers`);
    throw cellError(table, i, column, `${JSON.stringify(cell)} is not a number`);
  } else if (cell === undefined || cell === null) {
    throw cellError(table, i, column, cell === null ? "is null; a number is required" : "is missing; a number is required");
  }
  throw cellError(table, i, column, `${JSON.stringify(cell)} is not a number`);
}

/**
 * A column of class labels as canonical strings: trimmed text, JSON numbers and booleans as text, booleans in
 * lower case ("True" = "true"). Numeric labels are canonicalised by `canonicalLabels` once all labels are known.
 */
export function labelColumn(table: PredictionsTable, name: string, role: string): string[] {
  const cells = requireColumn(table, name, role);
  const out = new Array<string>(cells.length);
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    let s: string;
    if (typeof c === "string") s = c.length > 0 && c.charCodeAt(0) > 32 && c.charCodeAt(c.length - 1) > 32 ? c : c.trim();
    else if (typeof c === "number" && Number.isFinite(c)) s = String(c);
    else if (typeof c === "boolean") s = String(c);
    else if (c === undefined || c === null) throw cellError(table, i, name, `is ${c === null ? "null" : "missing"}; a label is required`);
    else throw cellError(table, i, name, `${JSON.stringify(c)} is not a class label`);
    if (s === "") throw cellError(table, i, name, "is empty; a label is required");
    const f = s.charCodeAt(0) | 32; // lower-case first letter: only t/f can start a boolean
    if ((f === 116 || f === 102) && /^(true|false)$/i.test(s)) s = s.toLowerCase();
    out[i] = s;
  }
  return out;
}

/** Optional text column (ids, queries, items); a missing or empty cell is an error. */
export function textColumn(table: PredictionsTable, name: string, role: string): string[] {
  const cells = requireColumn(table, name, role);
  return cells.map((c, i) => {
    if (typeof c === "string" && c.trim() !== "") return c.trim();
    if (typeof c === "number" && Number.isFinite(c)) return String(c);
    if (typeof c === "boolean") return String(c);
    throw cellError(table, i, name, c === undefined || c === null || c === "" ? "is empty; an identifier is required" : `${JSON.stringify(c)} is not an identifier`);
  });
}
