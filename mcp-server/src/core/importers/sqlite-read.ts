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
   * COLUMN lack the later columns: they read as null. For small tables; big ones go through scan.
   */
  rows(name: string): Record<string, SqliteValue>[] {
    const table = this.table(name) ?? fail(`it has no table ${JSON.stringify(name)}`);
    const out: Record<string, SqliteValue>[] = [];
    for (const _ of this.scan(name, table.columns, (values) => {
      out.push(Object.fromEntries(table.columns.map((c, i) => [c, values[i]!])));
    }));
    return out;
  }

  /**
   * Calls onRow with the values of `columns` (null where a row lacks one) for every row, in rowid order. `values` is
   * one array reused from row to row: copy what you keep. A generator that pauses after each leaf page, so a caller
   * can let the event loop run; nothing is allocated per row but the values themselves.
   */
  *scan(name: string, columns: string[], onRow: (values: SqliteValue[]) => void): Generator<void> {
    const table = this.table(name) ?? fail(`it has no table ${JSON.stringify(name)}`);
    if (table.rootPage === -1) fail(`table ${table.name} is a WITHOUT ROWID table, which this reader does not support`);
    const slotOf = new Int32Array(table.columns.length).fill(-1);
    let rowidSlot = -1;
    columns.forEach((column, slot) => {
      const i = table.columns.findIndex((c) => c.toLowerCase() === column.toLowerCase());
      if (i === table.rowidColumn) rowidSlot = slot;
      else if (i >= 0) slotOf[i] = slot;
    });
    const values: SqliteValue[] = new Array(columns.length).fill(null);
    const recent = columns.map(() => ({ bytes: new Uint8Array(SHORT_TEXT), length: -1, text: '' }));
    yield* this.scanTable(table.rootPage, table.name, (bytes, start, end, rowid, what) => {
      decodeInto(bytes, start, end, slotOf, values, recent, what);
      if (rowidSlot >= 0) values[rowidSlot] = rowid;
      onRow(values);
    });
  }

  private readSchema(): void {
    const schema = { name: 'sqlite_schema', rootPage: 1, columns: ['type', 'name', 'tbl_name', 'rootpage', 'sql'], rowidColumn: -1 };
    this.tables.set('sqlite_schema', schema);
    const entries: SqliteValue[][] = [];
    for (const _ of this.scan('sqlite_schema', schema.columns, (values) => entries.push([...values])));
    this.tables.delete('sqlite_schema');
    for (const [type, name, , rootPage, sql] of entries) {
      if (type !== 'table' || typeof name !== 'string' || typeof sql !== 'string' || typeof rootPage !== 'number') continue;
      if (/\bWITHOUT\s+ROWID\s*;?\s*$/i.test(sql)) {
        this.tables.set(name.toLowerCase(), { name, rootPage: -1, columns: [], rowidColumn: -1 });
        continue;
      }
      const { columns, rowidColumn } = parseCreateTable(sql);
      this.tables.set(name.toLowerCase(), { name, rootPage, columns, rowidColumn });
    }
  }

  /** Offset of page n in the file, checked. */
  private pageStart(n: number, what: string): number {
    if (!Number.isInteger(n) || n < 1 || n > this.pageCount)
      fail(`${what} points to page ${n}, outside the file's ${this.pageCount} pages`);
    return (n - 1) * this.pageSize;
  }

  /**
   * The cells of a table B-tree, depth first, each page visited at most once; onCell gets each row's payload as a
   * range of `bytes` (the file itself, or a copy joined from overflow pages). Pauses after each leaf page.
   */
  private *scanTable(
    root: number,
    tableName: string,
    onCell: (bytes: Uint8Array, start: number, end: number, rowid: number, what: string) => void,
  ): Generator<void> {
    const bytes = this.bytes;
    const u = this.usableSize;
    const visited = new Set<number>();
    const stack: number[] = [root, 0]; // page, depth pairs
    const what = `table ${tableName}`;
    while (stack.length) {
      const depth = stack.pop()!;
      const n = stack.pop()!;
      if (visited.has(n)) fail(`${what}: page ${n} is reached twice (a cycle in the B-tree)`);
      if (depth > MAX_DEPTH) fail(`${what}: the B-tree is deeper than ${MAX_DEPTH} levels`);
      visited.add(n);
      const page = this.pageStart(n, what);
      const header = page + (n === 1 ? 100 : 0);
      const type = bytes[header]!;
      const cellCount = (bytes[header + 3]! << 8) | bytes[header + 4]!;
      if (type === 0x05) {
        const pointers = header + 12;
        if (pointers - page + 2 * cellCount > u) fail(`${what}: page ${n} claims more cells than fit`);
        const children: number[] = [];
        for (let i = 0; i < cellCount; i += 1) {
          const cell = this.cellOffset(page, pointers, i, n, what);
          if (cell + 4 > page + u) fail(`${what}: a cell of page ${n} runs past the page`);
          children.push(readUint32(bytes, cell));
        }
        children.push(readUint32(bytes, header + 8));
        // Pushed in reverse so the leftmost child (the smallest rowids) comes out first.
        for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]!, depth + 1);
      } else if (type === 0x0d) {
        const pointers = header + 8;
        if (pointers - page + 2 * cellCount > u) fail(`${what}: page ${n} claims more cells than fit`);
        for (let i = 0; i < cellCount; i += 1) {
          const cell = this.cellOffset(page, pointers, i, n, what);
          const size = readVarint(bytes, cell, page + u, what);
          const rowid = readVarint(bytes, afterVarint, page + u, what);
          const start = afterVarint;
          if (size <= u - 35) {
            if (start + size > page + u) fail(`${what}: a row on page ${n} runs past the page`);
            onCell(bytes, start, start + size, rowid, what);
          } else {
            if (size > bytes.length) fail(`${what}: a row on page ${n} claims ${size} bytes, more than the file`);
            onCell(this.overflowPayload(page, start, size, n, what), 0, size, rowid, what);
          }
        }
        yield;
      } else {
        fail(`${what}: page ${n} is not a table B-tree page (type ${type})`);
      }
    }
  }

  private cellOffset(page: number, pointers: number, i: number, n: number, what: string): number {
    const offset = (this.bytes[pointers + 2 * i]! << 8) | this.bytes[pointers + 2 * i + 1]!;
    if (offset < pointers - page || offset >= this.usableSize) fail(`${what}: a cell pointer of page ${n} points outside the page`);
    return page + offset;
  }

  /** A payload too big for its page: its local part joined with its chain of overflow pages. */
  private overflowPayload(page: number, start: number, size: number, n: number, what: string): Uint8Array {
    const u = this.usableSize;
    const maxLocal = u - 35;
    const minLocal = Math.floor(((u - 12) * 32) / 255) - 23;
    const k = minLocal + ((size - minLocal) % (u - 4));
    const local = k <= maxLocal ? k : minLocal;
    if (start + local + 4 > page + u) fail(`${what}: a row on page ${n} runs past the page`);
    const out = new Uint8Array(size);
    out.set(this.bytes.subarray(start, start + local), 0);
    let filled = local;
    let next = readUint32(this.bytes, start + local);
    const seen = new Set<number>();
    while (filled < size) {
      if (seen.has(next)) fail(`${what}: an overflow chain loops (page ${next})`);
      seen.add(next);
      const overflow = this.pageStart(next, `${what}: an overflow chain`);
      const take = Math.min(u - 4, size - filled);
      out.set(this.bytes.subarray(overflow + 4, overflow + 4 + take), filled);
      filled += take;
      next = readUint32(this.bytes, overflow);
    }
    return out;
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/** The offset just after the number readVarint last read: a module variable, so no pair is allocated per number. */
let afterVarint = 0;

/**
 * A SQLite varint (1–9 bytes, big-endian, 7 bits a byte and 8 in the ninth); sets afterVarint. Plain number
 * arithmetic for up to 8 bytes (exact to 2^53, which rowids and sizes of real files never pass); BigInt only for the
 * 9-byte form that negative numbers take.
 */
function readVarint(bytes: Uint8Array, at: number, end: number, what: string): number {
  let value = 0;
  for (let i = 0; i < 8; i += 1) {
    if (at + i >= end) fail(`${what}: a number runs past the end of its page`);
    const byte = bytes[at + i]!;
    value = value * 128 + (byte & 0x7f);
    if (byte < 0x80) {
      afterVarint = at + i + 1;
      return value;
    }
  }
  if (at + 8 >= end) fail(`${what}: a number runs past the end of its page`);
  let big = 0n;
  for (let i = 0; i < 8; i += 1) big = (big << 7n) | BigInt(bytes[at + i]! & 0x7f);
  big = (big << 8n) | BigInt(bytes[at + 8]!);
  afterVarint = at + 9;
  return Number(BigInt.asIntN(64, big));
}

/**
 * Decodes the record in bytes[start, end) into `out`: the value of record column i goes to out[slotOf[i]] when that
 * is ≥ 0; other columns are skipped without decoding. Slots the record lacks stay null.
 */
function decodeInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  slotOf: Int32Array,
  out: SqliteValue[],
  recent: RecentText[],
  what: string,
): void {
  out.fill(null);
  const headerSize = readVarint(bytes, start, end, what);
  const headerEnd = start + headerSize;
  if (headerEnd < afterVarint || headerEnd > end) fail(`${what}: a record header is longer than its record`);
  let at = afterVarint;
  let body = headerEnd;
  for (let column = 0; at < headerEnd; column += 1) {
    const type = readVarint(bytes, at, headerEnd, what);
    at = afterVarint;
    const size = type < 12 ? serialIntSize(type, what) : Math.floor((type - 12) / 2);
    if (body + size > end) fail(`${what}: a value runs past the end of its record`);
    const slot = column < slotOf.length ? slotOf[column]! : -1;
    if (slot >= 0)
      out[slot] = type >= 13 && type % 2 === 1 ? recentText(recent[slot]!, bytes, body, size) : serialValue(type, bytes, body, size);
    body += size;
  }
}

const INT_SIZES = [0, 1, 2, 3, 4, 6, 8, 8, 0, 0];

function serialIntSize(type: number, what: string): number {
  if (type >= 10) fail(`${what}: reserved serial type ${type}`);
  return INT_SIZES[type]!;
}

/** Scratch for reading big-endian doubles without a DataView per record. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function serialValue(type: number, b: Uint8Array, at: number, size: number): SqliteValue {
  switch (type) {
    case 0:
      return null;
    case 1:
      return (b[at]! << 24) >> 24;
    case 2:
      return (((b[at]! << 8) | b[at + 1]!) << 16) >> 16;
    case 3:
      return (((b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!) << 8) >> 8;
    case 4:
      return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
    case 5:
      return ((((b[at]! << 8) | b[at + 1]!) << 16) >> 16) * 2 ** 32 + readUint32(b, at + 2);
    case 6:
      // Exact to 2^53; beyond, the nearest double (timestamps and counts never get there).
      return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) * 2 ** 32 + readUint32(b, at + 4);
    case 7:
      for (let i = 0; i < 8; i += 1) F64_BYTES[LITTLE_ENDIAN ? 7 - i : i] = b[at + i]!;
      return F64[0]!;
    case 8:
      return 0;
    case 9:
      return 1;
    default:
      return type % 2 === 0 ? b.slice(at, at + size) : decodeText(b, at, at + size);
  }
}

const utf8 = new TextDecoder('utf-8');

/** Texts up to this many bytes are compared with the column's previous one before decoding. */
const SHORT_TEXT = 64;

/** A column's previous short text, as bytes and as the string decoded from them. */
interface RecentText {
  bytes: Uint8Array;
  length: number;
  text: string;
}

/**
 * The text at bytes[at, at + size), reusing the column's previous string when the bytes are the same: consecutive
 * rows of the big tables repeat their run id and metric name, and one string per value would be most of the garbage.
 */
function recentText(recent: RecentText, bytes: Uint8Array, at: number, size: number): string {
  if (size > SHORT_TEXT) return decodeText(bytes, at, at + size);
  if (size === recent.length) {
    let same = true;
    for (let i = 0; i < size; i += 1) {
      if (bytes[at + i] !== recent.bytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return recent.text;
  }
  recent.bytes.set(bytes.subarray(at, at + size));
  recent.length = size;
  recent.text = decodeText(bytes, at, at + size);
  return recent.text;
}

/** UTF-8 text; short ASCII (keys, run ids) without the decoder's per-call cost. */
function decodeText(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let ascii = true;
    for (let i = start; i < end; i += 1) {
      if (b[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  }
  return utf8.decode(b.subarray(start, end));
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
