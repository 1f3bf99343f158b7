/**
 * Prefix sums of (x, y) pairs, for the saturation rule (`lib/saturation.ts`):
 * any range's least-squares fit in O(1). The sums sit in one typed array
 * (seven float64 cells a row), and rows before a window's start can be let go
 * once no later window reaches back to them, so a long run keeps what its
 * window spans, not every pair since it began. Letting go moves rows, never
 * changes a sum: fits are the same bits as with every row kept.
 *
 * @module
 */

/** Cells per row: x, Σx, Σx², Σy, Σy², Σxy, and a tag the caller gives with the pair. */
const W = 7;

/** A least-squares slope and its standard error, from centred sums (NaN when undefined). */
export function slopeOf(
  n: number,
  sxx: number,
  sxy: number,
  syy: number,
): { b: number; se: number } {
  if (n < 3 || !(sxx > 0)) return { b: NaN, se: NaN };
  const b = sxy / sxx;
  const sse = Math.max(0, syy - b * sxy);
  return { b, se: Math.sqrt(sse / (n - 2) / sxx) };
}

/**
 * Pairs in order of ascending x, numbered 0, 1, ... as pushed; row r holds the
 * sums of pairs 0..r-1 (row 0 is the empty sum) and pair r-1's x and tag.
 */
export class PrefixSeries {
  #rows = new Float64Array(64 * W);
  /** Number of the first row held (rows before it were let go). */
  #base = 0;
  /** Rows held. */
  #held = 1;
  /** Held rows before this one (relative) are no longer read. */
  #keepFrom = 0;

  /** Pairs pushed. */
  get length(): number {
    return this.#base + this.#held - 1;
  }

  /** Appends the pair (x, y) and its tag (e.g. a count at x). @default tag 0 */
  push(x: number, y: number, tag = 0): void {
    if ((this.#held + 1) * W > this.#rows.length) this.#room();
    const a = this.#rows, o = this.#held * W, p = o - W;
    a[o] = x;
    a[o + 1] = a[p + 1] + x;
    a[o + 2] = a[p + 2] + x * x;
    a[o + 3] = a[p + 3] + y;
    a[o + 4] = a[p + 4] + y * y;
    a[o + 5] = a[p + 5] + x * y;
    a[o + 6] = tag;
    this.#held++;
  }

  /** Room for one more row: moves the held rows to the front, or doubles the array. */
  #room(): void {
    const a = this.#rows;
    const start = this.#keepFrom * W;
    if (start > 0 && start >= a.length / 2) {
      a.copyWithin(0, start, this.#held * W);
    } else {
      this.#rows = new Float64Array(2 * a.length);
      this.#rows.set(a.subarray(start, this.#held * W));
    }
    this.#base += this.#keepFrom;
    this.#held -= this.#keepFrom;
    this.#keepFrom = 0;
  }

  /** Rows before row `r` will not be read again (no later range starts before pair `r`). */
  letGoBefore(r: number): void {
    this.#keepFrom = Math.max(this.#keepFrom, Math.min(r, this.length) - this.#base);
  }

  #at(r: number, cell: number): number {
    const k = r - this.#base;
    if (k < 0) {
      throw new RangeError(
        `Cannot read row ${r} of a series: current value is before the rows held; allowed: ${this.#base}..${this.length}`,
      );
    }
    return this.#rows[k * W + cell];
  }

  /** The x of pair `i`. */
  x(i: number): number {
    return this.#at(i + 1, 0);
  }

  /** The tag of pair `i`. */
  tag(i: number): number {
    return this.#at(i + 1, 6);
  }

  /** The first pair (at or after `lo`, a pair not let go) whose x is at least `x0`. */
  from(x0: number, lo = this.#base): number {
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.x(mid) < x0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Count, mean of y, slope of y on x and its standard error over pairs [a, length). */
  fit(a: number): { n: number; meanY: number; b: number; se: number } {
    const e = this.length, n = e - a;
    const d = (cell: number) => this.#at(e, cell) - this.#at(a, cell);
    const sx = d(1), sy = d(3);
    const sxx = d(2) - sx * sx / n;
    const sxy = d(5) - sx * sy / n;
    const syy = d(4) - sy * sy / n;
    return { n, meanY: sy / n, ...slopeOf(n, sxx, sxy, syy) };
  }
}
