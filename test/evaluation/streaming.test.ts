/**
 * Prediction files stream into typed columns: a chunk may end anywhere (inside a field, a quoted field, a CRLF
 * pair, a multi-byte character) and the table is the same; a column switches storage without changing what it
 * reads; the row limit is a clear error; 60 MB files (binary, multiclass) evaluated by the built server stay under
 * 4× their size.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DICTIONARY_LIMIT } from '../../mcp-server/src/core/evaluation/columns.js';
import { evaluateTable } from '../../mcp-server/src/core/evaluation/index.js';
import {
  labelColumn,
  numericColumn,
  parsePredictionChunks,
  parsePredictions,
  tableOf,
  textColumn,
  type PredictionsTable,
} from '../../mcp-server/src/core/evaluation/predictions-file.js';
import { PredictionsParser } from '../../mcp-server/src/core/evaluation/predictions-parser.js';
import { argsortAscending } from '../../mcp-server/src/core/evaluation/sort.js';
import { perResample } from '../../mcp-server/src/core/evaluation/bootstrap.js';
import {
  averagePrecisionPresorted,
  presort,
  rankingPresorted,
  rocAucPresorted,
  rocAucSorted,
  rocAucTied,
  scoreOrder,
  tiedOrder,
} from '../../mcp-server/src/core/evaluation/classification.js';
import { stdioClient } from '../helpers/client.js';
import { scratchDir } from '../helpers/project.js';

/** Everything a table says: its columns, rows, every raw cell and every row label. */
function describeTable(t: PredictionsTable) {
  return {
    format: t.format,
    columns: t.columns,
    rowCount: t.rowCount,
    cells: Object.fromEntries(t.columns.map((c) => [c, t.column(c)])),
    labels: Array.from({ length: t.rowCount }, (_, i) => t.rowLabel(i)),
  };
}

function parseChunks(chunks: (Uint8Array | string)[], fileName: string, maxRows?: number): PredictionsTable {
  const parser = new PredictionsParser(fileName, maxRows === undefined ? {} : { maxRows });
  for (const c of chunks) parser.push(c);
  return tableFrom(parser);
}

async function tableFromChunks(chunks: (Uint8Array | string)[], fileName: string, maxRows?: number) {
  async function* gen() {
    yield* chunks;
  }
  return parsePredictionChunks(gen(), fileName, maxRows === undefined ? {} : { maxRows });
}

function tableFrom(parser: PredictionsParser): PredictionsTable {
  return tableOf(parser.finish());
}

/** A small CSV with everything that can be split: BOM, CRLF, quotes, doubled quotes, newlines and commas inside quotes, 2-, 3- and 4-byte UTF-8, blank lines, no final newline. */
const CSV =
  '\uFEFFid,"na,me",note,score\r\n' +
  '1,"a ""b""","x\r\ny",0.5\r\n' +
  '\r\n' +
  '2,café,日本,0.25\r\n' +
  '3,"🎯, ok",,1e-3\n' +
  '4,plain,"",-2';

const CSV_EXPECTED = {
  format: 'csv',
  columns: ['id', 'na,me', 'note', 'score'],
  rowCount: 4,
  cells: {
    id: ['1', '2', '3', '4'],
    'na,me': ['a "b"', 'café', '🎯, ok', 'plain'],
    note: ['x\r\ny', '日本', '', ''],
    score: ['0.5', '0.25', '1e-3', '-2'],
  },
  labels: ['row 1', 'row 2', 'row 3', 'row 4'],
};

const JSONL =
  '\uFEFF{"id": 1, "label": "é", "score": 0.5, "items": ["a", "b"]}\r\n' +
  '\n' +
  '{"id": 2, "label": "日本", "score": NaN, "extra": "🎯"}\r\n' +
  '{"id": 3, "label": "x", "score": 1}';

const JSONL_EXPECTED = {
  format: 'jsonl',
  columns: ['id', 'label', 'score', 'items', 'extra'],
  rowCount: 3,
  cells: {
    id: [1, 2, 3],
    label: ['é', '日本', 'x'],
    score: [0.5, 'NaN', 1],
    items: [['a', 'b'], undefined, undefined],
    extra: [undefined, '🎯', undefined],
  },
  labels: ['line 1', 'line 3', 'line 4'],
};

describe('streaming parse: chunks may end anywhere', () => {
  for (const [name, text, fileName, expected] of [
    ['CSV', CSV, 'p.csv', CSV_EXPECTED],
    ['JSONL', JSONL, 'p.jsonl', JSONL_EXPECTED],
  ] as const) {
    it(`${name}: the whole text parses as expected`, () => {
      expect(describeTable(parsePredictions(text, fileName))).toEqual(expected);
    });

    it(`${name}: split in two at every byte offset, the table is the same`, () => {
      const bytes = Buffer.from(text, 'utf8');
      for (let k = 0; k <= bytes.length; k++) {
        const t = parseChunks([bytes.subarray(0, k), bytes.subarray(k)], fileName);
        expect(describeTable(t), `split at byte ${k}`).toEqual(expected);
      }
    });

    it(`${name}: one byte at a time, and in three pieces at every pair of offsets, the table is the same`, async () => {
      const bytes = Buffer.from(text, 'utf8');
      const single = Array.from(bytes, (b) => Uint8Array.of(b));
      expect(describeTable(await tableFromChunks(single, fileName))).toEqual(expected);
      for (let i = 0; i <= bytes.length; i += 3) {
        for (let j = i; j <= bytes.length; j += 5) {
          const t = parseChunks([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)], fileName);
          expect(describeTable(t), `split at ${i} and ${j}`).toEqual(expected);
        }
      }
    });
  }

  it('a multi-byte character split across chunks is decoded whole', () => {
    const bytes = Buffer.from('label,score\n🎯,0.5\n', 'utf8');
    const at = bytes.indexOf(0xf0) + 2; // inside the 4-byte emoji
    const t = parseChunks([bytes.subarray(0, at), bytes.subarray(at)], 'p.csv');
    expect(labelColumn(t, 'label', 'label')).toEqual(['🎯']);
  });

  it('without an extension, the first character tells JSONL from CSV even when it arrives alone', () => {
    expect(parseChunks(['  ', '\n{"a":', ' 1}\n'], 'predictions').format).toBe('jsonl');
    expect(parseChunks(['a', ',b\n1,2\n'], 'predictions').format).toBe('csv');
  });
});

describe('streaming parse: errors name the file, row and column whatever the chunking', () => {
  const oneByteChunks = (text: string) => Array.from(Buffer.from(text, 'utf8'), (b) => Uint8Array.of(b));

  it('a wrong field count, an unclosed quote, text after a quote', () => {
    expect(() => parseChunks(oneByteChunks('a,b\n1,2\n3\n'), 'p.csv')).toThrow(
      'p.csv row 2: expected 2 fields (as in the header), found 1',
    );
    expect(() => parseChunks(oneByteChunks('a,b\n1,"2\n'), 'p.csv')).toThrow('p.csv row 1: a quoted field is never closed');
    expect(() => parseChunks(oneByteChunks('a,b\n1,"2"x\n'), 'p.csv')).toThrow('p.csv row 1: unexpected text after a closing quote');
    expect(() => parseChunks(oneByteChunks('{"a": 1}\n\n{"a": \n'), 'p.jsonl')).toThrow(/p\.jsonl line 3: not valid JSON/);
  });

  it('a bad cell after many rows names its row', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i % 2},${(i % 97) / 97}`);
    rows[4321] = '1,abc';
    const text = `y_true,score\n${rows.join('\n')}\n`;
    const t = parseChunks([text.slice(0, 30_001), text.slice(30_001)], 'p.csv');
    expect(() => numericColumn(t, 'score', 'score')).toThrow('p.csv row 4322, column "score": "abc" is not a number');
  });
});

describe('columns that are not kept', () => {
  it('are listed (errors name them) but not stored, and a bad cell in them is not read', () => {
    const parser = new PredictionsParser('p.csv', { keep: (c) => c !== 'id' });
    parser.push('id,y_true,score\nnot-a-number,1,0.5\n,0,0.25\n');
    const t = tableOf(parser.finish());
    expect(t.columns).toEqual(['id', 'y_true', 'score']);
    expect(t.stored('id')).toBeUndefined();
    expect(t.stored('score')).toBeDefined();
    expect(numericColumn(t, 'score', 'score')).toEqual(Float64Array.of(0.5, 0.25));
    expect(() => numericColumn(t, 'id', 'row id')).toThrow(/p\.csv column "id": no such column/);
  });
});

describe('the row limit', () => {
  const file = (n: number) => `y_true,score\n${Array.from({ length: n }, (_, i) => `${i % 2},0.${i}`).join('\n')}\n`;

  it('a file of exactly the limit parses; one row more is a clear error naming the file and the limit', async () => {
    expect((await tableFromChunks([file(5)], 'p.csv', 5)).rowCount).toBe(5);
    await expect(tableFromChunks([file(6)], 'p.csv', 5)).rejects.toThrow(
      'p.csv has more than 5 data rows, the most a predictions file may have',
    );
    const jsonl = Array.from({ length: 4 }, (_, i) => JSON.stringify({ y_true: i % 2 })).join('\n');
    expect(() => parseChunks([jsonl], 'p.jsonl', 3)).toThrow('p.jsonl has more than 3 data rows');
  });
});

describe('column storage', () => {
  it('many distinct numbers are stored as numbers and read back exactly, with bad cells still quoted', () => {
    const n = DICTIONARY_LIMIT + 5000;
    const values = Array.from({ length: n }, (_, i) => (i * 0.618033988749895) % 1);
    const lines = values.map((v, i) => `${i},${i % 3},${v}`);
    const t = parsePredictions(`id,label,score\n${lines.join('\n')}\n`, 'p.csv');
    expect(t.stored('score')!.kind).toBe('numbers');
    expect(t.stored('id')!.kind).toBe('numbers');
    expect(t.stored('label')!.kind).toBe('codes');
    expect(Array.from(numericColumn(t, 'score', 'score'))).toEqual(values);
    expect(textColumn(t, 'id', 'row id').slice(-2)).toEqual([String(n - 2), String(n - 1)]);
    expect(labelColumn(t, 'label', 'label').slice(0, 4)).toEqual(['0', '1', '2', '0']);

    // A bad cell before the switch to numbers and one after it are both reported with their row and text.
    for (const row of [10, n - 10]) {
      const bad = lines.slice();
      bad[row - 1] = `${row - 1},0,oops`;
      const tb = parsePredictions(`id,label,score\n${bad.join('\n')}\n`, 'p.csv');
      expect(tb.stored('score')!.kind).toBe('numbers');
      expect(() => numericColumn(tb, 'score', 'score')).toThrow(`p.csv row ${row}, column "score": "oops" is not a number`);
    }
    const blank = lines.slice();
    blank[n - 3] = `${n - 3},0,`;
    expect(() => numericColumn(parsePredictions(`id,label,score\n${blank.join('\n')}\n`, 'p.csv'), 'score', 'score')).toThrow(
      `p.csv row ${n - 2}, column "score": is empty; a number is required`,
    );
  });

  it('a numbers column ends as one plain array, and one that turns to cells keeps every cell it held as a number', () => {
    const n = DICTIONARY_LIMIT + 3 * 65_536 + 7; // several of the buffer's growth steps, the last one partial
    const values = Array.from({ length: n }, (_, i) => (i * 0.7548776662466927) % 1);
    const t = parsePredictions(`score\n${values.join('\n')}\n`, 'p.csv');
    const scores = numericColumn(t, 'score', 'score');
    expect(Array.from(scores)).toEqual(values);
    // The metrics' hot loops read a plain Float64Array: the resizable buffer the column grew in is not kept.
    expect(scores.length).toBe(n);
    expect((scores.buffer as ArrayBuffer & { resizable?: boolean }).resizable).toBe(false);

    // After the switch to numbers, more than 65,536 texts make the column plain cells: the numbers read so far
    // come back from the growing buffer, as numbers.
    const texts = Array.from({ length: 65_537 + 10 }, (_, i) => `t${i}`);
    const mixed = parsePredictions(`v\n${[...values, ...texts].join('\n')}\n`, 'p.csv');
    expect(mixed.stored('v')!.kind).toBe('cells');
    const cells = mixed.column('v')!;
    expect(cells.slice(0, n)).toEqual(values);
    expect(cells.slice(n)).toEqual(texts);
  });

  it('many distinct texts are kept as cells and read back exactly', () => {
    const n = DICTIONARY_LIMIT + 10;
    const ids = Array.from({ length: n }, (_, i) => `user-${i}`);
    const t = parsePredictions(
      `query,item,relevance,score\n${ids.map((u, i) => `${u},i${i % 7},${i % 2},${i / n}`).join('\n')}\n`,
      'r.csv',
    );
    expect(t.stored('query')!.kind).toBe('cells');
    expect(textColumn(t, 'query', 'query id')).toEqual(ids);
  });

  it('evaluates the same whether a column is held as codes or as numbers', () => {
    // Scores with few distinct values stay codes; add one distinct value per row and they become numbers.
    const n = DICTIONARY_LIMIT + 100;
    const rows = Array.from({ length: n }, (_, i) => [i % 3 === 0 ? 1 : 0, ((i * 7919) % 1000) / 1000] as const);
    const few = parsePredictions(`y_true,score\n${rows.map(([y, s]) => `${y},${s}`).join('\n')}\n`, 'p.csv');
    const jitter = (i: number) => i * 1e-12;
    const many = parsePredictions(`y_true,score\n${rows.map(([y, s], i) => `${y},${s + jitter(i)}`).join('\n')}\n`, 'p.csv');
    expect(few.stored('score')!.kind).toBe('codes');
    expect(many.stored('score')!.kind).toBe('numbers');
    const a = evaluateTable(few, { task: 'binary', bootstrap: false });
    const b = evaluateTable(many, { task: 'binary', bootstrap: false });
    expect(a.metrics.accuracy).toBe(b.metrics.accuracy);
    expect(b.metrics.roc_auc).toBeCloseTo(a.metrics.roc_auc as number, 6);
  });
});

describe('the score sort (every ranking metric and bootstrap reads its order)', () => {
  /** Stable ascending order by a comparison sort, -0 tied with +0. */
  const reference = (v: Float64Array) => Array.from(v.keys()).sort((a, b) => (v[a]! === v[b]! ? a - b : v[a]! - v[b]!));

  it('is the stable ascending order, with or without a lent buffer, whichever radix passes run', () => {
    let state = 99;
    const uniform = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) / 2 ** 24;
    };
    const n = 5000;
    const cases: Record<string, Float64Array> = {
      // Every pass runs (4, an even number): the result is in the sort's own buffer.
      'continuous, signed': Float64Array.from({ length: n }, () => (uniform() - 0.3) * 1e3),
      // Small integers and halves have zero low words and zero low halves of the high word: one pass runs, so the
      // result ends in the lent buffer and must be copied out of it.
      'few values, one pass': Float64Array.from({ length: n }, () => [0, 0.5, 1, 2, -1, -0][Math.floor(uniform() * 6)]!),
      'all equal, no pass': new Float64Array(n).fill(0.25),
    };
    for (const [name, values] of Object.entries(cases)) {
      const expected = reference(values);
      expect(Array.from(argsortAscending(values)), name).toEqual(expected);
      const lent = new Uint32Array(n + 3).fill(7);
      const order = argsortAscending(values, lent);
      expect(Array.from(order), `${name}, lent buffer`).toEqual(expected);
      expect(order.buffer, `${name}: the result is never the lent buffer`).not.toBe(lent.buffer);
      lent.fill(0); // the caller reuses the buffer: the result must not change
      expect(Array.from(order), `${name}, after reuse of the lent buffer`).toEqual(expected);
    }
    expect(argsortAscending(new Float64Array(0), new Uint32Array(4)).length).toBe(0);
  });
});

describe('the compact bootstrap passes give the values of the plain ones, to the last bit', () => {
  let state = 3;
  const uniform = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) / 2 ** 24;
  };
  const n = 4000;
  const y = Uint8Array.from({ length: n }, () => (uniform() < 0.3 ? 1 : 0));
  // Few distinct scores: many ties, which both ROC AUC and average precision must group.
  const score = Float64Array.from(y, (v) => Math.round((0.3 * v + 0.7 * uniform()) * 50) / 50);
  const weightsOf = (r: number) => Uint32Array.from({ length: n }, (_, i) => (r === 0 ? 1 : (i * 7919 + r * 104729) % 5)); // 0 weights too

  it('ROC AUC and average precision in one pass; ROC AUC on labels and ties folded into flags', () => {
    const so = scoreOrder(score);
    const p = presort(so, y);
    const tied = tiedOrder(so, y);
    for (let r = 0; r < 5; r++) {
      const w = weightsOf(r);
      const inScoreOrder = Uint32Array.from(so.order, (row) => w[row]!);
      expect(rankingPresorted(p, inScoreOrder)).toEqual({
        rocAuc: rocAucPresorted(p, inScoreOrder),
        averagePrecision: averagePrecisionPresorted(p, inScoreOrder),
      });
      expect(rocAucTied(tied, w)).toBe(rocAucSorted(so, y, w));
    }
    const none = new Uint32Array(n);
    expect(rankingPresorted(p, none)).toEqual({ rocAuc: null, averagePrecision: null });
  });

  it('perResample computes once per resample, and every time without a resample number', () => {
    let calls = 0;
    const sum = perResample((w) => {
      calls++;
      let total = 0;
      for (let i = 0; i < w.length; i++) total += w[i]!;
      return total;
    });
    const w = Uint32Array.of(1, 2);
    expect([sum(w, 0), sum(w, 0)]).toEqual([3, 3]);
    expect(calls).toBe(1);
    w[0] = 5; // the bootstrap refills the same array for the next resample
    expect(sum(w, 1)).toBe(7);
    expect([sum(w), sum(w)]).toEqual([7, 7]);
    expect(calls).toBe(4);
  });
});

/**
 * Issue 8: a predictions file above 50 MB evaluated by the server peaks under 4× its size. Measured 2.8–3.1× at
 * 60 MiB and 3.4–3.5× for the 50 MiB 3-class file of 6-decimal probabilities, where the idle server's own ~62 MiB
 * weigh most (4.1–4.2× before numbers columns grew in place and class indices took 1 byte; 4.8–5.1× multiclass
 * before labels became codes and the metrics stopped copying rows). A regression to per-row strings, copies or late-freed blocks fails here.
 */
const MAX_PEAK_RATIO = 4;

describe('memory: predictions files above 50 MB evaluated by the built server', () => {
  it(`peak (VmHWM of a fresh server process) stays under ${MAX_PEAK_RATIO}× the file size, binary and multiclass`, async () => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: path.resolve(__dirname, '../..'), stdio: 'ignore' });
    const root = scratchDir();
    const setup = await stdioClient(['--root', root]);
    const inc = path.join(root, (await setup.ok('create_increment', { title: 'Memory' })).path);
    await setup.close();
    const MiB = 1024 * 1024;
    const cases = [
      { experiment: 'binary', task: 'binary', write: (f: string) => writeBinaryPredictions(f, 60 * MiB) },
      { experiment: 'multiclass', task: 'multiclass', write: (f: string) => writeMulticlassPredictions(f, 60 * MiB) },
      // The idle server weighs most on the smallest file, and short rows make many: 50 MiB of 3-class rows with
      // 6-decimal probabilities (35 bytes a row) was the worst case measured.
      { experiment: 'multiclass-6', task: 'multiclass', write: (f: string) => writeMulticlassPredictions(f, 50 * MiB, 6) },
    ] as const;
    for (const { experiment, task, write } of cases) {
      const dir = path.join(inc, 'experiments', experiment);
      fs.mkdirSync(dir, { recursive: true });
      const size = write(path.join(dir, 'predictions.csv'));
      expect(size).toBeGreaterThan(50 * MiB);
      // One server per file: VmHWM is the process's peak so far, and a file's peak must not hide behind another's.
      const c = await stdioClient(['--root', root]);
      try {
        const pid = (c.client.transport as unknown as { pid: number | null }).pid!;
        const r = await c.ok('evaluate_predictions', {
          increment: '1',
          experiment,
          predictions: 'predictions.csv',
          task,
          bootstrap_resamples: 20,
        });
        const hwm = vmHwmBytes(pid);
        expect(r.rows).toBeGreaterThan(1_000_000);
        expect(r.metrics.roc_auc).toBeGreaterThan(0.6);
        expect(r.metrics.accuracy).toBeGreaterThan(0.5);
        expect(
          hwm / size,
          `${experiment}: peak ${Math.round(hwm / 2 ** 20)} MiB for a ${Math.round(size / 2 ** 20)} MiB file`,
        ).toBeLessThan(MAX_PEAK_RATIO);
      } finally {
        await c.close();
      }
      fs.rmSync(path.join(dir, 'predictions.csv'));
    }
  }, 300_000);
});

/** A binary predictions CSV of about `bytes` bytes: y_true, y_pred and a score that mostly agrees with y_true. */
export function writeBinaryPredictions(file: string, bytes: number): number {
  const fd = fs.openSync(file, 'w');
  let written = fs.writeSync(fd, 'id,y_true,y_pred,score\n');
  let state = 12345;
  let row = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let k = 0; k < 2000; k++, row++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const y = state & 1;
      const score = Math.min(1, Math.max(0, 0.3 * y + (0.7 * (state >>> 8)) / 2 ** 24));
      lines.push(`${row},${y},${score >= 0.5 ? 1 : 0},${score.toFixed(8)}`);
    }
    written += fs.writeSync(fd, `${lines.join('\n')}\n`);
  }
  fs.closeSync(fd);
  return written;
}

/**
 * A 3-class predictions CSV of about `bytes` bytes: a text label and one probability column per class (8 decimals
 * by default, like the binary file's scores), the true class's probability raised so that the model is better than
 * chance. Fewer decimals make shorter rows, so more of them for the same size.
 */
export function writeMulticlassPredictions(file: string, bytes: number, decimals = 8): number {
  const classes = ['bird', 'cat', 'dog'];
  const fd = fs.openSync(file, 'w');
  let written = fs.writeSync(fd, `id,y_true,${classes.map((c) => `proba_${c}`).join(',')}\n`);
  let state = 54321;
  const uniform = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) / 2 ** 24;
  };
  let row = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let k = 0; k < 2000; k++, row++) {
      const y = Math.floor(uniform() * 3);
      const p = [uniform(), uniform(), uniform()];
      p[y]! += 0.6;
      const total = p[0]! + p[1]! + p[2]!;
      const a = Number((p[0]! / total).toFixed(decimals));
      const b = Number((p[1]! / total).toFixed(decimals));
      lines.push(`${row},${classes[y]},${a.toFixed(decimals)},${b.toFixed(decimals)},${Math.max(0, 1 - a - b).toFixed(decimals)}`);
    }
    written += fs.writeSync(fd, `${lines.join('\n')}\n`);
  }
  fs.closeSync(fd);
  return written;
}

function vmHwmBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for process ${pid}`);
  return Number(m[1]) * 1024;
}
