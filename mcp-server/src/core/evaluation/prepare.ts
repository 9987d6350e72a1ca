/**
 * From a parsed predictions table to typed, validated inputs for each task. Column names given by the caller are
 * required; otherwise the first of a few conventional names that the file has is used (listed in DEFAULT_COLUMNS).
 * Every data problem becomes a PredictionsError naming file, row and column.
 */
import { PredictionsError } from './errors.js';
import {
  cellError,
  columnError,
  labelCodes,
  numericColumn,
  requireColumn,
  textColumn,
  type LabelCodes,
  type PredictionsTable,
} from './predictions-file.js';
import type { RankingQuery } from './ranking.js';

export interface ColumnOptions {
  /** True label (classification), true value (regression), relevance grade (ranking, row format). */
  yTrue?: string;
  /** Predicted label or value. */
  yPred?: string;
  /** Binary: score or probability of the positive class. Ranking: the item's score. */
  score?: string;
  /** Per-class probability columns; the class is the column name without `probaPrefix`. */
  proba?: string[];
  /** Default "proba_": every column starting with it is a per-class probability. */
  probaPrefix?: string;
  /** Ranking: the query / user id column. */
  query?: string;
  /** Ranking: the item id column. */
  item?: string;
  /** Ranking, list format (JSONL): array of item ids in ranked order. */
  recommended?: string;
  /** Ranking, list format (JSONL): array of relevant item ids, or an object item → grade. */
  relevant?: string;
  /** Row id used to align two files in a comparison. */
  id?: string;
  /** Forecast: in-sample (training) series for MASE; empty cells are skipped. */
  insample?: string;
}

export const DEFAULT_COLUMNS = {
  yTrue: ['y_true', 'label', 'target', 'actual', 'y', 'true'],
  yPred: ['y_pred', 'prediction', 'predicted', 'pred', 'y_hat', 'yhat', 'forecast'],
  score: ['score', 'y_score', 'y_prob', 'probability', 'proba', 'prob'],
  relevance: ['relevance', 'rel', 'grade', 'y_true', 'label', 'clicked'],
  query: ['query', 'query_id', 'qid', 'user', 'user_id', 'session', 'group'],
  item: ['item', 'item_id', 'doc', 'doc_id', 'product', 'product_id'],
  recommended: ['recommended', 'ranked', 'recommendations', 'predicted', 'items'],
  relevant: ['relevant', 'ground_truth', 'actual', 'relevant_items'],
  id: ['id', 'row_id', 'sample_id'],
  insample: ['insample', 'in_sample', 'train'],
} as const;

/** The column to use for a role: the caller's (must exist) or the first conventional name present. */
export function pick(table: PredictionsTable, given: string | undefined, defaults: readonly string[]): string | undefined {
  if (given !== undefined) {
    if (table.stored(given) === undefined) requireColumn(table, given, 'requested');
    return given;
  }
  return defaults.find((d) => table.stored(d) !== undefined);
}

export function need(table: PredictionsTable, given: string | undefined, defaults: readonly string[], role: string): string {
  const col = pick(table, given, defaults);
  if (col === undefined)
    throw columnError(
      table,
      defaults[0]!,
      `no ${role} column; name it with the columns option or use one of ${defaults.map((d) => JSON.stringify(d)).join(', ')} (the file has ${table.columns.map((c) => JSON.stringify(c)).join(', ')})`,
    );
  return col;
}

/**
 * Labels as read: codes into each column's distinct labels (not a string per row, which would cost more than the
 * stored column itself), plus where each came from for error messages.
 */
export interface ClassificationColumns {
  yTrue: LabelCodes;
  yPred?: LabelCodes;
  /** Binary score column, read as numbers. */
  score?: Float64Array;
  /** Class → probability column (class names still raw, canonicalised by `canonicalise`). */
  proba: Map<string, Float64Array>;
  used: Record<string, string | string[]>;
}

export function readClassification(table: PredictionsTable, cols: ColumnOptions, task: 'binary' | 'multiclass'): ClassificationColumns {
  const used: Record<string, string | string[]> = {};
  const yTrueCol = need(table, cols.yTrue, DEFAULT_COLUMNS.yTrue, 'true label');
  used.y_true = yTrueCol;
  const out: ClassificationColumns = { yTrue: labelCodes(table, yTrueCol, 'true label'), proba: new Map(), used };
  const yPredCol = pick(table, cols.yPred, DEFAULT_COLUMNS.yPred);
  if (yPredCol !== undefined) {
    used.y_pred = yPredCol;
    out.yPred = labelCodes(table, yPredCol, 'predicted label');
  }
  const probaCols = cols.proba ?? table.columns.filter((c) => c.startsWith(cols.probaPrefix ?? 'proba_'));
  const prefix = cols.probaPrefix ?? 'proba_';
  for (const c of probaCols) out.proba.set(c.startsWith(prefix) ? c.slice(prefix.length) : c, numericColumn(table, c, 'class probability'));
  if (probaCols.length > 0) used.proba = probaCols;
  if (task === 'binary') {
    const scoreCol = pick(table, cols.score, DEFAULT_COLUMNS.score);
    if (scoreCol !== undefined) {
      used.score = scoreCol;
      out.score = numericColumn(table, scoreCol, 'score');
    }
  }
  if (!out.yPred && !out.score && out.proba.size === 0)
    throw columnError(
      table,
      DEFAULT_COLUMNS.yPred[0],
      `no predictions: the file needs a predicted label column (${DEFAULT_COLUMNS.yPred.join(', ')}), a score column or probability columns`,
    );
  return out;
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Puts every label into one canonical form: if all labels are numbers, "1.0" and "1" are the same class ("1").
 * Works on the distinct labels of the given arrays and memoises, so a million-row column costs one Set pass.
 * Returns the canonicaliser to apply to option values (the positive label) too.
 */
export function canonicaliser(...arrays: Iterable<string>[]): (s: string) => string {
  const distinct = new Set<string>();
  for (const a of arrays) for (const l of a) distinct.add(l);
  for (const l of distinct) if (!NUMERIC.test(l)) return (s) => s;
  const memo = new Map<string, string>();
  return (s) => {
    let c = memo.get(s);
    if (c === undefined) {
      c = NUMERIC.test(s) ? String(Number(s)) : s;
      memo.set(s, c);
    }
    return c;
  };
}

/** Sorted like numpy.unique: numerically when every label is a number, else by code point. */
export function sortLabels(labels: Iterable<string>): string[] {
  const arr = [...new Set(labels)];
  if (arr.every((l) => NUMERIC.test(l))) return arr.sort((a, b) => Number(a) - Number(b));
  return arr.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Class indices, one a row, in the narrowest array that holds them: 1 byte a row for up to 256 classes where 32-bit
 * indices cost 4, at the evaluation's memory peak (two such arrays for a multi-million-row file).
 */
export type ClassIndices = Uint8Array | Uint16Array | Int32Array;

/** An array of n class indices below k. */
export function classIndices(n: number, k: number): ClassIndices {
  return k <= 256 ? new Uint8Array(n) : k <= 65_536 ? new Uint16Array(n) : new Int32Array(n);
}

/** Class indices for labels (after `canon`), with an error naming the first row whose label is not a known class. */
export function encode(
  table: PredictionsTable,
  column: string,
  lc: LabelCodes,
  index: Map<string, number>,
  what: string,
  canon: (s: string) => string = (s) => s,
): ClassIndices {
  const classOf = Int32Array.from(lc.labels, (l) => index.get(canon(l)) ?? -1); // once per distinct label
  const { codes } = lc;
  const out = classIndices(codes.length, index.size);
  for (let i = 0; i < codes.length; i++) {
    const k = classOf[codes[i]!]!;
    if (k < 0) throw cellError(table, i, column, `label ${JSON.stringify(canon(lc.labels[codes[i]!]!))} ${what}`);
    out[i] = k;
  }
  return out;
}

/** Row i's label of `lc` is `positive` (after `canon`): 1, else 0. */
export function isLabel(lc: LabelCodes, canon: (s: string) => string, positive: string): Uint8Array {
  const flag = Uint8Array.from(lc.labels, (l) => (canon(l) === positive ? 1 : 0)); // once per distinct label
  const { codes } = lc;
  const out = new Uint8Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = flag[codes[i]!]!;
  return out;
}

/** The labels of `lc` in the row order `perm` (perm[i] = the row of lc that becomes row i). */
export function permuteLabels(lc: LabelCodes, perm: ArrayLike<number>): LabelCodes {
  const codes = new Uint32Array(perm.length);
  for (let i = 0; i < perm.length; i++) codes[i] = lc.codes[perm[i]!]!;
  return { codes, labels: lc.labels };
}

export interface RegressionColumns {
  y: Float64Array;
  yhat: Float64Array;
  insample?: Float64Array;
  used: Record<string, string | string[]>;
}

export function readRegression(table: PredictionsTable, cols: ColumnOptions, forecast: boolean): RegressionColumns {
  const yCol = need(table, cols.yTrue, DEFAULT_COLUMNS.yTrue, 'true value');
  const pCol = need(table, cols.yPred, DEFAULT_COLUMNS.yPred, 'predicted value');
  const out: RegressionColumns = {
    y: numericColumn(table, yCol, 'true value'),
    yhat: numericColumn(table, pCol, 'predicted value'),
    used: { y_true: yCol, y_pred: pCol },
  };
  const inCol = forecast ? pick(table, cols.insample, DEFAULT_COLUMNS.insample) : undefined;
  if (inCol !== undefined) {
    out.used.insample = inCol;
    out.insample = sparseNumericColumn(table, inCol);
  }
  return out;
}

/** Numbers from a column whose empty cells are skipped (an in-sample series shorter than the test set). */
function sparseNumericColumn(table: PredictionsTable, name: string): Float64Array {
  const cells = requireColumn(table, name, 'in-sample series');
  const values: number[] = [];
  cells.forEach((c, i) => {
    if (c === undefined || c === null || (typeof c === 'string' && c.trim() === '')) return;
    const v = typeof c === 'number' ? c : typeof c === 'string' ? Number(c.trim()) : NaN;
    if (!Number.isFinite(v)) throw cellError(table, i, name, `${JSON.stringify(c)} is not a finite number`);
    values.push(v);
  });
  return Float64Array.from(values);
}

export interface RankingColumns {
  queries: RankingQuery[];
  catalogueSize: number;
  used: Record<string, string | string[]>;
  /** False when items have no ids (coverage cannot be computed). */
  hasItems: boolean;
}

export function readRanking(table: PredictionsTable, cols: ColumnOptions): RankingColumns {
  const recommended = pick(table, cols.recommended, DEFAULT_COLUMNS.recommended);
  const relevant = pick(table, cols.relevant, DEFAULT_COLUMNS.relevant);
  if (recommended !== undefined && relevant !== undefined && table.format === 'jsonl' && isListColumn(table, recommended))
    return readRankingLists(table, cols, recommended, relevant);
  return readRankingRows(table, cols);
}

function isListColumn(table: PredictionsTable, name: string): boolean {
  return (table.column(name) ?? []).some((c) => Array.isArray(c));
}

/** Row format: one row per (query, item) with a relevance grade and a score; items ranked by score, ties by row order. */
function readRankingRows(table: PredictionsTable, cols: ColumnOptions): RankingColumns {
  const qCol = need(table, cols.query, DEFAULT_COLUMNS.query, 'query / user id');
  const relCol = need(table, cols.yTrue, DEFAULT_COLUMNS.relevance, 'relevance');
  const sCol = need(table, cols.score ?? cols.yPred, DEFAULT_COLUMNS.score, 'score');
  const itemCol = pick(table, cols.item, DEFAULT_COLUMNS.item);
  const q = textColumn(table, qCol, 'query id');
  const rel = numericColumn(table, relCol, 'relevance');
  const score = numericColumn(table, sCol, 'score');
  const items = itemCol !== undefined ? textColumn(table, itemCol, 'item id') : q.map((_, i) => `#${i}`);
  rel.forEach((r, i) => {
    if (r < 0) throw cellError(table, i, relCol, `relevance ${r} is negative`);
  });
  const byQuery = new Map<string, number[]>();
  q.forEach((id, i) => {
    const rows = byQuery.get(id);
    if (rows) rows.push(i);
    else byQuery.set(id, [i]);
  });
  const queries: RankingQuery[] = [];
  for (const [id, rows] of byQuery) {
    const ranked = [...rows].sort((a, b) => score[b]! - score[a]! || a - b);
    queries.push({
      id,
      items: ranked.map((r) => items[r]!),
      gains: Float64Array.from(ranked, (r) => rel[r]!),
      scores: Float64Array.from(ranked, (r) => score[r]!),
      relevantGrades: ranked.map((r) => rel[r]!).filter((g) => g > 0),
    });
  }
  const used: Record<string, string> = { query: qCol, relevance: relCol, score: sCol };
  if (itemCol !== undefined) used.item = itemCol;
  return { queries, catalogueSize: new Set(items).size, used, hasItems: itemCol !== undefined };
}

/** List format (JSONL): {"user": …, "recommended": [items in order], "relevant": [items] or {item: grade}}. */
function readRankingLists(table: PredictionsTable, cols: ColumnOptions, recCol: string, relCol: string): RankingColumns {
  const qCol = pick(table, cols.query, DEFAULT_COLUMNS.query);
  const ids = qCol !== undefined ? textColumn(table, qCol, 'query id') : Array.from({ length: table.rowCount }, (_, i) => String(i + 1));
  const recCells = requireColumn(table, recCol, 'recommended list');
  const relCells = requireColumn(table, relCol, 'relevant items');
  const catalogue = new Set<string>();
  const seenIds = new Set<string>();
  const queries = ids.map((id, i): RankingQuery => {
    if (seenIds.has(id)) throw cellError(table, i, qCol ?? recCol, `query ${JSON.stringify(id)} appears on more than one line`);
    seenIds.add(id);
    const items = itemList(table, i, recCol, recCells[i]);
    const grades = gradeMap(table, i, relCol, relCells[i]);
    items.forEach((it) => catalogue.add(it));
    grades.forEach((_, it) => catalogue.add(it));
    return {
      id,
      items,
      gains: Float64Array.from(items, (it) => grades.get(it) ?? 0),
      relevantGrades: [...grades.values()].filter((g) => g > 0),
    };
  });
  const used: Record<string, string> = { recommended: recCol, relevant: relCol };
  if (qCol !== undefined) used.query = qCol;
  return { queries, catalogueSize: catalogue.size, used, hasItems: true };
}

function itemList(table: PredictionsTable, i: number, col: string, cell: unknown): string[] {
  if (cell === undefined || cell === null) return [];
  if (!Array.isArray(cell)) throw cellError(table, i, col, 'must be an array of item ids');
  return cell.map((v) => {
    if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) return String(v);
    throw cellError(table, i, col, `${JSON.stringify(v)} is not an item id`);
  });
}

function gradeMap(table: PredictionsTable, i: number, col: string, cell: unknown): Map<string, number> {
  const m = new Map<string, number>();
  if (cell === undefined || cell === null) return m;
  if (Array.isArray(cell)) {
    for (const it of itemList(table, i, col, cell)) m.set(it, 1);
    return m;
  }
  if (typeof cell !== 'object') throw cellError(table, i, col, 'must be an array of item ids or an object item → grade');
  for (const [it, g] of Object.entries(cell as Record<string, unknown>)) {
    if (typeof g !== 'number' || !Number.isFinite(g) || g < 0)
      throw cellError(table, i, col, `grade of ${JSON.stringify(it)} must be a number ≥ 0`);
    m.set(it, g);
  }
  return m;
}

export { PredictionsError };
