/** ROC and precision-recall curve points for plotting, from the shared descending score order. */
import type { ScoreOrder } from './classification.js';
import type { Curve, MetricValue } from './types.js';

/** Most points kept per curve: enough for a smooth plot, small enough for a few-kilobyte SVG. */
const MAX_POINTS = 1000;

export function rocCurve(so: ScoreOrder, y: Uint8Array, label: string, area: MetricValue): Curve {
  const { P, N } = classTotals(y);
  const c = new ThinCurve(label, area, 0, 0);
  walk(so, y, (tp, fp) => c.add(N > 0 ? fp / N : 0, P > 0 ? tp / P : 0));
  return c.done();
}

/** Starts at (recall 0, precision 1) like sklearn's precision_recall_curve. */
export function prCurve(so: ScoreOrder, y: Uint8Array, label: string, area: MetricValue): Curve {
  const { P } = classTotals(y);
  const c = new ThinCurve(label, area, 0, 1);
  walk(so, y, (tp, fp) => c.add(P > 0 ? tp / P : 0, tp + fp > 0 ? tp / (tp + fp) : 1));
  return c.done();
}

/**
 * Collects points, keeping one only when it moved at least 1/MAX_POINTS (in x or y) from the last kept one;
 * the first and last points are always kept. Thinning as we go keeps a million-row curve cheap.
 */
class ThinCurve {
  private readonly x: number[];
  private readonly y: number[];
  private lastX = NaN;
  private lastY = NaN;
  private pending = false;

  constructor(
    private readonly label: string,
    private readonly area: MetricValue,
    x0: number,
    y0: number,
  ) {
    this.x = [x0];
    this.y = [y0];
  }

  add(x: number, y: number): void {
    const kx = this.x[this.x.length - 1]!;
    const ky = this.y[this.y.length - 1]!;
    if (Math.abs(x - kx) >= 1 / MAX_POINTS || Math.abs(y - ky) >= 1 / MAX_POINTS) {
      this.x.push(x);
      this.y.push(y);
      this.pending = false;
    } else {
      this.lastX = x;
      this.lastY = y;
      this.pending = true;
    }
  }

  done(): Curve {
    if (this.pending) {
      this.x.push(this.lastX);
      this.y.push(this.lastY);
    }
    return { label: this.label, x: this.x, y: this.y, area: this.area };
  }
}

function classTotals(y: Uint8Array): { P: number; N: number } {
  let P = 0;
  for (let i = 0; i < y.length; i++) P += y[i]!;
  return { P, N: y.length - P };
}

/** Calls `at(tp, fp)` after each group of tied scores, from the highest score down. */
function walk(so: ScoreOrder, y: Uint8Array, at: (tp: number, fp: number) => void): void {
  let tp = 0;
  let fp = 0;
  let start = 0;
  for (let g = 0; g < so.groupEnd.length; g++) {
    const end = so.groupEnd[g]!;
    for (let i = start; i < end; i++) {
      if (y[so.order[i]!] === 1) tp++;
      else fp++;
    }
    at(tp, fp);
    start = end;
  }
}
