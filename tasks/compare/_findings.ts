/**
 * The findings printed at the end of `deno task demo` and the pipeline, and
 * opening `report.html`. They read the one ranking record of `crossover.json`
 * (`lib/ranking.ts`), so they agree with every table and figure:
 *
 * 1. the recommendation: with the largest GPU budget tested, which topology
 *    holds the SLO up to which rate, its margin and whether the margin is
 *    beyond what the measured rates resolve (and noise, with repeats);
 * 2. the ranking by SLO capacity per GPU, the objective that fails first as load rises;
 * 3. what the winner gives up against the runner-up where both hold the SLO;
 * 4. the settings that decide the result (routing policy) and what was not tested;
 * 5. crossovers between equal-budget topologies, the PPD-vs-PD turn-2+ TTFT
 *    and end-to-end trade, and the convention.
 *
 * @module
 */
import type { MergedRow } from "../../lib/merged_schema.ts";
import { sloText } from "../../lib/metrics.ts";
import {
  beyondBracket,
  type RankedTopology,
  type Ranking,
  rankingSummary,
} from "../../lib/ranking.ts";
import { ppdPdPair } from "../../plot/charts/multi_turn.ts";
import type { compare } from "./compare.ts";
import {
  interpolate,
  interpolatedNote,
  laterLines,
  meanRows,
  num,
  pct,
  rate,
} from "./_findings_detail.ts";

type Crossover = ReturnType<typeof compare>["json"];

/** What the findings know beyond the rows: routing policies and the PPD/PD pair. */
export interface FindingsOptions {
  /** Topology label -> router policy it ran with (named in the findings). @default {} */
  policies?: Record<string, string>;
  /** The PPD and PD labels of the turn-2+ comparison. @default the first named ppd… and pd… */
  pair?: [string, string];
}

const gpuText = (g: number | null) => `${g ?? "?"} GPU${g === 1 ? "" : "s"}`;

/** `dp (2 GPUs, session routing)` */
function named(t: RankedTopology, o: FindingsOptions): string {
  const p = o.policies?.[t.topology];
  return `${t.topology} (${gpuText(t.gpus)}${p ? `, ${p} routing` : ""})`;
}

/** The SLO and target in words. */
function sloWords(r: Ranking): string {
  return `${
    sloText({ ttftMs: r.slo.ttft_ms ?? undefined, tpotMs: r.slo.tpot_ms ?? undefined })
  } for ${r.target_pct}% of requests`;
}

/** The first line: which topology to run on the largest budget tested, and up to which rate. */
export function recommendation(r: Ranking, single: boolean, o: FindingsOptions = {}): string {
  const ranked = r.topologies.filter((t) => t.rank !== null);
  if (!ranked.length) {
    return `Recommendation: none — no topology met ${sloWords(r)} at any rate measured.`;
  }
  const unknown = ranked.filter((t) => t.gpus === null).map((t) => t.topology);
  if (unknown.length && ranked.length > 1) {
    return `Recommendation: none — the GPU count of ${
      unknown.join(", ")
    } is not recorded (bench --gpus N records it), so the topologies cannot be set against each other on equal hardware.`;
  }
  const budget = Math.max(...ranked.map((t) => t.gpus ?? 0));
  const full = ranked.filter((t) => (t.gpus ?? 0) === budget)
    .sort((a, b) => b.slo_capacity - a.slo_capacity);
  const [w, next] = full;
  const u = r.rate_unit;
  let margin = `the only ${gpuText(budget)} topology tested`;
  if (next) {
    const sep = beyondBracket(w, next);
    margin = `${(w.slo_capacity / next.slo_capacity).toFixed(2)}× ${next.topology}'s ${
      rate(next.slo_capacity)
    } ${u} (${
      sep === null
        ? `${next.topology} was not pushed past its capacity`
        : sep
        ? "a real gap: their pass–fail rate ranges do not overlap"
        : "not resolved: their pass–fail rate ranges overlap"
    }${single ? "; single run, noise not tested" : ""})`;
  }
  const hw = w.gpus === null ? "GPUs not recorded" : gpuText(budget);
  // never pushed past: its capacity is a lower bound, and nothing is known above it
  const above = w.fail_rate === null
    ? ` ${w.topology} held the SLO at every rate measured: its capacity is above ${
      rate(w.slo_capacity)
    } ${u} (measure higher rates to find it).`
    : ` Above ${rate(w.slo_capacity)} ${u} no tested ${budget}-GPU topology holds the SLO.`;
  const perGpu = w.slo_capacity_per_gpu === null
    ? ""
    : ` (${rate(w.slo_capacity_per_gpu)} ${u} per GPU)`;
  return `Recommendation (${hw}, ${sloWords(r)}): use ${named(w, o)} up to ${
    rate(w.slo_capacity)
  } ${u}${perGpu}; ${margin}.${above}${smallerFirst(r, w)}`;
}

/** When a topology on fewer GPUs ranks first per GPU: say so, and that the recommendation is per budget. */
function smallerFirst(r: Ranking, w: RankedTopology): string {
  const top = r.topologies[0];
  if (top === w || top.rank === null || (top.gpus ?? 0) >= (w.gpus ?? 0)) return "";
  const per = (t: RankedTopology) => rate(t.slo_capacity_per_gpu ?? t.slo_capacity);
  const sep = beyondBracket(top, w);
  return ` Per GPU, ${top.topology} on ${gpuText(top.gpus)} ranks first: ${
    per(top)
  } against ${w.topology}'s ${per(w)} ${r.rate_unit} per GPU (${
    sep
      ? "a real gap: their pass–fail rate ranges do not overlap"
      : "not resolved: their pass–fail rate ranges overlap"
  }); the recommendation compares topologies of the whole budget.`;
}

/** The ranking by SLO capacity per GPU (the figures' caption), then brackets and binding objectives. */
function rankingLine(r: Ranking): string {
  const u = r.rate_unit;
  const parts = r.topologies.map((t) =>
    `${t.topology} ${rate(t.slo_capacity)} ${u} on ${gpuText(t.gpus)}, measured ${
      t.pass_rate ?? "none"
    }–${t.fail_rate ?? "not reached"}${t.binding ? `, ${t.binding.toUpperCase()} fails first` : ""}`
  );
  return `Ranking by SLO capacity per GPU (as in slo_rate and pareto): ${
    rankingSummary(r)
  }. In all: ${parts.join("; ")}.`;
}

/** Metrics a winner may trade away, with lower = better. */
const TRADE_METRICS: [string, string][] = [
  ["p90_ttft_ms", "p90 TTFT"],
  ["p90_tpot_ms", "p90 TPOT"],
  ["mean_e2el_ms", "mean E2E"],
  ["p99_e2el_ms", "p99 E2E"],
];

/** What the recommended topology gives up against the runner-up at a load both hold. */
function tradeLine(r: Ranking, m: MergedRow[]): string | null {
  const full = r.topologies.filter((t) => t.rank !== null)
    .sort((a, b) => (b.gpus ?? 0) - (a.gpus ?? 0) || b.slo_capacity - a.slo_capacity);
  const [w, next] = full.filter((t) => (t.gpus ?? 0) === (full[0]?.gpus ?? 0));
  if (!w || !next || next.pass_rate === null) return null;
  const at = Math.min(w.pass_rate!, next.pass_rate);
  const worse: string[] = [], better: string[] = [];
  for (const [k, name] of TRADE_METRICS) {
    const a = interpolate(m, w.topology, k, at), b = interpolate(m, next.topology, k, at);
    if (a === null || b === null || b <= 0) continue;
    const d = (a - b) / b * 100;
    const txt = `${name} ${num(a)} vs ${num(b)} ms (${pct(-d)})`;
    if (d > 2) worse.push(txt);
    else if (d < -2) better.push(txt);
  }
  const interp = [w, next].map((t) => interpolatedNote(m, t.topology, at)).filter(Boolean);
  const head = `At ${rate(at)} ${r.rate_unit}, where both hold the SLO${
    interp.length ? ` (${interp.join("; ")})` : ""
  }, ${w.topology} vs ${next.topology}`;
  if (!worse.length) {
    return `${head}: ${w.topology} gives up nothing measured${
      better.length ? ` and gains ${better.join(", ")}` : " (all within 2%)"
    } (improvement over ${next.topology}, positive = better).`;
  }
  return `${head}: ${w.topology} gives up ${worse.join(", ")}${
    better.length ? `; gains ${better.join(", ")}` : ""
  } (improvement over ${next.topology}, positive = better).`;
}

/** The settings that decide the result, and what the comparison did not test. */
function settingsLine(r: Ranking, single: boolean, o: FindingsOptions): string {
  const pol = Object.entries(o.policies ?? {}).filter(([t]) =>
    r.topologies.some((x) => x.topology === t)
  );
  const byPolicy = new Map<string, string[]>();
  for (const [t, p] of pol) byPolicy.set(p, [...byPolicy.get(p) ?? [], t]);
  const routing = pol.length
    ? `Routing: ${
      [...byPolicy].map(([p, ts]) => `${p} for ${ts.join(", ")}`).join("; ")
    } (it decides replica results on multi-turn workloads: prefix-cache hits follow the session).`
    : "Routing policy: not recorded for these runs.";
  const untested = [
    single ? "repeats (single run per point: noise not tested; --runs 2+)" : null,
    "GPU budgets and splits other than those listed",
  ].filter(Boolean);
  return `${routing} Not tested: ${untested.join("; ")}.`;
}

/** The findings lines: recommendation first, then ranking, trade-offs, settings, details. */
export function findings(rows: MergedRow[], cross: Crossover, o: FindingsOptions = {}): string[] {
  const m = meanRows(rows);
  if (!m.length) return ["No finished load points: nothing to summarize."];
  const single = m.every((r) => (r.n_runs ?? 1) < 2);
  const r = cross.ranking;
  const head = r
    ? [
      recommendation(r, single, o),
      rankingLine(r),
      tradeLine(r, m),
      settingsLine(r, single, o),
    ]
    : ["No SLO set: no recommendation or ranking (give slo: ttft_ms/tpot_ms to rank topologies)."];
  const pair = ppdPdPair([...new Set(m.map((x) => x.topology))], o.pair);
  return [...head.filter((l): l is string => l !== null), ...laterLines(m, cross, single, pair)];
}

/** `findings.md`: the findings as a Markdown list. */
export function findingsMd(lines: string[]): string {
  return `# Findings\n\n${lines.map((l) => `- ${l}`).join("\n")}\n`;
}
