/**
 * The read-only SQLite reader against databases written by the real SQLite (Python's sqlite3 module): every row of
 * tables deep enough for several B-tree levels, overflow chains, every integer width, rowid aliases, columns added
 * later, odd page sizes; and damaged files, which must give a SqliteFormatError, never a crash or a hang.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCreateTable, SqliteDatabase, SqliteFormatError } from '../../mcp-server/src/core/importers/sqlite-read.js';
import { scratchDir } from '../helpers/project.js';

/** Runs `code` with sqlite3 imported and `db` the path of a new database; returns what it prints (JSON). */
function python(code: string): { db: Buffer; printed: any } {
  const file = path.join(scratchDir('swml-sqlite-'), 'test.db');
  const out = execFileSync('python3', ['-c', `import sqlite3, json, sys\ndb = sys.argv[1]\n${code}`, file], { encoding: 'utf8' });
  return { db: fs.readFileSync(file), printed: out.trim() ? JSON.parse(out) : undefined };
}

const MAKE_ROWS = `
def make(page_size, rows):
    c = sqlite3.connect(db)
    c.execute(f"pragma page_size={page_size}")
    c.execute('create table t (id INTEGER PRIMARY KEY, "my col" text, r real, b blob, n integer)')
    ints = [0, 1, -1, 127, -128, 32767, -32768, 8388607, -8388608, 2**31 - 1, -2**31, 2**47 - 1, -2**47, 2**53 - 1, -2**53]
    expected = []
    for i in range(rows):
        text = ("x" * (i % 7)) + str(i) + ("long" * 30000 if i % 997 == 3 else "")
        n = ints[i % len(ints)]
        r = None if i % 5 == 0 else i / 3
        b = bytes([i % 256, 255, 0])
        c.execute("insert into t values (?, ?, ?, ?, ?)", (i + 1, text, r, b, n))
        expected.append([i + 1, text, r, b.hex(), n])
    c.execute("alter table t add column later text default 'd'")
    c.execute("insert into t (id, \\"my col\\", later) values (?, ?, ?)", (rows + 1, "after", "set"))
    expected.append([rows + 1, "after", None, None, None, "set"])
    c.commit()
    print(json.dumps(expected))
`;

function readAll(db: Buffer): unknown[][] {
  const reader = new SqliteDatabase(db);
  return [...reader.rows('t')].map((row) => {
    const values = [row.id, row['my col'], row.r, row.b instanceof Uint8Array ? Buffer.from(row.b).toString('hex') : row.b, row.n];
    if (row.later !== null) values.push(row.later);
    return values;
  });
}

describe('the SQLite reader', () => {
  it.each([512, 4096, 65536])('reads every row of a %i-byte-page database as SQLite wrote it', (pageSize) => {
    const { db, printed } = python(`${MAKE_ROWS}\nmake(${pageSize}, 3000)`);
    expect(db.readUInt16BE(16)).toBe(pageSize === 65536 ? 1 : pageSize);
    const rows = readAll(db);
    expect(rows).toHaveLength(3001);
    // Rows before the ALTER TABLE have no "later" value: read as null.
    expect(rows).toEqual(printed);
  });

  it('knows rowid aliases declared inline or as a table constraint, and quoted names', () => {
    expect(parseCreateTable('CREATE TABLE a (id INTEGER PRIMARY KEY, b TEXT)')).toEqual({ columns: ['id', 'b'], rowidColumn: 0 });
    expect(
      parseCreateTable(
        "CREATE TABLE experiments (\n\texperiment_id INTEGER NOT NULL, \n\tname VARCHAR(256) NOT NULL, \n\tlifecycle_stage VARCHAR(32), \n\tCONSTRAINT experiment_pk PRIMARY KEY (experiment_id), \n\tCONSTRAINT experiments_lifecycle_stage CHECK (lifecycle_stage IN ('active', 'deleted'))\n)",
      ),
    ).toEqual({ columns: ['experiment_id', 'name', 'lifecycle_stage'], rowidColumn: 0 });
    expect(
      parseCreateTable('CREATE TABLE r (run_uuid VARCHAR(32) NOT NULL, "a,b" TEXT DEFAULT \'x,y\', [c d] INT, PRIMARY KEY (run_uuid))'),
    ).toEqual({
      columns: ['run_uuid', 'a,b', 'c d'],
      rowidColumn: -1,
    });
    expect(parseCreateTable('CREATE TABLE k (a INT PRIMARY KEY, b)').rowidColumn).toBe(-1); // INT is not INTEGER: no alias
  });

  it('refuses what it does not read, with a reason: UTF-16, WITHOUT ROWID', () => {
    const utf16 = python(
      `c = sqlite3.connect(db); c.execute("pragma encoding='UTF-16le'"); c.execute('create table t (a)'); c.commit()`,
    ).db;
    expect(() => new SqliteDatabase(utf16)).toThrow(/UTF-16/);
    const withoutRowid = python(`c = sqlite3.connect(db); c.execute('create table t (a text primary key) without rowid'); c.commit()`).db;
    const reader = new SqliteDatabase(withoutRowid);
    expect(() => [...reader.rows('t')]).toThrow(/WITHOUT ROWID/);
    expect(() => [...reader.rows('nope')]).toThrow(/no table "nope"/);
  });

  it('a cyclic B-tree, a loop in an overflow chain and wild cell pointers give errors, never a hang', () => {
    const { db } = python(`${MAKE_ROWS}\nmake(512, 600)`);
    const pageSize = 512;
    const pages = db.length / pageSize;
    // An interior table page whose right-most child is itself.
    const interior = Array.from({ length: pages - 1 }, (_, i) => i + 2).find((n) => db[(n - 1) * pageSize] === 0x05)!;
    const cyclic = Buffer.from(db);
    cyclic.writeUInt32BE(interior, (interior - 1) * pageSize + 8);
    expect(() => [...new SqliteDatabase(cyclic).rows('t')]).toThrow(/reached twice/);
    // Every overflow page pointing to itself.
    const looped = Buffer.from(db);
    let loops = 0;
    for (let n = 2; n <= pages; n += 1) {
      const type = looped[(n - 1) * pageSize]!;
      if (type === 0 && looped.readUInt32BE((n - 1) * pageSize) !== 0) {
        looped.writeUInt32BE(n, (n - 1) * pageSize);
        loops += 1;
      }
    }
    expect(loops).toBeGreaterThan(0);
    expect(() => [...new SqliteDatabase(looped).rows('t')]).toThrow(SqliteFormatError);
    // Cell pointers past the page on every leaf.
    const wild = Buffer.from(db);
    for (let n = 2; n <= pages; n += 1) if (wild[(n - 1) * pageSize] === 0x0d) wild.writeUInt16BE(0xfff0, (n - 1) * pageSize + 8);
    expect(() => [...new SqliteDatabase(wild).rows('t')]).toThrow(/points outside the page/);
  });
});
