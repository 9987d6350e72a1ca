/** Reliability diagram: mean predicted probability against observed frequency per bin, with bin counts. */
import type { Calibration } from '../../core/evaluation/types.js';
import { axes, document, esc, legend, path, px, sx, sy, text, type Frame } from './svg.js';

export function calibrationSvg(cal: Calibration, title = 'Calibration (reliability diagram)'): string {
  const W = 520;
  const H = 520;
  const f: Frame = { left: 64, top: 40, width: W - 88, height: 330, x: [0, 1], y: [0, 1] };
  const xTitle = cal.kind === 'binary' ? 'Mean predicted probability' : 'Mean top-label confidence';
  const yTitle = cal.kind === 'binary' ? 'Fraction of positives' : 'Accuracy';
  const body = [
    text(W / 2, 24, `${title} — ECE ${cal.ece.toFixed(4)}`, { size: 15, anchor: 'middle', weight: 'bold' }),
    ...axes(f, xTitle, yTitle),
  ];
  body.push(
    `<line x1="${px(sx(f, 0))}" y1="${px(sy(f, 0))}" x2="${px(sx(f, 1))}" y2="${px(sy(f, 1))}" stroke="#999999" stroke-width="1" stroke-dasharray="4 4"/>`,
  );
  body.push(
    path(
      f,
      cal.bins.map((b) => b.meanPredicted),
      cal.bins.map((b) => b.fractionPositive),
      '#1f77b4',
    ),
  );
  for (const b of cal.bins) {
    const tip = `bin ${b.lower.toFixed(2)}–${b.upper.toFixed(2)}: ${b.count} rows, predicted ${b.meanPredicted.toFixed(3)}, observed ${b.fractionPositive.toFixed(3)}`;
    body.push(
      `<g><title>${esc(tip)}</title><circle cx="${px(sx(f, b.meanPredicted))}" cy="${px(sy(f, b.fractionPositive))}" r="4" fill="#1f77b4"/></g>`,
    );
  }
  body.push(
    ...legend(
      f,
      [
        { label: 'model', color: '#1f77b4' },
        { label: 'perfectly calibrated', color: '#999999', dash: true },
      ],
      'br',
    ),
  );
  // Histogram of bin counts under the diagram: where the probabilities actually are.
  const hTop = 430;
  const hHeight = 60;
  const max = Math.max(1, ...cal.bins.map((b) => b.count));
  body.push(text(f.left, hTop - 6, 'Rows per bin', { size: 11 }));
  for (const b of cal.bins) {
    const x0 = sx(f, b.lower);
    const x1 = sx(f, b.upper);
    const h = (b.count / max) * hHeight;
    body.push(
      `<rect x="${px(x0 + 1)}" y="${px(hTop + hHeight - h)}" width="${px(Math.max(1, x1 - x0 - 2))}" height="${px(h)}" fill="#9ecae1"/>`,
    );
  }
  body.push(
    `<line x1="${px(f.left)}" y1="${px(hTop + hHeight)}" x2="${px(f.left + f.width)}" y2="${px(hTop + hHeight)}" stroke="#444444"/>`,
  );
  return document(W, H, title, body);
}
