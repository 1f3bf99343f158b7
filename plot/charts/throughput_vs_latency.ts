/**
 * Throughput vs latency: output token throughput on x, p50/p90/p99 latency on
 * y, one line per topology and percentile, points in rate order.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  labelLineEnds,
  latencyAxis,
  LINE_MARK,
  METRIC_LABEL,
  METRIC_NAME,
  num,
  offeredUnit,
  quantitative,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { type LatencyMetric, offeredRateOf, PERCENTILES } from "./latency_vs_rate.ts";

/** Builds the throughput-vs-latency figure of `metric`: a panel per percentile, points labelled by offered load. */
export function throughputVsLatency(
  rows: PointRow[],
  metric: LatencyMetric,
  ctx: ChartContext,
): ChartResult {
  const data: Record<string, string | number>[] = [];
  for (const r of rows) {
    const tput = num(r.output_throughput);
    const offered = offeredRateOf(r);
    if (tput === null || offered === null) continue;
    for (const p of PERCENTILES) {
      const v = num(r[`${p}_${metric}_ms`]);
      if (v !== null) {
        data.push({
          topology: String(r.topology),
          throughput_tok_s: tput,
          percentile: p,
          value_ms: v,
          rate_rps: offered,
          label: String(Number(offered.toPrecision(3))),
        });
      }
    }
  }
  if (!data.length) return { skip: `no output throughput with ${METRIC_LABEL[metric]} values` };
  const endsOnly = labelLineEnds(data, "rate_rps");
  const enc = {
    x: quantitative("throughput_tok_s", "Output throughput (tok/s)"),
    y: latencyAxis(ctx, "value_ms", METRIC_LABEL[metric]),
    color: topologyColor(ctx),
  };
  return {
    spec: topLevel(ctx, `Throughput vs ${METRIC_NAME[metric].toLowerCase()} (p50 / p90 / p99)`, {
      data: { values: data },
      facet: {
        column: { field: "percentile", type: "nominal", sort: [...PERCENTILES], title: null },
      },
      spec: {
        width: 300,
        height: 300,
        layer: [
          {
            mark: LINE_MARK,
            encoding: {
              ...enc,
              order: { field: "rate_rps", type: "quantitative" },
              tooltip: [
                { field: "topology" },
                { field: "rate_rps", title: `offered (${offeredUnit(ctx)})`, format: ".2f" },
                { field: "throughput_tok_s", format: ".0f" },
                { field: "value_ms", format: ".1f" },
              ],
            },
          },
          {
            transform: [{ filter: "datum.label !== ''" }],
            mark: { type: "text", dx: 6, dy: -6, fontSize: 8, align: "left" },
            encoding: { ...enc, text: { field: "label" } },
          },
        ],
      },
    }, [
      `points joined in order of offered load and labelled with it (${offeredUnit(ctx)})${
        endsOnly ? ", at each line's ends" : ""
      }`,
    ]),
  };
}
