/**
 * SLO attainment figures, DistServe style: attainment vs offered load per GPU and vs
 * SLO scale; both-SLO solid, TTFT-only dotted, TPOT-only dashed, the target
 * line, drop lines where the both-SLO curve crosses the target, and the
 * improvement factor in the caption.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  DASH_LEGEND,
  offeredUnit,
  quantitative,
  topLevel,
  topologyColor,
} from "../_common.ts";
import { firstAbove, lastAbove, SLO_KINDS } from "../_slo.ts";
import { type Ranking, rankingSummary } from "../../lib/ranking.ts";

/** One attainment point: `x` is the per-GPU rate or the SLO scale. */
export interface SloPoint {
  topology: string;
  x: number;
  kind: keyof typeof SLO_KINDS;
  /** 0..1 */
  attainment: number;
}

/** Both-SLO crossing per topology: last x above target (rate) or first x reaching it (scale). */
export function crossings(
  points: SloPoint[],
  target: number,
  mode: "rate" | "scale",
): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const t of [...new Set(points.map((p) => p.topology))].sort()) {
    const pts = points.filter((p) => p.topology === t && p.kind === "both")
      .map((p) => [p.x, p.attainment] as [number, number]).sort((a, b) => a[0] - b[0]);
    out.set(t, mode === "rate" ? lastAbove(pts, target) : firstAbove(pts, target));
  }
  return out;
}

/** Caption of the vs-scale figure: the topology meeting the target at the tightest SLO. */
export function improvement(cross: Map<string, number | null>): string {
  const known = [...cross].filter((e): e is [string, number] => e[1] !== null && e[1] > 0);
  if (known.length < 2) return "";
  known.sort((a, b) => a[1] - b[1]);
  const [bt, bx] = known[0];
  const parts = known.slice(1).map(([t, x]) => `${(x / bx).toFixed(2)}× vs ${t}`);
  return `${bt} meets the target at the tightest SLO: ${parts.join(", ")}`;
}

/** Each figure's heading and x-axis title. */
const AXES = {
  rate: {
    heading: "SLO attainment vs offered load per GPU",
    xTitle: "Offered load per GPU",
  },
  scale: { heading: "SLO attainment vs SLO scale", xTitle: "SLO scale (× base SLO)" },
} as const;

/** The figure's layers: the target line, the attainment curves, the drop lines. */
function sloLayers(
  ctx: ChartContext,
  xTitle: string,
  target: number,
  drops: { topology: string; x: number | null }[],
): unknown[] {
  const kinds = Object.values(SLO_KINDS);
  const layer: unknown[] = [
    {
      data: { values: [{ y: target * 100 }] },
      mark: { type: "rule", color: "#333", strokeDash: [8, 4], strokeWidth: 1 },
      encoding: { y: { field: "y", type: "quantitative" } },
    },
    {
      mark: { type: "line", point: { size: 30 }, strokeWidth: 2 },
      encoding: {
        x: quantitative("x", xTitle),
        y: {
          field: "attainment_pct",
          type: "quantitative",
          title: "SLO attainment (%)",
          scale: { domain: [0, 100] },
        },
        color: topologyColor(ctx),
        strokeDash: {
          field: "kind_label",
          type: "nominal",
          title: "SLO",
          scale: { domain: kinds, range: [[1, 0], [2, 3], [7, 4]] },
          legend: DASH_LEGEND,
        },
        detail: { field: "kind_label" },
        tooltip: [{ field: "topology" }, { field: "kind_label" }, { field: "x", format: ".2f" }, {
          field: "attainment_pct",
          format: ".1f",
        }],
      },
    },
  ];
  if (drops.length) {
    layer.push({
      data: { values: drops },
      mark: { type: "rule", strokeWidth: 1, opacity: 0.6 },
      encoding: {
        x: { field: "x", type: "quantitative" },
        y: { field: "y0", type: "quantitative" },
        y2: { field: "y1" },
        color: topologyColor(ctx),
      },
    });
  }
  return layer;
}

function build(
  points: SloPoint[],
  ctx: ChartContext,
  target: number,
  mode: "rate" | "scale",
  notes: string[],
  ranking?: Ranking,
  comparable = true,
  perGpu = true,
): ChartResult {
  const heading = mode === "rate" && !perGpu
    ? "SLO attainment vs offered load"
    : AXES[mode].heading;
  const xTitle = mode === "rate"
    ? perGpu
      ? `${AXES.rate.xTitle} (${offeredUnit(ctx)} per GPU)`
      : `Offered load (${offeredUnit(ctx)})`
    : AXES.scale.xTitle;
  const data = points.filter((p) => Number.isFinite(p.attainment))
    .map((p) => ({ ...p, kind_label: SLO_KINDS[p.kind], attainment_pct: p.attainment * 100 }))
    .sort((a, b) => a.x - b.x);
  if (!data.length) return { skip: "no requests to compute SLO attainment from" };
  // the rate figure draws the ranking record's capacities, so it agrees with the findings
  const cross = ranking
    ? new Map(ranking.topologies.map((t) => [t.topology, t.slo_capacity_per_gpu ?? t.slo_capacity]))
    : crossings(points, target, mode);
  const drops = [...cross].filter((e) => e[1] !== null && e[1] > 0).map(([topology, x]) => ({
    topology,
    x,
    y0: 0,
    y1: target * 100,
  }));
  const imp = ranking
    ? `SLO capacity${perGpu ? " per GPU" : ""} (drop lines; ranking as in the findings): ${
      rankingSummary(ranking)
    }`
    : comparable
    ? improvement(cross)
    : "each curve is at its own load: read each alone (no factor between topologies)";
  const layer = sloLayers(ctx, xTitle, target, drops);
  return {
    spec: topLevel(ctx, heading, { data: { values: data }, layer }, [
      `target ${
        Math.round(target * 100)
      }% (black dashed); thin solid drop lines at the both-SLO crossings`,
      ...notes,
      ...(imp ? [imp] : []),
    ]),
  };
}

/** An attainment figure of some points at a target (0..1), with caption notes. */
export type SloChart = (
  points: SloPoint[],
  ctx: ChartContext,
  target: number,
  notes?: string[],
) => ChartResult;

/**
 * Attainment vs offered load per GPU (the ranking's unit), with the ranking
 * record's capacities as drop lines and its one-line summary as caption;
 * `perGpu` false when no run records its GPU count (the axis is then per run).
 */
export function sloVsRate(
  points: SloPoint[],
  ctx: ChartContext,
  target: number,
  ranking: Ranking,
  notes: string[] = [],
  perGpu = true,
): ChartResult {
  return build(points, ctx, target, "rate", notes, ranking, true, perGpu);
}

/**
 * Attainment vs SLO scale (x = multiple of the base SLO) at a fixed load;
 * `comparable` false when each topology is at its own load (no factor is drawn).
 */
export function sloVsScale(
  points: SloPoint[],
  ctx: ChartContext,
  target: number,
  notes: string[] = [],
  comparable = true,
): ChartResult {
  return build(points, ctx, target, "scale", notes, undefined, comparable);
}
