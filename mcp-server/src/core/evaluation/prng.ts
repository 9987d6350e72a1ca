/**
 * mulberry32: a tiny, fast 32-bit PRNG. Not cryptographic; chosen because the same seed gives the same stream
 * on every platform and Node version, which is what makes bootstrap intervals reproducible.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /**
   * Fills `counts` with how often each of its n indices is drawn in n draws with replacement: a bootstrap
   * resample expressed as weights, so metrics are recomputed without copying or re-sorting the data. The
   * generator is inlined here because this loop runs n times per resample (10⁸ draws for 1,000 × 100,000).
   */
  resampleCounts(counts: Float64Array | Uint32Array): void {
    const n = counts.length;
    counts.fill(0);
    let a = this.state;
    for (let i = 0; i < n; i++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      counts[Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)]! += 1;
    }
    this.state = a >>> 0;
  }
}

/** Function form of the generator, for callers that only need numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  const g = new Mulberry32(seed);
  return () => g.next();
}
