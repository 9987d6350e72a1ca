/**
 * The project index, .specweave/report.html: one row per increment with its best run and a link to its report, and
 * the registry's current versions. Static HTML (no script), every value escaped. Pure.
 */
import type { Num, RegistryRow } from '../../core/report/payload.js';
import { escapeHtml, page } from './html.js';
import { REPORT_CSS } from './styles.js';

export interface IndexRow {
  id: string;
  title: string;
  status: string;
  primary_metric: string | null;
  direction: string | null;
  selection_label: string | null;
  experiments: number;
  /** null: not worked out (a large increment not rendered in this call; its own report has it). */
  ranked: number | null;
  best: { name: string; value: Num; test: Num } | null;
  verdict: string | null;
  /** Link relative to .specweave/, when the increment has a report. */
  report: string | null;
}

const fmt = (v: Num): string => (v === null ? '' : typeof v === 'string' ? v : String(Number(v.toPrecision(4))));

function incrementRow(r: IndexRow): string {
  const cells = [
    r.report ? `<a href="${escapeHtml(r.report)}">${escapeHtml(r.id)}</a>` : escapeHtml(r.id),
    escapeHtml(r.title),
    escapeHtml(r.status),
    escapeHtml(r.primary_metric ? `${r.primary_metric}${r.direction ? ` (${r.direction})` : ''}` : ''),
    String(r.experiments),
    r.ranked === null ? '<span class="muted">see its report</span>' : String(r.ranked),
    r.best
      ? `${escapeHtml(r.best.name)} <span class="muted">${escapeHtml(fmt(r.best.value))}${r.selection_label ? ` ${escapeHtml(r.selection_label)}` : ''}</span>`
      : '',
    r.best ? escapeHtml(fmt(r.best.test)) : '',
    r.verdict ? `<span class="st-${escapeHtml(r.verdict)}">${escapeHtml(r.verdict)}</span>` : '',
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

export function renderIndexPage(input: { rows: IndexRow[]; registry: { rows: RegistryRow[]; note: string | null } }): string {
  const increments = input.rows.length
    ? `<table class="plain" id="increments"><tr><th>increment</th><th>title</th><th>status</th><th>primary metric</th><th>experiments</th><th>ranked</th><th>best (selection value)</th><th>best, test</th><th>gates</th></tr>
${input.rows.map(incrementRow).join('\n')}
</table>`
    : '<p class="muted">No increments yet.</p>';
  const registry = input.registry.rows.length
    ? `<table class="plain" id="registry"><tr><th>model</th><th>stage</th><th>version</th><th>experiment</th><th>increment</th></tr>
${input.registry.rows
  .map(
    (r) =>
      `<tr>${[r.name, r.stage, r.version, r.experiment ?? '', r.increment ?? ''].map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`,
  )
  .join('\n')}
</table>`
    : `<p class="muted">${escapeHtml(input.registry.note ?? 'No registered model.')}</p>`;
  return page({
    title: 'specweave-ml report',
    style: REPORT_CSS,
    body: `<header><h1>ML increments</h1><p class="muted">Each increment links to its own report (render_report writes them). Gates are shown for the increments rendered in the same call.</p></header>
<main>
<section><h2>Increments</h2>
${increments}
</section>
<section><h2>Model registry: current versions</h2>
${registry}
</section>
</main>`,
  });
}
