/**
 * Incremental parser of a predictions file (CSV or JSONL): push(chunk) as the bytes arrive, finish() for the
 * table. Pure: the caller reads the file. Only the current incomplete record is held as text; every complete
 * one goes straight into typed columns (columns.ts), so memory follows the columns, not the file.
 *
 * CSV follows RFC 4180 (quoted fields, doubled quotes, newlines inside quotes) with a header row; a leading BOM
 * and CRLF line ends are accepted; fully blank lines are skipped. CSV rows are numbered 1, 2, … from the first
 * data row; JSONL rows by physical line. A chunk may end anywhere: inside a field, a quoted field, a CRLF pair
 * or a multi-byte UTF-8 character.
 */
import { ColumnBuilder, type StoredColumn } from './columns.js';
import { PredictionsError } from './errors.js';

/** The most data rows a predictions file may have (documented in docs/evaluation.md). */
export const MAX_PREDICTION_ROWS = 20_000_000;

export interface ParserOptions {
  /** Default: by extension (.jsonl/.ndjson/.json, .csv/.tsv), else by the first character of the content. */
  format?: 'csv' | 'jsonl';
  /** Default MAX_PREDICTION_ROWS. */
  maxRows?: number;
  /**
   * Which columns to store (default all). The others are still listed in `columns` (error messages name them)
   * but their cells are dropped as they are read: an unused row-id column would cost 8 bytes a row.
   */
  keep?: (column: string) => boolean;
}

export interface ParsedColumns {
  fileName: string;
  format: 'csv' | 'jsonl';
  columns: string[];
  rowCount: number;
  data: Map<string, StoredColumn>;
  /** JSONL: the physical line of each row (rows are lines minus the blank ones). */
  lineNumbers?: Int32Array;
}

const QUOTE = 34;
const CR = 13;
const LF = 10;
const BOM = 0xfeff;
/**
 * Bytes decoded to text at a time. Texts above 128 KiB go straight to V8's large-object space, which only a full
 * collection frees: decoding 1 MiB chunks whole left ~100 MB of dead chunk texts at the parse's peak. Smaller
 * texts die young and cheaply.
 */
const DECODE_BYTES = 32 * 1024;
/** A record is incomplete until its end arrives: scan it again only when the text waiting has doubled. */
const INCOMPLETE = -1;

export class PredictionsParser {
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private readonly maxRows: number;
  private format: 'csv' | 'jsonl' | undefined;
  private delimiter: number;
  private pending = '';
  private started = false;
  /** Don't scan again before `pending` is this long (see INCOMPLETE). */
  private rescanAt = 0;
  private header: string[] | null = null;
  /** Per column (in byName order): its builder, or null when the column is not kept. */
  private builders: (ColumnBuilder | null)[] = [];
  private readonly keep: (column: string) => boolean;
  private readonly byName = new Map<string, number>();
  private rows = 0;
  private lineNumber = 0;
  private lineNumbers: Int32Array = new Int32Array(0);
  private readonly fields: string[] = [];
  private done = false;

  constructor(
    private readonly fileName: string,
    opts: ParserOptions = {},
  ) {
    this.maxRows = opts.maxRows ?? MAX_PREDICTION_ROWS;
    this.keep = opts.keep ?? (() => true);
    const lower = fileName.toLowerCase();
    this.format = opts.format ?? (/\.(jsonl|ndjson|json)$/.test(lower) ? 'jsonl' : /\.(csv|tsv)$/.test(lower) ? 'csv' : undefined);
    this.delimiter = lower.endsWith('.tsv') ? 9 : 44;
  }

  push(chunk: Uint8Array | string): void {
    if (this.done) throw new Error('PredictionsParser: push after finish');
    if (typeof chunk !== 'string' && chunk.length > DECODE_BYTES) {
      for (let at = 0; at < chunk.length; at += DECODE_BYTES) this.push(chunk.subarray(at, at + DECODE_BYTES));
      return;
    }
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    this.pending += text;
    if (this.pending.length >= this.rescanAt) this.scan(false);
  }

  finish(): ParsedColumns {
    if (!this.done) {
      this.push(this.decoder.decode());
      this.scan(true);
      this.done = true;
    }
    const format = this.format ?? 'csv';
    if (format === 'csv' && this.header === null)
      throw new PredictionsError(`${this.fileName} is empty: expected a header row and data rows`, { file: this.fileName });
    if (format === 'jsonl' && this.rows === 0)
      throw new PredictionsError(`${this.fileName} is empty: expected one JSON object per line`, { file: this.fileName });
    const columns = [...this.byName.keys()];
    const data = new Map<string, StoredColumn>();
    for (const c of columns) {
      const builder = this.builders[this.byName.get(c)!];
      if (builder) data.set(c, builder.finish());
    }
    return {
      fileName: this.fileName,
      format,
      columns,
      rowCount: this.rows,
      data,
      ...(format === 'jsonl' ? { lineNumbers: this.lineNumbers.slice(0, this.rows) } : {}),
    };
  }

  private scan(final: boolean): void {
    if (this.format === undefined) {
      const first = /\S/.exec(this.pending);
      if (!first && !final) return;
      this.format = first?.[0] === '{' ? 'jsonl' : 'csv';
    }
    const text = this.pending;
    const end = this.format === 'csv' ? this.scanCsv(text, final) : this.scanJsonl(text, final);
    this.pending = end < text.length ? text.slice(end) : '';
    this.rescanAt = 2 * this.pending.length;
  }

  // -------------------------------------------------------------------------------------------------------------
  // CSV

  /** Consumes every complete record of text; returns where the incomplete rest starts. */
  private scanCsv(text: string, final: boolean): number {
    const n = text.length;
    let pos = 0;
    while (pos < n) {
      const first = text.charCodeAt(pos);
      if (first === LF) {
        pos++; // blank line
        continue;
      }
      if (first === CR) {
        pos += text.charCodeAt(pos + 1) === LF ? 2 : 1; // a LF of a CRLF in the next chunk is a blank line then
        continue;
      }
      const end = this.csvRecord(text, pos, final);
      if (end === INCOMPLETE) break;
      pos = end;
    }
    return pos;
  }

  /** Reads the record at pos into this.fields and stores it; INCOMPLETE when its end has not arrived yet. */
  private csvRecord(text: string, pos: number, final: boolean): number {
    const n = text.length;
    const delim = this.delimiter;
    const fields = this.fields;
    fields.length = 0;
    for (;;) {
      if (text.charCodeAt(pos) === QUOTE) {
        const end = this.quotedField(text, pos, final);
        if (end === INCOMPLETE) return INCOMPLETE;
        pos = end;
        const after = text.charCodeAt(pos);
        if (pos < n && after !== delim && after !== CR && after !== LF) throw this.recordError('unexpected text after a closing quote');
      } else {
        const start = pos;
        let c = text.charCodeAt(pos);
        while (pos < n && c !== delim && c !== LF && c !== CR) c = text.charCodeAt(++pos);
        fields.push(text.slice(start, pos));
      }
      if (pos === n) {
        if (!final) return INCOMPLETE;
        break;
      }
      const c = text.charCodeAt(pos);
      if (c === delim) {
        pos++;
        continue;
      }
      if (c === CR) pos++;
      if (text.charCodeAt(pos) === LF) pos++;
      break;
    }
    this.storeCsvRecord();
    return pos;
  }

  /** Pushes the unquoted value of the quoted field at pos onto this.fields; returns the position after it. */
  private quotedField(text: string, pos: number, final: boolean): number {
    let out = '';
    let start = pos + 1;
    for (;;) {
      const q = text.indexOf('"', start);
      if (q < 0) {
        if (!final) return INCOMPLETE;
        throw this.recordError('a quoted field is never closed');
      }
      out += text.slice(start, q);
      if (text.charCodeAt(q + 1) === QUOTE) {
        out += '"';
        start = q + 2;
        continue;
      }
      this.fields.push(out);
      return q + 1;
    }
  }

  /** "header" or "row N" for the record being read. */
  private recordError(detail: string): PredictionsError {
    const where = this.header === null ? 'header' : `row ${this.rows + 1}`;
    return new PredictionsError(`${this.fileName} ${where}: ${detail}`, {
      file: this.fileName,
      row: this.header === null ? 0 : this.rows + 1,
    });
  }

  private storeCsvRecord(): void {
    const fields = this.fields;
    if (this.header === null) {
      const header = fields.map((f) => f.trim());
      const seen = new Set<string>();
      for (const h of header) {
        if (seen.has(h))
          throw new PredictionsError(`${this.fileName} header: column ${JSON.stringify(h)} appears twice`, {
            file: this.fileName,
            column: h,
          });
        seen.add(h);
        this.byName.set(h, this.builders.length);
        this.builders.push(this.keep(h) ? new ColumnBuilder() : null);
      }
      this.header = header;
      return;
    }
    this.countRow();
    const builders = this.builders;
    if (fields.length !== builders.length)
      throw new PredictionsError(
        `${this.fileName} row ${this.rows}: expected ${builders.length} fields (as in the header), found ${fields.length}`,
        { file: this.fileName, row: this.rows },
      );
    for (let j = 0; j < fields.length; j++) builders[j]?.push(fields[j]);
  }

  private countRow(): void {
    if (this.rows >= this.maxRows) {
      throw new PredictionsError(
        `${this.fileName} has more than ${this.maxRows.toLocaleString('en-US')} data rows, the most a predictions file may have`,
        { file: this.fileName, row: this.rows + 1 },
      );
    }
    this.rows++;
  }

  // -------------------------------------------------------------------------------------------------------------
  // JSONL

  private scanJsonl(text: string, final: boolean): number {
    const n = text.length;
    let pos = 0;
    while (pos < n) {
      let lf = text.indexOf('\n', pos);
      if (lf < 0) {
        if (!final) break;
        lf = n;
      }
      const end = lf > pos && text.charCodeAt(lf - 1) === CR ? lf - 1 : lf;
      this.lineNumber++;
      this.jsonlLine(text.slice(pos, end));
      pos = lf + 1;
    }
    return Math.min(pos, n);
  }

  private jsonlLine(line: string): void {
    if (line.trim() === '') return;
    const obj = parseJsonLine(line, this.fileName, this.lineNumber);
    for (const key in obj) {
      if (!this.byName.has(key)) {
        this.byName.set(key, this.builders.length);
        this.builders.push(this.keep(key) ? ColumnBuilder.missing(this.rows) : null);
      }
    }
    this.countRow();
    this.lineNumbers = growInt32(this.lineNumbers, this.rows);
    this.lineNumbers[this.rows - 1] = this.lineNumber;
    for (const [key, k] of this.byName) this.builders[k]?.push(Object.hasOwn(obj, key) ? obj[key] : undefined);
  }
}

function growInt32(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2, 256));
  b.set(a);
  return b;
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
      throw new PredictionsError(`${fileName} line ${lineNumber}: not valid JSON (${(err as Error).message})`, {
        file: fileName,
        row: lineNumber,
      });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new PredictionsError(`${fileName} line ${lineNumber}: expected a JSON object`, { file: fileName, row: lineNumber });
  return value as Record<string, unknown>;
}
