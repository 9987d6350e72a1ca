/**
 * The browser side of an increment's report.html: plain JavaScript (ES2020, no library), inlined in the page and
 * allowed by its hash. It reads the JSON payload (core/report/payload.ts) and builds every element with the DOM API:
 * text goes in through textContent and attributes through setAttribute, never innerHTML, so nothing read from a
 * file becomes markup. Evaluation plots are shown as <img> elements with data: URIs, where an SVG can neither run
 * script nor load anything. Kept as one template string (no backquote and no dollar-brace inside) so the bundle
 * stays one file.
 */
export const REPORT_APP_JS = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var R = D.runs;
  var N = R.n;
  var SVGNS = 'http://www.w3.org/2000/svg';
  var ROW_H = 26;
  var HEAD_H = 30;

  // ---------------------------------------------------------------- values
  function num(v) {
    if (v === null || v === undefined) return null;
    if (typeof v === 'number') return v;
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    return null;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return v;
    if (!isFinite(v)) return String(v);
    if (v === 0) return '0';
    var a = Math.abs(v);
    if (a >= 1e6 || a < 1e-4) return v.toExponential(3);
    if (Number.isInteger(v)) return String(v);
    return String(Number(v.toPrecision(4)));
  }
  function colValue(col, i) {
    if (col.kind === 'num') return num(col.values[i]);
    var k = col.idx[i];
    return k < 0 ? null : col.dict[k];
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function svgText(x, y, text, anchor, size, color) {
    var t = svg('text', { x: x, y: y, 'font-size': size || 11, 'text-anchor': anchor || 'start', fill: color || '#333' });
    t.textContent = text;
    return t;
  }
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    var raw = (hi - lo) / count;
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
    return out;
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null || !isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) return [lo - (Math.abs(lo) || 1) * 0.05, hi + (Math.abs(hi) || 1) * 0.05];
    return [lo, hi];
  }
  var palette = D.palette && D.palette.length ? D.palette : ['#1f77b4'];

  // ---------------------------------------------------------------- columns of the runs table
  var statusName = R.status.map(function (s) { return R.statuses[s]; });
  var tagText = R.tags.map(function (t) { return t.map(function (k) { return R.tag_names[k]; }).join(', '); });
  var sel = R.sel.map(num), selStd = R.sel_std.map(num), test = R.test.map(num);
  var selLabel = D.selection ? D.selection.label : 'selection';
  var testLabel = D.selection ? D.selection.test_label : (D.increment.primary_metric || 'test');
  var columns = [
    { key: 'rank', label: '#', width: 52, num: true, value: function (i) { return R.rank[i]; }, show: function (i) { return R.rank[i] === null ? '' : String(R.rank[i]); } },
    { key: 'name', label: 'run', width: 240, value: function (i) { return R.name[i]; }, cell: nameCell },
    { key: 'status', label: 'status', width: 86, value: function (i) { return statusName[i]; }, cls: function (i) { return 'status-' + statusName[i]; } },
    { key: 'tags', label: 'tags', width: 130, value: function (i) { return tagText[i]; } },
    { key: 'sel', label: selLabel, width: 170, num: true, value: function (i) { return sel[i]; },
      show: function (i) { return sel[i] === null ? '' : fmt(sel[i]) + (selStd[i] === null ? '' : ' \u00B1 ' + fmt(selStd[i])); } },
    { key: 'test', label: testLabel, width: 120, num: true, value: function (i) { return test[i]; } },
  ];
  D.metrics.forEach(function (m, k) {
    columns.push({ key: 'm' + k, label: m.name, width: 104, num: m.column.kind === 'num', value: function (i) { return colValue(m.column, i); } });
  });
  var paramColumns = D.params.map(function (p, k) {
    return { key: 'p' + k, label: p.name, width: 112, num: p.column.kind === 'num', param: p, value: function (i) { return colValue(p.column, i); } };
  });

  // ---------------------------------------------------------------- state
  var state = { sortKey: 'rank', sortDir: 1, text: '', status: '', tag: '', diffOnly: false, selected: [] };
  var searchText = new Array(N);
  for (var i = 0; i < N; i++) {
    var parts = [R.name[i], tagText[i]];
    for (var p = 0; p < D.params.length; p++) {
      var v = colValue(D.params[p].column, i);
      if (typeof v === 'string') parts.push(v);
    }
    searchText[i] = parts.join('\u0001').toLowerCase();
  }
  var order = [];
  var visibleColumns = [];

  function compareValues(a, b) {
    var an = a === null || (typeof a === 'number' && isNaN(a));
    var bn = b === null || (typeof b === 'number' && isNaN(b));
    if (an || bn) return an === bn ? 0 : an ? 2 : -2; // missing values last, whatever the direction
    if (a < b) return -1;
    if (a > b) return 1;
    return 0;
  }
  function columnByKey(key) {
    return columns.concat(paramColumns).find(function (c) { return c.key === key; });
  }
  function recompute() {
    var text = state.text.toLowerCase();
    var st = state.status, tag = state.tag === '' ? -1 : Number(state.tag);
    var rows = [];
    for (var i = 0; i < N; i++) {
      if (st !== '' && statusName[i] !== st) continue;
      if (tag >= 0 && R.tags[i].indexOf(tag) < 0) continue;
      if (text && searchText[i].indexOf(text) < 0) continue;
      rows.push(i);
    }
    var col = columnByKey(state.sortKey);
    var dir = state.sortDir;
    var keys = new Array(N);
    rows.forEach(function (i) { keys[i] = col.value(i); });
    rows.sort(function (a, b) {
      var c = compareValues(keys[a], keys[b]);
      if (c === 2 || c === -2) return c;
      return c * dir || a - b;
    });
    order = rows;
    visibleColumns = columns.concat(paramColumns.filter(function (c) { return !state.diffOnly || differs(c, rows); }));
  }
  /** Whether a param takes more than one value among the runs shown (a missing value counts as one). */
  function differs(c, rows) {
    if (rows.length < 2) return false;
    var first = c.value(rows[0]);
    for (var k = 1; k < rows.length; k++) {
      var v = c.value(rows[k]);
      if (v !== first && !(typeof v === 'number' && typeof first === 'number' && isNaN(v) && isNaN(first))) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------- header
  function buildHeader() {
    var h = document.getElementById('facts');
    var inc = D.increment;
    function fact(label, value) {
      if (value === null || value === undefined || value === '') return;
      var s = el('span');
      s.appendChild(document.createTextNode(label + ' '));
      s.appendChild(el('b', null, value));
      h.appendChild(s);
    }
    fact('status', inc.status);
    fact('problem', inc.problem_type);
    fact('primary metric', inc.primary_metric ? inc.primary_metric + (inc.direction ? ' (' + inc.direction + ')' : '') : null);
    fact('experiments', inc.experiments_total.toLocaleString('en'));
    fact('ranked', inc.ranked.toLocaleString('en'));
    if (R.best !== null) fact('best', R.name[R.best] + ' ' + fmt(sel[R.best]));
    if (R.best_baseline !== null) fact('best baseline', R.name[R.best_baseline] + ' ' + fmt(sel[R.best_baseline]));
    var why = document.getElementById('selection-why');
    why.textContent = D.selection
      ? 'Ranked on ' + D.selection.label + ': ' + D.selection.reason + '. The test value is reported, not used to select.'
      : 'Not ranked: ' + (D.no_ranking || 'no primary metric') + '.';
  }

  // ---------------------------------------------------------------- runs table (virtualised)
  var viewport, sizer, headRow, countEl;
  var rowPool = [];
  function gridTemplate() {
    return ['30px'].concat(visibleColumns.map(function (c) { return c.width + 'px'; })).join(' ');
  }
  function totalWidth() {
    return 30 + visibleColumns.reduce(function (s, c) { return s + c.width; }, 0);
  }
  function nameCell(i, cell) {
    if (i === R.best) cell.appendChild(el('span', 'badge best', 'best'));
    if (R.baseline[i]) cell.appendChild(el('span', 'badge baseline', 'baseline'));
    cell.appendChild(document.createTextNode(R.name[i]));
    cell.title = R.name[i];
  }
  function renderHead() {
    headRow.textContent = '';
    headRow.style.gridTemplateColumns = gridTemplate();
    headRow.style.width = totalWidth() + 'px';
    var box = el('div');
    headRow.appendChild(box);
    visibleColumns.forEach(function (c) {
      var d = el('div', c.num ? 'num' : null, c.label);
      d.title = 'Sort by ' + c.label;
      d.setAttribute('data-col', c.key);
      d.setAttribute('role', 'columnheader');
      d.tabIndex = 0;
      if (state.sortKey === c.key) {
        d.classList.add(state.sortDir > 0 ? 'sorted-asc' : 'sorted-desc');
        d.setAttribute('aria-sort', state.sortDir > 0 ? 'ascending' : 'descending');
      }
      function sortHere() {
        if (state.sortKey === c.key) state.sortDir = -state.sortDir;
        else { state.sortKey = c.key; state.sortDir = 1; }
        refresh();
        var again = headRow.querySelector('[data-col="' + c.key + '"]');
        if (again) again.focus();
      }
      d.addEventListener('click', sortHere);
      d.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); sortHere(); }
      });
      headRow.appendChild(d);
    });
  }
  function renderRows() {
    var top = viewport.scrollTop;
    var h = viewport.clientHeight || 440;
    var first = Math.max(0, Math.floor((top - HEAD_H) / ROW_H) - 5);
    var last = Math.min(order.length, Math.ceil((top + h) / ROW_H) + 5);
    var tmpl = gridTemplate(), width = totalWidth() + 'px';
    for (var k = rowPool.length; k < last - first; k++) {
      var r = el('div', 'grid-row');
      r.setAttribute('role', 'row');
      r.addEventListener('click', onRowClick);
      sizer.appendChild(r);
      rowPool.push(r);
    }
    for (var k2 = 0; k2 < rowPool.length; k2++) {
      var row = rowPool[k2];
      var pos = first + k2;
      if (pos >= last) { row.hidden = true; row.removeAttribute('data-run'); continue; }
      row.hidden = false;
      fillRow(row, order[pos], pos, tmpl, width);
    }
  }
  function fillRow(row, i, pos, tmpl, width) {
    row.style.transform = 'translateY(' + (HEAD_H + pos * ROW_H) + 'px)';
    row.style.gridTemplateColumns = tmpl;
    row.style.width = width;
    row.setAttribute('data-run', R.name[i]);
    row.setAttribute('data-index', String(i));
    row.setAttribute('data-pos', String(pos));
    row.setAttribute('aria-rowindex', String(pos + 2));
    row.className = 'grid-row' + (i === R.best ? ' best' : '') + (state.selected.indexOf(i) >= 0 ? ' selected' : '');
    row.textContent = '';
    var boxCell = el('div');
    var box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'pick';
    box.checked = state.selected.indexOf(i) >= 0;
    box.title = 'Show this run in the curves';
    boxCell.appendChild(box);
    row.appendChild(boxCell);
    visibleColumns.forEach(function (c) {
      var cell = el('div', c.num ? 'num' : null);
      if (c.cls) cell.classList.add(c.cls(i));
      if (c.cell) c.cell(i, cell);
      else {
        var v = c.show ? c.show(i) : fmt(c.value(i));
        cell.textContent = v;
        if (!c.num) cell.title = v;
      }
      cell.setAttribute('data-col', c.key);
      row.appendChild(cell);
    });
  }
  function onRowClick(ev) {
    var i = Number(this.getAttribute('data-index'));
    toggleSelected(i);
    ev.stopPropagation();
  }
  function toggleSelected(i) {
    var at = state.selected.indexOf(i);
    if (at >= 0) state.selected.splice(at, 1);
    else state.selected.push(i);
    renderRows();
    drawCurves();
    drawParcoords();
    drawFolds();
  }
  var scheduled = false;
  function onScroll() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () { scheduled = false; renderRows(); });
  }
  function refresh() {
    recompute();
    sizer.style.height = (HEAD_H + order.length * ROW_H) + 'px';
    sizer.style.width = totalWidth() + 'px';
    sizer.setAttribute('aria-rowcount', String(order.length + 1));
    countEl.textContent = order.length.toLocaleString('en') + ' of ' + N.toLocaleString('en') + ' runs';
    countEl.setAttribute('data-shown', String(order.length));
    countEl.setAttribute('data-total', String(N));
    renderHead();
    renderRows();
    drawParcoords();
    drawFolds();
  }
  function buildTable() {
    viewport = document.getElementById('runs-viewport');
    sizer = document.getElementById('runs-sizer');
    countEl = document.getElementById('row-count');
    headRow = el('div', 'grid-row grid-head');
    headRow.setAttribute('role', 'row');
    sizer.appendChild(headRow);
    viewport.addEventListener('scroll', onScroll, { passive: true });
    var statusSel = document.getElementById('status-filter');
    R.statuses.forEach(function (s) { var o = el('option', null, s); o.value = s; statusSel.appendChild(o); });
    var tagSel = document.getElementById('tag-filter');
    R.tag_names.forEach(function (t, k) { var o = el('option', null, t); o.value = String(k); tagSel.appendChild(o); });
    var filter = document.getElementById('filter');
    var pending = 0;
    filter.addEventListener('input', function () {
      clearTimeout(pending);
      pending = setTimeout(function () { state.text = filter.value; viewport.scrollTop = 0; refresh(); }, 60);
    });
    statusSel.addEventListener('change', function () { state.status = statusSel.value; viewport.scrollTop = 0; refresh(); });
    tagSel.addEventListener('change', function () { state.tag = tagSel.value; viewport.scrollTop = 0; refresh(); });
    var diff = document.getElementById('diff-only');
    diff.addEventListener('change', function () { state.diffOnly = diff.checked; refresh(); });
    if (D.params_left_out) document.getElementById('params-note').textContent = D.params_left_out + ' more params are not shown (the table keeps the first 200 by name).';
  }

  // ---------------------------------------------------------------- curves
  var curveMetric = 0;
  function colorOf(i) {
    var k = state.selected.indexOf(i);
    return palette[(k < 0 ? 0 : k) % palette.length];
  }
  function buildCurves() {
    var pick = document.getElementById('curve-metric');
    var C = D.curves;
    if (!C.metrics.length) {
      document.getElementById('curves-note').textContent = 'No per-step history was logged.';
      pick.hidden = true;
      return;
    }
    C.metrics.forEach(function (m, k) { var o = el('option', null, m); o.value = String(k); pick.appendChild(o); });
    pick.addEventListener('change', function () { curveMetric = Number(pick.value); drawCurves(); });
    document.getElementById('curves-note').textContent =
      'Each curve keeps at most ' + C.points_per_series + ' points (largest-triangle downsampling; ' +
      C.points_kept.toLocaleString('en') + ' of ' + C.points_logged.toLocaleString('en') + ' logged points in this file). Tick a run in the table to add its curve.';
  }
  function drawCurves() {
    var box = document.getElementById('curves');
    var legend = document.getElementById('curves-legend');
    box.textContent = '';
    legend.textContent = '';
    var C = D.curves;
    if (!C.metrics.length) return;
    var S = C.series[curveMetric];
    var W = Math.max(520, Math.min(box.clientWidth || 900, 1100)), H = 320;
    var m = { l: 64, r: 16, t: 14, b: 40 };
    var chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'class': 'chart', id: 'curves-svg', role: 'img' });
    chart.setAttribute('aria-label', C.metrics[curveMetric] + ' over steps');
    var shown = [];
    state.selected.forEach(function (i) {
      var at = S.runs.indexOf(i);
      if (at >= 0) shown.push({ run: i, x: S.x[at], y: S.y[at].map(num) });
    });
    var xs = [], ys = [];
    shown.forEach(function (s) { xs = xs.concat(s.x); ys = ys.concat(s.y); });
    var xe = extent(xs.length ? xs : [0, 1]), ye = extent(ys.length ? ys : [0, 1]);
    function X(v) { return m.l + (v - xe[0]) / (xe[1] - xe[0]) * (W - m.l - m.r); }
    function Y(v) { return H - m.b - (v - ye[0]) / (ye[1] - ye[0]) * (H - m.t - m.b); }
    chart.appendChild(svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#fff' }));
    niceTicks(ye[0], ye[1], 5).forEach(function (t) {
      chart.appendChild(svg('line', { x1: m.l, x2: W - m.r, y1: Y(t), y2: Y(t), stroke: '#eceff3' }));
      chart.appendChild(svgText(m.l - 6, Y(t) + 4, fmt(t), 'end'));
    });
    niceTicks(xe[0], xe[1], 6).forEach(function (t) {
      chart.appendChild(svgText(X(t), H - m.b + 16, fmt(t), 'middle'));
    });
    chart.appendChild(svg('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b, stroke: '#888' }));
    chart.appendChild(svg('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, stroke: '#888' }));
    chart.appendChild(svgText((m.l + W - m.r) / 2, H - 6, 'step', 'middle', 12, '#555'));
    if (!shown.length) chart.appendChild(svgText(W / 2, H / 2, 'Tick runs in the table to draw their ' + C.metrics[curveMetric] + ' curves', 'middle', 13, '#777'));
    shown.forEach(function (s) {
      var d = '';
      var pen = false;
      for (var k = 0; k < s.x.length; k++) {
        var yv = s.y[k];
        if (yv === null || !isFinite(yv)) { pen = false; continue; }
        d += (pen ? 'L' : 'M') + X(s.x[k]).toFixed(1) + ' ' + Y(yv).toFixed(1);
        pen = true;
      }
      var path = svg('path', { d: d || 'M0 0', fill: 'none', stroke: colorOf(s.run), 'stroke-width': 2, 'class': 'curve', 'data-run': R.name[s.run] });
      var title = svg('title', {});
      title.textContent = R.name[s.run];
      path.appendChild(title);
      chart.appendChild(path);
    });
    box.appendChild(chart);
    state.selected.forEach(function (i) {
      var item = el('span');
      var sw = el('span', 'swatch');
      sw.style.background = colorOf(i);
      item.appendChild(sw);
      item.appendChild(document.createTextNode(R.name[i] + (S.runs.indexOf(i) < 0 ? ' (no ' + C.metrics[curveMetric] + ' history)' : '')));
      legend.appendChild(item);
    });
  }

  // ---------------------------------------------------------------- parallel coordinates (canvas: 10,000 lines)
  var pcAxes = null;
  function parcoordAxes() {
    var axes = [];
    paramColumns.forEach(function (c) {
      var values = new Array(N);
      var distinct = new Set();
      for (var i = 0; i < N; i++) { values[i] = c.value(i); if (values[i] !== null) distinct.add(values[i]); }
      if (distinct.size < 2) return;
      if (c.num) {
        var e = extent(values);
        axes.push({ label: c.label, lo: e[0], hi: e[1], pos: function (i) { var v = values[i]; return v === null || !isFinite(v) ? null : (v - e[0]) / (e[1] - e[0]); }, ticks: [fmt(e[0]), fmt(e[1])] });
      } else {
        if (distinct.size > 30) return; // free text (ids, paths) is no axis
        var cats = Array.from(distinct).sort();
        var at = new Map(cats.map(function (v, k) { return [v, k]; }));
        axes.push({ label: c.label, pos: function (i) { var v = values[i]; return v === null ? null : cats.length === 1 ? 0.5 : at.get(v) / (cats.length - 1); }, ticks: [cats[0], cats[cats.length - 1]] });
      }
    });
    axes = axes.slice(0, 14);
    var se = extent(sel);
    axes.push({ label: selLabel, pos: function (i) { var v = sel[i]; return v === null || !isFinite(v) ? null : (v - se[0]) / (se[1] - se[0]); }, ticks: [fmt(se[0]), fmt(se[1])], target: true });
    return axes;
  }
  function ramp(t) {
    // Low to high selection value: blue to orange.
    var a = [49, 104, 170], b = [232, 119, 34];
    return 'rgb(' + a.map(function (v, k) { return Math.round(v + (b[k] - v) * t); }).join(',') + ')';
  }
  function drawParcoords() {
    var canvas = document.getElementById('parcoords');
    if (!canvas || !canvas.getContext) return;
    if (!pcAxes) pcAxes = parcoordAxes();
    var axes = pcAxes;
    var W = Math.max(600, Math.min(canvas.parentNode.clientWidth || 1000, 1400)), H = 340;
    var ratio = window.devicePixelRatio || 1;
    canvas.width = W * ratio;
    canvas.height = H * ratio;
    canvas.style.width = W + 'px';
    canvas.style.height = H + 'px';
    var g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.fillStyle = '#fff';
    g.fillRect(0, 0, W, H);
    var note = document.getElementById('parcoords-note');
    if (axes.length < 2) { note.textContent = 'No param varies across the runs: nothing to draw.'; }
    var m = { l: 60, r: 60, t: 34, b: 34 };
    var xAt = function (k) { return axes.length === 1 ? W / 2 : m.l + k * (W - m.l - m.r) / (axes.length - 1); };
    var yAt = function (p) { return H - m.b - p * (H - m.t - m.b); };
    var alpha = order.length > 2000 ? 0.06 : order.length > 300 ? 0.15 : 0.45;
    function line(i, color, width, a) {
      g.globalAlpha = a;
      g.strokeStyle = color;
      g.lineWidth = width;
      g.beginPath();
      var pen = false;
      for (var k = 0; k < axes.length; k++) {
        var p = axes[k].pos(i);
        if (p === null || p === undefined) { pen = false; continue; }
        if (pen) g.lineTo(xAt(k), yAt(p)); else g.moveTo(xAt(k), yAt(p));
        pen = true;
      }
      g.stroke();
    }
    // Colour by rank among the runs shown, not by value: one far-off baseline would otherwise paint every
    // candidate the same colour.
    var ranked = order.filter(function (i) { return sel[i] !== null && isFinite(sel[i]); }).sort(function (a, b) { return sel[a] - sel[b]; });
    var shade = new Map(ranked.map(function (i, k) { return [i, ranked.length > 1 ? k / (ranked.length - 1) : 0.5]; }));
    for (var r = 0; r < order.length; r++) {
      var i = order[r];
      line(i, shade.has(i) ? ramp(shade.get(i)) : '#999', 1, alpha);
    }
    state.selected.forEach(function (i) { line(i, colorOf(i), 2.5, 1); });
    g.globalAlpha = 1;
    g.font = '11px Helvetica, Arial, sans-serif';
    g.textAlign = 'center';
    axes.forEach(function (a, k) {
      var x = xAt(k);
      g.strokeStyle = '#555';
      g.lineWidth = 1;
      g.beginPath();
      g.moveTo(x, m.t);
      g.lineTo(x, H - m.b);
      g.stroke();
      g.fillStyle = a.target ? '#000' : '#333';
      var label = a.label.length > 18 ? a.label.slice(0, 17) + '\u2026' : a.label;
      g.fillText(label, x, m.t - 18);
      g.fillStyle = '#666';
      g.fillText(String(a.ticks[1]).slice(0, 14), x, m.t - 5);
      g.fillText(String(a.ticks[0]).slice(0, 14), x, H - m.b + 14);
    });
    if (axes.length >= 2) note.textContent = order.length.toLocaleString('en') + ' runs, coloured by ' + selLabel + ' (blue low, orange high); ticked runs drawn bold.';
    canvas.setAttribute('data-lines', String(order.length));
  }

  // ---------------------------------------------------------------- CV fold spread
  var MAX_FOLD_ROWS = 30;
  function drawFolds() {
    var box = document.getElementById('folds');
    box.textContent = '';
    var note = document.getElementById('folds-note');
    var F = D.folds;
    if (!F.metric) { note.textContent = 'No run logged cross-validation folds of the primary metric.'; return; }
    var rows = state.selected.filter(function (i) { return F.values[i]; });
    for (var r = 0; r < order.length && rows.length < MAX_FOLD_ROWS; r++) {
      if (F.values[order[r]] && rows.indexOf(order[r]) < 0) rows.push(order[r]);
    }
    note.textContent = F.metric + ' per fold, for ' + (rows.length < MAX_FOLD_ROWS ? 'the ' + rows.length + ' runs with folds' : 'the ticked runs and the first ' + MAX_FOLD_ROWS + ' in table order') +
      ': each dot a fold, the box from the lower to the upper quartile, the bar the median.';
    var all = [];
    rows.forEach(function (i) { all = all.concat(F.values[i].map(num)); });
    var e = extent(all);
    var W = Math.max(600, Math.min(box.clientWidth || 900, 1100)), RH = 20, L = 250, Rm = 20;
    var H = 30 + rows.length * RH + 24;
    var chart = svg('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, 'class': 'chart', id: 'folds-svg' });
    chart.appendChild(svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#fff' }));
    function X(v) { return L + (v - e[0]) / (e[1] - e[0]) * (W - L - Rm); }
    niceTicks(e[0], e[1], 6).forEach(function (t) {
      chart.appendChild(svg('line', { x1: X(t), x2: X(t), y1: 20, y2: H - 24, stroke: '#eceff3' }));
      chart.appendChild(svgText(X(t), H - 8, fmt(t), 'middle'));
    });
    rows.forEach(function (i, k) {
      var y = 30 + k * RH;
      var vals = F.values[i].map(num).filter(function (v) { return v !== null && isFinite(v); }).sort(function (a, b) { return a - b; });
      var name = R.name[i].length > 34 ? R.name[i].slice(0, 33) + '\u2026' : R.name[i];
      chart.appendChild(svgText(L - 8, y + 4, name, 'end', 11, i === R.best ? '#000' : '#333'));
      if (!vals.length) return;
      var q = function (p) { var pos = (vals.length - 1) * p, lo = Math.floor(pos), hi = Math.ceil(pos); return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo); };
      var g = svg('g', { 'class': 'fold-row', 'data-run': R.name[i] });
      g.appendChild(svg('line', { x1: X(vals[0]), x2: X(vals[vals.length - 1]), y1: y, y2: y, stroke: '#999' }));
      g.appendChild(svg('rect', { x: X(q(0.25)), y: y - 6, width: Math.max(1, X(q(0.75)) - X(q(0.25))), height: 12, fill: '#dbe7f3', stroke: '#5b86b0' }));
      g.appendChild(svg('line', { x1: X(q(0.5)), x2: X(q(0.5)), y1: y - 7, y2: y + 7, stroke: '#1d3f63', 'stroke-width': 2 }));
      vals.forEach(function (v) { g.appendChild(svg('circle', { cx: X(v), cy: y, r: 3, fill: state.selected.indexOf(i) >= 0 ? colorOf(i) : '#1f77b4', 'fill-opacity': 0.8 })); });
      chart.appendChild(g);
    });
    box.appendChild(chart);
  }

  // ---------------------------------------------------------------- best model, gates, registry, notes
  function buildBest() {
    var box = document.getElementById('best-plots');
    var P = D.best_plots;
    if (!P) { box.appendChild(el('p', 'muted', 'No best model yet.')); return; }
    document.getElementById('best-name').textContent = P.experiment;
    if (!P.files.length) box.appendChild(el('p', 'muted', 'The best model has no evaluation plots (evaluate_predictions writes them).'));
    P.files.forEach(function (f) {
      var fig = el('figure');
      var img = document.createElement('img');
      img.alt = f.title;
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(f.svg);
      fig.appendChild(img);
      fig.appendChild(el('figcaption', null, f.name));
      box.appendChild(fig);
    });
    P.skipped.forEach(function (s) { box.appendChild(el('p', 'muted', 'Not shown: ' + s)); });
  }
  function table(head, rows) {
    var t = el('table', 'plain');
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', null, h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c) { if (c instanceof Node) { var td = el('td'); td.appendChild(c); row.appendChild(td); } else row.appendChild(el('td', null, c)); });
      t.appendChild(row);
    });
    return t;
  }
  function buildGates() {
    var box = document.getElementById('gates');
    var G = D.gates;
    if (!G) { box.appendChild(el('p', 'muted', 'The gates could not be evaluated (metadata.json unreadable).')); return; }
    var p = el('p');
    p.appendChild(document.createTextNode('Verdict: '));
    p.appendChild(el('span', 'st-' + G.verdict, G.verdict.toUpperCase()));
    box.appendChild(p);
    box.appendChild(table(['gate', 'status', 'message'], G.checks.map(function (c) { return [c.id, el('span', 'st-' + c.status, c.status), c.message]; })));
  }
  function buildRegistry() {
    var box = document.getElementById('registry');
    var G = D.registry;
    if (!G.rows.length) { box.appendChild(el('p', 'muted', G.note || 'No registered model.')); return; }
    box.appendChild(table(['model', 'stage', 'version', 'experiment', 'increment'], G.rows.map(function (r) { return [r.name, r.stage, r.version, r.experiment || '', r.increment || '']; })));
    if (G.note) box.appendChild(el('p', 'muted', G.note));
  }
  function buildNotes() {
    var box = document.getElementById('notes');
    if (!D.notes.length) box.appendChild(el('p', 'muted', 'No notes.'));
    var ul = el('ul', 'notes');
    D.notes.forEach(function (n) {
      var li = el('li');
      li.appendChild(el('span', 'muted', (n.time ? n.time.slice(0, 16).replace('T', ' ') + ' ' : '')));
      li.appendChild(el('b', null, n.run + ': '));
      li.appendChild(document.createTextNode(n.text));
      ul.appendChild(li);
    });
    if (D.notes.length) box.appendChild(ul);
    if (D.notes_total > D.notes.length) box.appendChild(el('p', 'muted', (D.notes_total - D.notes.length) + ' older notes are not shown.'));
    if (D.unreadable_histories.length) {
      box.appendChild(el('h3', null, 'Histories not read (' + D.unreadable_histories.length + ')'));
      var uh = el('ul', 'notes');
      D.unreadable_histories.forEach(function (b) { var li = el('li'); li.appendChild(el('b', null, b.run + ': ')); li.appendChild(document.createTextNode(b.reason)); uh.appendChild(li); });
      box.appendChild(uh);
    }
    if (D.broken_total) {
      box.appendChild(el('h3', null, 'Unreadable experiments (' + D.broken_total + ')'));
      var ub = el('ul', 'notes');
      D.broken.forEach(function (b) { var li = el('li'); li.appendChild(el('b', null, b.name + ': ')); li.appendChild(document.createTextNode(b.reason)); ub.appendChild(li); });
      box.appendChild(ub);
    }
  }

  // ---------------------------------------------------------------- start
  if (R.best !== null) state.selected.push(R.best);
  if (R.best_baseline !== null && R.best_baseline !== R.best) state.selected.push(R.best_baseline);
  buildHeader();
  buildTable();
  buildCurves();
  refresh();
  drawCurves();
  buildBest();
  buildGates();
  buildRegistry();
  buildNotes();
  document.body.setAttribute('data-ready', '1');
})();
`;
