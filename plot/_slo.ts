/**
 * SLO attainment from request rows (DistServe style): the share of all
 * requests (failures are misses) meeting TTFT and TPOT, TTFT only, TPOT only;
 * per-GPU goodput (highest rate with attainment ≥ target, interpolated) and the
 * smallest SLO scale that reaches the target.
 *
 * @module
 */
import type { RequestRow } from "../lib/result_schema.ts";
import { percentile } from "../lib/stats.ts";

/** Latency objectives in ms. */
export interface Slo {
  ttftMs: number;
  tpotMs: number;
}

/** Attainment of the three SLO kinds (0..1). */
export interface Attainment {
  both: number;
  ttft: number;
  tpot: number;
}

/** SLO kinds with their legend names. */
export const SLO_KINDS = {
  both: "TTFT and TPOT",
  ttft: "TTFT only",
  tpot: "TPOT only",
} as const;

/** Attainment of `reqs` against `slo` scaled by `scale` (a missing TPOT passes, failures miss). */
export function attainment(reqs: RequestRow[], slo: Slo, scale = 1): Attainment {
  if (!reqs.length) return { both: NaN, ttft: NaN, tpot: NaN };
  let both = 0, ttft = 0, tpot = 0;
  for (const r of reqs) {
    if (r.error) continue;
    const okT = r.ttft_ms !== null && r.ttft_ms <= slo.ttftMs * scale;
    const okP = r.tpot_ms === null || r.tpot_ms <= slo.tpotMs * scale;
    if (okT) ttft++;
    if (okP) tpot++;
    if (okT && okP) both++;
  }
  const n = reqs.length;
  return { both: both / n, ttft: ttft / n, tpot: tpot / n };
}

/** Highest x where `(x, y)` (sorted by x) still has y ≥ target, interpolated at the first drop. */
export function lastAbove(pts: [number, number][], target: number): number | null {
  if (!pts.length || pts[0][1] < target) return null;
  for (let i = 1; i < pts.length; i++) {
    if (pts[i][1] < target) {
      const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
      return x0 + (y0 - target) * (x1 - x0) / (y0 - y1);
    }
  }
  return pts[pts.length - 1][0];
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
    ttftMs: Math.round(factor * Math.min(...t)),
    tpotMs: p.length ? Math.round(factor * Math.min(...p) * 10) / 10 : Infinity,
  };
}
