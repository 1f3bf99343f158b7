/**
 * The values at a few ranks of an array of numbers, as its ascending sort would
 * hold them, found by selection (three-way quickselect on the ranks still
 * wanted) rather than by sorting all of it: a summary wants ~10 ranks of each
 * metric, and a `Float64Array` sort costs ~120 ns per value. Optionally
 * weighted: value `a[i]` stands for `w[i]` equal values (the distinct values of
 * `ValueCounts` and their counts). Values are compared with `<` and `>`, so
 * they must hold no NaN and no -0 (where a typed sort orders what `<` cannot);
 * `sortsLikeLess` says whether an array qualifies. Pivots are drawn by a fixed
 * generator: the answer never depends on them, the time barely.
 *
 * @module
 */

/** Below this many values a range is sorted by insertion. */
const SMALL = 24;

/** Whether `<` orders every value of `a` as a typed sort does (no NaN, no -0). */
export function sortsLikeLess(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x !== x || (x === 0 && 1 / x < 0)) return false;
  }
  return true;
}

/**
 * `out[j]` = the value at rank `ranks[j]` (0-based, below the total weight) of
 * `a[0..n)` sorted ascending, each value counted `w[i]` times when weights are
 * given. `a` and `w` are reordered. No NaN or -0 in `a` (see the module doc).
 */
export function valuesAtRanks(
  a: Float64Array,
  n: number,
  ranks: readonly number[],
  w: Uint32Array | null = null,
): number[] {
  const order = ranks.map((_, j) => j).sort((x, y) => ranks[x] - ranks[y]);
  const out = new Array<number>(ranks.length).fill(NaN);
  new Selection(a, w, ranks, order, out).run(0, n, 0, 0, order.length);
  return out;
}

class Selection {
  #seed = 0x2545f491;

  constructor(
    readonly a: Float64Array,
    readonly w: Uint32Array | null,
    readonly ranks: readonly number[],
    /** Indices of `ranks`, by rank ascending. */
    readonly order: number[],
    readonly out: number[],
  ) {}

  /**
   * Answers `order[r0..r1)`, whose ranks lie in `a[lo..hi)`: the values of
   * global ranks from `base` on.
   */
  run(lo: number, hi: number, base: number, r0: number, r1: number): void {
    while (r0 < r1) {
      if (hi - lo <= SMALL) return this.#small(lo, hi, base, r0, r1);
      const [lt, gt] = this.#partition(lo, hi);
      const below = this.#weight(lo, lt), equal = this.#weight(lt, gt);
      // the ranks below the pivot's values, at them, and above
      let m0 = r0;
      while (m0 < r1 && this.ranks[this.order[m0]] < base + below) m0++;
      let m1 = m0;
      while (m1 < r1 && this.ranks[this.order[m1]] < base + below + equal) {
        this.out[this.order[m1++]] = this.a[lt];
      }
      // the smaller side recursively, the larger in this loop
      if (lt - lo < hi - gt) {
        this.run(lo, lt, base, r0, m0);
        lo = gt;
        base += below + equal;
        r0 = m1;
      } else {
        this.run(gt, hi, base + below + equal, m1, r1);
        hi = lt;
        r1 = m0;
      }
    }
  }

  /** Three-way partition of `a[lo..hi)` around a drawn value: [lo, lt) below, [lt, gt) equal, [gt, hi) above. */
  #partition(lo: number, hi: number): [number, number] {
    const a = this.a;
    this.#seed = (Math.imul(this.#seed, 1103515245) + 12345) >>> 0;
    const p = a[lo + (this.#seed % (hi - lo))];
    let lt = lo, i = lo, gt = hi;
    while (i < gt) {
      const x = a[i];
      if (x < p) this.#swap(lt++, i++);
      else if (x > p) this.#swap(i, --gt);
      else i++;
    }
    return [lt, gt];
  }

  #swap(i: number, j: number): void {
    const a = this.a, x = a[i];
    a[i] = a[j];
    a[j] = x;
    const w = this.w;
    if (w) {
      const y = w[i];
      w[i] = w[j];
      w[j] = y;
    }
  }

  /** How many values `a[lo..hi)` stands for. */
  #weight(lo: number, hi: number): number {
    const w = this.w;
    if (!w) return hi - lo;
    let s = 0;
    for (let i = lo; i < hi; i++) s += w[i];
    return s;
  }

  /** Sorts a short range by insertion and reads the ranks off it. */
  #small(lo: number, hi: number, base: number, r0: number, r1: number): void {
    const a = this.a;
    for (let i = lo + 1; i < hi; i++) {
      for (let j = i; j > lo && a[j - 1] > a[j]; j--) this.#swap(j - 1, j);
    }
    let below = base, r = r0;
    for (let i = lo; i < hi && r < r1; i++) {
      below += this.w ? this.w[i] : 1;
      while (r < r1 && this.ranks[this.order[r]] < below) this.out[this.order[r++]] = a[i];
    }
  }
}
