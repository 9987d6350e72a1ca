/**
 * An increment's report.html: a static skeleton (headings and empty containers), the payload as a JSON data block
 * and the browser code that fills the containers. Everything from files reaches the page as JSON text, escaped for
 * the data block, and is put into the DOM as text by the browser code. Pure.
 */
import type { ReportPayload } from '../../core/report/payload.js';
import { REPORT_APP_JS } from './app-script.js';
import { escapeHtml, page } from './html.js';
import { REPORT_CSS } from './styles.js';

function body(p: ReportPayload): string {
  const title = `${p.increment.id}: ${p.increment.title}`;
  return `<header>
<h1>${escapeHtml(title)}</h1>
<div class="facts" id="facts"></div>
<p class="muted" id="selection-why"></p>
</header>
<noscript><p>This report draws its tables and charts with JavaScript; allow scripts for this file to see them.</p></noscript>
<main>
<section id="runs-section">
<h2>Runs</h2>
<div class="controls">
<input type="search" id="filter" placeholder="Filter by name, tag or param value" aria-label="Filter runs">
<label>status <select id="status-filter" aria-label="Filter by status"><option value="">all</option></select></label>
<label>tag <select id="tag-filter" aria-label="Filter by tag"><option value="">all</option></select></label>
<label><input type="checkbox" id="diff-only"> params that differ only</label>
<span class="muted" id="row-count"></span>
</div>
<div id="runs-viewport" role="grid" aria-label="Runs"><div id="runs-sizer"></div></div>
<p class="muted">Click a column to sort (again to reverse; missing values stay last). Tick or click a run to draw its curve. <span id="params-note"></span></p>
</section>
<section id="curves-section">
<h2>Metric over steps</h2>
<div class="controls"><label>metric <select id="curve-metric" aria-label="Curve metric"></select></label><span class="muted" id="curves-note"></span></div>
<div id="curves"></div>
<div class="legend" id="curves-legend"></div>
</section>
<section id="parcoords-section">
<h2>Parallel coordinates: params to the selection metric</h2>
<p class="muted" id="parcoords-note"></p>
<div><canvas id="parcoords" class="chart"></canvas></div>
</section>
<section id="folds-section">
<h2>Cross-validation folds</h2>
<p class="muted" id="folds-note"></p>
<div id="folds"></div>
</section>
<section id="best-section">
<h2>Best model: <span id="best-name"></span></h2>
<div class="plots" id="best-plots"></div>
</section>
<div class="two">
<section id="gates-section"><h2>Quality gates</h2><div id="gates"></div></section>
<section id="registry-section"><h2>Model registry: current versions</h2><div id="registry"></div></section>
</div>
<section id="notes-section"><h2>Notes</h2><div id="notes"></div></section>
</main>`;
}

export function renderIncrementReport(p: ReportPayload): string {
  return page({
    title: `${p.increment.id}: ${p.increment.title} (report)`,
    style: REPORT_CSS,
    body: body(p),
    data: p,
    script: REPORT_APP_JS,
  });
}
