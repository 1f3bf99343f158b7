/**
 * Multi-turn figures: mean TTFT of turn 1 vs turns 2+ per topology across
 * rates, and the PPD-over-PD improvement bars per workload.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  DASH_LEGEND,
  latencyAxis,
  LINE_MARK,
  num,
  offeredRateX,
  offeredTitle,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { offeredRate } from "./throughput_vs_rate.ts";
import { improvementPct, valueAtRate } from "../../lib/metrics.ts";

/** Builds TTFT by turn (turn 1 solid, turns 2+ dashed) vs offered rate. */
export function ttftByTurn(rows: PointRow[], ctx: ChartContext): ChartResult {
  const data = rows.flatMap((r) => {
    const x = offeredRate(r);
    if (x === null) return [];
    const out = [];
    const t1 = num(r.mean_ttft_turn1_ms), t2 = num(r.mean_ttft_turn2plus_ms);
    if (t1 !== null) {
      out.push({ topology: String(r.topology), offered_rps: x, turn: "turn 1", ttft_ms: t1 });
    }
    if (t2 !== null) {
      out.push({ topology: String(r.topology), offered_rps: x, turn: "turns 2+", ttft_ms: t2 });
    }
    return out;
  }).sort((a, b) => a.offered_rps - b.offered_rps);
  if (!data.some((d) => d.turn === "turns 2+")) {
    return { skip: "no multi-turn results (no TTFT of turn 2 or later)" };
  }
  return {
    spec: topLevel(ctx, "Multi-turn: mean TTFT of turn 1 vs turns 2+", {
      data: { values: data },
      mark: LINE_MARK,
      encoding: {
        x: offeredRateX(ctx, data.map((d) => d.offered_rps)),
        y: latencyAxis(ctx, "ttft_ms", "Mean TTFT (ms)"),
        color: topologyColor(ctx),
        strokeDash: {
          field: "turn",
          type: "nominal",
          title: "Turn",
          scale: { domain: ["turn 1", "turns 2+"], range: [[1, 0], [6, 3]] },
          legend: DASH_LEGEND,
        },
        detail: { field: "turn" },
      },
    }),
  };
}

/** Mean TTFT of one turn index of one topology at one offered load. */
export interface TurnPoint {
  topology: string;
  offered: number;
  /** Its panel: the offered load all topologies share, or its own "lowest" / "last load meeting the SLO" / "highest". */
  panel: string;
  turn: number;
  mean_ttft_ms: number;
  requests: number;
}

/** Builds mean TTFT per turn (1..T) per topology, one panel per offered load. */
export function ttftPerTurn(points: TurnPoint[], ctx: ChartContext): ChartResult {
  if (!points.some((p) => p.turn >= 2)) {
    return { skip: "no multi-turn results (no TTFT of turn 2 or later)" };
  }
  return {
    spec: topLevel(ctx, "Multi-turn: mean TTFT per turn", {
      data: { values: points },
      facet: {
        column: points.some((p) => p.panel === "lowest")
          ? {
            field: "panel",
            type: "nominal",
            sort: ["lowest", "last load meeting the SLO", "highest"],
            title: `${offeredTitle(ctx)}: each topology's lowest and ${
              points.some((p) => p.panel === "highest") ? "highest" : "last meeting the SLO"
            } (no load all ran)`,
          }
          : {
            field: "offered",
            type: "ordinal",
            title: `${offeredTitle(ctx)} (lowest and highest every topology ran)`,
          },
      },
      spec: {
        width: 300,
        height: 280,
        mark: LINE_MARK,
        encoding: {
          x: { field: "turn", type: "ordinal", title: "Turn", axis: { labelAngle: 0 } },
          y: latencyAxis(ctx, "mean_ttft_ms", "Mean TTFT (ms)"),
          color: topologyColor(ctx),
          tooltip: [{ field: "topology" }, { field: "offered" }, { field: "turn" }, {
            field: "requests",
          }, {
            field: "mean_ttft_ms",
            format: ".1f",
          }],
        },
      },
    }),
  };
}

/** Metrics compared between PPD and PD (lower is better). */
export const IMPROVEMENT_METRICS: Record<string, string> = {
  mean_ttft_turn2plus_ms: "mean TTFT turns 2+",
  mean_ttft_ms: "mean TTFT",
  p99_ttft_ms: "p99 TTFT",
  mean_e2el_ms: "mean E2E",
};

const isPpd = (t: string) => /(^|[-_.])ppd($|[-_.\d])/i.test(t);
const isPd = (t: string) => !isPpd(t) && /(^|[-_.])pd($|[-_.\d])/i.test(t);

/**
 * The PPD and PD topologies compared (by the findings and this figure alike):
 * `preferred` when both are present, else the first label named like `ppd…`
 * and the first named like `pd…` (sorted); null when either is missing.
 */
export function ppdPdPair(labels: readonly string[], preferred?: [string, string]) {
  if (preferred && preferred.every((p) => labels.includes(p))) return preferred;
  const sorted = [...labels].sort();
  const ppd = sorted.find(isPpd), pd = sorted.find(isPd);
  return ppd && pd ? [ppd, pd] as [string, string] : null;
}

/** `rows`' metric `key` at offered rate `x`, interpolated between measured rates; null outside. */
function metricAt(rows: PointRow[], key: string, x: number): number | null {
  const pts = rows.map((r) => ({ rate: offeredRate(r), value: num(r[key]) }))
    .filter((p): p is { rate: number; value: number } => p.rate !== null && p.value !== null)
    .sort((a, b) => a.rate - b.rate);
  return valueAtRate(pts, x);
}

/**
 * Improvement of PPD over PD, `(pd - ppd) / pd` in %, per workload, metric and
 * PPD's offered loads inside PD's range (PD interpolated between its measured
 * rates; never averaged across loads: the sign flips where one saturates first).
 */
export function ppdImprovements(rows: PointRow[], preferred?: [string, string]) {
  const out: { workload: string; offered: number; metric: string; improvement_pct: number }[] = [];
  const pair = ppdPdPair([...new Set(rows.map((r) => String(r.topology)))], preferred);
  if (!pair) return out;
  for (const w of [...new Set(rows.map((r) => String(r.workload)))].sort()) {
    const wr = rows.filter((r) => String(r.workload) === w);
    const ppd = wr.filter((r) => String(r.topology) === pair[0])
      .sort((a, b) => (offeredRate(a) ?? 0) - (offeredRate(b) ?? 0));
    const pd = wr.filter((r) => String(r.topology) === pair[1]);
    for (const [key, label] of Object.entries(IMPROVEMENT_METRICS)) {
      for (const a of ppd) {
        const offered = offeredRate(a);
        const b = offered === null ? null : metricAt(pd, key, offered);
        const p = improvementPct(b, num(a[key]), true);
        if (offered !== null && p !== null) {
          out.push({ workload: w, offered, metric: label, improvement_pct: p });
        }
      }
    }
  }
  return out;
}

/** Builds PPD vs PD improvement bars per offered load (topologies named `*ppd*` and `*pd*`). */
export function ppdImprovement(
  rows: PointRow[],
  ctx: ChartContext,
  preferred?: [string, string],
): ChartResult {
  const data = ppdImprovements(rows, preferred);
  const [ppd, pd] = ppdPdPair([...new Set(rows.map((r) => String(r.topology)))], preferred) ??
    ["ppd", "pd"];
  const pair = `${ppd} vs ${pd}`;
  if (!data.length) {
    return { skip: "needs a ppd and a pd topology measured over overlapping offered rates" };
  }
  const several = new Set(data.map((d) => d.workload)).size > 1;
  return {
    spec: topLevel(ctx, "PPD vs PD: latency improvement per offered load", {
      data: { values: data },
      mark: { type: "bar" },
      encoding: {
        x: {
          field: "offered",
          type: "ordinal",
          title: offeredTitle(ctx),
          axis: { labelAngle: 0 },
        },
        xOffset: { field: "metric" },
        ...(several ? { column: { field: "workload", type: "nominal", title: "Workload" } } : {}),
        y: {
          field: "improvement_pct",
          type: "quantitative",
          title: "Improvement of PPD over PD (%)",
          scale: { type: "symlog", constant: 10 },
          axis: { values: [-3000, -1000, -300, -100, -30, -10, 0, 10, 30, 100] },
        },
        color: {
          field: "metric",
          type: "nominal",
          title: "Metric",
          scale: { scheme: "tableau10" },
          legend: { orient: "right" },
        },
        tooltip: [{ field: "workload" }, { field: "offered" }, { field: "metric" }, {
          field: "improvement_pct",
          format: ".1f",
        }],
      },
    }, [
      `${pair}: (PD − PPD) / PD at PPD's offered loads within PD's range (PD interpolated between its measured loads); above 0: PPD is faster (symlog y axis)`,
    ]),
  };
}
