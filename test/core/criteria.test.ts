import { describe, expect, it } from 'vitest';
import { criteriaFromMarkdown, meetsCriterion, parseCriterion, readCriterion } from '../../mcp-server/src/core/criteria.js';
import { normalizeMetricName } from '../../mcp-server/src/core/names.js';

describe('success criteria', () => {
  it.each([
    ['Precision@10 > 0.25', 'precision_at_10', '>', 0.25],
    ['RMSE < $50', 'rmse', '<', 50],
    ['MAPE < 10%', 'mape', '<', 0.1],
    ['ROC AUC ≥ 0.9', 'roc_auc', '>=', 0.9],
    ['f1 >= .8', 'f1', '>=', 0.8],
    ['- **Recall** => 0.6', 'recall', '>=', 0.6],
    ['R² > 0.7', 'r2', '>', 0.7],
    ['R^2 > 0.4', 'r2', '>', 0.4],
    ['macro F1 > 0.9', 'f1_macro', '>', 0.9],
    ['AUC >= .85', 'roc_auc', '>=', 0.85],
    ['precision@10=0.28 > 0.25 target', 'precision_at_10', '>', 0.25],
  ])('parses %j', (text, metric, op, value) => {
    const c = parseCriterion(text)!;
    expect(c).toMatchObject({ metric, op });
    expect(c.value).toBeCloseTo(value, 12);
  });
  it('refuses a metric nobody knows, with suggestions, unless the caller names it as a custom metric', () => {
    const r = readCriterion('Revenue error =< $1,250.5');
    expect(r && 'problem' in r && r.problem).toMatchObject({ unknownMetric: true, slug: 'revenue_error' });
    expect(parseCriterion('Revenue error =< $1,250.5')).toBeUndefined();
    expect(parseCriterion('Revenue error =< $1,250.5', ['revenue_error'])).toMatchObject({
      metric: 'revenue_error',
      op: '<=',
      value: 1250.5,
      custom: true,
    });
    const typo = readCriterion('acuracy > 0.9');
    expect(typo && 'problem' in typo && typo.problem.suggestions[0]).toBe('accuracy');
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
    expect(meetsCriterion(0.25, parseCriterion('p >= 0.25', ['p'])!)).toBe(true);
  });
  it("reads the Success Criteria section and the seeds' inline form, and reports what it cannot read", () => {
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
