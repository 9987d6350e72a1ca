/** ROC and precision-recall curves: one line per curve (one per class for one-vs-rest multiclass). */
import type { Curve } from '../../core/evaluation/types.js';
import { axes, document, legend, path, PALETTE, sx, sy, text, label, px, type Frame } from './svg.js';

const W = 520;
const H = 460;

function frame(): Frame {
  return { left: 64, top: 40, width: W - 88, height: H - 100, x: [0, 1], y: [0, 1] };
}

function areaText(name: string, v: number | null): string {
  return `${name} = ${v === null ? 'undefined' : label(Number(v.toFixed(4)))}`;
}

export function rocCurveSvg(curves: Curve[], title = 'ROC curve'): string {
  const f = frame();
  const body = [
    text(W / 2, 24, title, { size: 15, anchor: 'middle', weight: 'bold' }),
    ...axes(f, 'False positive rate', 'True positive rate'),
  ];
  body.push(
    `<line x1="${px(sx(f, 0))}" y1="${px(sy(f, 0))}" x2="${px(sx(f, 1))}" y2="${px(sy(f, 1))}" stroke="#999999" stroke-width="1" stroke-dasharray="4 4"/>`,
  );
  curves.forEach((c, i) => body.push(path(f, c.x, c.y, PALETTE[i % PALETTE.length]!)));
  body.push(
    ...legend(
      f,
      curves.map((c, i) => ({ label: `${c.label} (${areaText('AUC', c.area)})`, color: PALETTE[i % PALETTE.length]! })),
      'br',
    ),
  );
  return document(W, H, title, body);
}

export function prCurveSvg(curves: Curve[], title = 'Precision-recall curve', baselines?: number[]): string {
  const f = frame();
  const body = [text(W / 2, 24, title, { size: 15, anchor: 'middle', weight: 'bold' }), ...axes(f, 'Recall', 'Precision')];
  baselines?.forEach((b, i) =>
    body.push(
      `<line x1="${px(sx(f, 0))}" y1="${px(sy(f, b))}" x2="${px(sx(f, 1))}" y2="${px(sy(f, b))}" stroke="${PALETTE[i % PALETTE.length]}" stroke-opacity="0.5" stroke-width="1" stroke-dasharray="4 4"/>`,
    ),
  );
  // Step-wise like average precision itself: over each recall step the precision is the one reached at its end.
  curves.forEach((c, i) => {
    const xs: number[] = [];
    const ys: number[] = [];
    for (let j = 0; j < c.x.length; j++) {
      if (j > 0) {
        xs.push(c.x[j - 1]!);
        ys.push(c.y[j]!);
      }
      xs.push(c.x[j]!);
      ys.push(c.y[j]!);
    }
    body.push(path(f, xs, ys, PALETTE[i % PALETTE.length]!));
  });
  body.push(
    ...legend(
      f,
      curves.map((c, i) => ({ label: `${c.label} (${areaText('AP', c.area)})`, color: PALETTE[i % PALETTE.length]! })),
      'bl',
    ),
  );
  return document(W, H, title, body);
}
