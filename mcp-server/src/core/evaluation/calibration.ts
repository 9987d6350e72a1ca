/**
 * Reliability bins and expected calibration error, binned exactly like
 * sklearn.calibration.calibration_curve(n_bins, strategy="uniform") in 1.2: edges are linspace(0, 1, n_bins + 1)
 * and a probability equal to an inner edge falls in the bin below it (numpy searchsorted, side="left").
 */
import type { Calibration, CalibrationBin } from './types.js';

export function calibrationBins(outcome: Uint8Array, prob: Float64Array, nBins = 10, kind: Calibration['kind'] = 'binary'): Calibration {
  const step = 1 / nBins; // numpy linspace: edge_i = i * step, the last edge exactly 1
  const inner = new Float64Array(nBins - 1);
  for (let i = 1; i < nBins; i++) inner[i - 1] = i * step;
  const count = new Float64Array(nBins);
  const sumProb = new Float64Array(nBins);
  const sumTrue = new Float64Array(nBins);
  for (let r = 0; r < prob.length; r++) {
    const p = prob[r]!;
    const b = binIndex(inner, p);
    count[b]! += 1;
    sumProb[b]! += p;
    sumTrue[b]! += outcome[r]!;
  }
  const bins: CalibrationBin[] = [];
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    if (count[b] === 0) continue;
    const meanPredicted = sumProb[b]! / count[b]!;
    const fractionPositive = sumTrue[b]! / count[b]!;
    bins.push({ lower: b * step, upper: b === nBins - 1 ? 1 : (b + 1) * step, count: count[b]!, meanPredicted, fractionPositive });
    ece += (count[b]! / prob.length) * Math.abs(fractionPositive - meanPredicted);
  }
  return { bins, nBins, ece, kind };
}

/** Number of inner edges strictly below p (searchsorted left): a guess from p · nBins, corrected at the edges. */
function binIndex(inner: Float64Array, p: number): number {
  let b = Math.min(inner.length, Math.max(0, Math.ceil(p * (inner.length + 1)) - 1));
  while (b > 0 && !(inner[b - 1]! < p)) b--;
  while (b < inner.length && inner[b]! < p) b++;
  return b;
}
