/**
 * Throughput vs latency: output token throughput on x, p50/p90/p99 latency on
 * y, one line per topology and percentile, points in rate order.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  latencyScale,
  METRIC_LABEL,
  METRIC_NAME,
  num,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { type LatencyMetric, percentileDash, PERCENTILES, rateOf } from "./latency_vs_rate.ts";

/** Builds the throughput-vs-latency figure of `metric`. */
export function throughputVsLatency(
  rows: PointRow[],
  metric: LatencyMetric,
  ctx: ChartContext,
): ChartResult {
  const data: Record<string, string | number>[] = [];
  for (const r of rows) {
    const tput = num(r.output_throughput);
    if (tput === null) continue;
    for (const p of PERCENTILES) {
      const v = num(r[`${p}_${metric}_ms`]);
      if (v !== null) {
        data.push({
          topology: String(r.topology),
          throughput_tok_s: tput,
          percentile: p,
          value_ms: v,
          rate_rps: rateOf(r) ?? 0,
        });
      }
    }
  }
  if (!data.length) return { skip: `no output throughput with ${METRIC_LABEL[metric]} values` };
  return {
    spec: topLevel(ctx, `Throughput vs ${METRIC_NAME[metric].toLowerCase()} (p50 / p90 / p99)`, {
      data: { values: data },
      mark: { type: "line", point: { size: 40 }, strokeWidth: 2 },
      encoding: {
        x: { field: "throughput_tok_s", type: "quantitative", title: "Output throughput (tok/s)" },
        y: {
          field: "value_ms",
          type: "quantitative",
          title: METRIC_LABEL[metric],
          scale: latencyScale(ctx),
        },
        color: topologyColor(ctx),
        strokeDash: percentileDash(),
        order: { field: "rate_rps", type: "quantitative" },
        tooltip: [
          { field: "topology" },
          { field: "percentile" },
          { field: "rate_rps", format: ".2f" },
          { field: "throughput_tok_s", format: ".0f" },
          { field: "value_ms", format: ".1f" },
        ],
      },
    }),
  };
}
