import { describe, expect, it } from 'vitest';
import { bestOf, improvementOver, inferDirection, rankByMetric } from '../../mcp-server/src/core/ranking.js';

const exp = (name: string, value: number | undefined, baseline = false, status = 'completed') => ({
  name,
  baseline,
  status,
  metrics: (value === undefined ? {} : { acc: value }) as Record<string, number>,
});

describe('direction of a metric', () => {
  it.each([
    ['val_loss', 'minimize'],
    ['rmse', 'minimize'],
    ['MAE', 'minimize'],
    ['mape', 'minimize'],
    ['latency_ms', 'minimize'],
    ['error_rate', 'minimize'],
    ['brier', 'minimize'],
    ['accuracy', 'maximize'],
    ['roc_auc', 'maximize'],
    ['precision@10', 'maximize'],
    ['r2', 'maximize'],
  ])('%s → %s', (m, d) => expect(inferDirection(m)).toBe(d));
});

describe('ranking', () => {
  it('ranks best first, keeps NaN last, lists experiments without the metric', () => {
    const { ranked, missing } = rankByMetric(
      [exp('b', 0.8), exp('nan', Number.NaN), exp('a', 0.9), exp('none', undefined), exp('c', 0.8)],
      'acc',
      'maximize',
    );
    expect(ranked.map((r) => r.experiment.name)).toEqual(['a', 'b', 'c', 'nan']);
    expect(ranked.map((r) => r.rank)).toEqual([1, 2, 3, 4]);
    expect(missing.map((m) => m.name)).toEqual(['none']);
  });
  it('minimizes when asked', () => {
    const { ranked } = rankByMetric([exp('a', 0.9), exp('b', 0.1)], 'acc', 'minimize');
    expect(ranked[0]!.experiment.name).toBe('b');
  });
  it('picks the best baseline and the best candidate, never a failed run', () => {
    const { ranked } = rankByMetric(
      [exp('base', 0.7, true), exp('failed', 0.99, false, 'failed'), exp('good', 0.85), exp('nan', Number.NaN)],
      'acc',
      'maximize',
    );
    const { best, bestBaseline, bestCandidate } = bestOf(ranked);
    expect(ranked[0]!.experiment.name).toBe('failed');
    expect(best!.experiment.name).toBe('good');
    expect(bestBaseline!.experiment.name).toBe('base');
    expect(bestCandidate!.experiment.name).toBe('good');
  });
});

describe('improvement over the baseline', () => {
  it('uses the share of the gap closed for bounded scores', () => {
    const hi = improvementOver('accuracy', 'maximize', { name: 'b', value: 0.9 }, { name: 'c', value: 0.95 });
    const lo = improvementOver('accuracy', 'maximize', { name: 'b', value: 0.5 }, { name: 'c', value: 0.55 });
    expect(hi.rule).toBe('gap_closed');
    expect(hi.improvement).toBeCloseTo(0.5, 12);
    expect(lo.improvement).toBeCloseTo(0.1, 12);
    expect(hi.absolute).toBeCloseTo(0.05, 12);
  });
  it('treats an unknown maximize metric as bounded when every observed value is in [0, 1]', () => {
    expect(improvementOver('my_score', 'maximize', { name: 'b', value: 0.6 }, { name: 'c', value: 0.8 }, [0.6, 0.8]).rule).toBe(
      'gap_closed',
    );
    expect(improvementOver('my_score', 'maximize', { name: 'b', value: 60 }, { name: 'c', value: 80 }, [60, 80])).toMatchObject({
      rule: 'relative_increase',
      improvement: 1 / 3,
    });
  });
  it('uses the relative reduction for metrics that minimize', () => {
    const r = improvementOver('rmse', 'minimize', { name: 'b', value: 80 }, { name: 'c', value: 60 });
    expect(r).toMatchObject({ rule: 'relative_reduction', improvement: 0.25, absolute: -20 });
  });
  it('is undefined, not infinite, when a relative baseline is zero', () => {
    expect(improvementOver('rmse', 'minimize', { name: 'b', value: 0 }, { name: 'c', value: 1 }).improvement).toBeNull();
  });
  it('is negative when the candidate is worse', () => {
    expect(improvementOver('f1', 'maximize', { name: 'b', value: 0.8 }, { name: 'c', value: 0.7 }).improvement!).toBeLessThan(0);
  });
});
