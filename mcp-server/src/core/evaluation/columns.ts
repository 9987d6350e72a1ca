/**
 * Compact storage of one parsed column, built cell by cell while a predictions file streams in. A JS array of
 * strings costs ~40 bytes a cell (a 100 MB CSV became 1.5 GB), so a column is kept as typed arrays instead:
 *
 * - "codes": every distinct value once, and a Uint16Array of value codes (2 bytes a cell). Labels, ids of
 *   queries, relevance grades: any column with at most DICTIONARY_LIMIT distinct values.
 * - "numbers": a Float64Array (8 bytes a cell) once a column has more distinct values than that and (nearly) all
 *   of them are numbers: scores, probabilities, regression values, numeric row ids. A blank cell is NaN; the few
 *   cells that are not numbers are kept as they were in `exceptions`, so errors still quote them. Read as text
 *   (labels, ids), such a column gives each number's canonical form ("0.50" reads "0.5").
 * - "cells": the raw values, for what fits neither (many distinct texts, JSON arrays and objects).
 *
 * Codes go into fixed-size blocks rather than one array grown by doubling: growing copies the column and
 * leaves the old array as garbage, which the collector frees late, so a doubling column costs up to 3× its size.
 * Numbers grow in place in a resizable ArrayBuffer (address space reserved up front, pages committed as the
 * column grows), and are copied once into a plain Float64Array when the column is finished, after which the
 * resizable buffer is shrunk to nothing: its pages go back at once, not whenever the collector gets to them (a
 * column joined from blocks left its blocks, as large as itself, to the next full collection). The evaluation's hot
 * loops read a plain Float64Array: V8 reads typed arrays over resizable buffers more slowly.
 *
 * The column builder never fails; the conversions in predictions-file.ts turn bad cells into errors later, for
 * the columns the evaluation actually uses.
 */

/** A raw cell: CSV gives strings ("" for empty); JSONL gives any JSON value, `undefined` for a missing key. */
export type Cell = unknown;

/** Distinct values a column may hold as codes before it becomes numbers or cells (codes are 16-bit). */
export const DICTIONARY_LIMIT = 1 << 16;
/** Cells that are not numbers a "numbers" column may hold before it becomes cells. */
const EXCEPTION_LIMIT = 1 << 16;
/** Cells per block: 512 KiB of numbers. */
const BLOCK_BITS = 16;
const BLOCK = 1 << BLOCK_BITS;
const IN_BLOCK = BLOCK - 1;

/** Cells of address space a growing numbers column reserves: more than MAX_PREDICTION_ROWS, so it never moves. */
const RESERVED_CELLS = 1 << 25;

/** ES2024's resizable ArrayBuffer (Node 20 has it; the TypeScript lib this project targets does not declare it). */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
  readonly maxByteLength: number;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

/** A Float64Array that grows in place, a block at a time, without copies. */
class GrowingNumbers {
  private buffer: ResizableBuffer;
  /** Tracks the buffer's length as it grows. */
  cells: Float64Array;

  constructor(reserved = RESERVED_CELLS) {
    this.buffer = new ResizableArrayBuffer(0, { maxByteLength: 8 * reserved });
    this.cells = new Float64Array(this.buffer);
  }

  set(i: number, v: number): void {
    if (i >= this.cells.length) this.grow(i + 1);
    this.cells[i] = v;
  }

  private grow(need: number): void {
    const cells = Math.ceil(need / BLOCK) * BLOCK;
    if (8 * cells <= this.buffer.maxByteLength) {
      this.buffer.resize(8 * cells);
      return;
    }
    // More rows than reserved (a parser given a higher row limit): move once to twice the room.
    const old = this.cells;
    const bigger = new GrowingNumbers(2 * (this.buffer.maxByteLength / 8));
    bigger.buffer.resize(8 * cells);
    bigger.cells.set(old);
    this.release();
    this.buffer = bigger.buffer;
    this.cells = bigger.cells;
  }

  /** The first `length` numbers as a plain array; the resizable buffer's pages are given back now. */
  finish(length: number): Float64Array {
    const out = new Float64Array(length);
    out.set(this.cells.subarray(0, length));
    this.release();
    return out;
  }

  release(): void {
    this.buffer.resize(0);
  }
}

/** Block views of one joined array, so numberAt's indexing holds; the first view spans all (see joinNumbers). */
function blockViews(out: Float64Array, length: number): Float64Array[] {
  const views: Float64Array[] = [];
  for (let at = 0; at < length || at === 0; at += BLOCK) views.push(at === 0 ? out : out.subarray(at));
  return views;
}

export type StoredColumn =
  | { kind: 'codes'; length: number; codes: Uint16Array[]; values: Cell[] }
  | { kind: 'numbers'; length: number; values: Float64Array[]; exceptions: Map<number, Cell> }
  | { kind: 'cells'; length: number; cells: Cell[] };

/** Value code of cell i of a "codes" column. */
export function codeAt(col: { codes: Uint16Array[] }, i: number): number {
  return col.codes[i >>> BLOCK_BITS]![i & IN_BLOCK]!;
}

/** Number of cell i of a "numbers" column (NaN for a blank or an exception). */
export function numberAt(col: { values: Float64Array[] }, i: number): number {
  return col.values[i >>> BLOCK_BITS]![i & IN_BLOCK]!;
}

/**
 * The numbers of a "numbers" column as one array, shared with the column (read it, never write it): the blocks
 * are replaced by views of it, so the column's numbers are held once, not twice.
 */
export function joinNumbers(col: { values: Float64Array[]; length: number }): Float64Array {
  const first = col.values[0];
  if (first && first.length === col.length) return first; // joined already, or exactly one full block
  const out = new Float64Array(col.length);
  col.values.forEach((block, b) => {
    const at = b * BLOCK;
    out.set(at + BLOCK <= col.length ? block : block.subarray(0, col.length - at), at);
  });
  // One block view per former block keeps numberAt's indexing; the first view spans all, marking it joined.
  col.values = blockViews(out, col.length);
  return out;
}

/** The finite number a cell holds; NaN for a blank text cell; undefined when it holds anything else. */
export function numberIn(cell: Cell): number | undefined {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell !== 'string') return undefined;
  const v = Number(cell); // skips surrounding whitespace, reads "" and blanks as 0
  if (Number.isFinite(v) && (v !== 0 || cell.trim() !== '')) return v;
  return cell.trim() === '' ? NaN : undefined;
}

/**
 * A copy of a text that shares no memory with the chunk it was cut from: V8 keeps a long slice as a view of its
 * parent, so one interned label would otherwise keep a whole 64 KB chunk alive.
 */
function detached(cell: Cell): Cell {
  return typeof cell === 'string' && cell.length >= 13 ? (cell + ' ').slice(0, -1) : cell;
}

export class ColumnBuilder {
  private kind: StoredColumn['kind'] = 'codes';
  private length = 0;
  private codes: Uint16Array[] = [];
  private dictionary = new Map<Cell, number>();
  private values: Cell[] = [];
  private numbers: GrowingNumbers | null = null;
  private exceptions = new Map<number, Cell>();
  private cells: Cell[] = [];
  private finished: StoredColumn | undefined;

  /** A column that starts with `count` missing cells (a JSONL key first seen on a later line). */
  static missing(count: number): ColumnBuilder {
    const b = new ColumnBuilder();
    for (let i = 0; i < count; i++) b.push(undefined);
    return b;
  }

  push(cell: Cell): void {
    if (this.kind === 'codes') {
      if (cell === null || typeof cell !== 'object') {
        let code = this.dictionary.get(cell);
        if (code === undefined) {
          if (this.values.length === DICTIONARY_LIMIT) {
            this.leaveCodes();
            this.push(cell);
            return;
          }
          code = this.values.length;
          this.dictionary.set(detached(cell), code);
          this.values.push(detached(cell));
        }
        const i = this.length++;
        if ((i & IN_BLOCK) === 0) this.codes.push(new Uint16Array(BLOCK));
        this.codes[i >>> BLOCK_BITS]![i & IN_BLOCK] = code;
        return;
      }
      this.toCells(); // a JSON array or object: no dictionary for those
    }
    const i = this.length++;
    if (this.kind === 'numbers') {
      const v = numberIn(cell);
      this.numbers!.set(i, v ?? NaN);
      if (v === undefined) {
        this.exceptions.set(i, detached(cell));
        if (this.exceptions.size > EXCEPTION_LIMIT) this.toCells();
      }
      return;
    }
    this.cells.push(cell);
  }

  /** Too many distinct values for codes: numbers when few cells are not numbers, else plain cells. */
  private leaveCodes(): void {
    const asNumber = this.values.map(numberIn);
    let exceptions = 0;
    for (let i = 0; i < this.length; i++) if (asNumber[this.codeOf(i)] === undefined) exceptions++;
    if (exceptions > EXCEPTION_LIMIT) {
      this.toCells();
      return;
    }
    const numbers = new GrowingNumbers();
    for (let i = 0; i < this.length; i++) {
      const code = this.codeOf(i);
      const v = asNumber[code];
      numbers.set(i, v ?? NaN);
      if (v === undefined) this.exceptions.set(i, this.values[code]);
    }
    this.kind = 'numbers';
    this.numbers = numbers;
    this.dropCodes();
  }

  /** Converts the cells stored so far to plain cells. */
  private toCells(): void {
    const cells = new Array<Cell>(this.length);
    for (let i = 0; i < this.length; i++) cells[i] = this.cellAt(i);
    this.cells = cells;
    this.kind = 'cells';
    this.dropCodes();
    this.numbers?.release();
    this.numbers = null;
    this.exceptions = new Map();
  }

  private codeOf(i: number): number {
    return this.codes[i >>> BLOCK_BITS]![i & IN_BLOCK]!;
  }

  private dropCodes(): void {
    this.codes = [];
    this.dictionary = new Map();
    this.values = [];
  }

  private cellAt(i: number): Cell {
    if (this.kind === 'codes') return this.values[this.codeOf(i)];
    if (this.kind === 'numbers') {
      const v = this.numbers!.cells[i]!;
      return this.exceptions.get(i) ?? (Number.isNaN(v) ? '' : v);
    }
    return this.cells[i];
  }

  /** The stored column; a second call returns the same one. */
  finish(): StoredColumn {
    this.finished ??= this.store();
    return this.finished;
  }

  private store(): StoredColumn {
    const length = this.length;
    if (this.kind === 'codes') return { kind: 'codes', length, codes: this.codes, values: this.values };
    if (this.kind === 'numbers') {
      const values = blockViews(this.numbers!.finish(length), length);
      this.numbers = null;
      return { kind: 'numbers', length, values, exceptions: this.exceptions };
    }
    return { kind: 'cells', length, cells: this.cells };
  }
}

/** Cell i of a stored column, as the file gave it (numbers of a "numbers" column as numbers, blanks as ""). */
export function storedCell(col: StoredColumn, i: number): Cell {
  if (col.kind === 'codes') return col.values[codeAt(col, i)];
  if (col.kind === 'numbers') {
    const v = numberAt(col, i);
    return col.exceptions.get(i) ?? (Number.isNaN(v) ? '' : v);
  }
  return col.cells[i];
}
