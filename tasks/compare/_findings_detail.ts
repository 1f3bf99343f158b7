/**
 * The findings after the recommendation: crossovers between equal-budget
 * topologies (or per GPU), the PPD-vs-PD trade (turn-2+ TTFT against
 * end-to-end latency), and the convention; plus the number formats and the
 * interpolation every findings line shares.
 *
 * @module
 */
import type { MergedRow } from "../../lib/merged_schema.ts";
import { beyondNoise, valueAtRate } from "../../lib/metrics.ts";
import type { compare } from "./compare.ts";
import { commonPoints, type Point } from "./_crossover.ts";

type Crossover = ReturnType<typeof compare>["json"];

/** A latency in ms: no decimals from 100 on. */
export const num = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
/** A rate, 3 significant digits. */
export const rate = (x: number) => String(Number(x.toPrecision(3)));
/** A signed percentage. */
export const pct = (x: number) =>
  `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(Math.abs(x) >= 10 ? 0 : 1)}%`;

/** Mean rows with a finite rate. */
export function meanRows(rows: MergedRow[]): MergedRow[] {
  return rows.filter((r) =>
    r.run_index === "mean" && typeof r.rate_target === "number" && Number.isFinite(r.rate_target)
  );
}

const val = (r: MergedRow | undefined, m: string): number | null => {
  const v = r?.[m];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
};

/** Metric `m` of topology `t` over the offered rate, ascending. */
function curveOf(m: MergedRow[], t: string, k: string): Point[] {
  return m.filter((r) => r.topology === t && val(r, k) !== null)
    .map((r) => ({ rate: r.rate_target as number, value: val(r, k)! }))
    .sort((a, b) => a.rate - b.rate);
}

/** `dp interpolated between its measured 13.1 and 26.2`, or null when `t` ran at `x` itself. */
export function interpolatedNote(m: MergedRow[], t: string, x: number): string | null {
  const rates = [
    ...new Set(meanRows(m).filter((r) => r.topology === t).map((r) => r.rate_target as number)),
  ]
    .sort((a, b) => a - b);
  if (rates.includes(x)) return null;
  const lo = rates.filter((r) => r < x).at(-1), hi = rates.find((r) => r > x);
  return lo === undefined || hi === undefined
    ? null
    : `${t} interpolated between its measured ${rate(lo)} and ${rate(hi)}`;
}

/** Metric `k` of topology `t` at offered rate `x`, interpolated; null outside its range. */
export function interpolate(m: MergedRow[], t: string, k: string, x: number): number | null {
  return valueAtRate(curveOf(m, t, k), x);
}

/** GPUs of topology `t` in the rows (1 when unknown: rates are then its own). */
const gpusOf = (m: MergedRow[], t: string): number =>
  (m.find((r) => r.topology === t)?.gpus as number | null) ?? 1;

/** The last offered load `t` meets the SLO at (the ranking's `pass_rate`), or null. */
function holdsUpTo(cross: Crossover, t: string): number | null {
  return cross.ranking?.topologies.find((x) => x.topology === t)?.pass_rate ?? null;
}

/** A crossing is worth saying when the curves differ by ≥ 5% at the common loads either side. */
const MATERIAL = 0.05;

/**
 * Whether the crossing at `x` of `c` is material: at the common loads just
 * below and above it, the two curves differ by at least {@linkcode MATERIAL}.
 */
function material(m: MergedRow[], c: Crossover["crossovers"][number], x: number): boolean {
  const per = (t: string) =>
    curveOf(m, t, c.metric).map((p) => ({
      rate: c.per_gpu ? p.rate / gpusOf(m, t) : p.rate,
      value: p.value,
    }));
  const pts = commonPoints(per(c.a), per(c.b));
  const lo = pts.filter((p) => p[0] < x).at(-1), hi = pts.find((p) => p[0] > x);
  const apart = (p?: [number, number, number]) =>
    !!p && Math.abs(p[1] - p[2]) >= MATERIAL * Math.max(Math.abs(p[1]), Math.abs(p[2]));
  return apart(lo) && apart(hi);
}

/**
 * Crossings between equal-budget topologies (or per GPU) in the latency
 * metrics, only where both still meet the SLO and only when material.
 */
function crossoverLine(m: MergedRow[], cross: Crossover, single: boolean): string {
  const keep = ["mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "mean_e2el_ms"];
  const u = cross.rate_unit;
  const within = (c: Crossover["crossovers"][number], x: number) => {
    const caps = [c.a, c.b].map((t) => {
      const cap = holdsUpTo(cross, t); // null: it met the SLO at no rate
      return cap === null ? -Infinity : c.per_gpu ? cap / gpusOf(m, t) : cap;
    });
    return !cross.ranking || x <= Math.min(...caps);
  };
  // with many topologies, only the pairs that involve one of the three best
  const top = new Set(
    cross.ranking?.topologies.filter((t) => t.rank !== null && t.rank <= 3).map((t) => t.topology),
  );
  const lead = (c: Crossover["crossovers"][number]) =>
    !cross.ranking || top.has(c.a) || top.has(c.b);
  const xs = cross.crossovers.filter((c) => keep.includes(c.metric) && lead(c)).flatMap((c) =>
    c.crossings.filter((x) => within(c, x.rate) && material(m, c, x.rate)).map((x) =>
      `${
        c.metric.replace(/_ms$/, "").replace(/_/g, " ")
      }: ${x.betterAfter} better than ${x.betterBefore} above ${rate(x.rate)} ${u}${
        c.per_gpu ? " per GPU" : ""
      }`
    )
  );
  const scope = `${
    cross.ranking ? "pairs with one of the 3 best; " : ""
  }equal GPU budgets on the offered rate, others per GPU; where both meet the SLO; at least ${
    MATERIAL * 100
  }% apart either side${single ? "; single run" : ""}`;
  if (!xs.length) return `Crossovers (${scope}): none in mean/p99 TTFT, mean TPOT, mean E2E.`;
  return `Crossovers (${scope}): ${xs.slice(0, 5).join("; ")}${
    xs.length > 5 ? ` (+${xs.length - 5} more; every crossing is in crossover.json)` : ""
  }.`;
}

/** Improvement of `a` over `b` in metric `k` (lower better) at `a`'s measured loads up to `upTo`. */
function gains(m: MergedRow[], a: string, b: string, k: string, upTo: number) {
  const at = (t: string, r: number) => m.find((x) => x.topology === t && x.rate_target === r);
  const cb = curveOf(m, b, k);
  return curveOf(m, a, k).filter((p) => p.rate <= upTo).flatMap((p) => {
    const vb = valueAtRate(cb, p.rate);
    if (vb === null || !(vb > 0)) return [];
    const ra = at(a, p.rate), rb = at(b, p.rate);
    const sep = ra && rb
      ? beyondNoise(p.value, val(ra, `${k}_ci95`), vb, val(rb, `${k}_ci95`))
      : null;
    return [{ rate: p.rate, pct: (vb - p.value) / vb * 100, separated: sep }];
  });
}

/** `+29% at 4.8, +42% at 10, −3% at 14 conv/s`: each load, in order (signs may alternate). */
function gainList(gs: ReturnType<typeof gains>, unit: string): string {
  const shown = gs.length <= 6
    ? gs
    : [gs[0], gs[1], gs[Math.floor(gs.length / 2)], ...gs.slice(-2)];
  return `${
    shown.map((g) =>
      `${pct(g.pct)}${g.separated === false ? " (within noise)" : ""} at ${rate(g.rate)}`
    )
      .join(", ")
  }${shown.length < gs.length ? ` (${gs.length} loads)` : ""} ${unit}`;
}

/** PPD vs PD where both meet the SLO: the turn-2+ TTFT it wins and the end-to-end latency it pays. */
function turnLine(m: MergedRow[], cross: Crossover, ppd: string, pd: string, single: boolean) {
  const u = cross.rate_unit;
  const caps = [holdsUpTo(cross, ppd), holdsUpTo(cross, pd)];
  const upTo = cross.ranking ? Math.min(...caps.map((c) => c ?? -Infinity)) : Infinity;
  const t2 = gains(m, ppd, pd, "mean_ttft_turn2plus_ms", upTo);
  if (!t2.length) {
    return `${ppd} vs ${pd}: turn-2+ TTFT not compared (needs both on a multi-turn workload, at loads both meet the SLO).`;
  }
  const e2e = gains(m, ppd, pd, "mean_e2el_ms", upTo);
  const where = Number.isFinite(upTo) ? `where both meet the SLO (≤ ${rate(upTo)} ${u}); ` : "";
  return `${ppd} vs ${pd} (improvement over ${pd} at ${ppd}'s measured loads, ${pd} interpolated between its own; ${where}${
    single ? "single run" : "95% intervals"
  }): turn-2+ mean TTFT ${gainList(t2, u)}; mean E2E ${
    e2e.length ? gainList(e2e, u) : "not measured"
  }.`;
}

/** How every number in the findings is meant. */
function conventionLine(m: MergedRow[], single: boolean): string {
  const tops = [...new Set(m.map((r) => r.topology))];
  const counts = tops.map((t) => m.find((r) => r.topology === t)?.gpus ?? "?");
  const gpus = new Set(counts).size === 1
    ? `${counts[0]} each`
    : tops.map((t, i) => `${t} ${counts[i]}`).join(", ");
  return `Convention: differences are improvements over the runner-up or the named reference, positive = better; "per GPU" divides by each topology's GPUs (${gpus}). ${
    single
      ? "Single run per point: no noise estimate, differences are not tested (--runs 2+ to test them)."
      : "A difference is called only when the 95% intervals of the runs separate."
  }`;
}

/** The lines after the recommendation. */
export function laterLines(
  m: MergedRow[],
  cross: Crossover,
  single: boolean,
  pair: [string, string] | null,
): string[] {
  return [
    crossoverLine(m, cross, single),
    pair
      ? turnLine(m, cross, pair[0], pair[1], single)
      : "PPD vs PD: not compared (needs a topology named ppd… and one named pd…).",
    conventionLine(m, single),
  ];
}
