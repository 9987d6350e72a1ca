import { describe, expect, it } from 'vitest';
import { criteriaFromMarkdown, meetsCriterion, parseCriterion } from '../../mcp-server/src/core/criteria.js';
import { normalizeMetricName } from '../../mcp-server/src/core/names.js';

describe('success criteria', () => {
  it.each([
    ['Precision@10 > 0.25', 'precision_at_10', '>', 0.25],
    ['RMSE < $50', 'rmse', '<', 50],
    ['MAPE < 10%', 'mape', '<', 0.1],
    ['ROC AUC ≥ 0.9', 'roc_auc', '>=', 0.9],
    ['f1 >= .8', 'f1', '>=', 0.8],
    ['Latency <= 100ms', 'latency', '<=', 100],
    ['- **Recall** => 0.6', 'recall', '>=', 0.6],
    ['Revenue error =< $1,250.5', 'revenue_error', '<=', 1250.5],
    ['R² > 0.7', 'r2', '>', 0.7],
  ])('parses %j', (text, metric, op, value) => {
    const c = parseCriterion(text)!;
    expect(c).toMatchObject({ metric, op });
    expect(c.value).toBeCloseTo(value, 12);
  });
  it('returns undefined for prose', () => {
    expect(parseCriterion('Explain the top-3 recommendations')).toBeUndefined();
    expect(parseCriterion('Better than random baseline by 3x')).toBeUndefined();
  });
  it('compares with the right operator and never passes NaN', () => {
    const c = parseCriterion('rmse < 50')!;
    expect(meetsCriterion(49.9, c)).toBe(true);
    expect(meetsCriterion(50, c)).toBe(false);
    expect(meetsCriterion(Number.NaN, c)).toBe(false);
    expect(meetsCriterion(0.25, parseCriterion('p >= 0.25')!)).toBe(true);
  });
  it('reads the Success Criteria section and the seeds\' inline form, and reports what it cannot read', () => {
    const md = [
      '## ML Problem Definition',
      '- Success metrics: Precision@10 > 0.25, Recall@10 > 0.15',
      '## Success Criteria',
      '- RMSE < $50',
      '- Explain the top-3 recommendations',
      '## User Stories',
      '### US-002: meets the success criteria',
      '- [ ] **AC-US2-01**: not a criterion',
      '## Data',
      '- rows > 1000',
    ].join('\n');
    const { criteria, unparsed } = criteriaFromMarkdown(md);
    expect(criteria.map((c) => `${c.metric}${c.op}${c.value}`)).toEqual(['precision_at_10>0.25', 'recall_at_10>0.15', 'rmse<50']);
    expect(unparsed).toEqual(['Explain the top-3 recommendations']);
  });
  it('normalises metric names on both sides', () => {
    expect(normalizeMetricName('Precision@10')).toBe(normalizeMetricName('precision_at_10'));
    expect(normalizeMetricName('ROC-AUC')).toBe('roc_auc');
  });
});
