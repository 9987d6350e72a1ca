/** Seeded bootstrap: same seed, same interval; the interval brackets the estimate; paired comparisons. */
import { describe, expect, it } from 'vitest';
import {
  bootstrapRocAuc,
  comparePredictions,
  evaluateBinary,
  mulberry32,
  parsePredictions,
  rocAucSorted,
  scoreOrder,
} from '../../mcp-server/src/core/evaluation/index.js';

function data(n: number, seed: number) {
  const rng = mulberry32(seed);
  const y = new Uint8Array(n);
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng() < 0.3 ? 1 : 0;
    score[i] = Math.round((rng() * 0.8 + y[i]! * 0.2) * 50) / 50; // ties on purpose
  }
  return { y, score };
}

describe('bootstrap confidence intervals', () => {
  it('are reproducible with a seed and change with another seed', () => {
    const { y, score } = data(2000, 1);
    const a = bootstrapRocAuc(y, score, { resamples: 300, seed: 9 });
    const b = bootstrapRocAuc(y, score, { resamples: 300, seed: 9 });
    const c = bootstrapRocAuc(y, score, { resamples: 300, seed: 10 });
    expect(a).toEqual(b);
    expect(c!.lower).not.toBe(a!.lower);
    expect(a!.lower).toBeLessThan(a!.estimate);
    expect(a!.upper).toBeGreaterThan(a!.estimate);
    expect(a!.estimate).toBe(rocAucSorted(scoreOrder(score), y));
  });

  it('cover the headline binary metrics, identically on a second run', () => {
    const { y, score } = data(500, 2);
    const r1 = evaluateBinary({ y, score }, { bootstrap: { resamples: 200, seed: 1, confidence: 0.9 } });
    const r2 = evaluateBinary({ y, score }, { bootstrap: { resamples: 200, seed: 1, confidence: 0.9 } });
    expect(Object.keys(r1.ci!).sort()).toEqual(['accuracy', 'average_precision', 'f1', 'roc_auc']);
    expect(r1.ci).toEqual(r2.ci);
    expect(r1.ci!.roc_auc!.confidence).toBe(0.9);
  });

  it('leave out resamples where the metric is undefined, and count them', () => {
    const y = Uint8Array.from([1, 0, 0, 0, 0, 0]);
    const ci = bootstrapRocAuc(y, Float64Array.from([0.9, 0.1, 0.2, 0.3, 0.4, 0.5]), { resamples: 200, seed: 3 });
    expect(ci!.validResamples).toBeLessThan(200);
    expect(ci!.validResamples).toBeGreaterThan(0);
  });
});

describe('compare_predictions', () => {
  const csv = (rows: Array<[number, number, number]>) => `id,label,score\n${rows.map((r) => r.join(',')).join('\n')}\n`;
  const { y, score } = data(400, 4);
  const rng = mulberry32(8);
  const better = Array.from(score, (s, i) => Math.min(1, Math.max(0, s + (y[i] ? 0.25 : -0.25) * rng())));
  const rowsA = Array.from(y, (v, i): [number, number, number] => [i, v, score[i]!]);
  const rowsB = Array.from(y, (v, i): [number, number, number] => [i, v, better[i]!]).reverse(); // other order: aligned by id

  it('finds a real improvement, aligned by id, and says so', () => {
    const r = comparePredictions({
      a: { name: 'baseline', table: parsePredictions(csv(rowsA), 'a.csv') },
      b: { name: 'candidate', table: parsePredictions(csv(rowsB), 'b.csv') },
      task: 'binary',
      bootstrap: { resamples: 300, seed: 1 },
      foldScores: { a: [0.8, 0.81, 0.79, 0.8, 0.82], b: [0.86, 0.88, 0.85, 0.87, 0.9] },
    });
    expect(r.metric).toBe('roc_auc');
    expect(r.better).toBe('b');
    expect(r.difference!).toBeGreaterThan(0);
    expect(r.pairedBootstrap!.pValue).toBeLessThan(0.05);
    expect(r.mcnemar).toBeDefined();
    expect(r.folds!.correctedTTest.pValue!).toBeLessThan(0.05);
    expect(r.findings.every((f) => f.favours === 'b')).toBe(true);
    expect(r.verdict).toMatch(/^candidate is better than baseline on roc_auc/);
  });

  it('calls identical predictions not different', () => {
    const t = parsePredictions(csv(rowsA), 'a.csv');
    const r = comparePredictions({
      a: { name: 'A', table: t },
      b: { name: 'B', table: t },
      task: 'binary',
      bootstrap: { resamples: 100, seed: 1 },
    });
    expect(r.better).toBeNull();
    expect(r.mcnemar!.pValue).toBe(1);
    expect(r.verdict).toMatch(/^No significant difference/);
  });

  it('refuses two different test sets', () => {
    const changed = rowsA.map((r, i): [number, number, number] => (i === 7 ? [r[0], 1 - r[1], r[2]] : r));
    expect(() =>
      comparePredictions({
        a: { name: 'A', table: parsePredictions(csv(rowsA), 'a.csv') },
        b: { name: 'B', table: parsePredictions(csv(changed), 'b.csv') },
        task: 'binary',
      }),
    ).toThrow(/A and B were not evaluated on the same test set: a\.csv row 8 and b\.csv row 8 have different values in column "label"/);
    expect(() =>
      comparePredictions({
        a: { name: 'A', table: parsePredictions(csv(rowsA), 'a.csv') },
        b: { name: 'B', table: parsePredictions(csv(rowsA.slice(1)), 'b.csv') },
        task: 'binary',
      }),
    ).toThrow(/not evaluated on the same test set/);
  });

  it('compares regressions by paired bootstrap of RMSE (lower is better)', () => {
    const rows = (noise: number) =>
      `y_true,y_pred\n${Array.from({ length: 300 }, (_, i) => `${i},${i + noise * Math.sin(i * 7.1)}`).join('\n')}\n`;
    const r = comparePredictions({
      a: { name: 'A', table: parsePredictions(rows(5), 'a.csv') },
      b: { name: 'B', table: parsePredictions(rows(1), 'b.csv') },
      task: 'regression',
      bootstrap: { resamples: 200, seed: 2 },
    });
    expect(r.direction).toBe('minimize');
    expect(r.better).toBe('b');
  });

  it('compares multiclass predictions with a label only one model predicts, and 1 = 1.0 in the truth', () => {
    const a = `id,label,pred\n${Array.from({ length: 60 }, (_, i) => `${i},${i % 3},${i % 3}`).join('\n')}\n`;
    const b = `id,label,pred\n${Array.from({ length: 60 }, (_, i) => `${i},${(i % 3).toFixed(1)},${i % 5 === 0 ? 7 : i % 3}`).join('\n')}\n`;
    const r = comparePredictions({
      a: { name: 'A', table: parsePredictions(a, 'a.csv') },
      b: { name: 'B', table: parsePredictions(b, 'b.csv') },
      task: 'multiclass',
    });
    expect(r.values).toEqual({ a: 1, b: 0.8 });
    expect(r.mcnemar).toMatchObject({ aOnly: 12, bOnly: 0, method: 'exact' });
    expect(r.better).toBe('a');
    expect(r.verdict).toMatch(/^A is better than B on accuracy \(higher is better\): 1\.0000 vs 0\.8000 on the test set/);
    expect(r.verdict).toMatch(/McNemar \(test set\): favours A on accuracy/);
  });
});
