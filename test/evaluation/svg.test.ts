/** Plots: deterministic bytes, well-formed XML, escaped text, no scripts or external references. */
import { describe, expect, it } from 'vitest';
import { evaluatePredictionsFile, mulberry32 } from '../../mcp-server/src/core/evaluation/index.js';
import { renderEvaluationReport, renderComparisonSection } from '../../mcp-server/src/render/evaluation-report.js';
import { renderEvaluationPlots } from '../../mcp-server/src/render/svg/evaluation-plots.js';
import { metricHistorySvg } from '../../mcp-server/src/render/svg/metric-history.js';
import { residualsSvg } from '../../mcp-server/src/render/svg/residuals.js';

/** A small XML well-formedness check: balanced tags, quoted attributes, only the five entities, no raw '<' or '&'. */
function checkXml(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf('<', i);
    const textPart = svg.slice(i, lt < 0 ? svg.length : lt);
    expect(textPart.replace(/&(amp|lt|gt|quot|#39);/g, ''), 'raw & in text').not.toContain('&');
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    expect(m, `malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`).not.toBeNull();
    const [, close, name, , self] = m!;
    if (close) expect(stack.pop(), `unbalanced </${name}>`).toBe(name);
    else if (!self) stack.push(name!);
    i = tag.lastIndex;
  }
  expect(stack).toEqual([]);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).not.toMatch(/<script|javascript:|href=|@import|url\(/i);
}

function multiclassFile(): string {
  const rng = mulberry32(3);
  const rows = ['label,proba_<b>&x,proba_"q",proba_c|d'];
  for (let i = 0; i < 300; i++) {
    const a = rng();
    const b = rng() * (1 - a);
    const y = rng() < a ? '<b>&x' : rng() < 0.5 ? '"q"' : 'c|d';
    rows.push(`${JSON.stringify(y).replace(/\\"/g, '""')},${a},${b},${1 - a - b}`);
  }
  return rows.join('\n');
}

describe('SVG plots', () => {
  const result = evaluatePredictionsFile({ text: multiclassFile(), fileName: 'm.csv', task: 'multiclass', bootstrap: { resamples: 50 } });
  const history = [
    { metric: 'loss', value: 0.9, step: 0 },
    { metric: 'loss', value: 0.5, step: 1 },
    { metric: 'val <acc> & more', value: 0.7, step: 1 },
    { metric: 'loss', value: Number.NaN, step: 2 },
  ];

  it('renders every plot a multiclass result supports, well-formed and escaped', () => {
    const plots = renderEvaluationPlots(result, history);
    expect(plots.map((p) => p.fileName)).toEqual([
      'confusion-matrix.svg',
      'roc-curve.svg',
      'precision-recall-curve.svg',
      'calibration.svg',
      'metrics-over-steps.svg',
    ]);
    for (const p of plots) checkXml(p.svg);
    const cm = plots[0]!.svg;
    expect(cm).toContain('&lt;b&gt;&amp;x');
    expect(cm).not.toContain('<b>');
  });

  it('is deterministic: same input, same bytes', () => {
    const again = evaluatePredictionsFile({ text: multiclassFile(), fileName: 'm.csv', task: 'multiclass', bootstrap: { resamples: 50 } });
    expect(renderEvaluationPlots(again, history)).toEqual(renderEvaluationPlots(result, history));
    expect(metricHistorySvg([...history].reverse())).toBe(metricHistorySvg(history));
  });

  it('keeps residual plots small: at most 5,000 points', () => {
    const n = 50_000;
    const y = Float64Array.from({ length: n }, (_, i) => i);
    const r = evaluatePredictionsFile({
      text: `y_true,y_pred\n${Array.from(y, (v) => `${v},${v + Math.sin(v)}`).join('\n')}\n`,
      fileName: 'r.csv',
      task: 'regression',
      bootstrap: false,
    });
    expect(r.residuals!.predicted.length).toBe(5000);
    const svg = residualsSvg(r.residuals!);
    checkXml(svg);
    expect((svg.match(/h0/g) ?? []).length).toBe(5000);
    expect(svg.length).toBeLessThan(150_000);
  });

  it('writes a report that links the plots and escapes table text', () => {
    const plots = renderEvaluationPlots(result);
    const md = renderEvaluationReport({ experiment: 'rf|v2', predictionsFile: 'data/preds.csv', result, plots });
    expect(md).toContain('# Evaluation: rf\\|v2');
    expect(md).toContain('| roc_auc |');
    expect(md).toContain('![Confusion matrix](confusion-matrix.svg)');
    expect(md).toContain('c\\|d');
    expect(md).not.toContain('<b>');
    expect(md).toBe(renderEvaluationReport({ experiment: 'rf|v2', predictionsFile: 'data/preds.csv', result, plots }));
    expect(typeof renderComparisonSection).toBe('function');
  });
});
