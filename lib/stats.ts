/**
 * Summary statistics as numpy computes them: percentiles with linear
 * interpolation (`numpy.percentile` default), mean, population standard
 * deviation (`numpy.std`, ddof 0) and the coefficient of variation.
 *
 * @module
 */
import { type Chunks, orderStatistics } from "./_select.ts";
import { ValueCounts } from "./_value_counts.ts";
import { sortsLikeLess, valuesAtRanks } from "./_select_ranks.ts";

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
  const n = sorted.length;
  const [lo, hi, rank] = ranksOf(p, n);
  if (n === 0) return NaN;
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/** The two ranks (0-based) the `p`-th percentile of `n` values interpolates between, and the fractional rank. */
function ranksOf(p: number, n: number): [number, number, number] {
  if (!(p >= 0 && p <= 100)) {
    throw new RangeError(`Cannot use p as a percentile in [0, 100]: current value is ${p}`);
  }
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  return [lo, Math.min(n - 1, lo + 1), rank];
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

/** Values that describe themselves, exactly as {@linkcode describe} would (e.g. `ValueLog`, which does not hold them all). */
export interface Describable {
  describe(percentiles?: readonly number[]): Distribution;
}

/** Below this many values a sorted view is a sort (selection pays past it). */
const SELECT_PAST = 64;

/**
 * What {@linkcode percentileSorted} reads of `xs` sorted ascending, for
 * percentiles `ps`, and its least and greatest values (ranks 0 and n − 1): the
 * same values, found by selection (`lib/_select_ranks.ts`) where `xs` is long
 * and `<` orders it as a typed sort does, else by sorting it. `xs` is
 * reordered (pass a copy to keep it).
 */
export function sortedView(xs: Float64Array, ps: readonly number[]): ArrayLike<number> {
  const n = xs.length;
  if (n <= SELECT_PAST || !sortsLikeLess(xs)) return xs.sort();
  const ranks = [0, n - 1];
  for (const q of ps) ranks.push(...ranksOf(q, n).slice(0, 2));
  const values = valuesAtRanks(xs, n, ranks);
  const view: Record<number, number> & { length: number } = { length: n };
  for (let j = 0; j < ranks.length; j++) view[ranks[j]] = values[j];
  return view;
}

/** Describes `xs` (NaN fields when empty). @default percentiles [50, 90, 95, 99] */
export function describe(
  xs: ArrayLike<number>,
  percentiles: readonly number[] = [50, 90, 95, 99],
): Distribution {
  const s = sortedView(Float64Array.from(xs), [50, ...percentiles]);
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
 * Describes values read as chunks (see `Chunks` in `lib/_select.ts`), exactly as
 * {@linkcode describe} would describe them all in one array (the same bits), but
 * without holding them: the mean and std sum them in order, and the median,
 * extremes and percentiles are exact order statistics: from the counts of the
 * distinct values when there are at most `sortLimit` of them (`ValueCounts`;
 * the pass that sums the squared deviations counts them), else found in a few
 * passes that hold at most `sortLimit` values (`orderStatistics`).
 * @default percentiles [50, 90, 95, 99]
 * @default sortLimit 65,536 values (512 KiB per wanted rank)
 */
export function describeChunks(
  chunks: Chunks,
  percentiles: readonly number[] = [50, 90, 95, 99],
  sortLimit = 1 << 16,
): Distribution {
  let n = 0, sum = 0;
  for (const c of chunks()) {
    n += c.length;
    for (let i = 0; i < c.length; i++) sum += c[i];
  }
  return describeSummed(chunks, n, sum, percentiles, sortLimit);
}

/**
 * {@linkcode describeChunks} of `count` values whose sum in order is known
 * (kept as they were written, e.g. by `ValueLog`): one pass sums the squared
 * deviations (the same bits) and counts the distinct values, whose counts give
 * the order statistics; past `sortLimit` distinct values, `orderStatistics`
 * finds them in a few more passes.
 * @default percentiles [50, 90, 95, 99]
 * @default sortLimit 65,536 values
 */
export function describeSummed(
  chunks: Chunks,
  count: number,
  sum: number,
  percentiles: readonly number[] = [50, 90, 95, 99],
  sortLimit = 1 << 16,
): Distribution {
  const n = count;
  if (n === 0) return describe([], percentiles);
  const m = sum / n;
  const ranks = [0, n - 1];
  for (const q of [50, ...percentiles]) ranks.push(...ranksOf(q, n).slice(0, 2));
  // few distinct values (a simulated run's gaps): their counts give the order statistics
  const counts = new ValueCounts(sortLimit);
  let dev = 0; // summed in order
  for (const c of chunks()) {
    // a local sum: the captured one would be a boxed number, allocated anew per value
    let d = dev;
    for (let i = 0; i < c.length; i++) d += (c[i] - m) * (c[i] - m);
    dev = d;
    counts.addAll(c);
  }
  const found = counts.over ? orderStatistics(chunks, n, ranks, sortLimit) : counts.atRanks(ranks);
  // the order statistics at their ranks: enough of a sorted copy for percentileSorted
  const sorted: Record<number, number> & { length: number } = { length: n };
  for (const [r, x] of found) sorted[r] = x;
  const p: Record<number, number> = {};
  for (const q of percentiles) p[q] = percentileSorted(sorted, q);
  return {
    count: n,
    mean: m,
    median: percentileSorted(sorted, 50),
    std: Math.sqrt(dev / n),
    min: sorted[0],
    max: sorted[n - 1],
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
