/** Small value conversions shared by the importers. */

const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * A metric value written as text: decimal numbers, and the non-finite spellings of Python (`nan`, `inf`, `-inf`),
 * Java/JSON-ish writers (`NaN`, `Infinity`, `-Infinity`). undefined when it is not a number.
 */
export function parseNumberText(raw: string): number | undefined {
  const text = raw.trim();
  if (DECIMAL.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === 'nan' || lower === '+nan' || lower === '-nan') return Number.NaN;
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Number.POSITIVE_INFINITY;
  if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** A metric value found in JSON/YAML data: numbers, and the three non-finite strings of the format. */
export function metricValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && (value === 'NaN' || value === 'Infinity' || value === '-Infinity')) return parseNumberText(value);
  return undefined;
}

const PARAM_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/**
 * An MLflow parameter (always stored as text) as a JSON value: plain decimal numbers become numbers and Python's
 * `True` / `False` (and `true` / `false`) booleans; everything else stays the original text. Numbers with leading
 * zeros ("007") and anything that would not survive the round trip stay text.
 */
export function coerceParamText(text: string): string | number | boolean {
  if (text === 'True' || text === 'true') return true;
  if (text === 'False' || text === 'false') return false;
  if (PARAM_NUMBER.test(text)) {
    const n = Number(text);
    if (Number.isFinite(n) && (Number.isSafeInteger(n) || !/^-?\d+$/.test(text))) return n;
  }
  return text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Nested mappings flattened with dots: {train: {lr: 0.1}} → {"train.lr": 0.1}. Arrays stay values. */
export function flattenObject(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (!isPlainObject(value)) {
    if (prefix) out[prefix] = value;
    return out;
  }
  const keys = Object.keys(value);
  if (keys.length === 0 && prefix) {
    out[prefix] = {};
    return out;
  }
  for (const key of keys) flattenObject(value[key], prefix ? `${prefix}.${key}` : key, out);
  return out;
}

export { isPlainObject };

const MS_PER_DAY = 86_400_000;
let cachedDay = Number.NaN;
let cachedDayPrefix = '';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * Epoch milliseconds → ISO string; null when absent or not a representable time. Histories hold hundreds of
 * thousands of points, mostly on the same day, so the date part is cached.
 */
export function isoFromEpochMs(ms: unknown): string | null {
  const n = typeof ms === 'string' && ms.trim() !== '' ? Number(ms) : ms;
  if (typeof n !== 'number' || !Number.isFinite(n) || Math.abs(n) > 8.64e15) return null;
  if (!Number.isInteger(n) || n < 0 || n >= 253402300800000) return new Date(n).toISOString();
  const day = Math.floor(n / MS_PER_DAY);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * MS_PER_DAY).toISOString().slice(0, 11);
  }
  let rest = n - day * MS_PER_DAY;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${cachedDayPrefix}${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(rest - s * 1000, 3)}Z`;
}

/** An ISO-ish time string (naive ones are taken as UTC, as W&B writes them) → ISO string, or null. */
export function isoFromText(text: unknown): string | null {
  if (typeof text !== 'string' || text.trim() === '') return null;
  let t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)) t = `${t.replace(' ', 'T')}Z`;
  // JavaScript parses at most millisecond precision reliably; trim longer fractions.
  t = t.replace(/(\.\d{3})\d+/, '$1');
  const date = new Date(t);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

// JSON as Python writes it (BOM, bare NaN / Infinity) is read by the format's own reader.
export { ParseLimitError, parseLenientJson, stripBom } from '../json.js';
// YAML other tools wrote: anchors and aliases allowed within bounds, nesting capped (docs/format.md).
export { parseForeignYaml } from '../yaml.js';

/** The summary of a history: the point with the highest step, ties going to the latest timestamp, then the later one. */
export function latestByStep<T extends { step: number; timeMs: number }>(points: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const p of points) {
    if (!best || p.step > best.step || (p.step === best.step && p.timeMs >= best.timeMs)) best = p;
  }
  return best;
}
