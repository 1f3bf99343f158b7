/**
 * Summary statistics as numpy computes them: percentiles with linear
 * interpolation (`numpy.percentile` default), mean, population standard
 * deviation (`numpy.std`, ddof 0) and the coefficient of variation.
 *
 * @module
 */

/** Arithmetic mean; NaN for an empty list. */
export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** Population standard deviation (numpy's default, ddof 0); NaN for an empty list. */
export function std(xs: ArrayLike<number>): number {
  if (xs.length === 0) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) * (xs[i] - m);
  return Math.sqrt(s / xs.length);
}

/** Coefficient of variation std/mean; NaN when empty or the mean is 0. */
export function cv(xs: readonly number[]): number {
  const m = mean(xs);
  return m === 0 ? NaN : std(xs) / m;
}

/** Sorted copy, ascending. */
export function sortedCopy(xs: readonly number[]): number[] {
  return Float64Array.from(xs).sort() as unknown as number[];
}

/**
 * The `p`-th percentile (0..100) of an ascending list, linear interpolation
 * between closest ranks as `numpy.percentile`; NaN for an empty list.
 */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot use p as a percentile in [0, 100]: current value is ${p}`);
  }
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** The `p`-th percentile (0..100) of an unsorted list (see {@linkcode percentileSorted}). */
export function percentile(xs: readonly number[], p: number): number {
  return percentileSorted(Float64Array.from(xs).sort(), p);
}

/** Mean, median, std, min, max and the requested percentiles of one metric. */
export interface Distribution {
  count: number;
  mean: number;
  median: number;
  std: number;
  min: number;
  max: number;
  /** Percentile value by percentile number, e.g. `{ 99: 12.3 }`. */
  p: Record<number, number>;
}

/** Describes `xs` (NaN fields when empty). @default percentiles [50, 90, 95, 99] */
export function describe(
  xs: ArrayLike<number>,
  percentiles: readonly number[] = [50, 90, 95, 99],
): Distribution {
  const s = Float64Array.from(xs).sort();
  const p: Record<number, number> = {};
  for (const q of percentiles) p[q] = percentileSorted(s, q);
  return {
    count: s.length,
    mean: mean(xs),
    median: percentileSorted(s, 50),
    std: std(xs),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
    p,
  };
}

/**
 * The least of `xs`, as `Math.min(...xs)` gives it (Infinity when empty, NaN
 * when any is NaN) without spreading: a spread throws past ~150,000 elements.
 */
export function minOf(xs: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < xs.length; i++) m = Math.min(m, xs[i]);
  return m;
}

/** The greatest of `xs`, as `Math.max(...xs)` gives it (-Infinity when empty), without spreading. */
export function maxOf(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, xs[i]);
  return m;
}
