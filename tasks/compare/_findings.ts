/**
 * The findings printed at the end of `deno task demo` and the pipeline, and
 * opening `report.html`: who wins at the lowest and highest common load
 * (latency, and output per GPU), crossover rates against the first topology,
 * the PPD-vs-PD turn-2+ TTFT gain per rate, and goodput per GPU. A difference
 * is called only when the 95% intervals of repeated runs separate; with one
 * run per point it is marked "single run". Convention (stated in the output):
 * improvements are relative to the reference, positive = better.
 *
 * @module
 */
import { maxOf, minOf } from "../../lib/stats.ts";
import type { MergedRow } from "../../lib/merged_schema.ts";
import { beyondNoise, improvementPct, sloText } from "../../lib/metrics.ts";
import type { compare } from "./compare.ts";
import { turnFinding } from "./_crossover.ts";

type Crossover = ReturnType<typeof compare>["json"];

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const rate = (x: number) => String(Number(x.toPrecision(3)));
const pct = (x: number) =>
  `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(Math.abs(x) >= 10 ? 0 : 1)}%`;

/** Mean rows with a finite rate. */
function means(rows: MergedRow[]): MergedRow[] {
  return rows.filter((r) =>
    r.run_index === "mean" && typeof r.rate_target === "number" && Number.isFinite(r.rate_target)
  );
}

const val = (r: MergedRow | undefined, m: string): number | null => {
  const v = r?.[m];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
};

/** Whether two rows differ in `m` beyond noise: true/false, or null with a single run. */
function separated(a: MergedRow, b: MergedRow, m: string): boolean | null {
  return beyondNoise(
    val(a, m) ?? NaN,
    val(a, `${m}_ci95`),
    val(b, m) ?? NaN,
    val(b, `${m}_ci95`),
  );
}

/** The best row for `m` and whether it beats the runner-up beyond noise. */
function winner(rows: MergedRow[], m: string, lower: boolean): string | null {
  const ok = rows.filter((r) => val(r, m) !== null)
    .sort((a, b) => (lower ? 1 : -1) * (val(a, m)! - val(b, m)!));
  if (!ok.length) return null;
  const [best, next] = ok;
  const v = m.endsWith("_ms") ? `${ms(val(best, m)!)} ms` : `${val(best, m)!.toFixed(0)} tok/s`;
  if (!next) return `${best.topology} (${v})`;
  const sep = separated(best, next, m);
  if (sep === false) {
    return `no significant difference between ${best.topology} (${v}) and ${next.topology}`;
  }
  return `${best.topology} (${v}, ${
    pct(improvementPct(val(next, m), val(best, m), lower)!)
  } vs ${next.topology})`;
}

function loadLine(
  what: string,
  rows: MergedRow[],
  at: number,
  unit: string,
  rankOutput: boolean,
): string {
  const here = rows.filter((r) => r.rate_target === at);
  const parts = [
    ["lowest mean TTFT", winner(here, "mean_ttft_ms", true)],
    ["lowest mean TPOT", winner(here, "mean_tpot_ms", true)],
    // below saturation output follows the offered load: only the highest load ranks it
    ["most output per GPU", rankOutput ? winner(here, "output_throughput_per_gpu", false) : null],
  ].filter(([, w]) => w !== null).map(([k, w]) => `${k}: ${w}`);
  return `${what} (${rate(at)} ${unit}): ${parts.join("; ") || "no data"}.`;
}

/** Per common rate, the improvement (%) of `a`'s turn-2+ mean TTFT over `b`'s (positive = `a` faster). */
export function turnGains(
  rows: MergedRow[],
  a: string,
  b: string,
): { rate: number; pct: number; separated: boolean | null }[] {
  const m = means(rows);
  const at = (t: string, r: number) => m.find((x) => x.topology === t && x.rate_target === r)!;
  const curve = (t: string) =>
    m.filter((r) => r.topology === t && val(r, "mean_ttft_turn2plus_ms") !== null)
      .map((r) => ({ rate: r.rate_target as number, value: val(r, "mean_ttft_turn2plus_ms")! }));
  return turnFinding([a, b], curve(a), curve(b)).byRate.map((x) => ({
    rate: x.rate,
    pct: x.improvementPct,
    separated: separated(at(a, x.rate), at(b, x.rate), "mean_ttft_turn2plus_ms"),
  }));
}

/** What every findings line is about: the mean rows, their rates and unit, and whether single runs. */
interface Scope {
  /** Mean rows with a finite rate. */
  m: MergedRow[];
  /** Their rates, ascending. */
  rates: number[];
  /** Offered-load unit: conv/s on multi-turn workloads, else req/s. */
  unit: string;
  /** One run per point: no noise estimate. */
  single: boolean;
}

function conventionLine(s: Scope, tops: string[]): string {
  const gpus = tops.map((t) => `${t} ${s.m.find((r) => r.topology === t)?.gpus ?? "?"}`);
  return `Convention: differences are relative to the runner-up or reference, positive = better; "per GPU" divides by each topology's GPUs (${
    gpus.join(", ")
  }). ${
    s.single
      ? "Single run per point: no noise estimate, differences are not tested (--runs 2+ to test them)."
      : "A difference is called only when the 95% intervals of the runs separate."
  }`;
}

/** Crossings against the first topology in the latency and per-GPU metrics, noise left out. */
function crossoverLine(s: Scope, cross: Crossover): string {
  const keep = ["mean_ttft_ms", "mean_tpot_ms", "output_throughput_per_gpu"];
  const base = cross.topologies[0];
  const row = (t: string, r: number) => s.m.find((x) => x.topology === t && x.rate_target === r);
  const xs: string[] = [];
  let noisy = 0;
  for (const c of cross.crossovers) {
    if (!keep.includes(c.metric) || (c.a !== base && c.b !== base)) continue;
    for (const x of c.crossings) {
      // the common rates either side of the crossing must both separate (with repeats)
      const lo = s.rates.filter((r) => r <= x.rate).at(-1), hi = s.rates.find((r) => r >= x.rate);
      const sides = [lo, hi].map((r) => {
        const ra = r === undefined ? undefined : row(c.a, r);
        const rb = r === undefined ? undefined : row(c.b, r);
        return ra && rb ? separated(ra, rb, c.metric) : null;
      });
      if (sides.some((v) => v === false)) {
        noisy++;
        continue;
      }
      xs.push(
        `${
          c.metric.replace(/_ms$/, "").replace(/_/g, " ")
        }: ${x.betterAfter} better than ${x.betterBefore} above ${rate(x.rate)} ${s.unit}`,
      );
    }
  }
  return xs.length
    ? `Crossovers against ${base}${s.single ? " (single run)" : ""}: ${xs.slice(0, 4).join("; ")}${
      xs.length > 4 ? ` (+${xs.length - 4} more in crossover.json)` : ""
    }${noisy ? `; ${noisy} within noise left out` : ""}.`
    : `Crossovers against ${base}: none beyond noise in ${rate(s.rates[0])}–${
      rate(s.rates.at(-1)!)
    } ${s.unit}.`;
}

/** The gains' range and rates, e.g. `+28%…+43% at 2.1–14 conv/s`. */
function gainSpan(gs: { rate: number; pct: number }[], unit: string): string {
  if (gs.length === 1) return `${pct(gs[0].pct)} at ${rate(gs[0].rate)} ${unit}`;
  const ps = gs.map((g) => g.pct);
  const lo = minOf(ps), hi = maxOf(ps);
  return `${pct(lo)}…${pct(hi)} at ${rate(gs[0].rate)}–${rate(gs.at(-1)!.rate)} ${unit}`;
}

/** `ppd` vs `pd` turn-2+ mean TTFT per rate, split by faster / slower / within noise. */
function turnLine(s: Scope, ppd: string, pd: string): string {
  const gains = turnGains(s.m, ppd, pd);
  if (!gains.length) {
    return `${ppd} vs ${pd} turn-2+ TTFT: not measured (needs both on a multi-turn workload).`;
  }
  const better = gains.filter((g) => g.pct > 0 && g.separated !== false);
  const worse = gains.filter((g) => g.pct < 0 && g.separated !== false);
  const parts = [];
  if (better.length) parts.push(`${ppd} faster by ${gainSpan(better, s.unit)}`);
  if (worse.length) parts.push(`${ppd} slower (${gainSpan(worse, s.unit)})`);
  const same = gains.length - better.length - worse.length;
  if (same) parts.push(`no significant difference at ${same} rate${same > 1 ? "s" : ""}`);
  return `${ppd} vs ${pd} turn-2+ mean TTFT (improvement over ${pd}${
    s.single ? ", single run" : ""
  }): ${parts.join("; ")}.`;
}

/** Goodput per GPU of each topology and the best one. */
function goodputLine(cross: Crossover, unit: string): string {
  const g = cross.goodput.filter((x) => x.goodput_per_gpu !== null);
  if (!cross.slo || !g.length) return "Goodput per GPU: no SLO set.";
  const sl = sloText({
    ttftMs: cross.slo.ttft_ms ?? undefined,
    tpotMs: cross.slo.tpot_ms ?? undefined,
  });
  const top = g.reduce((a, b) => (b.goodput_per_gpu! > a.goodput_per_gpu! ? b : a));
  const capped = g.filter((x) => x.at_least).map((x) => x.topology);
  return `Goodput per GPU (${sl}, ${cross.target_pct}% of requests): ${
    g.map((x) =>
      `${x.topology} ${x.at_least ? "≥" : ""}${x.goodput_per_gpu!.toFixed(2)} (${x.gpus} GPU${
        x.gpus === 1 ? "" : "s"
      })`
    ).join(", ")
  } ${unit}; best ${top.topology}${
    capped.length
      ? ` (≥: met the SLO at every swept rate; sweep higher to rank ${capped.join(", ")})`
      : ""
  }.`;
}

/** Findings lines from merged rows and compare's crossover.json object. */
export function findings(rows: MergedRow[], cross: Crossover, ppd = "ppd", pd = "pd"): string[] {
  const m = means(rows);
  const rates = [...new Set(m.map((r) => r.rate_target as number))].sort((a, b) => a - b);
  if (!rates.length) return ["No finished load points: nothing to summarize."];
  const s: Scope = {
    m,
    rates,
    // offered load is conversations/s on multi-turn workloads (each brings several requests)
    unit: m.some((r) => r.workload.startsWith("multiturn")) ? "conv/s" : "req/s",
    single: m.every((r) => (r.n_runs ?? 1) < 2),
  };
  const tops = [...new Set(m.map((r) => r.topology))];
  // the highest rate every topology reached (early stops end some sweeps sooner)
  const common = rates.filter((x) =>
    tops.every((t) => m.some((r) => r.topology === t && r.rate_target === x))
  );
  return [
    conventionLine(s, tops),
    loadLine("Lowest load", m, common[0] ?? rates[0], s.unit, false),
    loadLine("Highest load", m, common.at(-1) ?? rates.at(-1)!, s.unit, true),
    crossoverLine(s, cross),
    turnLine(s, ppd, pd),
    goodputLine(cross, s.unit),
  ];
}

/** `findings.md`: the findings as a Markdown list. */
export function findingsMd(lines: string[]): string {
  return `# Findings\n\n${lines.map((l) => `- ${l}`).join("\n")}\n`;
}
