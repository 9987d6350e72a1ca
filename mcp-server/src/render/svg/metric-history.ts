/** Metric values over steps, from history.jsonl: one small panel per metric, so each keeps its own scale. */
import { axes, document, extent, label, path, PALETTE, text, type Frame } from './svg.js';

export interface HistoryPoint {
  metric: string;
  value: number;
  step: number;
}

const MAX_PANELS = 12;

/** Metrics in name order; within a metric, points by step (a repeated step keeps the last point logged). */
export function metricHistorySvg(points: HistoryPoint[], title = 'Metrics over steps'): string {
  const byMetric = new Map<string, Map<number, number>>();
  for (const p of points) {
    if (!Number.isFinite(p.step)) continue;
    const m = byMetric.get(p.metric) ?? new Map<number, number>();
    m.set(p.step, p.value);
    byMetric.set(p.metric, m);
  }
  const names = [...byMetric.keys()].sort().slice(0, MAX_PANELS);
  const W = 560;
  const panelH = 200;
  const H = 50 + Math.max(1, names.length) * (panelH + 30);
  const body = [text(W / 2, 24, title, { size: 15, anchor: 'middle', weight: 'bold' })];
  if (names.length === 0) body.push(text(W / 2, 80, 'no history points', { anchor: 'middle', color: '#777777' }));
  names.forEach((name, i) => {
    const series = [...byMetric.get(name)!.entries()].sort((a, b) => a[0] - b[0]);
    const xs = series.map((s) => s[0]);
    const ys = series.map((s) => s[1]);
    const top = 50 + i * (panelH + 30);
    const f: Frame = { left: 70, top: top + 18, width: W - 94, height: panelH - 60, x: extent(xs, 0), y: extent(ys) };
    const last = ys[ys.length - 1]!;
    body.push(text(f.left, top + 10, `${name} (last ${label(last)} at step ${xs[xs.length - 1]})`, { weight: 'bold' }));
    body.push(...axes(f, 'Step', ''));
    body.push(path(f, xs, ys, PALETTE[i % PALETTE.length]!));
  });
  return document(W, H, title, body);
}
