/** ROC and precision-recall curve points for plotting, from the shared descending score order. */
import type { ScoreOrder } from "./classification.js";
import type { Curve, MetricValue } from "./types.js";

/** Most points kept per curve: enough for a smooth plot, small enough for a few-kilobyte SVG. */
const MAX_POINTS = 1000;

export function rocCurve(so: ScoreOrder, y: Uint8Array, label: string, area: MetricValue): Curve {
  const { P, N } = classTotals(y);
  const x: number[] = [0];
  const yy: number[] = [0];
  walk(so, y, (tp, fp) => {
    x.push(N > 0 ? fp / N : 0);
    yy.push(P > 0 ? tp / P : 0);
  });
  return thin({ label, x, y: yy, area });
}

/** Starts at (recall 0, precision 1) like sklearn's precision_recall_curve. */
export function prCurve(so: ScoreOrder, y: Uint8Array, label: string, area: MetricValue): Curve {
  const { P } = classTotals(y);
  const x: number[] = [0];
  const yy: number[] = [1];
  walk(so, y, (tp, fp) => {
    x.push(P > 0 ? tp / P : 0);
    yy.push(tp + fp > 0 ? tp / (tp + fp) : 1);
  });
  return thin({ label, x, y: yy, area });
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

/** Keeps a point only when it moved at least 1/MAX_POINTS from the last kept one (always keeps the ends). */
function thin(curve: Curve): Curve {
  if (curve.x.length <= MAX_POINTS) return curve;
  const minStep = 1 / MAX_POINTS;
  const x = [curve.x[0]!];
  const y = [curve.y[0]!];
  const last = curve.x.length - 1;
  for (let i = 1; i < last; i++) {
    if (Math.abs(curve.x[i]! - x[x.length - 1]!) >= minStep || Math.abs(curve.y[i]! - y[y.length - 1]!) >= minStep) {
      x.push(curve.x[i]!);
      y.push(curve.y[i]!);
    }
  }
  x.push(curve.x[last]!);
  y.push(curve.y[last]!);
  return { ...curve, x, y };
}
