/**
 * Parameter-grid sweeps, drawn across the grid's cells: output throughput vs
 * concurrency (its highest over the swept rates, one line per topology and
 * workload), and TTFT vs prompt length (at each workload's lightest load, one
 * line per topology). A figure is drawn only when its parameter was swept.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  DASH_LEGEND,
  LINE_MARK,
  num,
  quantitative,
  topLevel,
  topologyColor,
  type VlSpec,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { offeredRate } from "./throughput_vs_rate.ts";

/** A grid figure: `{x, y}` points, a line per topology and `series` (its dash and detail). */
function lines(
  ctx: ChartContext,
  heading: string,
  data: unknown[],
  o: { x: string; y: string; series: VlSpec; note: string },
): ChartResult {
  return {
    spec: topLevel(ctx, heading, {
      data: { values: data },
      mark: LINE_MARK,
      encoding: {
        x: quantitative("x", o.x),
        y: quantitative("y", o.y),
        color: topologyColor(ctx),
        ...o.series,
      },
    }, [o.note]),
  };
}

/** One row per key: the one `better` prefers. */
function pick(
  rows: PointRow[],
  key: (r: PointRow) => string,
  better: (a: PointRow, b: PointRow) => boolean,
): PointRow[] {
  const out = new Map<string, PointRow>();
  for (const r of rows) {
    const k = key(r);
    const have = out.get(k);
    if (!have || better(r, have)) out.set(k, r);
  }
  return [...out.values()];
}

const dash = (title: string) => ({
  type: "nominal",
  title,
  legend: DASH_LEGEND,
});

/** Output throughput vs max concurrency: per topology and workload, the highest over the rates. */
export function throughputVsConcurrency(rows: PointRow[], ctx: ChartContext): ChartResult {
  const capped = rows.filter((r) =>
    num(r.max_concurrency) !== null && num(r.output_throughput) !== null
  );
  const best = pick(
    capped,
    (r) => `${r.topology}\u0000${r.workload}\u0000${r.max_concurrency}`,
    (a, b) => num(a.output_throughput)! > num(b.output_throughput)!,
  );
  const xs = new Set(best.map((r) => num(r.max_concurrency)));
  if (xs.size < 2) {
    return { skip: `no concurrency sweep (${xs.size} distinct value${xs.size === 1 ? "" : "s"})` };
  }
  const data = best.map((r) => ({
    topology: String(r.topology),
    workload: String(r.workload),
    x: num(r.max_concurrency)!,
    y: num(r.output_throughput)!,
  })).sort((a, b) => a.x - b.x);
  const several = new Set(data.map((d) => d.workload)).size > 1;
  return lines(ctx, "Output throughput vs concurrency", data, {
    x: "Max concurrent requests",
    y: "Output throughput (tok/s)",
    series: {
      ...(several ? { strokeDash: { field: "workload", ...dash("Workload") } } : {}),
      detail: { field: "workload" },
    },
    note: "highest output throughput over the swept rates at each concurrency",
  });
}

/** p50 and p99 TTFT vs mean prompt length, at each workload's lightest load. */
export function ttftVsPromptLength(rows: PointRow[], ctx: ChartContext): ChartResult {
  if (new Set(rows.map((r) => String(r.workload))).size < 2) {
    return { skip: "no prompt-length sweep (one workload; sweep --grid input-len=... to get one)" };
  }
  const load = (r: PointRow) => offeredRate(r) ?? Infinity;
  const cap = (r: PointRow) => num(r.max_concurrency) ?? Infinity;
  const light = pick(
    rows.filter((r) => num(r.mean_input_tokens) !== null),
    (r) => `${r.topology}\u0000${r.workload}`,
    (a, b) => load(a) < load(b) || (load(a) === load(b) && cap(a) < cap(b)),
  );
  const data = light.flatMap((r) =>
    (["p50", "p99"] as const).flatMap((p) => {
      const y = num(r[`${p}_ttft_ms`]);
      return y === null
        ? []
        : [{ topology: String(r.topology), x: num(r.mean_input_tokens)!, y, series: p }];
    })
  ).sort((a, b) => a.x - b.x);
  const xs = new Set(data.map((d) => Math.round(d.x)));
  if (xs.size < 2) return { skip: "no prompt-length sweep (one prompt length)" };
  return lines(ctx, "TTFT vs prompt length", data, {
    x: "Mean prompt length (tokens)",
    y: "TTFT (ms)",
    series: {
      strokeDash: { field: "series", ...dash("Statistic"), scale: { range: [[1, 0], [6, 3]] } },
      detail: { field: "series" },
    },
    note: "each workload at its lightest offered load (prefill cost, little queueing)",
  });
}
