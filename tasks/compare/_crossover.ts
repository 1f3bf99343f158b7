/**
 * The numbers behind `deno task compare`: where one topology's curve crosses
 * another's (linear interpolation), the highest rate meeting an SLO attainment
 * target (DistServe's goodput, per GPU), and the turn-2+ TTFT improvement of one
 * topology over another.
 *
 * @module
 */
import { mean } from "../../lib/stats.ts";
import { improvementPct } from "../../lib/metrics.ts";

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

/** Points of `a` and `b` at the rates both have (finite rates and values), ascending. */
export function commonPoints(a: Point[], b: Point[]): [number, number, number][] {
  const bm = new Map(b.filter((p) => Number.isFinite(p.value)).map((p) => [p.rate, p.value]));
  return a.filter((p) => Number.isFinite(p.rate) && Number.isFinite(p.value) && bm.has(p.rate))
    .sort((x, y) => x.rate - y.rate)
    .map((p) => [p.rate, p.value, bm.get(p.rate)!]);
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
    minPct: xs.length ? xs.reduce((x, y) => Math.min(x, y)) : null,
    maxPct: xs.length ? xs.reduce((x, y) => Math.max(x, y)) : null,
  };
}
