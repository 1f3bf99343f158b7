/**
 * Request and token throughput vs offered rate (two panels, with the ideal
 * `throughput = offered` line on the request panel), and success rate vs rate.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  LINE_MARK,
  num,
  offeredRateX,
  offeredTitle,
  offeredUnit,
  offersConversations,
  quantitative,
  rateScale,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { rateOf } from "./latency_vs_rate.ts";

/** Offered rate: the target when finite, else the achieved rate. */
export function offeredRate(r: PointRow): number | null {
  return num(r.rate_target) ?? rateOf(r);
}

function panel(
  ctx: ChartContext,
  field: string,
  yTitle: string,
  ideal: boolean,
  rates: number[],
) {
  const line = {
    mark: LINE_MARK,
    encoding: {
      x: {
        field: "offered_rps",
        type: "quantitative",
        title: offeredTitle(ctx),
        scale: rateScale(rates),
      },
      y: quantitative(field, yTitle),
      color: topologyColor(ctx),
      tooltip: [
        { field: "topology" },
        { field: "offered_rps", title: `offered (${offeredUnit(ctx)})` },
        { field, format: ".2f" },
      ],
    },
  };
  const layer: unknown[] = [line, ...stoppedRings(field, ctx)];
  if (ideal && !offersConversations(ctx)) {
    layer.unshift({
      mark: { type: "line", color: "#999", strokeDash: [4, 4], strokeWidth: 1 },
      encoding: {
        x: { field: "offered_rps", type: "quantitative" },
        y: { field: "offered_rps", type: "quantitative" },
      },
    });
  }
  return { width: 340, height: 300, layer };
}

/**
 * Points the saturation stop ended, drawn hollow: a white dot over the line's
 * point inside a ring of the topology's colour (their throughput is that of
 * the seconds before the stop, not a steady state).
 */
function stoppedRings(field: string, ctx: ChartContext): unknown[] {
  const at = {
    x: { field: "offered_rps", type: "quantitative" },
    y: { field, type: "quantitative" },
  };
  const stopped = [{ filter: "datum.stopped" }];
  return [
    {
      transform: stopped,
      mark: { type: "point", filled: true, color: "white", opacity: 1, size: 40 },
      encoding: at,
    },
    {
      transform: stopped,
      mark: { type: "point", filled: false, size: 90, strokeWidth: 2, opacity: 1 },
      encoding: { ...at, color: topologyColor(ctx) },
    },
  ];
}

/** Whether `r` was ended by the saturation stop (merged.csv `saturated`). */
function stoppedEarly(r: PointRow): boolean {
  return r.saturated === true || r.saturated === "true";
}

/** Builds the two-panel throughput-vs-offered-rate figure. */
export function throughputVsRate(rows: PointRow[], ctx: ChartContext): ChartResult {
  const data = rows.flatMap((r) => {
    const offered = offeredRate(r);
    const req = num(r.request_throughput);
    if (offered === null || req === null) return [];
    return [{
      topology: String(r.topology),
      offered_rps: offered,
      request_throughput: req,
      output_throughput: num(r.output_throughput),
      stopped: stoppedEarly(r),
    }];
  }).sort((a, b) => a.offered_rps - b.offered_rps);
  if (!data.length) return { skip: "no request throughput values in the results" };
  const rates = data.map((d) => d.offered_rps);
  return {
    spec: topLevel(ctx, "Throughput vs offered rate", {
      data: { values: data },
      hconcat: [
        panel(ctx, "request_throughput", "Request throughput (req/s)", true, rates),
        panel(ctx, "output_throughput", "Output token throughput (tok/s)", false, rates),
      ],
      resolve: { scale: { color: "shared" } },
    }, [
      offersConversations(ctx)
        ? "offered load is conversations/s; each brings several requests (one per turn)"
        : "dashed grey line: throughput = offered rate",
      ...(data.some((d) => d.stopped)
        ? [
          "hollow: stopped over-saturated (the saturation stop); its throughput is that of the seconds before the stop",
        ]
        : []),
    ]),
  };
}

/** Builds the success-rate-vs-rate figure (percent of requests that finished without error). */
export function successVsRate(rows: PointRow[], ctx: ChartContext): ChartResult {
  const data = rows.flatMap((r) => {
    const offered = offeredRate(r);
    const s = num(r.success_rate);
    return offered === null || s === null
      ? []
      : [{ topology: String(r.topology), offered_rps: offered, success_pct: s * 100 }];
  }).sort((a, b) => a.offered_rps - b.offered_rps);
  if (!data.length) return { skip: "no success_rate values in the results" };
  // identical curves hide each other: say which ones coincide
  const curves = new Map<string, string[]>();
  for (const t of new Set(data.map((d) => d.topology))) {
    const sig = data.filter((d) => d.topology === t).map((d) => `${d.offered_rps}:${d.success_pct}`)
      .join(",");
    curves.set(sig, [...(curves.get(sig) ?? []), t]);
  }
  const same = [...curves.values()].filter((ts) => ts.length > 1)
    .map((ts) => `same curve (drawn on top of each other): ${ts.join(", ")}`);
  return {
    spec: topLevel(ctx, "Success rate vs offered rate", {
      data: { values: data },
      mark: LINE_MARK,
      encoding: {
        x: offeredRateX(ctx, data.map((d) => d.offered_rps)),
        y: {
          field: "success_pct",
          type: "quantitative",
          title: "Successful requests (%)",
          scale: { domain: [0, 100] },
        },
        color: topologyColor(ctx),
        tooltip: [{ field: "topology" }, { field: "offered_rps" }, {
          field: "success_pct",
          format: ".1f",
        }],
      },
    }, same),
  };
}
