/** The report's stylesheet, inlined (and allowed by its hash in the page's CSP). No external fonts. */
export const REPORT_CSS = `
:root { --fg: #1d2330; --muted: #5f6b7a; --line: #d9dee5; --bg: #ffffff; --panel: #f6f8fa; --accent: #1f77b4;
  --best: #fff4d6; --sel: #e8f1fb; --pass: #2e7d32; --warn: #b26a00; --fail: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 18px 24px 10px; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { margin: 0 0 6px; font-size: 22px; }
h2 { margin: 0 0 10px; font-size: 17px; }
h3 { margin: 14px 0 6px; font-size: 14px; }
main { padding: 8px 24px 40px; }
section { margin: 18px 0 26px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 18px; color: var(--muted); }
.facts b { color: var(--fg); font-weight: 600; }
.muted { color: var(--muted); }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 14px; margin-bottom: 8px; }
.controls input[type=search] { width: 260px; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
.controls select { padding: 4px 6px; font: inherit; }
#runs-viewport { position: relative; height: 440px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
#runs-sizer { position: relative; }
.grid-row { display: grid; position: absolute; left: 0; top: 0; align-items: center; height: 26px; border-bottom: 1px solid #eef1f4; white-space: nowrap; }
.grid-row > div { overflow: hidden; text-overflow: ellipsis; padding: 0 6px; }
.grid-head { position: sticky; top: 0; z-index: 2; height: 30px; background: var(--panel); border-bottom: 1px solid var(--line); font-weight: 600; }
.grid-head > div { cursor: pointer; user-select: none; }
.grid-head > div.sorted-asc::after { content: " \\25B2"; font-size: 10px; }
.grid-head > div.sorted-desc::after { content: " \\25BC"; font-size: 10px; }
.grid-row.best { background: var(--best); }
.grid-row.selected { background: var(--sel); }
.grid-row.best.selected { background: #f3ead0; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0 5px; border-radius: 8px; font-size: 11px; line-height: 16px; border: 1px solid var(--line); color: var(--muted); margin-right: 3px; }
.badge.best { background: #f7c948; border-color: #e0ac1c; color: #3a2c00; }
.badge.baseline { background: #e3e8ef; color: #34404f; }
.status-failed, .status-killed { color: var(--fail); }
.status-running { color: var(--warn); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; }
.chart { border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; font-size: 12px; }
.plots { display: flex; flex-wrap: wrap; gap: 14px; }
.plots figure { margin: 0; border: 1px solid var(--line); border-radius: 4px; padding: 6px; background: #fff; }
.plots img { display: block; max-width: 420px; height: auto; }
.plots figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
table.plain { border-collapse: collapse; }
table.plain th, table.plain td { border-bottom: 1px solid var(--line); padding: 4px 10px 4px 0; text-align: left; vertical-align: top; }
.st-pass { color: var(--pass); font-weight: 600; }
.st-warn { color: var(--warn); font-weight: 600; }
.st-fail { color: var(--fail); font-weight: 600; }
ul.notes { padding-left: 18px; }
ul.notes li { margin: 3px 0; }
.two { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 24px; }
@media (max-width: 1000px) { .two { grid-template-columns: minmax(0, 1fr); } }
`;
