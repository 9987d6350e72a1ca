/**
 * Stable ascending argsort of doubles by LSD radix sort on the IEEE-754 bits (4 passes of 16 bits). Sorting a
 * million scores this way takes tens of milliseconds, far less than a comparator sort, and it is done once per
 * evaluation: every ranking metric and every bootstrap resample reuses the order. Input must be NaN-free.
 * Assumes a little-endian platform (every platform Node supports in practice).
 */
export function argsortAscending(values: Float64Array, scratch?: Uint32Array): Uint32Array {
  const n = values.length;
  // Read the IEEE-754 words through a Uint32 view (little-endian: word 2i is low, 2i+1 is high), in place, and
  // derive each radix digit from them when needed: no copy of the scores and no key array (4 bytes a row less at
  // the evaluation's memory peak). A caller sorting several columns lends `scratch` (n entries, overwritten) as the
  // second index buffer, so that each sort allocates only its result.
  const words = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let order: Uint32Array = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const spare: Uint32Array = scratch && scratch.length >= n ? scratch.subarray(0, n) : new Uint32Array(n);
  let next = spare;
  const count = new Uint32Array(65536);
  for (const high of [false, true]) {
    for (const shift of [0, 16]) {
      const digit = (i: number) => (sortableWord(words[2 * i]!, words[2 * i + 1]!, high) >>> shift) & 0xffff;
      count.fill(0);
      for (let i = 0; i < n; i++) count[digit(i)]!++;
      if (n === 0 || count[digit(0)] === n) continue; // every key has the same digit
      let sum = 0;
      for (let d = 0; d < 65536; d++) {
        const c = count[d]!;
        count[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const idx = order[i]!;
        next[count[digit(idx)]!++] = idx;
      }
      [order, next] = [next, order];
    }
  }
  if (order === spare && scratch) {
    next.set(order); // an odd number of passes ran: the result is in the lent buffer, which the caller reuses
    return next;
  }
  return order;
}

/**
 * The low or high word of a double's sortable 64-bit key: float order maps onto unsigned order when negatives flip
 * all bits and positives flip the sign bit; -0 is read as +0 so they tie.
 */
function sortableWord(l: number, h: number, high: boolean): number {
  if (h === 0x80000000 && l === 0) h = 0;
  if (h & 0x80000000) return (high ? ~h : ~l) >>> 0;
  return high ? (h | 0x80000000) >>> 0 : l;
}

/** Average (1-based) ranks with ties sharing the mean of their positions, like scipy.stats.rankdata. */
export function averageRanks(values: Float64Array): Float64Array {
  const order = argsortAscending(values);
  const ranks = new Float64Array(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i + 1;
    while (j < order.length && values[order[j]!] === values[order[i]!]) j++;
    const rank = (i + 1 + j) / 2; // mean of positions i+1 … j
    for (let t = i; t < j; t++) ranks[order[t]!] = rank;
    i = j;
  }
  return ranks;
}

/** Quantile with linear interpolation between order statistics (numpy's default "linear" method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo]!;
  if (lo + 1 >= sorted.length) return a;
  return a + (h - lo) * (sorted[lo + 1]! - a);
}
