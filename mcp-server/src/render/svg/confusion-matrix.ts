/** Confusion matrix heatmap: rows are true labels, columns predictions; colour = share of the true row. */
import type { ConfusionMatrix } from '../../core/evaluation/types.js';
import { clip, document, esc, px, text } from './svg.js';

/** White to dark blue. */
function shade(v: number): string {
  const lo = [247, 251, 255];
  const hi = [8, 48, 107];
  const c = lo.map((l, i) => Math.round(l + (hi[i]! - l) * Math.min(1, Math.max(0, v))));
  return `#${c.map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

export function confusionMatrixSvg(cm: ConfusionMatrix, title = 'Confusion matrix'): string {
  const k = cm.labels.length;
  const cell = Math.max(18, Math.min(72, Math.floor(480 / Math.max(1, k))));
  const left = 130;
  const top = 110;
  const width = left + k * cell + 30;
  const height = top + k * cell + 50;
  const font = Math.max(8, Math.min(13, Math.floor(cell / 4.5)));
  const body = [text(width / 2, 24, title, { size: 15, anchor: 'middle', weight: 'bold' })];
  body.push(text(left + (k * cell) / 2, 50, 'Predicted label', { anchor: 'middle' }));
  body.push(text(24, top + (k * cell) / 2, 'True label', { anchor: 'middle', rotate: true }));
  cm.labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    body.push(`<g><title>${esc(l)}</title>${text(x, top - 8, clip(l, 14), { size: font, anchor: 'start', rotate: true })}</g>`);
  });
  cm.matrix.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const y = top + i * cell;
    body.push(
      `<g><title>${esc(cm.labels[i]!)}</title>${text(left - 8, y + cell / 2 + 4, clip(cm.labels[i]!, 16), { size: font, anchor: 'end' })}</g>`,
    );
    row.forEach((v, j) => {
      const share = total > 0 ? v / total : 0;
      const x = left + j * cell;
      const tip = `true ${cm.labels[i]!}, predicted ${cm.labels[j]!}: ${v}${total > 0 ? ` (${(share * 100).toFixed(1)}% of the true row)` : ''}`;
      body.push(
        `<g><title>${esc(tip)}</title><rect x="${px(x)}" y="${px(y)}" width="${cell}" height="${cell}" fill="${shade(share)}" stroke="#ffffff" stroke-width="1"/></g>`,
      );
      if (cell >= 26)
        body.push(
          text(x + cell / 2, y + cell / 2 + font / 3, String(v), {
            size: font,
            anchor: 'middle',
            color: share > 0.5 ? '#ffffff' : '#222222',
          }),
        );
    });
  });
  return document(width, height, title, body);
}
