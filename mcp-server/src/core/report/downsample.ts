/**
 * Histories are downsampled for the report's payload, so 10,000 runs of 100+ points stay a few megabytes. The
 * method is largest-triangle-three-buckets (Steinarsson, 2013): the first and last points are kept, the rest split
 * into equal buckets, and from each bucket the point that forms the largest triangle with the point kept before it
 * and the average of the next bucket. Unlike taking every n-th point it keeps spikes and turning points, which is
 * what a reader of a training curve looks for. Pure.
 */

/** At most `max` of the points (xs ascending), as two arrays; the input itself when it is short enough. */
export function downsampleLttb(xs: readonly number[], ys: readonly number[], max: number): { x: number[]; y: number[] } {
  const n = xs.length;
  if (n <= max || max < 3) return max < 3 && n > max ? firstAndLast(xs, ys, max) : { x: [...xs], y: [...ys] };
  const x = [xs[0]!];
  const y = [ys[0]!];
  const every = (n - 2) / (max - 2);
  let kept = 0;
  for (let b = 0; b < max - 2; b += 1) {
    // The average of the next bucket (the last point for the final bucket).
    const nextStart = Math.floor((b + 1) * every) + 1;
    const nextEnd = Math.min(Math.floor((b + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    let count = 0;
    for (let i = nextStart; i < nextEnd; i += 1) {
      if (!Number.isFinite(ys[i]!)) continue;
      avgX += xs[i]!;
      avgY += ys[i]!;
      count += 1;
    }
    if (count === 0) [avgX, avgY, count] = [xs[n - 1]!, Number.isFinite(ys[n - 1]!) ? ys[n - 1]! : 0, 1];
    avgX /= count;
    avgY /= count;
    const start = Math.floor(b * every) + 1;
    const end = Math.floor((b + 1) * every) + 1;
    const ax = xs[kept]!;
    const ay = Number.isFinite(ys[kept]!) ? ys[kept]! : avgY;
    let chosen = start;
    let largest = -1;
    for (let i = start; i < end; i += 1) {
      // A non-finite value (a diverged loss) is kept when it is alone in its bucket, never chosen over a number.
      const yi = ys[i]!;
      const area = Number.isFinite(yi) ? Math.abs((ax - avgX) * (yi - ay) - (ax - xs[i]!) * (avgY - ay)) : -0.5;
      if (area > largest) [largest, chosen] = [area, i];
    }
    x.push(xs[chosen]!);
    y.push(ys[chosen]!);
    kept = chosen;
  }
  x.push(xs[n - 1]!);
  y.push(ys[n - 1]!);
  return { x, y };
}

function firstAndLast(xs: readonly number[], ys: readonly number[], max: number): { x: number[]; y: number[] } {
  if (max <= 0) return { x: [], y: [] };
  if (max === 1) return { x: [xs[xs.length - 1]!], y: [ys[ys.length - 1]!] };
  return { x: [xs[0]!, xs[xs.length - 1]!], y: [ys[0]!, ys[ys.length - 1]!] };
}

/**
 * How many points each series keeps: an even share of the payload's point budget, within [min, max]. 30 runs keep
 * their curves at up to 500 points; 10,000 runs keep 20 each.
 */
export function pointsPerSeries(seriesCount: number, budget = 200_000, min = 20, max = 500): number {
  if (seriesCount <= 0) return max;
  return Math.max(min, Math.min(max, Math.floor(budget / seriesCount)));
}
