/**
 * The numbers behind `deno task compare`: where one topology's curve crosses
 * another's (linear interpolation), the highest rate meeting an SLO attainment
 * target (DistServe's goodput, per GPU), and the turn-2+ TTFT improvement of one
 * topology over another.
 *
 * @module
 */
import { maxOf, mean, minOf } from "../../lib/stats.ts";
import { improvementPct, valueAtRate } from "../../lib/metrics.ts";

/** One point of a curve: rate (req/s) and value. */
export interface Point {
  rate: number;
  value: number;
}

/** A crossing of two curves. */
export interface Crossing {
  /** Interpolated rate (req/s) where the difference changes sign. */
  rate: number;
  /** Which curve is better below and above the crossing. */
  betterBefore: string;
  betterAfter: string;
}

/**
 * `a` and `b` at every rate either measured inside the range both cover
 * (finite values; the other curve interpolated linearly), ascending. Sweeps
 * placed around each topology's own capacity rarely share rates.
 */
export function commonPoints(a: Point[], b: Point[]): [number, number, number][] {
  const clean = (xs: Point[]) =>
    xs.filter((p) => Number.isFinite(p.rate) && Number.isFinite(p.value))
      .sort((x, y) => x.rate - y.rate);
  const ca = clean(a), cb = clean(b);
  if (!ca.length || !cb.length) return [];
  const lo = Math.max(ca[0].rate, cb[0].rate), hi = Math.min(ca.at(-1)!.rate, cb.at(-1)!.rate);
  const rates = [...new Set([...ca, ...cb].map((p) => p.rate))]
    .filter((r) => r >= lo && r <= hi).sort((x, y) => x - y);
  return rates.map((r) => [r, valueAtRate(ca, r)!, valueAtRate(cb, r)!]);
}

/**
 * Rates where `a - b` changes sign, interpolated linearly between neighbouring
 * common rates; `lowerIsBetter` names the better curve on each side.
 */
export function crossings(
  names: [string, string],
  a: Point[],
  b: Point[],
  lowerIsBetter: boolean,
): Crossing[] {
  const pts = commonPoints(a, b);
  const better = (d: number) => ((d < 0) === lowerIsBetter ? names[0] : names[1]);
  const out: Crossing[] = [];
  let prev: [number, number] | null = null; // last rate with a non-zero difference
  for (const [r, va, vb] of pts) {
    const d = va - vb;
    if (d === 0) continue;
    if (prev && Math.sign(prev[1]) !== Math.sign(d)) {
      const [r1, d1] = prev;
      out.push({
        rate: r1 + (r - r1) * d1 / (d1 - d),
        betterBefore: better(d1),
        betterAfter: better(d),
      });
    }
    prev = [r, d];
  }
  return out;
}

/** Turn-2+ TTFT improvement of `a` over `b` in percent, per common rate and summarized. */
export interface TurnFinding {
  a: string;
  b: string;
  /** `(b - a) / b * 100` per rate: positive when `a` is faster. */
  byRate: { rate: number; improvementPct: number }[];
  avgPct: number | null;
  minPct: number | null;
  maxPct: number | null;
}

/** Compares turn-2+ mean TTFT curves of `a` and `b`. */
export function turnFinding(names: [string, string], a: Point[], b: Point[]): TurnFinding {
  const byRate = commonPoints(a, b).filter(([, , vb]) => vb > 0).map(([rate, va, vb]) => ({
    rate,
    improvementPct: improvementPct(vb, va, true)!,
  }));
  const xs = byRate.map((x) => x.improvementPct);
  return {
    a: names[0],
    b: names[1],
    byRate,
    avgPct: xs.length ? mean(xs) : null,
    minPct: xs.length ? minOf(xs) : null,
    maxPct: xs.length ? maxOf(xs) : null,
  };
}
