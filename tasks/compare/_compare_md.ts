/**
 * The sections of `compare.md`: the header, a table per metric (deltas against
 * the first topology and whether each exceeds noise), goodput, crossovers,
 * per-turn TTFT and the turn-2+ findings. The numbers come from `compare.ts`.
 *
 * @module
 */
import { maxOf } from "../../lib/stats.ts";
import { type MergedRow, turnList } from "../../lib/merged_schema.ts";
import { beyondNoise, improvementPct, sloText } from "../../lib/metrics.ts";
import type { Ranking } from "../../lib/ranking.ts";
import type { Crossing, TurnFinding } from "./_crossover.ts";
import type { TopologyGoodput } from "./compare.ts";

const f = (x: unknown, d = 2) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "–");

/** Title, reading guide and GPUs per topology. */
export function headerMd(names: string[], byName: Map<string, MergedRow[]>): string[] {
  return [
    `# Comparison: ${names.join(" vs ")}`,
    "",
    `Mean over runs ± 95% CI half-width. Δ is the improvement over **${names[0]}** in percent of`,
    `${
      names[0]
    }'s value, **positive = better** (lower latency, higher throughput); "beyond noise" is`,
    "yes when the two 95% intervals do not overlap, no when they do, n/a with a single run.",
    "Δ is shown only between topologies with the same GPU count; rows are the offered loads each",
    "topology ran (rates searched per topology rarely coincide: see the SLO capacity table).",
    `GPUs: ${
      names.map((n) => `${n} ${byName.get(n)![0]?.gpus ?? "?"}`).join(", ")
    } (throughputs here are per topology; goodput below is also per GPU).`,
    ...(byName.values().some((rows) => rows.some((r) => r.saturated))
      ? [
        "A value marked (stopped) is a point the saturation stop ended in its first seconds (its queue",
        "was diverging): it shows those seconds, not the rate held, and gets no Δ.",
      ]
      : []),
    "",
  ];
}

/** Δ against `base` and whether it is beyond noise, for metric `m`. */
function deltaCells(
  base: MergedRow | undefined,
  r: MergedRow | undefined,
  m: string,
  lower: boolean,
): [string, string] {
  const a = base?.[m], b = r?.[m];
  if (typeof a !== "number" || typeof b !== "number") return ["–", "–"];
  // a point ended by the saturation stop holds only its first seconds: no difference is read from it
  if (base?.saturated || r?.saturated) return ["stopped", "–"];
  // 1 GPU against 2 at equal absolute load is no comparison: the SLO capacity table is per GPU
  if (base?.gpus != null && r?.gpus != null && base.gpus !== r.gpus) return ["GPUs differ", "–"];
  const imp = improvementPct(a, b, lower);
  const nb = beyondNoise(
    a,
    base![`${m}_ci95`] as number | null,
    b,
    r![`${m}_ci95`] as number | null,
  );
  return [
    imp === null ? "–" : `${imp >= 0 ? "+" : ""}${f(imp, 1)}%`,
    nb === null ? "n/a" : nb ? "yes" : "no",
  ];
}

/** One table row: the rate, each topology's value ± CI, then Δ and noise against the first. */
function metricRow(at: (MergedRow | undefined)[], rate: number, m: string, lower: boolean) {
  const cells = [rate === Infinity ? "inf" : String(rate)];
  for (const r of at) {
    const h = r?.[`${m}_ci95`];
    cells.push(
      r && typeof r[m] === "number"
        ? `${f(r[m])}${typeof h === "number" ? ` ± ${f(h)}` : ""}${r.saturated ? " (stopped)" : ""}`
        : "–",
    );
  }
  for (const r of at.slice(1)) cells.push(...deltaCells(at[0], r, m, lower));
  return `| ${cells.join(" | ")} |`;
}

/** A table per metric present in `means` (rows: rates; columns: topologies, then Δ and noise). */
export function metricTablesMd(
  metrics: [string, boolean][],
  names: string[],
  byName: Map<string, MergedRow[]>,
  means: MergedRow[],
  unit = "req/s",
): string[] {
  const md: string[] = [];
  const rates = [...new Set(means.map((r) => r.rate_target as number))].sort((a, b) => a - b);
  for (const [m, lower] of metrics) {
    if (!means.some((r) => typeof r[m] === "number")) continue;
    md.push(`## ${m} (${lower ? "lower" : "higher"} is better)`, "");
    const head = [`offered (${unit})`, ...names.map((n) => n)];
    for (const n of names.slice(1)) head.push(`Δ ${n}`, `beyond noise`);
    md.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
    for (const rate of rates) {
      const at = names.map((n) => byName.get(n)!.find((r) => r.rate_target === rate));
      md.push(metricRow(at, rate, m, lower));
    }
    md.push("");
  }
  return md;
}

/** The ranking table: SLO capacity (bracketed), per GPU, output per GPU, binding objective. */
export function goodputMd(r: Ranking, goodput: TopologyGoodput[]): string[] {
  const u = r.rate_unit;
  const md = [
    `## SLO capacity (attainment ≥ ${r.target_pct}% of requests within SLO)`,
    "",
    `SLO: ${
      sloText({ ttftMs: r.slo.ttft_ms ?? undefined, tpotMs: r.slo.tpot_ms ?? undefined })
    }. Capacity: the highest offered rate (${u}) meeting it, interpolated between the last passing and the first failing rate measured; per GPU divides by the topology's own GPUs.`,
    "",
    `| rank | topology | GPUs | SLO capacity (${u}) | last passing – first failing rate (${u}) | per GPU (${u}) | output tok/s per GPU at the last passing rate | fails first | capacity at SLO × ${
      goodput[0]?.slo_scales.map((s) => s.scale).join(" / ") ?? ""
    } (${u}) |`,
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const t of r.topologies) {
    const scales = goodput.find((g) => g.topology === t.topology)?.slo_scales ?? [];
    md.push(
      `| ${t.rank ?? "–"} | ${t.topology} | ${t.gpus ?? "?"} | ${t.fail_rate === null ? "≥ " : ""}${
        f(t.slo_capacity)
      } | ${t.pass_rate ?? "none"} – ${t.fail_rate ?? "not reached"} | ${
        f(t.slo_capacity_per_gpu)
      } | ${f(t.output_tok_s_per_gpu, 0)} | ${t.binding ?? "–"} | ${
        scales.map((s) => `${s.lower_bound ? "≥" : ""}${f(s.slo_capacity)}`).join(" / ")
      } |`,
    );
  }
  md.push("");
  return md;
}

/** One line per crossing; nothing without crossings. */
export function crossoversMd(
  cross: { metric: string; per_gpu: boolean; crossings: Crossing[] }[],
  unit: string,
): string[] {
  if (!cross.length) return [];
  const md = [
    "## Crossovers",
    "",
    `Offered rate (${unit}); pairs with different GPU counts cross on the rate per GPU.`,
    "",
  ];
  for (const c of cross) {
    for (const x of c.crossings) {
      md.push(
        `- ${c.metric}: ${x.betterBefore} better below ${f(x.rate)} ${unit}${
          c.per_gpu ? " per GPU" : ""
        }, ${x.betterAfter} above`,
      );
    }
  }
  md.push("");
  return md;
}

/** Multi-turn points: mean TTFT per turn and cumulative conversation latency; nothing without. */
export function perTurnMd(means: MergedRow[]): string[] {
  const perTurn = means.filter((r) => turnList(r.ttft_by_turn_ms).length > 1);
  if (!perTurn.length) return [];
  const T = maxOf(perTurn.map((r) => turnList(r.ttft_by_turn_ms).length));
  const cols = Array.from({ length: T }, (_, i) => `turn ${i + 1}`);
  const md = [
    "## Per turn (mean TTFT, ms; last column: mean cumulative conversation latency, ms)",
    "",
    `| topology | rate | ${cols.join(" | ")} | cumulative |`,
    `|---|---|${cols.map(() => "---").join("|")}|---|`,
  ];
  perTurn.sort((a, b) =>
    String(a.topology).localeCompare(String(b.topology)) ||
    (a.rate_target as number) - (b.rate_target as number)
  );
  for (const r of perTurn) {
    const t = turnList(r.ttft_by_turn_ms);
    const cum = turnList(r.cum_e2el_by_turn_ms);
    md.push(
      `| ${r.topology} | ${r.load_point} | ${cols.map((_, i) => f(t[i] ?? null)).join(" | ")} | ${
        f(cum.at(-1) ?? null)
      } |`,
    );
  }
  md.push("");
  return md;
}

/** One sentence per turn-2+ TTFT comparison. */
export function turnsMd(turns: TurnFinding[], unit = "req/s"): string[] {
  return turns.map((t) =>
    `Turn-2+ mean TTFT, improvement of ${t.a} over ${t.b} (positive = ${t.a} faster): ${
      t.byRate.map((x) => `${f(x.improvementPct, 1)}% at ${x.rate}`).join(", ")
    } ${unit}.`
  );
}
