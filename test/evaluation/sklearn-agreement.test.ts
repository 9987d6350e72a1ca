/**
 * Every metric agrees with the committed scikit-learn / SciPy values (test/fixtures/evaluation/expected.json,
 * made by generate_expected.py) to 1e-9, on cases with tied scores, one class present, empty ranking lists,
 * all-correct and all-wrong predictions, 1:99 imbalance, 3–4 classes and zeros in regression targets.
 */
import { describe, expect, it } from 'vitest';
import {
  chi2Sf,
  evaluateBinary,
  evaluateMulticlass,
  evaluatePredictionsFile,
  evaluateRegression,
  mcnemarFromCounts,
  normalSf,
  pairedTTest,
  studentTTwoSided,
  tuneThreshold,
  wilcoxonSignedRank,
} from '../../mcp-server/src/core/evaluation/index.js';
import { expectClose, loadExpected, type Expected } from './helpers.js';

const expected = loadExpected();

function binaryInput(c: Expected) {
  return {
    y: Uint8Array.from(c.input.y as number[]),
    score: Float64Array.from(c.input.score as number[]),
    yPred: Uint8Array.from(c.input.y_pred as number[]),
  };
}

describe('binary classification agrees with scikit-learn', () => {
  for (const c of expected.binary as Expected[]) {
    it(c.name, () => {
      const r = evaluateBinary(binaryInput(c), { bootstrap: false });
      for (const [key, value] of Object.entries(c.expected as Record<string, number | null>))
        expectClose(r.metrics[key], value, `${c.name}.${key}`);
      expect(r.confusionMatrix!.matrix).toEqual(c.confusion_matrix);
    });
  }

  it('threshold tuning matches the precision_recall_curve reference', () => {
    for (const c of expected.binary as Expected[]) {
      const { y, score } = binaryInput(c);
      for (const t of c.thresholds as Expected[]) {
        const r = tuneThreshold(y, score, { metric: t.metric, value: t.value });
        const label = `${c.name} ${t.metric} ≥ ${t.value}`;
        expect(r.reached, label).toBe(t.reached);
        if (!t.reached) continue;
        expectClose(r.threshold, t.threshold, `${label} threshold`);
        expectClose(r.precision, t.precision, `${label} precision`);
        expectClose(r.recall, t.recall, `${label} recall`);
      }
    }
  });

  it('reads the same case from a CSV file and gives the same metrics', () => {
    const c = (expected.binary as Expected[]).find((x) => x.name === 'tied_scores')!;
    const rows = (c.input.y as number[]).map((y, i) => `${y},${c.input.score[i]},${c.input.y_pred[i]}`);
    const text = `y_true,score,y_pred\r\n${rows.join('\r\n')}\r\n`;
    const r = evaluatePredictionsFile({ text, fileName: 'predictions.csv', task: 'binary', bootstrap: false });
    for (const [key, value] of Object.entries(c.expected as Record<string, number | null>)) expectClose(r.metrics[key], value, key);
  });
});

describe('multiclass classification agrees with scikit-learn', () => {
  for (const c of expected.multiclass as Expected[]) {
    it(c.name, () => {
      const proba = (c.labels as string[]).map((_, k) => Float64Array.from(c.input.proba as number[][], (row) => row[k]!));
      const r = evaluateMulticlass(
        { yTrue: Int32Array.from(c.input.y), yPred: Int32Array.from(c.input.y_pred), proba, labels: c.labels },
        { bootstrap: false },
      );
      for (const [key, value] of Object.entries(c.expected as Record<string, number | null>))
        expectClose(r.metrics[key], value, `${c.name}.${key}`);
      expect(r.confusionMatrix!.matrix).toEqual(c.confusion_matrix);
    });
  }

  it('reads probability columns and string labels from JSONL', () => {
    const c = (expected.multiclass as Expected[]).find((x) => x.name === 'four_string_classes')!;
    const labels = c.labels as string[];
    const lines = (c.input.y as number[]).map((y, i) => {
      const row: Record<string, unknown> = { label: labels[y], prediction: labels[c.input.y_pred[i]] };
      labels.forEach((l, k) => (row[`proba_${l}`] = c.input.proba[i][k]));
      return JSON.stringify(row);
    });
    const r = evaluatePredictionsFile({ text: lines.join('\n'), fileName: 'preds.jsonl', task: 'multiclass', bootstrap: false });
    for (const [key, value] of Object.entries(c.expected as Record<string, number | null>)) expectClose(r.metrics[key], value, key);
  });
});

describe('regression and forecast metrics agree with scikit-learn', () => {
  for (const c of expected.regression as Expected[]) {
    it(c.name, () => {
      const forecast = c.task === 'forecast';
      const r = evaluateRegression(
        { y: Float64Array.from(c.input.y), yhat: Float64Array.from(c.input.y_pred) },
        { bootstrap: false, forecast, seasonalPeriod: c.seasonal_period, ...(c.input.insample ? { insample: c.input.insample } : {}) },
      );
      for (const [key, value] of Object.entries(c.expected as Record<string, number | null>))
        expectClose(r.metrics[key], value, `${c.name}.${key}`);
    });
  }
});

describe('ranking metrics agree with the reference (NDCG with sklearn.metrics.ndcg_score)', () => {
  it('row format with tied scores and a query without relevant items', () => {
    const c = (expected.ranking as Expected[]).find((x) => x.format === 'rows')!;
    const text = [
      'query,item,relevance,score',
      ...(c.input.rows as Expected[]).map((r) => `${r.query},${r.item},${r.relevance},${r.score}`),
    ].join('\n');
    const r = evaluatePredictionsFile({ text, fileName: 'ranking.csv', task: 'ranking', k: c.k, bootstrap: false });
    for (const [key, value] of Object.entries(c.expected as Record<string, number | null>)) expectClose(r.metrics[key], value, key);
    expect(r.warnings.some((w) => w.includes('no relevant item'))).toBe(true);
  });

  it('list format with an empty list and graded relevance', () => {
    const c = (expected.ranking as Expected[]).find((x) => x.format === 'lists')!;
    const text = (c.input.lists as Expected[]).map((l) => JSON.stringify(l)).join('\n');
    const r = evaluatePredictionsFile({ text, fileName: 'recs.jsonl', task: 'ranking', k: c.k, bootstrap: false });
    for (const [key, value] of Object.entries(c.expected as Record<string, number | null>)) expectClose(r.metrics[key], value, key);
  });
});

describe('statistical tests agree with SciPy', () => {
  for (const c of expected.stats.ttest as Expected[])
    it(`paired t-test ${c.name}`, () => {
      const r = pairedTTest(c.a, c.b);
      expectClose(r.statistic, c.statistic, 't');
      expectClose(r.pValue, c.p, 'p');
    });
  for (const c of expected.stats.wilcoxon as Expected[])
    it(`Wilcoxon signed-rank ${c.name}`, () => {
      const r = wilcoxonSignedRank(c.a, c.b);
      expect(r.method).toBe(c.method);
      expectClose(r.statistic, c.statistic, 'statistic');
      expectClose(r.pValue, c.p, 'p');
    });
  it('McNemar (exact binomial below 25 discordant pairs, corrected chi-square above)', () => {
    for (const c of expected.stats.mcnemar as Expected[])
      expectClose(mcnemarFromCounts(c.a_only, c.b_only).pValue, c.p, `mcnemar ${c.a_only}/${c.b_only}`);
  });
  it('distribution functions', () => {
    for (const d of expected.stats.distributions as Expected[]) {
      const v = d.fn === 'normal_sf' ? normalSf(d.x) : d.fn === 'chi2_sf' ? chi2Sf(d.x, d.df) : studentTTwoSided(d.x, d.df);
      expectClose(v, d.value, `${d.fn}(${d.x}${d.df ? `, ${d.df}` : ''})`, 1e-12);
    }
  });
});
