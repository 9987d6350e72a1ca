/** Undefined metrics are null with a warning that names them — never a crash, never a silent 0. */
import { describe, expect, it } from 'vitest';
import {
  evaluateBinary,
  evaluateMulticlass,
  evaluatePredictionsFile,
  evaluateRegression,
  pairedTTest,
  wilcoxonSignedRank,
} from '../../mcp-server/src/core/evaluation/index.js';

const has = (warnings: string[], text: string) =>
  expect(
    warnings.some((w) => w.includes(text)),
    `warnings: ${warnings.join(' / ')}`,
  ).toBe(true);

describe('undefined metrics', () => {
  it('ROC AUC and average precision with one class present', () => {
    const r = evaluateBinary({ y: new Uint8Array(5), score: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.9]) }, { bootstrap: false });
    expect(r.metrics.roc_auc).toBeNull();
    expect(r.metrics.average_precision).toBeNull();
    has(r.warnings, 'roc_auc is undefined: only one class');
    has(r.warnings, 'average_precision is undefined');
    expect(r.metrics.accuracy).toBe(0.8);
  });

  it('precision with nothing predicted positive is 0 as in scikit-learn, with a warning', () => {
    const r = evaluateBinary({ y: Uint8Array.from([1, 0, 1]), yPred: new Uint8Array(3) }, { bootstrap: false });
    expect(r.metrics.precision).toBe(0);
    has(r.warnings, 'precision is ill-defined');
    has(r.warnings, 'mcc is undefined');
  });

  it("Cohen's kappa when both label sets are one class", () => {
    const r = evaluateBinary({ y: new Uint8Array(4), yPred: new Uint8Array(4) }, { bootstrap: false });
    expect(r.metrics.cohen_kappa).toBeNull();
    has(r.warnings, 'cohen_kappa is undefined');
  });

  it('log loss, Brier and ECE on scores that are not probabilities', () => {
    const r = evaluateBinary({ y: Uint8Array.from([0, 1, 1]), score: Float64Array.from([-2, 0.5, 3]) }, { bootstrap: false });
    expect(r.metrics.log_loss).toBeNull();
    expect(r.metrics.roc_auc).toBe(1);
    has(r.warnings, 'not probabilities');
  });

  it('one-vs-rest ROC AUC with a class absent from the truth', () => {
    const proba = [Float64Array.from([0.6, 0.2]), Float64Array.from([0.3, 0.7]), Float64Array.from([0.1, 0.1])];
    const r = evaluateMulticlass({ yTrue: Int32Array.from([0, 1]), proba, labels: ['a', 'b', 'c'] }, { bootstrap: false });
    expect(r.metrics.roc_auc).toBeNull();
    has(r.warnings, 'class "c" never occurs');
  });

  it('MASE with a too-short series or a perfect naive forecast; R² on a constant target', () => {
    const short = evaluateRegression(
      { y: Float64Array.from([1, 2]), yhat: Float64Array.from([1, 3]) },
      { forecast: true, seasonalPeriod: 4, bootstrap: false },
    );
    expect(short.metrics.mase).toBeNull();
    has(short.warnings, 'mase is undefined');
    const flat = evaluateRegression(
      { y: Float64Array.from([2, 2, 2]), yhat: Float64Array.from([1, 2, 3]) },
      { forecast: true, bootstrap: false },
    );
    expect(flat.metrics.mase).toBeNull();
    expect(flat.metrics.r2).toBe(0);
    has(flat.warnings, 'r2 and explained_variance are undefined');
  });

  it('ranking metrics when no query has a relevant item; threshold targets out of reach', () => {
    const r = evaluatePredictionsFile({
      text: 'query,item,relevance,score\nq1,a,0,0.5\nq1,b,0,0.4\n',
      fileName: 'r.csv',
      task: 'ranking',
      bootstrap: false,
    });
    expect(r.metrics.ndcg_at_10).toBeNull();
    expect(r.metrics.coverage_at_10).toBe(1);
    has(r.warnings, 'no query has a relevant item');
    const t = evaluateBinary(
      { y: Uint8Array.from([1, 0, 0]), score: Float64Array.from([0.1, 0.9, 0.8]) },
      { targetPrecision: 0.9, bootstrap: false },
    );
    expect(t.threshold!.reached).toBe(false);
    expect(t.metrics.threshold).toBeNull();
    has(t.warnings, 'no threshold reaches precision ≥ 0.9');
  });

  it('paired tests with zero variance or all-equal scores', () => {
    expect(pairedTTest([0.8, 0.9], [0.85, 0.95]).pValue).toBeNull();
    expect(wilcoxonSignedRank([1, 2], [1, 2]).note).toBe('all differences are zero');
  });
});
