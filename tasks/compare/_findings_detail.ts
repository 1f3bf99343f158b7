/**
 * The findings after the recommendation: crossovers between equal-budget
 * topologies (or per GPU), the PPD-vs-PD trade (turn-2+ TTFT against
 * end-to-end latency), and the convention; plus the number formats and the
 * interpolation every findings line shares.
 *
 * @module
 */
import { maxOf, minOf } from "../../lib/stats.ts";
import type { MergedRow } from "../../lib/merged_schema.ts";
import { beyondNoise } from "../../lib/metrics.ts";
import type { compare } from "./compare.ts";
import { commonPoints, type Point, valueAt } from "./_crossover.ts";

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

/** Metric `k` of topology `t` at offered rate `x`, interpolated; null outside its range. */
export function interpolate(m: MergedRow[], t: string, k: string, x: number): number | null {
  return valueAt(curveOf(m, t, k), x);
}

/** Crossings between equal-budget topologies (or per GPU) in the latency metrics. */
function crossoverLine(cross: Crossover, single: boolean): string {
  const keep = ["mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "mean_e2el_ms"];
  const u = cross.rate_unit;
  const xs = cross.crossovers.filter((c) => keep.includes(c.metric)).flatMap((c) =>
    c.crossings.map((x) =>
      `${
        c.metric.replace(/_ms$/, "").replace(/_/g, " ")
      }: ${x.betterAfter} better than ${x.betterBefore} above ${rate(x.rate)} ${u}${
        c.per_gpu ? " per GPU" : ""
      }`
    )
  );
  if (!xs.length) {
    return `Crossovers (equal GPU budgets on the offered rate, others per GPU): none in the latency metrics.`;
  }
  return `Crossovers (equal GPU budgets on the offered rate, others per GPU${
    single ? "; single run" : ""
  }): ${xs.slice(0, 5).join("; ")}${
    xs.length > 5 ? ` (+${xs.length - 5} more in crossover.json)` : ""
  }.`;
}

/** The gains' range and rates, e.g. `+28%…+43% at 2.1–14 conv/s`. */
function gainSpan(gs: { rate: number; pct: number }[], unit: string): string {
  if (gs.length === 1) return `${pct(gs[0].pct)} at ${rate(gs[0].rate)} ${unit}`;
  const ps = gs.map((g) => g.pct);
  return `${pct(minOf(ps))}…${pct(maxOf(ps))} at ${rate(gs[0].rate)}–${
    rate(gs.at(-1)!.rate)
  } ${unit}`;
}

/** Improvement of `a` over `b` in metric `k` (lower better), at the rates both cover. */
function gains(m: MergedRow[], a: string, b: string, k: string) {
  const at = (t: string, r: number) => m.find((x) => x.topology === t && x.rate_target === r);
  return commonPoints(curveOf(m, a, k), curveOf(m, b, k)).filter(([, , vb]) => vb > 0)
    .map(([r, va, vb]) => {
      const ra = at(a, r), rb = at(b, r);
      const sep = ra && rb ? beyondNoise(va, val(ra, `${k}_ci95`), vb, val(rb, `${k}_ci95`)) : null;
      return { rate: r, pct: (vb - va) / vb * 100, separated: sep };
    });
}

/** `a` vs `b` in metric `k`: faster / slower / within noise, by rate. */
function gainParts(gs: ReturnType<typeof gains>, a: string, unit: string): string {
  const better = gs.filter((g) => g.pct > 0 && g.separated !== false);
  const worse = gs.filter((g) => g.pct < 0 && g.separated !== false);
  const parts = [];
  if (better.length) parts.push(`${a} better by ${gainSpan(better, unit)}`);
  if (worse.length) parts.push(`${a} worse (${gainSpan(worse, unit)})`);
  const same = gs.length - better.length - worse.length;
  if (same) parts.push(`no significant difference at ${same} rate${same > 1 ? "s" : ""}`);
  return parts.join("; ");
}

/** PPD vs PD: the turn-2+ TTFT it wins and the end-to-end latency it pays. */
function turnLine(m: MergedRow[], ppd: string, pd: string, unit: string, single: boolean) {
  const t2 = gains(m, ppd, pd, "mean_ttft_turn2plus_ms");
  if (!t2.length) {
    return `${ppd} vs ${pd}: turn-2+ TTFT not measured (needs both on a multi-turn workload).`;
  }
  const e2e = gains(m, ppd, pd, "mean_e2el_ms");
  return `${ppd} vs ${pd} (improvement over ${pd}${
    single ? ", single run" : ""
  }): turn-2+ mean TTFT: ${gainParts(t2, ppd, unit)}; mean E2E: ${
    e2e.length ? gainParts(e2e, ppd, unit) : "not measured"
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
    crossoverLine(cross, single),
    pair
      ? turnLine(m, pair[0], pair[1], cross.rate_unit, single)
      : "PPD vs PD: not compared (needs a topology named ppd… and one named pd…).",
    conventionLine(m, single),
  ];
}
