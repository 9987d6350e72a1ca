/**
 * COMPLETION-SUMMARY.md: what an ML increment did and whether its model is ready to deploy. Pure: facts in, markdown
 * out. The `**Status**: COMPLETE` line is what SpecWeave's increment-status check looks for in a completion summary.
 */
import type { CompletionFacts, ExperimentLine, LoadTestFacts } from '../core/completion.js';
import type { Comparison } from '../core/comparison.js';
import { fmtMeasurement } from './comparison-report.js';
import { cell, fmt, fmtDuration, fmtPercent, table } from './format.js';

const ICON = { pass: '✅', warn: '⚠️', fail: '❌' } as const;
const RULE_TEXT = {
  gap_closed: 'share of the remaining gap to a perfect score closed',
  relative_reduction: 'relative reduction',
  relative_increase: 'relative increase',
} as const;
const LATENCY_METRICS = [
  ['latency_p50_ms', 'p50'],
  ['latency_p95_ms', 'p95'],
  ['latency_p99_ms', 'p99'],
  ['latency_mean_ms', 'mean'],
] as const;
/** Params of a load test worth repeating in the summary (the deploy tooling records these). */
const LOAD_TEST_PARAMS = [
  'url',
  'requests',
  'concurrency',
  'workers',
  'model',
  'model_name',
  'model_version',
  'version',
  'sha256',
  'model_sha256',
];

function bytesText(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) ((v /= 1024), (u += 1));
  return u === 0 ? `${n} bytes` : `${Number(v.toFixed(1))} ${units[u]} (${n} bytes)`;
}

function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function experimentRows(f: CompletionFacts): string[] {
  const c = f.comparison;
  if (!f.experiments.length) return ['No experiments were recorded.', ''];
  const sel = c
    ? `${cell(c.primary_metric)}: ${c.selection.source === 'cv' ? 'CV mean ± std (folds)' : c.selection.source === 'validation' ? 'validation' : 'test'}`
    : 'Selection';
  const testColumn = !c || c.selection.source !== 'test';
  const others = [...new Set(f.experiments.flatMap((e) => Object.keys(e.metrics)))].sort(
    (a, b) => (c?.columns.indexOf(a) ?? 0) - (c?.columns.indexOf(b) ?? 0),
  );
  const role = (e: ExperimentLine) => `${e.baseline ? 'baseline' : 'candidate'}${e.best ? ' ✅ **best**' : ''}`;
  const rows = f.experiments.map((e, i) => [
    String(i + 1),
    cell(e.experiment),
    role(e),
    e.status,
    e.selection ? fmtMeasurement(e.selection) : cell(e.note ?? '—'),
    ...(testColumn ? [fmt(e.test_value)] : []),
    ...others.map((m) => fmt(e.metrics[m])),
  ]);
  const header = [
    '#',
    'Experiment',
    'Role',
    'Status',
    sel,
    ...(testColumn ? [`${c ? cell(c.primary_metric) : 'primary metric'}: test`] : []),
    ...others.map(cell),
  ];
  return [table(header, rows), ''];
}

function whyLines(c: Comparison, best: string): string[] {
  const entry = c.ranking.find((r) => r.experiment === best);
  const s = c.selection;
  const lines = [
    s.source === 'cv'
      ? `- Selected on the ${entry?.selection.count ? `${entry.selection.count}-fold ` : ''}cross-validation mean of ${s.key} (${entry ? fmtMeasurement(entry.selection) : '—'}), because ${s.reason}; the test set only reports.`
      : s.source === 'validation'
        ? `- Selected on the validation metric val_${s.key} (${fmt(entry?.value)}), because ${s.reason}; the test set only reports.`
        : `- Selected on the test metric ${c.primary_metric} (${fmt(entry?.value)}), because ${s.reason}. A model chosen on the test set has an optimistic test score.`,
  ];
  if (entry && s.source !== 'test') lines.push(`- On the test set: ${c.primary_metric} ${fmt(entry.test_value)}`);
  const tie = c.ties.find((t) => t.experiments.includes(best));
  if (tie)
    lines.push(`- Tied with ${tie.experiments.filter((n) => n !== best).join(', ')} at ${fmt(tie.value)}; ordered by ${tie.broken_by}.`);
  const i = c.improvement;
  if (i) {
    lines.push(
      `- Against the best baseline ${i.baseline} on the ${i.measured_on === 'test' ? 'test set' : `${i.measured_on} value`}: ${fmt(i.baseline_value)} → ${fmt(i.candidate_value)}, ${i.absolute >= 0 ? '+' : ''}${fmt(i.absolute)} absolute, ${fmtPercent(i.improvement)} (${RULE_TEXT[i.rule]}).`,
    );
  } else if (!c.best_baseline) lines.push('- No baseline was recorded, so the gain over a simple model is unknown.');
  return lines;
}

function latencyText(t: LoadTestFacts): string {
  const parts = LATENCY_METRICS.filter(([k]) => t.metrics[k] !== undefined).map(([k, label]) => `${label} ${fmt(t.metrics[k])} ms`);
  if (t.metrics.throughput_rps !== undefined) parts.push(`throughput ${fmt(t.metrics.throughput_rps)} requests/s`);
  if (t.metrics.request_error_rate !== undefined) parts.push(`error rate ${fmtPercent(t.metrics.request_error_rate).replace(/^\+/, '')}`);
  const params = LOAD_TEST_PARAMS.filter((k) => t.params[k] !== undefined).map((k) => `${k} ${cell(paramText(t.params[k]))}`);
  return `${parts.length ? parts.join(', ') : 'no latency metrics logged'} (load test ${cell(t.experiment)}${t.when ? `, ${t.when}` : ''}${params.length ? `; ${params.join(', ')}` : ''})`;
}

function bestSection(f: CompletionFacts): string[] {
  const b = f.best;
  if (!b || !f.comparison) return ['## Best model', '', 'No model was selected: no experiment has a value of the primary metric.', ''];
  const out = [`## Best model: ${b.experiment}`, '', ...whyLines(f.comparison, b.experiment)];
  const shown = b.params.slice(0, 20);
  if (shown.length)
    out.push(
      `- Parameters: ${shown.map(([k, v]) => `${cell(k)}=${cell(paramText(v))}`).join(', ')}${b.params.length > shown.length ? `, … (${b.params.length - shown.length} more in params.json)` : ''}`,
    );
  out.push(
    `- Training time: ${b.training_time ? `${fmtDuration(b.training_time.value)} (${fmt(b.training_time.value)} s, from ${b.training_time.source})` : 'not recorded (log training_time_s, or let the run record its start and end)'}`,
  );
  out.push(
    `- Model size: ${b.model_size ? `${bytesText(b.model_size.value)}, from ${b.model_size.source}${b.model_size.artifact ? ` ${cell(b.model_size.artifact)}` : ''}` : 'not recorded (save the model as an artifact, or log model_size_bytes)'}`,
  );
  const latest = f.load_tests[0];
  out.push(
    `- Inference latency: ${latest ? latencyText(latest) : 'no load test recorded (an experiment tagged `load-test`, written by the deployment load test)'}`,
  );
  if (f.load_tests.length > 1)
    out.push(
      `- Earlier load tests: ${f.load_tests
        .slice(1)
        .map((t) => cell(t.experiment))
        .join(', ')}`,
    );
  out.push('');
  return out;
}

function gatesSection(f: CompletionFacts): string[] {
  const v = f.validation;
  return [
    `## Quality gates: ${v.verdict.toUpperCase()} (${v.summary.pass} pass, ${v.summary.warn} warn, ${v.summary.fail} fail)`,
    '',
    table(
      ['Gate', 'Result', 'Message'],
      v.checks.map((c) => [cell(c.id), `${ICON[c.status]} ${c.status}`, cell(c.message)]),
    ),
    '',
  ];
}

function readinessSection(f: CompletionFacts): string[] {
  const r = f.readiness;
  const mark = (ok: boolean) => (ok ? '✅' : '❌');
  return [
    `## Deployment readiness: ${r.ready ? 'READY' : 'NOT READY'}`,
    '',
    `- ${mark(r.gates_pass)} Quality gates ${
      r.gates_pass
        ? 'pass'
        : `fail (${f.validation.checks
            .filter((c) => c.status === 'fail')
            .map((c) => c.id)
            .join(', ')})`
    }`,
    `- ${mark(r.production !== null)} Production version in the model registry: ${r.production ? `${r.production.model} ${r.production.version} (experiment ${cell(r.production.experiment)})` : r.production_note}`,
    `- ${mark(r.load_test !== null)} Deployment served and load-tested: ${r.load_test ? `load test ${cell(r.load_test)} recorded` : 'no load test recorded (scaffold_deployment, then its load test; the scaffold folder itself is outside .specweave/ and not read here)'}`,
    '',
  ];
}

export function renderCompletionSummary(f: CompletionFacts): string {
  const out = [
    `# Completion summary: ${f.title}`,
    '',
    `**Increment**: ${f.increment}  `,
    `**Status**: COMPLETE${f.forced ? ' (forced past failing gates)' : ''}  `,
    `**Completed**: ${f.completed_at}  `,
    `**Primary metric**: ${f.primary_metric ?? 'none'}`,
    '',
  ];
  if (f.forced) {
    const failing = f.validation.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    out.push(`> Forced: the gates ${failing.join(', ')} failed. Reason recorded: ${f.reason!.replace(/\r?\n/g, ' ')}`, '');
  } else if (f.reason) out.push(`Note: ${f.reason.replace(/\r?\n/g, ' ')}`, '');
  out.push(`## Experiments run: ${f.experiments.length}`, '', ...experimentRows(f));
  out.push(...bestSection(f), ...gatesSection(f), ...readinessSection(f));
  out.push('<!-- Generated by complete_increment from the increment files at completion; later edits are yours. -->', '');
  return out.join('\n');
}
