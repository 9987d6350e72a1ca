/**
 * Significance in the metric's direction: the corrected resampled t-test and the Wilcoxon floor checked against
 * SciPy computed in the same test, and verdicts that name the favoured model for every test and say when the
 * tests disagree.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { comparePredictions } from '../../mcp-server/src/core/evaluation/compare.js';
import { parsePredictions } from '../../mcp-server/src/core/evaluation/predictions-file.js';
import { correctedResampledTTest, wilcoxonSignedRank } from '../../mcp-server/src/core/evaluation/tests.js';

const PYTHON = process.env.SKLEARN_PYTHON ?? '/usr/bin/python3';
const scipyMissing = spawnSync(PYTHON, ['-c', 'import scipy'], { encoding: 'utf8' }).status !== 0;
if (scipyMissing) console.warn(`SciPy cross-checks skipped: ${PYTHON} cannot import scipy`);

/** Runs a Python snippet that prints one JSON value. */
function scipy(code: string): any {
  const r = spawnSync(PYTHON, ['-c', `import json, numpy as np, scipy.stats as st\n${code}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe('corrected resampled t-test (Nadeau & Bengio)', () => {
  const cases = [
    { a: [0.81, 0.79, 0.84, 0.8, 0.83], b: [0.84, 0.8, 0.86, 0.85, 0.84], ratio: 1 / 4 },
    {
      a: [61.2, 58.9, 63.4, 57.1, 60.0, 59.5, 62.2, 58.3, 61.0, 60.4],
      b: [58.0, 57.2, 61.9, 55.0, 59.1, 57.7, 60.3, 57.0, 59.9, 58.8],
      ratio: 1 / 9,
    },
    { a: [0.7, 0.72, 0.69], b: [0.71, 0.7, 0.73], ratio: 0.25 },
  ];
  it.skipIf(scipyMissing).each(cases)('agrees with the formula evaluated by SciPy (%#)', ({ a, b, ratio }) => {
    const mine = correctedResampledTTest(a, b, ratio);
    const ref = scipy(`
a = np.array(${JSON.stringify(a)}); b = np.array(${JSON.stringify(b)}); r = ${ratio}
d = b - a; J = len(d)
se = np.sqrt((1 / J + r) * d.var(ddof=1))
t = d.mean() / se
half = st.t.ppf(0.975, J - 1) * se
print(json.dumps({"t": t, "p": 2 * st.t.sf(abs(t), J - 1), "lo": d.mean() - half, "hi": d.mean() + half,
                  "plain_p": st.ttest_rel(b, a).pvalue}))`);
    expect(mine.statistic!).toBeCloseTo(ref.t, 10);
    expect(mine.pValue!).toBeCloseTo(ref.p, 10);
    expect(mine.lower!).toBeCloseTo(ref.lo, 8);
    expect(mine.upper!).toBeCloseTo(ref.hi, 8);
    // The correction only ever widens: the plain paired t-test is anti-conservative on CV folds.
    expect(mine.pValue!).toBeGreaterThan(ref.plain_p);
  });

  it('is undefined, with a reason, for one fold, zero variance or a bad ratio', () => {
    expect(correctedResampledTTest([0.5], [0.6], 0.25).note).toMatch(/at least 2/);
    expect(correctedResampledTTest([0.5, 0.6], [0.6, 0.7], 0.25).note).toMatch(/zero variance/);
    expect(correctedResampledTTest([0.5, 0.6], [0.6, 0.8], 0).note).toMatch(/ratio/);
  });
});

describe("Wilcoxon's floor", () => {
  it.skipIf(scipyMissing)("with 5 folds of one sign the smallest p is SciPy's 0.0625, and the test says it cannot reach 0.05", () => {
    const a = [0.8, 0.81, 0.79, 0.8, 0.82];
    const b = [0.85, 0.87, 0.86, 0.88, 0.91]; // differences 0.05 … 0.09, untied: the exact method
    const w = wilcoxonSignedRank(a, b);
    const ref = scipy(`print(json.dumps(st.wilcoxon(${JSON.stringify(b)}, ${JSON.stringify(a)}).pvalue))`);
    expect(w.pValue).toBeCloseTo(ref, 12);
    expect(w.minPValue).toBe(0.0625);
    expect(w.method).toBe('exact');
    expect(wilcoxonSignedRank(a.concat([0.8, 0.8, 0.8]), b.concat([0.9, 0.91, 0.92])).minPValue).toBe(2 / 256);
  });

  it.skipIf(scipyMissing)('with tied differences the normal approximation goes below the exact floor, and the floor wins', () => {
    const a = [0.8, 0.81, 0.79, 0.8, 0.82];
    const b = [0.86, 0.88, 0.85, 0.87, 0.9]; // differences 0.06, 0.07, 0.06, 0.07, 0.08: ties
    const w = wilcoxonSignedRank(a, b);
    const ref = scipy(`print(json.dumps(st.wilcoxon(${JSON.stringify(b)}, ${JSON.stringify(a)}, method="approx").pvalue))`);
    expect(w.method).toBe('approx');
    expect(w.pValue).toBeCloseTo(ref, 12);
    expect(w.pValue!).toBeLessThan(0.05);
    expect(w.minPValue).toBe(0.0625);
  });
});

describe('compare_predictions names the favoured model for every test', () => {
  const n = 60;
  const truth = Array.from({ length: n }, (_, i) => 50 + ((i * 37) % 23));
  const table = (errors: (i: number) => number, name: string) =>
    parsePredictions(`id,y_true,y_pred\n${truth.map((y, i) => `${i},${y},${y + errors(i)}`).join('\n')}\n`, name);
  // B's test-set errors are half of A's: B is better on RMSE (lower is better).
  const a = table((i) => (i % 2 ? 4 : -4), 'a.csv');
  const b = table((i) => (i % 2 ? 2 : -2), 'b.csv');

  it('a minimised metric: lower RMSE wins and every test favours the same model', () => {
    const r = comparePredictions({
      a: { name: 'ridge', table: a },
      b: { name: 'forest', table: b },
      task: 'regression',
      bootstrap: { resamples: 300, seed: 2 },
      foldScores: { a: [4.1, 3.9, 4.3, 4.0, 4.2], b: [2.1, 2.0, 2.2, 1.9, 2.3], metric: 'rmse' },
    });
    expect(r.direction).toBe('minimize');
    expect(r.better).toBe('b');
    expect(r.findings.map((f) => [f.test, f.favours])).toEqual([
      ['paired_bootstrap', 'b'],
      ['corrected_t_test', 'b'],
      ['wilcoxon', 'b'],
    ]);
    expect(r.verdict).toMatch(/^forest is better than ridge on rmse \(lower is better\)/);
    expect(r.verdict).not.toMatch(/disagree/);
    expect(r.findings.find((f) => f.test === 'wilcoxon')!.canReachAlpha).toBe(false);
    expect(r.folds!.correctedTTest.testTrainRatio).toBe(0.25); // 1/(k−1) for 5 folds
  });

  it('says so when the test set and the folds point in opposite directions', () => {
    const r = comparePredictions({
      a: { name: 'ridge', table: a },
      b: { name: 'forest', table: b },
      task: 'regression',
      bootstrap: { resamples: 300, seed: 2 },
      // On the folds, forest's RMSE is the higher one.
      foldScores: {
        a: [2.0, 2.2, 1.9, 2.1, 2.0, 2.2, 1.8, 2.1, 2.0, 2.1],
        b: [3.0, 3.1, 2.9, 3.3, 3.0, 3.2, 2.8, 3.1, 3.0, 3.2],
        metric: 'rmse',
      },
    });
    expect(r.better).toBe('b');
    expect(r.findings.find((f) => f.test === 'corrected_t_test')).toMatchObject({ favours: 'a', significant: true, canReachAlpha: true });
    expect(r.verdict).toMatch(
      /The tests disagree in direction: corrected resampled t-test \(cv folds\), Wilcoxon signed-rank \(cv folds\) favour ridge; paired bootstrap \(test set\) favour forest/,
    );
  });

  it('the ratio can be given for other resampling schemes', () => {
    const r = comparePredictions({
      a: { name: 'ridge', table: a },
      b: { name: 'forest', table: b },
      task: 'regression',
      bootstrap: { resamples: 100, seed: 2 },
      foldScores: { a: [4.1, 3.9, 4.3, 4.0, 4.2], b: [2.1, 2.0, 2.2, 1.9, 2.3], testTrainRatio: 0.5 },
    });
    expect(r.folds!.correctedTTest.testTrainRatio).toBe(0.5);
  });
});
