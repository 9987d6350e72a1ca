/**
 * mulberry32: a tiny, fast 32-bit PRNG. Not cryptographic; chosen because the same seed gives the same stream
 * on every platform and Node version, which is what makes bootstrap intervals reproducible.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fills `counts` with how often each of its n indices is drawn in n draws with replacement: a bootstrap resample
 * expressed as weights, so metrics can be recomputed without copying or re-sorting the data.
 */
export function resampleCounts(rng: () => number, counts: Float64Array): void {
  const n = counts.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[Math.floor(rng() * n)]! += 1;
}
