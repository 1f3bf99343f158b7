/**
 * Helpers of the SLO figures: the attainment kinds' names, where a curve
 * crosses the target, and a base SLO derived from the lightest load when none
 * is given. Attainment itself is defined in `lib/metrics.ts`.
 *
 * @module
 */
import type { RequestRow } from "../lib/result_schema.ts";
import { percentile } from "../lib/stats.ts";
import { goodputRate, type Slo } from "../lib/metrics.ts";

/** The attainment kinds with their legend names. */
export const SLO_KINDS = {
  both: "TTFT and TPOT",
  ttft: "TTFT only",
  tpot: "TPOT only",
} as const;

/** Highest x where `(x, y)` still has y ≥ target, interpolated at the first drop (goodput's rule). */
export function lastAbove(pts: [number, number][], target: number): number | null {
  if (!pts.length || pts[0][1] < target) return null;
  return goodputRate(pts.map(([rate, value]) => ({ rate, value })), target).rate;
}

/** Lowest x where `(x, y)` (sorted by x, y rising) reaches target, interpolated. */
export function firstAbove(pts: [number, number][], target: number): number | null {
  for (let i = 0; i < pts.length; i++) {
    if (pts[i][1] >= target) {
      if (i === 0) return pts[0][0];
      const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
      return x0 + (target - y0) * (x1 - x0) / (y1 - y0);
    }
  }
  return null;
}

/** An SLO derived from the lightest load: `factor` × the lowest p50 TTFT and TPOT there. */
export function derivedSlo(lightest: RequestRow[][], factor = 5): Slo | null {
  const t: number[] = [], p: number[] = [];
  for (const reqs of lightest) {
    const ok = reqs.filter((r) => !r.error);
    const tt = ok.map((r) => r.ttft_ms).filter((x): x is number => x !== null);
    const pp = ok.map((r) => r.tpot_ms).filter((x): x is number => x !== null);
    if (tt.length) t.push(percentile(tt, 50));
    if (pp.length) p.push(percentile(pp, 50));
  }
  if (!t.length) return null;
  return {
    ttftMs: Math.round(factor * t.reduce((a, b) => Math.min(a, b))),
    tpotMs: p.length
      ? Math.round(factor * p.reduce((a, b) => Math.min(a, b)) * 10) / 10
      : undefined,
  };
}
