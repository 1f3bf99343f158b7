/**
 * Ratio of one metric of topology A to topology B vs offered rate, with the
 * crossovers (ratio = 1) marked: below 1 A is better for latency metrics.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  num,
  offeredRateX,
  offeredUnit,
  topLevel,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { offeredRate } from "./throughput_vs_rate.ts";

/** One ratio point. */
export interface RatioPoint {
  offered_rps: number;
  ratio: number;
}

/** Linear interpolation of `(x, y)` points (sorted by x) at `x`; null outside their range. */
export function interpolate(pts: [number, number][], x: number): number | null {
  for (let i = 0; i < pts.length; i++) {
    if (pts[i][0] === x) return pts[i][1];
    if (i > 0 && pts[i - 1][0] < x && x < pts[i][0]) {
      const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
      return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  }
  return null;
}

function series(rows: PointRow[], topology: string, key: string): [number, number][] {
  return rows.filter((r) => r.topology === topology).flatMap((r) => {
    const x = offeredRate(r), y = num(r[key]);
    return x === null || y === null ? [] : [[x, y] as [number, number]];
  }).sort((a, b) => a[0] - b[0]);
}

/** Ratio A/B of `key` at A's offered rates (B interpolated), and the rates where it crosses 1. */
export function ratioSeries(rows: PointRow[], a: string, b: string, key: string) {
  const sb = series(rows, b, key);
  const points: RatioPoint[] = [];
  for (const [x, ya] of series(rows, a, key)) {
    const yb = interpolate(sb, x);
    if (yb !== null && yb > 0) points.push({ offered_rps: x, ratio: ya / yb });
  }
  const crossings: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const p = points[i - 1], q = points[i];
    if ((p.ratio - 1) * (q.ratio - 1) < 0) {
      crossings.push(
        p.offered_rps + (1 - p.ratio) * (q.offered_rps - p.offered_rps) /
            (q.ratio - p.ratio),
      );
    } else if (q.ratio === 1 && i < points.length - 1) crossings.push(q.offered_rps);
  }
  return { points, crossings };
}

/** Readable name of a merged.csv latency key, e.g. `p99_ttft_ms` → `p99 TTFT`. */
export function keyLabel(key: string): string {
  const m = /^(\w+?)_(ttft|tpot|itl|e2el)_ms$/.exec(key);
  return m ? `${m[1]} ${m[2] === "e2el" ? "E2E" : m[2].toUpperCase()}` : key;
}

/** Builds the A/B ratio figure of `key` (a merged.csv column such as `p99_ttft_ms`). */
export function ratioCrossover(
  rows: PointRow[],
  a: string,
  b: string,
  key: string,
  ctx: ChartContext,
): ChartResult {
  const { points, crossings } = ratioSeries(rows, a, b, key);
  if (points.length < 1) {
    return { skip: `no common offered rates with ${key} for ${a} and ${b}` };
  }
  const note = crossings.length
    ? `crossover at ${crossings.map((c) => c.toFixed(2)).join(", ")} ${offeredUnit(ctx)}`
    : "no crossover in the measured range";
  const layer: unknown[] = [
    {
      data: { values: [{ y: 1 }] },
      mark: { type: "rule", color: "#666", strokeDash: [4, 4] },
      encoding: { y: { field: "y", type: "quantitative" } },
    },
    {
      mark: { type: "line", point: { size: 50 }, strokeWidth: 2, color: "#4e79a7" },
      encoding: {
        x: offeredRateX(ctx, points.map((p) => p.offered_rps)),
        y: {
          field: "ratio",
          type: "quantitative",
          title: `${keyLabel(key)} ratio ${a} / ${b}`,
          scale: { zero: false },
        },
        tooltip: [{ field: "offered_rps" }, { field: "ratio", format: ".3f" }],
      },
    },
  ];
  if (crossings.length) {
    const cross = crossings.map((x) => ({
      offered_rps: x,
      ratio: 1,
      label: `${x.toFixed(2)} ${offeredUnit(ctx)}`,
    }));
    layer.push(
      {
        data: { values: cross },
        mark: { type: "rule", color: "#e15759", strokeWidth: 1.5 },
        encoding: { x: { field: "offered_rps", type: "quantitative" } },
      },
      {
        data: { values: cross },
        mark: { type: "point", shape: "diamond", size: 140, filled: true, color: "#e15759" },
        encoding: {
          x: { field: "offered_rps", type: "quantitative" },
          y: { field: "ratio", type: "quantitative" },
        },
      },
    );
    // several crossings close together would overprint: they are named in the subtitle
    if (crossings.length === 1) {
      layer.push({
        data: { values: cross },
        mark: { type: "text", align: "left", dx: 6, dy: -10, color: "#e15759", fontSize: 12 },
        encoding: {
          x: { field: "offered_rps", type: "quantitative" },
          y: { field: "ratio", type: "quantitative" },
          text: { field: "label" },
        },
      });
    }
  }
  return {
    spec: topLevel(
      ctx,
      `${keyLabel(key)} ratio: ${a} vs ${b}`,
      { data: { values: points }, layer },
      [
        `ratio < 1: ${a} is lower; ${note}`,
      ],
    ),
  };
}
