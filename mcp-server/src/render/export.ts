/**
 * The experiments table as CSV (RFC 4180), JSON (an array, one object per row) or a markdown table. Pure; the
 * Python client (specweave_ml/export.py) writes the same bytes for the same table, so every rule here is spelled
 * out in docs/completion.md ("Export").
 */

export const EXPORT_FORMATS = ['csv', 'json', 'markdown'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A cell: a scalar, null (not logged), or a param that is a list, kept as compact JSON text. */
export type ExportValue = string | number | boolean | null | { json: string };

export interface ExportTable {
  columns: string[];
  rows: ExportValue[][];
}

/** Numbers as JavaScript writes them (shortest round trip); non-finite ones as the format stores them. */
function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return String(n);
}

function plainText(v: ExportValue): string {
  if (v === null) return '';
  if (typeof v === 'number') return numberText(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  return v.json;
}

/**
 * Text a spreadsheet would run as a formula (=, +, -, @, and tab or carriage return that some of them skip first)
 * gets a leading apostrophe. Numbers are never touched: -0.5 stays a number.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

function csvField(v: ExportValue): string {
  let text = plainText(v);
  if (typeof v !== 'number' && typeof v !== 'boolean' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180: comma-separated, CRLF after every record (the header too), quotes doubled inside quoted fields. */
export function renderCsv(t: ExportTable): string {
  const line = (cells: ExportValue[]) => `${cells.map(csvField).join(',')}\r\n`;
  return line(t.columns) + t.rows.map(line).join('');
}

function jsonValue(v: ExportValue): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : JSON.stringify(numberText(v));
  if (typeof v === 'string') return JSON.stringify(v);
  return v.json;
}

/** An array with one object per row on its own line, keys in column order, null for what was not logged. */
export function renderJson(t: ExportTable): string {
  if (!t.rows.length) return '[]\n';
  const keys = t.columns.map((c) => JSON.stringify(c));
  const obj = (r: ExportValue[]) => `  {${r.map((v, i) => `${keys[i]}: ${jsonValue(v)}`).join(', ')}}`;
  return `[\n${t.rows.map(obj).join(',\n')}\n]\n`;
}

/** Backslashes and pipes escaped, line breaks as spaces: one cell stays one cell. */
function mdCell(v: ExportValue): string {
  return plainText(v)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r\n|\r|\n/g, ' ');
}

export function renderMarkdownTable(t: ExportTable): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |\n`;
  return line(t.columns.map(mdCell)) + line(t.columns.map(() => '---')) + t.rows.map((r) => line(r.map(mdCell))).join('');
}

const RENDERERS: Record<ExportFormat, (t: ExportTable) => string> = {
  csv: renderCsv,
  json: renderJson,
  markdown: renderMarkdownTable,
};

export function renderExport(format: ExportFormat, t: ExportTable): string {
  return RENDERERS[format](t);
}
