/** Bad input: a clear PredictionsError naming file, row and column — and no partial result. */
import { describe, expect, it } from 'vitest';
import {
  evaluatePredictionsFile,
  parsePredictions,
  PredictionsError,
  type EvaluateFileInput,
} from '../../mcp-server/src/core/evaluation/index.js';

function fails(
  input: Partial<EvaluateFileInput> & { text: string; fileName: string },
  message: RegExp | string,
  where?: { row?: number; column?: string },
) {
  let err: unknown;
  try {
    evaluatePredictionsFile({ task: 'binary', bootstrap: false, ...input });
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(PredictionsError);
  const pe = err as PredictionsError;
  if (typeof message === 'string') expect(pe.message).toBe(message);
  else expect(pe.message).toMatch(message);
  expect(pe.file).toBe(input.fileName);
  if (where?.row !== undefined) expect(pe.row).toBe(where.row);
  if (where?.column !== undefined) expect(pe.column).toBe(where.column);
}

describe('bad predictions files', () => {
  it('names file, row and column for a non-numeric score', () => {
    const rows = Array.from({ length: 20 }, (_, i) => `${i % 2},${i === 16 ? 'abc' : (i / 20).toFixed(2)}`);
    fails(
      { text: `label,score\n${rows.join('\n')}\n`, fileName: 'predictions.csv' },
      'predictions.csv row 17, column "score": "abc" is not a number',
      { row: 17, column: 'score' },
    );
  });

  it('rejects NaN, infinities and empty cells in predictions', () => {
    fails(
      { text: 'label,score\n1,0.5\n0,NaN\n', fileName: 'p.csv' },
      'p.csv row 2, column "score": is NaN; predictions must be finite numbers',
    );
    fails({ text: 'label,score\n1,inf\n', fileName: 'p.csv' }, /row 1, column "score": is inf/);
    fails({ text: 'label,score\n1,\n', fileName: 'p.csv' }, 'p.csv row 1, column "score": is empty; a number is required');
    fails(
      { text: '{"label":1,"score":0.2}\n{"label":0,"score":NaN}\n', fileName: 'p.jsonl' },
      'p.jsonl line 2, column "score": is NaN; predictions must be finite numbers',
      { row: 2 },
    );
    fails(
      { text: '{"label":1,"score":0.2}\n\n{"label":0,"score":null}\n', fileName: 'p.jsonl' },
      'p.jsonl line 3, column "score": is null; a number is required',
      { row: 3 },
    );
    fails(
      { text: '{"label":1,"score":0.2}\n{"label":0}\n', fileName: 'p.jsonl' },
      'p.jsonl line 2, column "score": is missing; a number is required',
    );
  });

  it('names a missing column and lists the ones the file has', () => {
    fails({ text: 'label,prob\n1,0.5\n', fileName: 'p.csv', columns: { score: 'score' } }, /p\.csv, column "score"|p\.csv column "score"/, {
      column: 'score',
    });
    fails({ text: 'truth,score\n1,0.5\n', fileName: 'p.csv' }, /no true label column.*"truth", "score"/);
    fails({ text: 'y_true\n1\n', fileName: 'p.csv' }, /no predictions/);
  });

  it('rejects labels that do not match the scores or the task', () => {
    fails(
      { text: 'label,score\na,0.1\nb,0.2\nc,0.3\n', fileName: 'p.csv' },
      /column "label": has 3 distinct labels .* use task "multiclass"/,
    );
    fails(
      { text: 'label,proba_a,proba_b\na,0.5,0.5\nc,0.2,0.8\n', fileName: 'm.csv', task: 'multiclass' },
      'm.csv row 2, column "label": label "c" has no probability column ("a", "b")',
      { row: 2 },
    );
    fails(
      { text: 'label,proba_a,proba_b\na,0.5,0.2\n', fileName: 'm.csv', task: 'multiclass' },
      /m\.csv row 1, column "proba_a\+proba_b": class probabilities sum to 0\.7/,
    );
    fails({ text: 'label,score\nx,0.5\n', fileName: 'p.csv' }, /only the label "x" occurs; say which label is positive/);
    fails(
      { text: 'label,score\n1,0.5\n0,0.2\n', fileName: 'p.csv', positiveLabel: 'yes' },
      /positive label "yes" is not one of the labels "0", "1"/,
    );
  });

  it('reports malformed CSV and JSON with their position', () => {
    fails({ text: 'label,score\n1,0.5\n0\n', fileName: 'p.csv' }, 'p.csv row 2: expected 2 fields (as in the header), found 1', { row: 2 });
    fails({ text: 'label,score\n1,"0.5\n', fileName: 'p.csv' }, 'p.csv row 1: a quoted field is never closed');
    fails({ text: '{"label":1,"score":0.5}\n{"label":0,\n', fileName: 'p.jsonl' }, /^p\.jsonl line 2: not valid JSON/);
    fails({ text: '[1,2]\n', fileName: 'p.jsonl' }, 'p.jsonl line 1: expected a JSON object');
    fails({ text: '', fileName: 'p.csv' }, /p\.csv is empty/);
    fails({ text: 'label,score\r\n', fileName: 'p.csv' }, 'p.csv has no data rows');
    fails({ text: 'a,a\n1,2\n', fileName: 'p.csv' }, /column "a" appears twice/);
  });

  it('rejects bad options with the file named', () => {
    fails({ text: 'u,i,relevance,score\n', fileName: 'r.csv', task: 'ranking', k: 0 }, 'r.csv: k must be a positive integer, got 0');
    fails({ text: 'label,score\n1,0.5\n', fileName: 'p.csv', targetPrecision: 1.5 }, /target precision must be between 0 and 1/);
  });
});

describe('CSV parsing follows RFC 4180', () => {
  it('handles BOM, CRLF, quoted commas, doubled quotes and newlines inside quotes', () => {
    const t = parsePredictions('\uFEFFid,"na,me",note\r\n1,"a ""b""","x\r\ny"\r\n2,c,\r\n', 'f.csv');
    expect(t.columns).toEqual(['id', 'na,me', 'note']);
    expect(t.rowCount).toBe(2);
    expect(t.column('na,me')).toEqual(['a "b"', 'c']);
    expect(t.column('note')).toEqual(['x\r\ny', '']);
    expect(t.rowLabel(1)).toBe('row 2');
  });

  it('accepts tab-separated files and numeric labels written as 1.0', () => {
    const r = evaluatePredictionsFile({ text: 'y_true\ty_pred\n1.0\t1\n0\t0.0\n', fileName: 'p.tsv', task: 'binary', bootstrap: false });
    expect(r.metrics.accuracy).toBe(1);
    expect(r.positiveLabel).toBe('1');
  });
});
