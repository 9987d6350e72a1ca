/** Residuals (y − ŷ) against predictions, as a scatter; at most 5,000 points so files stay small. */
import type { Residuals } from '../../core/evaluation/types.js';
import { axes, document, extent, px, sx, sy, text, type Frame } from './svg.js';

const MAX_POINTS = 5000;

export function residualsSvg(res: Residuals, title = 'Residuals against predictions'): string {
  const W = 560;
  const H = 440;
  // Evenly spaced thinning again in case the caller passes more points than the engine keeps.
  const step = Math.max(1, Math.ceil(res.predicted.length / MAX_POINTS));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < res.predicted.length; i += step) {
    xs.push(res.predicted[i]!);
    ys.push(res.residual[i]!);
  }
  const [ylo, yhi] = extent(ys);
  const span = Math.max(Math.abs(ylo), Math.abs(yhi));
  const f: Frame = { left: 70, top: 40, width: W - 94, height: H - 100, x: extent(xs), y: [-span, span] };
  const sub = res.total > xs.length ? ` (${xs.length} of ${res.total} rows)` : '';
  const body = [
    text(W / 2, 24, title + sub, { size: 15, anchor: 'middle', weight: 'bold' }),
    ...axes(f, 'Predicted value', 'Residual (true − predicted)'),
  ];
  body.push(
    `<line x1="${px(f.left)}" y1="${px(sy(f, 0))}" x2="${px(f.left + f.width)}" y2="${px(sy(f, 0))}" stroke="#d62728" stroke-width="1"/>`,
  );
  const dots = xs.map((x, i) => `M${px(sx(f, x))} ${px(sy(f, ys[i]!))}h0`).join('');
  // One path of zero-length round-capped segments draws every point in a few bytes each.
  if (dots) body.push(`<path d="${dots}" stroke="#1f77b4" stroke-opacity="0.5" stroke-width="4" stroke-linecap="round" fill="none"/>`);
  return document(W, H, title, body);
}
