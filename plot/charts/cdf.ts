/**
 * CDFs of per-request TTFT or E2E latency per topology (successful requests,
 * at one load point per topology).
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  latencyAxis,
  topLevel,
  topologyColor,
} from "../_common.ts";

/** At most this many points per topology are drawn (quantiles of the sample). */
export const CDF_POINTS = 200;

/** Empirical CDF points `{topology, value_ms, fraction}`, thinned to {@linkcode CDF_POINTS}. */
export function cdfPoints(samples: Map<string, number[]>) {
  const out: { topology: string; value_ms: number; fraction: number }[] = [];
  for (const [topology, xs] of samples) {
    const s = [...xs].sort((a, b) => a - b);
    const step = Math.max(1, s.length / CDF_POINTS);
    for (let f = 0; f < s.length; f += step) {
      const i = Math.floor(f);
      out.push({ topology, value_ms: s[i], fraction: (i + 1) / s.length });
    }
    if (s.length) out.push({ topology, value_ms: s[s.length - 1], fraction: 1 });
  }
  return out;
}

/** Builds the CDF figure of `label` (e.g. "TTFT (ms)") from samples per topology. */
export function latencyCdf(
  samples: Map<string, number[]>,
  heading: string,
  axisTitle: string,
  ctx: ChartContext,
  notes: string[] = [],
): ChartResult {
  const data = cdfPoints(samples);
  if (!data.length) return { skip: `no per-request values for ${heading}` };
  return {
    spec: topLevel(ctx, heading, {
      data: { values: data },
      mark: { type: "line", strokeWidth: 2, interpolate: "step-after" },
      encoding: {
        x: latencyAxis(ctx, "value_ms", axisTitle),
        y: {
          field: "fraction",
          type: "quantitative",
          title: "Fraction of requests",
          scale: { domain: [0, 1] },
        },
        color: topologyColor(ctx),
        order: { field: "value_ms", type: "quantitative" },
      },
    }, notes),
  };
}
