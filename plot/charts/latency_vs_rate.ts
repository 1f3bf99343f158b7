/**
 * Latency vs request rate per topology: p50/p90/p99 of one metric (TTFT, TPOT,
 * ITL or E2E), one colour per topology, one dash per percentile.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  isGeometric,
  latencyAxis,
  latencyScale,
  LINE_MARK,
  METRIC_LABEL,
  METRIC_NAME,
  num,
  offeredTitle,
  rateScale,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";

/** Latency metrics of summary.json / merged.csv. */
export type LatencyMetric = "ttft" | "tpot" | "itl" | "e2el";

/** Percentiles drawn, with their dash patterns. */
export const PERCENTILES = ["p50", "p90", "p99"] as const;

/** The achieved request rate of a row (offered rate when achieved is missing). */
export function rateOf(r: PointRow): number | null {
  return num(r.rate_achieved) ?? num(r.rate_target);
}

/**
 * The offered rate of a row (achieved when no finite target): latency is drawn
 * against the load asked for, which stays apart per point even when a short
 * multi-turn run's achieved rate is dominated by its tail.
 */
export function offeredRateOf(r: PointRow): number | null {
  const t = num(r.rate_target);
  return t !== null && Number.isFinite(t) ? t : rateOf(r);
}

/** One point of a latency curve; `lo`/`hi` bound the runs' 95% interval when there were repeats. */
export interface LatencyPoint {
  topology: string;
  rate_rps: number;
  percentile: string;
  value_ms: number;
  lo?: number;
  hi?: number;
}

/** Long-format points `{topology, rate_rps, percentile, value_ms}` of one metric. */
export function latencyPoints(rows: PointRow[], metric: LatencyMetric): LatencyPoint[] {
  const out: LatencyPoint[] = [];
  for (const r of rows) {
    const rate = offeredRateOf(r);
    if (rate === null) continue;
    for (const p of PERCENTILES) {
      const v = num(r[`${p}_${metric}_ms`]) ?? (p === "p50" ? num(r[`median_${metric}_ms`]) : null);
      if (v === null) continue;
      const pt: LatencyPoint = {
        topology: String(r.topology),
        rate_rps: rate,
        percentile: p,
        value_ms: v,
      };
      const h = num(r[`${p === "p50" ? "median" : p}_${metric}_ms_ci95`]);
      if (h !== null) [pt.lo, pt.hi] = [v - h, v + h];
      out.push(pt);
    }
  }
  return out.sort((a, b) => a.rate_rps - b.rate_rps);
}

/** Builds the latency-vs-rate figure of `metric`; skipped when no row has it. */
export function latencyVsRate(
  rows: PointRow[],
  metric: LatencyMetric,
  ctx: ChartContext,
): ChartResult {
  const data = latencyPoints(rows, metric);
  if (!data.length) return { skip: `no ${METRIC_LABEL[metric]} values in the results` };
  const rates = new Set(data.map((d) => d.rate_rps));
  const notes = rates.size === 1 ? ["single load point: points only, no trend"] : [];
  if (ctx.logY) notes.push("log-scale y axis");
  if (isGeometric(data.map((d) => d.rate_rps))) {
    notes.push("log-scale x axis (geometric rate sweep)");
  }
  const x = {
    field: "rate_rps",
    type: "quantitative",
    title: offeredTitle(ctx),
    scale: rateScale(data.map((d) => d.rate_rps)),
  };
  const line = {
    mark: LINE_MARK,
    encoding: {
      x,
      y: latencyAxis(ctx, "value_ms", METRIC_LABEL[metric]),
      color: topologyColor(ctx),
      tooltip: [
        { field: "topology" },
        { field: "percentile" },
        { field: "rate_rps", format: ".2f" },
        { field: "value_ms", format: ".1f" },
      ],
    },
  };
  const withCi = data.some((d) => d.lo !== undefined);
  if (withCi) notes.push("bars: 95% interval of the repeated runs");
  const bars = {
    transform: [{ filter: "isValid(datum.lo)" }],
    mark: { type: "errorbar", ticks: true },
    encoding: {
      x,
      y: {
        field: "lo",
        type: "quantitative",
        scale: latencyScale(ctx),
        title: METRIC_LABEL[metric],
      },
      y2: { field: "hi" },
      color: topologyColor(ctx),
    },
  };
  // one panel per percentile: a line per topology, never 3 x N tangled lines
  const body = {
    data: { values: data },
    facet: {
      column: { field: "percentile", type: "nominal", sort: [...PERCENTILES], title: null },
    },
    spec: { width: 300, height: 300, ...(withCi ? { layer: [line, bars] } : line) },
    resolve: { scale: { y: "shared" } },
  };
  return {
    spec: topLevel(ctx, `${METRIC_NAME[metric]} vs offered load (p50 / p90 / p99)`, body, notes),
  };
}
