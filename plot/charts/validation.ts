/**
 * The two figures of `deno task validate`: per-metric CDFs of a real run and
 * its SIMULATED replay overlaid (TTFT, TPOT, E2E, and ITL when the recording
 * has per-token times), and the running/waiting requests over time, real vs
 * simulated. Plain data in, vega-lite specs out (the caller reads the files).
 *
 * @module
 */
import { type ChartContext, PALETTE, quantitative, topLevel, type VlSpec } from "../_common.ts";
import { cdfPoints } from "./cdf.ts";
import { minOf } from "../../lib/stats.ts";

/** What the figures say about the two sides: legend labels and the caption lines. */
export interface ValidationLabels {
  /** Legend label of the recording, e.g. "real vLLM (client clock)". */
  real: string;
  /** Legend label of the replay, e.g. "SIMULATED (virtual clock)". */
  sim: string;
  /** Model id. */
  model: string;
  /** Caption lines under the title (hardware, clocks, notes). */
  notes: string[];
  /** The recording's name in the titles. @default "real vLLM run" */
  recordedName?: string;
}

/** One metric of the CDF figure: its axis title and the two samples (ms). */
export interface CdfPanel {
  axisTitle: string;
  real: readonly number[];
  sim: readonly number[];
}

function ctxOf(l: ValidationLabels): ChartContext {
  return { model: l.model, workload: "", topologies: [], gpu: "", simulated: false };
}

function sourceColor(l: ValidationLabels): VlSpec {
  return {
    field: "source",
    type: "nominal",
    title: null,
    scale: { domain: [l.real, l.sim], range: ["#222222", PALETTE[1]] },
    legend: { orient: "top", labelFontSize: 12, labelLimit: 0, symbolStrokeWidth: 3 },
  };
}

/** The CDF overlay figure: one panel per metric, two columns. */
export function validationCdf(panels: CdfPanel[], l: ValidationLabels): VlSpec {
  const panel = (p: CdfPanel): VlSpec => {
    const data = cdfPoints(new Map([[l.real, [...p.real]], [l.sim, [...p.sim]]]))
      .map((d) => ({ source: d.topology, value_ms: d.value_ms, fraction: d.fraction }));
    // each curve starts at 0 at its smallest value (the points start at 1/n)
    for (const [source, xs] of [[l.real, p.real], [l.sim, p.sim]] as const) {
      if (xs.length) data.unshift({ source, value_ms: minOf(xs), fraction: 0 });
    }
    return {
      width: 420,
      height: 230,
      data: { values: data },
      mark: { type: "line", strokeWidth: 2, interpolate: "step-after" },
      encoding: {
        x: quantitative("value_ms", p.axisTitle, { scale: { zero: true } }),
        y: quantitative("fraction", "Fraction (CDF)", { scale: { domain: [0, 1] } }),
        color: sourceColor(l),
        order: { field: "value_ms", type: "quantitative" },
      },
    };
  };
  return topLevel(
    ctxOf(l),
    `Latency CDFs: ${l.recordedName ?? "real vLLM run"} vs SIMULATED replay`,
    {
      concat: panels.map(panel),
      columns: 2,
      resolve: { scale: { x: "independent" } },
    },
    l.notes,
  );
}

/** One sample of the engine-state figure: requests at `tS` (s since the first arrival). */
export interface StateSample {
  tS: number;
  realRunning: number;
  simRunning: number;
  realWaiting: number;
  simWaiting: number;
}

/** The engine-state figure: running (top) and waiting (bottom) requests over time. */
export function validationState(samples: readonly StateSample[], l: ValidationLabels): VlSpec {
  const panel = (state: "Running" | "Waiting"): VlSpec => ({
    width: 880,
    height: 190,
    data: {
      values: samples.flatMap((s) => [
        { t_s: s.tS, source: l.real, requests: s[`real${state}`] },
        { t_s: s.tS, source: l.sim, requests: s[`sim${state}`] },
      ]),
    },
    mark: { type: "line", strokeWidth: 2, interpolate: "step-after" },
    encoding: {
      x: quantitative("t_s", "Time since the first arrival (s)"),
      y: quantitative("requests", `${state} requests`),
      color: sourceColor(l),
    },
  });
  return topLevel(
    ctxOf(l),
    `Engine state over time: ${l.recordedName ?? "real vLLM run"} vs SIMULATED replay`,
    {
      vconcat: [panel("Running"), panel("Waiting")],
    },
    l.notes,
  );
}
