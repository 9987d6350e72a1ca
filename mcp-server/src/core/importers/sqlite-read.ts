/**
 * A small read-only reader of the SQLite file format (https://www.sqlite.org/fileformat2.html), enough to read the
 * rows of ordinary rowid tables: the database header, table B-tree pages, overflow pages and the record format.
 *
 * Why not a SQLite library: the MCP bundle must stay one self-contained file that runs on Node 20 (node:sqlite is
 * Node 22+), with no native addon; sql.js would add ~1 MB of wasm for what is, for reading, a few hundred lines.
 *
 * The bytes come from the caller (read through store/disk.ts); nothing here touches the disk. Every offset and page
 * number read from the file is checked before use, pages already visited are refused (a cyclic B-tree), and any
 * inconsistency throws SqliteFormatError with a sentence saying what is wrong, never a crash or an endless loop.
 * Not supported (a clear error, not wrong data): UTF-16 databases, WITHOUT ROWID tables. Changes still in a -wal file
 * are not seen; the importer warns when one exists.
 */

export class SqliteFormatError extends Error {}

export type SqliteValue = null | number | string | Uint8Array;

export interface SqliteTable {
  name: string;
  rootPage: number;
  columns: string[];
  /** Index of the column that is an alias of the rowid (INTEGER PRIMARY KEY), stored as NULL in the record. */
  rowidColumn: number;
}

const MAGIC = 'SQLite format 3\0';
/** Deeper than any real B-tree (a 4 GiB database of 512-byte pages is under 10 levels). */
const MAX_DEPTH = 40;

function fail(message: string): never {
  throw new SqliteFormatError(message);
}

export class SqliteDatabase {
  readonly pageSize: number;
  readonly usableSize: number;
  readonly pageCount: number;
  private readonly tables = new Map<string, SqliteTable>();

  constructor(private readonly bytes: Uint8Array) {
    if (bytes.length < 100 || Buffer.from(bytes.subarray(0, 16)).toString('latin1') !== MAGIC) {
      fail(bytes.length === 0 ? 'the file is empty' : 'the file is not a SQLite database (its header is missing)');
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rawSize = view.getUint16(16);
    this.pageSize = rawSize === 1 ? 65536 : rawSize;
    if (this.pageSize < 512 || (this.pageSize & (this.pageSize - 1)) !== 0) fail(`the header gives an invalid page size (${rawSize})`);
    const reserved = bytes[20]!;
    this.usableSize = this.pageSize - reserved;
    if (this.usableSize < 480) fail(`the header reserves too many bytes per page (${reserved})`);
    const encoding = view.getUint32(56);
    if (encoding !== 1 && encoding !== 0) fail(`the database stores text as UTF-16 (encoding ${encoding}); only UTF-8 databases are read`);
    if (bytes.length % this.pageSize !== 0)
      fail(`the file size (${bytes.length} bytes) is not a whole number of ${this.pageSize}-byte pages (truncated?)`);
    // The header's page count is trusted only as far as the file goes: a bigger one means a truncated file.
    const headerCount = view.getUint32(28);
    const fileCount = bytes.length / this.pageSize;
    if (headerCount > fileCount && view.getUint32(92) === view.getUint32(24)) {
      fail(`the header says ${headerCount} pages but the file holds ${fileCount} (truncated?)`);
    }
    this.pageCount = fileCount;
    this.readSchema();
  }

  /** The table's definition, or undefined when the database has no such table. */
  table(name: string): SqliteTable | undefined {
    return this.tables.get(name.toLowerCase());
  }

  /**
   * Every row of the table as an object by column name, in rowid order. Rows written before an ALTER TABLE ADD
   * COLUMN lack the later columns: they read as null.
   */
  *rows(name: string): Generator<Record<string, SqliteValue>> {
    const table = this.table(name) ?? fail(`it has no table ${JSON.stringify(name)}`);
    for (const { rowid, values } of this.scanTable(table.rootPage, table.name)) {
      const row: Record<string, SqliteValue> = {};
      table.columns.forEach((column, i) => {
        row[column] = i === table.rowidColumn ? rowid : (values[i] ?? null);
      });
      yield row;
    }
  }

  private readSchema(): void {
    for (const { values } of this.scanTable(1, 'sqlite_schema')) {
      const [type, name, , rootPage, sql] = values;
      if (type !== 'table' || typeof name !== 'string' || typeof sql !== 'string' || typeof rootPage !== 'number') continue;
      if (/\bWITHOUT\s+ROWID\s*;?\s*$/i.test(sql)) {
        this.tables.set(name.toLowerCase(), { name, rootPage: -1, columns: [], rowidColumn: -1 });
        continue;
      }
      const { columns, rowidColumn } = parseCreateTable(sql);
      this.tables.set(name.toLowerCase(), { name, rootPage, columns, rowidColumn });
    }
  }

  private page(n: number, what: string): Uint8Array {
    if (!Number.isInteger(n) || n < 1 || n > this.pageCount)
      fail(`${what} points to page ${n}, outside the file's ${this.pageCount} pages`);
    return this.bytes.subarray((n - 1) * this.pageSize, n * this.pageSize);
  }

  /** The rows of a table B-tree, depth first, each page visited at most once. */
  private *scanTable(root: number, tableName: string): Generator<{ rowid: number; values: SqliteValue[] }> {
    if (root === -1) fail(`table ${tableName} is a WITHOUT ROWID table, which this reader does not support`);
    const visited = new Set<number>();
    const stack: { page: number; depth: number }[] = [{ page: root, depth: 0 }];
    const what = `table ${tableName}`;
    while (stack.length) {
      const { page: n, depth } = stack.pop()!;
      if (visited.has(n)) fail(`${what}: page ${n} is reached twice (a cycle in the B-tree)`);
      if (depth > MAX_DEPTH) fail(`${what}: the B-tree is deeper than ${MAX_DEPTH} levels`);
      visited.add(n);
      const page = this.page(n, what);
      const base = n === 1 ? 100 : 0;
      const type = page[base]!;
      const cellCount = (page[base + 3]! << 8) | page[base + 4]!;
      if (type === 0x05) {
        const headerEnd = base + 12;
        if (headerEnd + 2 * cellCount > this.usableSize) fail(`${what}: page ${n} claims more cells than fit`);
        const children: number[] = [];
        for (let i = 0; i < cellCount; i += 1) {
          const cell = this.cellOffset(page, headerEnd, i, n, what);
          if (cell + 4 > this.usableSize) fail(`${what}: a cell of page ${n} runs past the page`);
          children.push(readUint32(page, cell));
        }
        children.push(readUint32(page, base + 8));
        // Pushed in reverse so the leftmost child (the smallest rowids) comes out first.
        for (let i = children.length - 1; i >= 0; i -= 1) stack.push({ page: children[i]!, depth: depth + 1 });
      } else if (type === 0x0d) {
        const headerEnd = base + 8;
        if (headerEnd + 2 * cellCount > this.usableSize) fail(`${what}: page ${n} claims more cells than fit`);
        for (let i = 0; i < cellCount; i += 1) {
          const cell = this.cellOffset(page, headerEnd, i, n, what);
          yield this.leafCell(page, cell, n, what);
        }
      } else {
        fail(`${what}: page ${n} is not a table B-tree page (type ${type})`);
      }
    }
  }

  private cellOffset(page: Uint8Array, headerEnd: number, i: number, n: number, what: string): number {
    const offset = (page[headerEnd + 2 * i]! << 8) | page[headerEnd + 2 * i + 1]!;
    if (offset < headerEnd || offset >= this.usableSize) fail(`${what}: a cell pointer of page ${n} points outside the page`);
    return offset;
  }

  private leafCell(page: Uint8Array, cell: number, n: number, what: string): { rowid: number; values: SqliteValue[] } {
    const [payloadSize, afterSize] = readVarint(page, cell, this.usableSize, what);
    const [rowid, afterRowid] = readVarint(page, afterSize, this.usableSize, what);
    if (payloadSize > this.bytes.length) fail(`${what}: a row on page ${n} claims ${payloadSize} bytes, more than the file`);
    const payload = this.payload(page, afterRowid, payloadSize, n, what);
    return { rowid, values: decodeRecord(payload, what) };
  }

  /** The cell's payload, joined from its local part and its chain of overflow pages. */
  private payload(page: Uint8Array, start: number, size: number, n: number, what: string): Uint8Array {
    const u = this.usableSize;
    const maxLocal = u - 35;
    if (size <= maxLocal) {
      if (start + size > u) fail(`${what}: a row on page ${n} runs past the page`);
      return page.subarray(start, start + size);
    }
    const minLocal = Math.floor(((u - 12) * 32) / 255) - 23;
    const k = minLocal + ((size - minLocal) % (u - 4));
    const local = k <= maxLocal ? k : minLocal;
    if (start + local + 4 > u) fail(`${what}: a row on page ${n} runs past the page`);
    const out = new Uint8Array(size);
    out.set(page.subarray(start, start + local), 0);
    let filled = local;
    let next = readUint32(page, start + local);
    const seen = new Set<number>();
    while (filled < size) {
      if (seen.has(next)) fail(`${what}: an overflow chain loops (page ${next})`);
      seen.add(next);
      const overflow = this.page(next, `${what}: an overflow chain`);
      const take = Math.min(u - 4, size - filled);
      out.set(overflow.subarray(4, 4 + take), filled);
      filled += take;
      next = readUint32(overflow, 0);
    }
    return out;
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/**
 * A SQLite varint (1–9 bytes, big-endian, 7 bits a byte and 8 in the ninth) and the offset after it. Plain number
 * arithmetic for up to 8 bytes (exact to 2^53, which rowids and sizes of real files never pass); BigInt only for the
 * 9-byte form that negative numbers take.
 */
function readVarint(bytes: Uint8Array, at: number, end: number, what: string): [number, number] {
  let value = 0;
  for (let i = 0; i < 8; i += 1) {
    if (at + i >= end) fail(`${what}: a number runs past the end of its page`);
    const byte = bytes[at + i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) return [value, at + i + 1];
  }
  if (at + 8 >= end) fail(`${what}: a number runs past the end of its page`);
  let big = 0n;
  for (let i = 0; i < 8; i += 1) big = (big << 7n) | BigInt(bytes[at + i]! & 0x7f);
  big = (big << 8n) | BigInt(bytes[at + 8]!);
  return [Number(BigInt.asIntN(64, big)), at + 9];
}

const utf8 = new TextDecoder('utf-8');

/** The values of a record: a header of serial types, then their bodies. */
export function decodeRecord(payload: Uint8Array, what = 'record'): SqliteValue[] {
  const [headerSize, first] = readVarint(payload, 0, payload.length, what);
  if (headerSize < first || headerSize > payload.length) fail(`${what}: a record header is longer than its record`);
  const types: number[] = [];
  for (let at = first; at < headerSize;) {
    const [type, next] = readVarint(payload, at, headerSize, what);
    types.push(type);
    at = next;
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const values: SqliteValue[] = [];
  let at = headerSize;
  for (const type of types) {
    const size = serialSize(type, what);
    if (at + size > payload.length) fail(`${what}: a value runs past the end of its record`);
    values.push(serialValue(type, payload, view, at, size, what));
    at += size;
  }
  return values;
}

const INT_SIZES = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0];

function serialSize(type: number, what: string): number {
  if (type < 10) return INT_SIZES[type]!;
  if (type < 12) fail(`${what}: reserved serial type ${type}`);
  return Math.floor((type - 12) / 2);
}

function serialValue(type: number, bytes: Uint8Array, view: DataView, at: number, size: number, what: string): SqliteValue {
  switch (type) {
    case 0:
      return null;
    case 1:
      return view.getInt8(at);
    case 2:
      return view.getInt16(at);
    case 3:
      return (view.getInt8(at) << 16) | view.getUint16(at + 1);
    case 4:
      return view.getInt32(at);
    case 5:
      return view.getInt16(at) * 2 ** 32 + view.getUint32(at + 2);
    case 6:
      return Number(view.getBigInt64(at));
    case 7:
      return view.getFloat64(at);
    case 8:
      return 0;
    case 9:
      return 1;
    default:
      if (type % 2 === 0) return bytes.slice(at, at + size);
      try {
        return utf8.decode(bytes.subarray(at, at + size));
      } catch {
        return fail(`${what}: text that is not UTF-8`);
      }
  }
}

const TABLE_CONSTRAINT = /^(?:CONSTRAINT|PRIMARY|UNIQUE|CHECK|FOREIGN)\b/i;

/**
 * Column names of a CREATE TABLE statement, in order, and which one (if any) is an alias of the rowid: a column
 * declared INTEGER that is the table's single-column primary key, inline or as a table constraint.
 */
export function parseCreateTable(sql: string): { columns: string[]; rowidColumn: number } {
  const open = sql.indexOf('(');
  if (open < 0) fail(`a table definition without columns: ${sql.slice(0, 80)}`);
  const parts = splitTopLevel(sql, open + 1);
  const columns: string[] = [];
  const types: string[] = [];
  let rowidColumn = -1;
  let tablePrimaryKey: string[] | undefined;
  for (const part of parts) {
    const text = part.trim();
    if (!text) continue;
    if (TABLE_CONSTRAINT.test(text)) {
      const pk = /PRIMARY\s+KEY\s*\(([^)]*)\)/i.exec(text);
      if (pk) tablePrimaryKey = pk[1]!.split(',').map((c) => unquote(c.trim().split(/\s+/)[0] ?? ''));
      continue;
    }
    const [name, rest] = leadingIdentifier(text);
    columns.push(name);
    const type = /^\s*([A-Za-z]+)/.exec(rest)?.[1]?.toUpperCase() ?? '';
    types.push(type);
    if (type === 'INTEGER' && /\bPRIMARY\s+KEY\b(?!\s+DESC)/i.test(rest)) rowidColumn = columns.length - 1;
  }
  if (rowidColumn < 0 && tablePrimaryKey?.length === 1) {
    const i = columns.findIndex((c) => c.toLowerCase() === tablePrimaryKey![0]!.toLowerCase());
    if (i >= 0 && types[i] === 'INTEGER') rowidColumn = i;
  }
  return { columns, rowidColumn };
}

/** The comma-separated parts of the parenthesised list starting at `from`, respecting quotes and nesting. */
function splitTopLevel(sql: string, from: number): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < sql.length; i += 1) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end;
    } else if (c === '[') {
      const end = sql.indexOf(']', i + 1);
      i = end < 0 ? sql.length : end;
    } else if (c === '(') {
      depth += 1;
    } else if (c === ')') {
      if (depth === 0) {
        parts.push(sql.slice(start, i));
        return parts;
      }
      depth -= 1;
    } else if (c === ',' && depth === 0) {
      parts.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  return fail(`an unterminated table definition: ${sql.slice(0, 80)}`);
}

function leadingIdentifier(text: string): [string, string] {
  const quote = text[0];
  const close = quote === '"' ? '"' : quote === '`' ? '`' : quote === '[' ? ']' : undefined;
  if (close) {
    const end = text.indexOf(close, 1);
    if (end < 0) fail(`an unterminated column name: ${text.slice(0, 80)}`);
    return [text.slice(1, end), text.slice(end + 1)];
  }
  const m = /^[^\s(]+/.exec(text);
  return [m?.[0] ?? text, text.slice(m?.[0].length ?? text.length)];
}

function unquote(name: string): string {
  return /^["`[]/.test(name) ? name.slice(1, -1) : name;
}
