/**
 * evaluation-report.md for one experiment, and the comparison section for the increment's comparison report.
 * Pure: data in, markdown out; the same input gives the same text (no clock unless the caller passes one).
 */
import type { ComparisonResult, TestFinding } from '../core/evaluation/compare.js';
import type { EvaluationResult, MetricValue } from '../core/evaluation/types.js';

export interface EvaluationReportInput {
  experiment: string;
  /** The predictions file, as the user would name it (relative to the increment). */
  predictionsFile: string;
  result: EvaluationResult;
  /** Plot files written beside the report. */
  plots?: Array<{ fileName: string; title: string }>;
  /** ISO time to print, if wanted. */
  generatedAt?: string;
}

/** Escapes text for a markdown table cell or line: pipes, angle brackets, newlines. */
export function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

export function fmtMetric(v: MetricValue | undefined): string {
  if (v === null || v === undefined) return 'undefined';
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) return v.toExponential(4);
  return String(Number(v.toFixed(4)));
}

const TASK_NAMES: Record<string, string> = {
  binary: 'binary classification',
  multiclass: 'multiclass classification',
  regression: 'regression',
  forecast: 'forecast',
  ranking: 'ranking',
};

export function renderEvaluationReport(input: EvaluationReportInput): string {
  const { result } = input;
  const out: string[] = [`# Evaluation: ${md(input.experiment)}`, ''];
  const rows = result.task === 'ranking' ? `${result.n} queries` : `${result.n} rows`;
  out.push(`Predictions \`${md(input.predictionsFile)}\` — ${TASK_NAMES[result.task] ?? result.task}, ${rows}.`);
  if (result.positiveLabel !== undefined) out.push(`Positive label: \`${md(result.positiveLabel)}\`.`);
  const cols = Object.entries(result.columns).map(
    ([role, c]) =>
      `${role} = ${[c]
        .flat()
        .map((x) => `\`${md(x)}\``)
        .join(', ')}`,
  );
  if (cols.length) out.push(`Columns: ${cols.join('; ')}.`);
  if (input.generatedAt) out.push(`Generated ${md(input.generatedAt)}.`);
  out.push('', ...metricsTable(result));
  if (result.perClass && result.perClass.length) out.push('', ...perClassTable(result));
  if (result.confusionMatrix) out.push('', ...confusionTable(result));
  if (result.threshold) out.push('', ...thresholdSection(result));
  if (result.calibration)
    out.push(
      '',
      `Expected calibration error (${result.calibration.nBins} uniform bins, ${result.calibration.kind === 'binary' ? 'positive-class probability' : 'top-label confidence'}): ${fmtMetric(result.calibration.ece)}.`,
    );
  if (result.warnings.length) out.push('', '## Warnings', '', ...result.warnings.map((w) => `- ${md(w)}`));
  if (input.plots && input.plots.length)
    out.push(
      '',
      '## Plots',
      '',
      ...input.plots.flatMap((p) => [`### ${md(p.title)}`, '', `![${md(p.title)}](${encodeURI(p.fileName)})`, '']),
    );
  return `${out.join('\n').trimEnd()}\n`;
}

function metricsTable(result: EvaluationResult): string[] {
  const ci = result.ci ?? {};
  const anyCi = Object.keys(ci).length > 0;
  const first = Object.values(ci)[0];
  const head = anyCi ? `| Metric | Value | ${Math.round((first?.confidence ?? 0.95) * 100)}% CI |` : '| Metric | Value |';
  const out = ['## Metrics', '', head, anyCi ? '|---|---:|---|' : '|---|---:|'];
  for (const [key, v] of Object.entries(result.metrics)) {
    const c = ci[key];
    const interval = c ? `[${fmtMetric(c.lower)}, ${fmtMetric(c.upper)}]` : '';
    out.push(anyCi ? `| ${md(key)} | ${fmtMetric(v)} | ${interval} |` : `| ${md(key)} | ${fmtMetric(v)} |`);
  }
  if (first)
    out.push(
      '',
      `Confidence intervals: percentile bootstrap, ${first.resamples} resamples, seed ${first.seed}${result.task === 'ranking' ? ', resampling queries' : ''}.`,
    );
  return out;
}

function perClassTable(result: EvaluationResult): string[] {
  const pcs = result.perClass!;
  const withAuc = pcs.some((p) => p.rocAuc !== undefined);
  const out = [
    '## Per class',
    '',
    `| Class | Precision | Recall | F1 | Support |${withAuc ? ' ROC AUC (OvR) | AP (OvR) |' : ''}`,
    `|---|---:|---:|---:|---:|${withAuc ? '---:|---:|' : ''}`,
  ];
  for (const p of pcs) {
    const extra = withAuc ? ` ${fmtMetric(p.rocAuc)} | ${fmtMetric(p.averagePrecision)} |` : '';
    out.push(`| ${md(p.label)} | ${fmtMetric(p.precision)} | ${fmtMetric(p.recall)} | ${fmtMetric(p.f1)} | ${p.support} |${extra}`);
  }
  return out;
}

function confusionTable(result: EvaluationResult): string[] {
  const cm = result.confusionMatrix!;
  const out = ['## Confusion matrix', '', 'Rows: true label; columns: predicted label.', ''];
  out.push(`| true \\ predicted | ${cm.labels.map(md).join(' | ')} |`);
  out.push(`|---|${cm.labels.map(() => '---:').join('|')}|`);
  cm.matrix.forEach((row, i) => out.push(`| **${md(cm.labels[i]!)}** | ${row.join(' | ')} |`));
  return out;
}

function thresholdSection(result: EvaluationResult): string[] {
  const t = result.threshold!;
  const out = ['## Threshold for a target ' + t.target.metric, ''];
  if (!t.reached) {
    out.push(`No threshold reaches ${t.target.metric} ≥ ${t.target.value}.`);
    return out;
  }
  out.push(`Predict positive when score ≥ **${fmtMetric(t.threshold)}** to reach ${t.target.metric} ≥ ${t.target.value}:`, '');
  out.push(
    '| Precision | Recall | F1 | False positive rate | Accuracy | TP | FP | TN | FN |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  out.push(`| ${[t.precision, t.recall, t.f1, t.fpr, t.accuracy].map(fmtMetric).join(' | ')} | ${t.tp} | ${t.fp} | ${t.tn} | ${t.fn} |`);
  return out;
}

function findingLabel(r: ComparisonResult, f: TestFinding): string {
  switch (f.test) {
    case 'paired_bootstrap':
      return `Paired bootstrap of ${md(r.metric)} (${r.pairedBootstrap!.resamples} resamples, seed ${r.pairedBootstrap!.seed})`;
    case 'mcnemar':
      return `McNemar (${r.mcnemar!.method}; accuracy; only A right ${r.mcnemar!.aOnly}, only B right ${r.mcnemar!.bOnly})`;
    case 'corrected_t_test':
      return `Corrected resampled t-test (${r.folds!.n} folds of ${md(r.folds!.metric)}, n_test/n_train ${fmtMetric(r.folds!.correctedTTest.testTrainRatio)})`;
    case 'wilcoxon':
      return `Wilcoxon signed-rank (${r.folds!.wilcoxon.method ?? 'n/a'}; ${r.folds!.n} folds)`;
  }
}

/** A section for the increment's comparison report: both values, the tests, the effect sizes and the verdict. */
export function renderComparisonSection(r: ComparisonResult): string {
  const out = [`### ${md(r.b)} vs ${md(r.a)} on ${md(r.metric)}`, '', `**Verdict:** ${md(r.verdict)}`, ''];
  out.push('| Test | Evidence | Favours | B − A | 95% interval | p-value | Notes |', '|---|---|---|---:|---|---:|---|');
  const side = (f: TestFinding) => (f.favours === 'a' ? md(r.a) : f.favours === 'b' ? md(r.b) : 'neither');
  const interval = (f: TestFinding) => (f.lower !== null && f.upper !== null ? `[${fmtMetric(f.lower)}, ${fmtMetric(f.upper)}]` : '');
  for (const f of r.findings)
    out.push(
      `| ${findingLabel(r, f)} | ${f.evidence} | ${side(f)} | ${fmtMetric(f.difference)} | ${interval(f)} | ${fmtMetric(f.pValue)} | ${f.note ? md(f.note) : ''} |`,
    );
  const eff = [`difference ${fmtMetric(r.effectSize.difference)}`];
  if (r.relativeImprovement !== null) eff.push(`relative improvement of B ${fmtMetric(r.relativeImprovement)}`);
  if (r.effectSize.cohensDz !== undefined) eff.push(`Cohen's d_z ${fmtMetric(r.effectSize.cohensDz)}`);
  if (r.effectSize.oddsRatio !== undefined) eff.push(`McNemar odds ratio ${fmtMetric(r.effectSize.oddsRatio)}`);
  out.push('', `Effect size: ${eff.join('; ')}. ${r.n} paired ${r.task === 'ranking' ? 'queries' : 'rows'}; α = ${r.alpha}.`);
  if (r.warnings.length) out.push('', ...r.warnings.map((w) => `- ${md(w)}`));
  return `${out.join('\n')}\n`;
}
