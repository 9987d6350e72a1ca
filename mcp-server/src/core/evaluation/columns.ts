/**
 * Compact storage of one parsed column, built cell by cell while a predictions file streams in. A JS array of
 * strings costs ~40 bytes a cell (a 100 MB CSV became 1.5 GB), so a column is kept as typed arrays instead:
 *
 * - "codes": every distinct value once, and an Int32Array of value codes (4 bytes a cell). Labels, ids of
 *   queries, relevance grades: any column with at most DICTIONARY_LIMIT distinct values.
 * - "numbers": a Float64Array (8 bytes a cell) once a column has more distinct values than that and (nearly) all
 *   of them are numbers: scores, probabilities, regression values, numeric row ids. A blank cell is NaN; the few
 *   cells that are not numbers are kept as they were in `exceptions`, so errors still quote them. Read as text
 *   (labels, ids), such a column gives each number's canonical form ("0.50" reads "0.5").
 * - "cells": the raw values, for what fits neither (many distinct texts, JSON arrays and objects).
 *
 * The column builder never fails; the conversions in predictions-file.ts turn bad cells into errors later, for
 * the columns the evaluation actually uses.
 */

/** A raw cell: CSV gives strings ("" for empty); JSONL gives any JSON value, `undefined` for a missing key. */
export type Cell = unknown;

/** Distinct values a column may hold as codes before it becomes numbers or cells. */
export const DICTIONARY_LIMIT = 1 << 16;
/** Cells that are not numbers a "numbers" column may hold before it becomes cells. */
const EXCEPTION_LIMIT = 1 << 16;

export type StoredColumn =
  | { kind: "codes"; length: number; codes: Int32Array; values: Cell[] }
  | { kind: "numbers"; length: number; values: Float64Array; exceptions: Map<number, Cell> }
  | { kind: "cells"; length: number; cells: Cell[] };

/** The finite number a cell holds; NaN for a blank text cell; undefined when it holds anything else. */
export function numberIn(cell: Cell): number | undefined {
  if (typeof cell === "number") return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell !== "string") return undefined;
  const v = Number(cell); // skips surrounding whitespace, reads "" and blanks as 0
  if (Number.isFinite(v) && (v !== 0 || cell.trim() !== "")) return v;
  return cell.trim() === "" ? NaN : undefined;
}

/**
 * A copy of a text that shares no memory with the chunk it was cut from: V8 keeps a long slice as a view of its
 * parent, so one interned label would otherwise keep a whole 64 KB chunk alive.
 */
function detached(cell: Cell): Cell {
  return typeof cell === "string" && cell.length >= 13 ? (cell + " ").slice(0, -1) : cell;
}

function grownInt32(a: Int32Array, need: number): Int32Array {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function grownFloat64(a: Float64Array, need: number): Float64Array {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export class ColumnBuilder {
  private kind: StoredColumn["kind"] = "codes";
  private length = 0;
  private codes: Int32Array = new Int32Array(256);
  private dictionary = new Map<Cell, number>();
  private values: Cell[] = [];
  private numbers: Float64Array = new Float64Array(0);
  private exceptions = new Map<number, Cell>();
  private cells: Cell[] = [];

  /** A column that starts with `count` missing cells (a JSONL key first seen on a later line). */
  static missing(count: number): ColumnBuilder {
    const b = new ColumnBuilder();
    for (let i = 0; i < count; i++) b.push(undefined);
    return b;
  }

  push(cell: Cell): void {
    const i = this.length++;
    if (this.kind === "codes") {
      if (cell === null || typeof cell !== "object") {
        let code = this.dictionary.get(cell);
        if (code === undefined) {
          code = this.values.length;
          this.dictionary.set(detached(cell), code);
          this.values.push(detached(cell));
        }
        this.codes = grownInt32(this.codes, i + 1);
        this.codes[i] = code;
        if (this.values.length > DICTIONARY_LIMIT) this.leaveCodes();
        return;
      }
      this.toCells(i); // a JSON array or object: no dictionary for those
    }
    if (this.kind === "numbers") {
      const v = numberIn(cell);
      this.numbers = grownFloat64(this.numbers, i + 1);
      this.numbers[i] = v ?? NaN;
      if (v === undefined) {
        this.exceptions.set(i, detached(cell));
        if (this.exceptions.size > EXCEPTION_LIMIT) this.toCells(i + 1);
      }
      return;
    }
    this.cells.push(cell);
  }

  /** Too many distinct values for codes: numbers when few cells are not numbers, else plain cells. */
  private leaveCodes(): void {
    const asNumber = this.values.map(numberIn);
    let exceptions = 0;
    for (let i = 0; i < this.length; i++) if (asNumber[this.codes[i]!] === undefined) exceptions++;
    if (exceptions > EXCEPTION_LIMIT) {
      this.toCells(this.length);
      return;
    }
    const numbers = new Float64Array(Math.max(this.codes.length, 1));
    for (let i = 0; i < this.length; i++) {
      const code = this.codes[i]!;
      const v = asNumber[code];
      numbers[i] = v ?? NaN;
      if (v === undefined) this.exceptions.set(i, this.values[code]);
    }
    this.kind = "numbers";
    this.numbers = numbers;
    this.dropCodes();
  }

  /** Converts the first `count` cells stored so far to plain cells. */
  private toCells(count: number): void {
    const cells = new Array<Cell>(count);
    for (let i = 0; i < count; i++) cells[i] = this.cellAt(i);
    this.cells = cells;
    this.kind = "cells";
    this.dropCodes();
    this.numbers = new Float64Array(0);
    this.exceptions = new Map();
  }

  private dropCodes(): void {
    this.codes = new Int32Array(0);
    this.dictionary = new Map();
    this.values = [];
  }

  private cellAt(i: number): Cell {
    if (this.kind === "codes") return this.values[this.codes[i]!];
    if (this.kind === "numbers") return this.exceptions.get(i) ?? (Number.isNaN(this.numbers[i]!) ? "" : this.numbers[i]);
    return this.cells[i];
  }

  /** The finished column, its arrays cut to length (the doubling slack is given back). */
  finish(): StoredColumn {
    const length = this.length;
    if (this.kind === "codes") return { kind: "codes", length, codes: this.codes.slice(0, length), values: this.values };
    if (this.kind === "numbers") return { kind: "numbers", length, values: this.numbers.slice(0, length), exceptions: this.exceptions };
    return { kind: "cells", length, cells: this.cells };
  }
}

/** Cell i of a stored column, as the file gave it (numbers of a "numbers" column as numbers, blanks as ""). */
export function storedCell(col: StoredColumn, i: number): Cell {
  if (col.kind === "codes") return col.values[col.codes[i]!];
  if (col.kind === "numbers") return col.exceptions.get(i) ?? (Number.isNaN(col.values[i]!) ? "" : col.values[i]);
  return col.cells[i];
}
