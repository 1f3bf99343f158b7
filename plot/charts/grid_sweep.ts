/**
 * Parameter-grid sweeps: output throughput vs concurrency, and TTFT vs prompt
 * length (mean input tokens per request), one line per topology.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  DASH_LEGEND,
  num,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";

function sweep(
  rows: PointRow[],
  ctx: ChartContext,
  xKey: string,
  yKeys: Record<string, string>,
  o: {
    heading: string;
    xTitle: string;
    yTitle: string;
    what: string;
    /** x is a measured mean that moves a little with load: only a swept workload counts. */
    perWorkload?: boolean;
  },
): ChartResult {
  if (o.perWorkload && new Set(rows.map((r) => String(r.workload))).size < 2) {
    return { skip: `no ${o.what} sweep (one workload; sweep --grid input-len=... to get one)` };
  }
  const data = rows.flatMap((r) => {
    const x = num(r[xKey]);
    if (x === null) return [];
    return Object.entries(yKeys).flatMap(([k, series]) => {
      const y = num(r[k]);
      return y === null ? [] : [{ topology: String(r.topology), x, y, series }];
    });
  }).sort((a, b) => a.x - b.x);
  const xs = new Set(data.map((d) => d.x));
  if (xs.size < 2) {
    return { skip: `no ${o.what} sweep (${xs.size} distinct value${xs.size === 1 ? "" : "s"})` };
  }
  const multi = Object.keys(yKeys).length > 1;
  return {
    spec: topLevel(ctx, o.heading, {
      data: { values: data },
      mark: { type: "line", point: { size: 40 }, strokeWidth: 2 },
      encoding: {
        x: { field: "x", type: "quantitative", title: o.xTitle },
        y: { field: "y", type: "quantitative", title: o.yTitle },
        color: topologyColor(ctx),
        ...(multi
          ? {
            strokeDash: {
              field: "series",
              type: "nominal",
              title: "Statistic",
              scale: { range: [[1, 0], [6, 3]] },
              legend: DASH_LEGEND,
            },
            detail: { field: "series" },
          }
          : {}),
      },
    }),
  };
}

/** Output throughput vs max concurrency (closed-loop or capped sweeps). */
export function throughputVsConcurrency(rows: PointRow[], ctx: ChartContext): ChartResult {
  return sweep(rows, ctx, "max_concurrency", { output_throughput: "output" }, {
    heading: "Output throughput vs concurrency",
    xTitle: "Max concurrent requests",
    yTitle: "Output throughput (tok/s)",
    what: "concurrency",
  });
}

/** p50 and p99 TTFT vs mean prompt length. */
export function ttftVsPromptLength(rows: PointRow[], ctx: ChartContext): ChartResult {
  return sweep(rows, ctx, "mean_input_tokens", { p50_ttft_ms: "p50", p99_ttft_ms: "p99" }, {
    heading: "TTFT vs prompt length",
    xTitle: "Mean prompt length (tokens)",
    yTitle: "TTFT (ms)",
    what: "prompt-length",
    perWorkload: true,
  });
}
