/**
 * The comparison of `deno task validate`: per metric, the real and simulated
 * mean and percentiles of the pooled per-request values, the error of each
 * (simulated vs real, %), and the two-sample Kolmogorov–Smirnov distance
 * between the two distributions; per engine state (running, waiting), the
 * error of the simulated per-second series against the real one.
 *
 * @module
 */
import { describe } from "../../lib/stats.ts";

/** The statistics shown per metric, in table order. */
export const STATS = ["mean", "p50", "p90", "p95", "p99"] as const;
export type Stat = typeof STATS[number];

/** Real vs simulated values of one metric. */
export interface MetricComparison {
  /** Requests with a value (TPOT needs two output tokens). */
  realCount: number;
  simCount: number;
  real: Record<Stat, number>;
  sim: Record<Stat, number>;
  /** (sim − real) / real × 100 per statistic; null where real is 0 or a side has no values. */
  errorPct: Record<Stat, number | null>;
  /** Two-sample KS distance in [0, 1]: the largest gap between the two CDFs. */
  ks: number;
}

/** (sim − real) / real × 100; null when real is 0 or either is not a finite number. */
export function errorPct(sim: number, real: number): number | null {
  if (!Number.isFinite(sim) || !Number.isFinite(real) || real === 0) return null;
  return (sim - real) / real * 100;
}

/**
 * The two-sample Kolmogorov–Smirnov statistic: max over x of |F_a(x) − F_b(x)|,
 * the empirical CDFs taken right-continuous (ties step together). NaN when a
 * side is empty.
 */
export function ksDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0 || b.length === 0) return NaN;
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

function stats(xs: readonly number[]): Record<Stat, number> {
  const d = describe(xs, [50, 90, 95, 99]);
  return { mean: d.mean, p50: d.p[50], p90: d.p[90], p95: d.p[95], p99: d.p[99] };
}

/** Compares one metric's pooled per-request values. */
export function compareMetric(real: readonly number[], sim: readonly number[]): MetricComparison {
  const r = stats(real);
  const s = stats(sim);
  const err = {} as Record<Stat, number | null>;
  for (const k of STATS) err[k] = errorPct(s[k], r[k]);
  return {
    realCount: real.length,
    simCount: sim.length,
    real: r,
    sim: s,
    errorPct: err,
    ks: ksDistance(real, sim),
  };
}

/** One request's span, ms on one clock: arrived, first token, finished. */
export interface Span {
  arriveMs: number;
  firstMs: number;
  endMs: number;
}

/**
 * Requests waiting (arrived, no first token yet) and running (first token out,
 * not finished) at each instant of `atMs`, counted from per-request times.
 */
export function stateAt(spans: readonly Span[], atMs: readonly number[]) {
  return atMs.map((t) => {
    let running = 0;
    let waiting = 0;
    for (const s of spans) {
      if (s.arriveMs <= t && t < s.firstMs) waiting++;
      else if (s.firstMs <= t && t < s.endMs) running++;
    }
    return { running, waiting };
  });
}

/** How far one simulated series is from the real one, sample by sample. */
export interface SeriesError {
  samples: number;
  /** Mean of |sim − real|, requests. */
  maeRequests: number;
  /** Largest |sim − real|, requests. */
  maxAbsRequests: number;
  /** Mean of the real series, requests (the scale of the error). */
  realMean: number;
  /** maeRequests / realMean × 100; null when the real series is all 0. */
  maePctOfMean: number | null;
}

/** The error of `sim` against `real` (same length, same instants). */
export function seriesError(real: readonly number[], sim: readonly number[]): SeriesError {
  if (real.length !== sim.length) {
    throw new RangeError(
      `Cannot compare series of ${real.length} and ${sim.length} samples: current value differs in length`,
    );
  }
  let sum = 0;
  let max = 0;
  let realSum = 0;
  for (let i = 0; i < real.length; i++) {
    const d = Math.abs(sim[i] - real[i]);
    sum += d;
    max = Math.max(max, d);
    realSum += real[i];
  }
  const n = real.length;
  const mae = n ? sum / n : NaN;
  const realMean = n ? realSum / n : NaN;
  return {
    samples: n,
    maeRequests: mae,
    maxAbsRequests: max,
    realMean,
    maePctOfMean: realMean > 0 ? mae / realMean * 100 : null,
  };
}
