/**
 * The Pareto frontier of deployments, as `vllm bench sweep plot_pareto` and
 * SemiAnalysis InferenceMAX draw it: output tokens/s per GPU (y, what a GPU
 * earns) against tokens/s per user (x, 1000 / mean TPOT: what a user feels),
 * one line per topology, points labelled by offered load. Up and to the right
 * is better; a point another topology beats on both axes is dominated.
 *
 * @module
 */
import {
  type ChartContext,
  type ChartResult,
  labelLineEnds,
  LINE_MARK,
  num,
  quantitative,
  topLevel,
  topologyColor,
} from "../_common.ts";
import type { PointRow } from "../_runs.ts";
import { type Ranking, rankingSummary } from "../../lib/ranking.ts";
import { offeredUnitLong } from "../../lib/rate_unit.ts";
import { offeredRateOf } from "./latency_vs_rate.ts";

/**
 * Builds the Pareto figure; skipped without per-GPU throughput and TPOT. With
 * the ranking record, each topology's last load meeting the SLO is a diamond
 * and the caption ranks them as the findings do.
 */
export function paretoFrontier(
  rows: PointRow[],
  ctx: ChartContext,
  ranking?: Ranking | null,
): ChartResult {
  const passAt = new Map(ranking?.topologies.map((t) => [t.topology, t.pass_rate]) ?? []);
  const data = rows.flatMap((r) => {
    const perGpu = num(r.output_throughput_per_gpu);
    const tpot = num(r.mean_tpot_ms);
    if (perGpu === null || tpot === null || tpot <= 0) return [];
    const load = offeredRateOf(r);
    const c = num(r.max_concurrency);
    return [{
      topology: String(r.topology),
      per_user_tok_s: 1000 / tpot,
      per_gpu_tok_s: perGpu,
      load: load ?? c ?? 0,
      at_capacity: load !== null && passAt.get(String(r.topology)) === load ? 1 : 0,
      label: load !== null ? String(Number(load.toPrecision(3))) : c !== null ? `c${c}` : "",
    }];
  });
  if (!data.length) {
    return { skip: "no output throughput per GPU with mean TPOT (GPU count unknown?)" };
  }
  const endsOnly = labelLineEnds(data, "load");
  const enc = {
    x: {
      field: "per_user_tok_s",
      type: "quantitative",
      title: "Tokens/s per user (1000 / mean TPOT)",
    },
    y: quantitative("per_gpu_tok_s", "Output tokens/s per GPU"),
    color: topologyColor(ctx),
  };
  return {
    spec: topLevel(ctx, "Pareto frontier: throughput per GPU vs speed per user", {
      data: { values: data },
      layer: [
        {
          mark: LINE_MARK,
          encoding: { ...enc, order: { field: "load", type: "quantitative" } },
        },
        {
          transform: [{ filter: "datum.at_capacity" }],
          mark: { type: "point", shape: "diamond", size: 160, filled: true, opacity: 0.9 },
          encoding: enc,
        },
        {
          transform: [{ filter: "datum.label !== ''" }],
          mark: { type: "text", dx: 7, dy: -7, fontSize: 9, align: "left" },
          encoding: { ...enc, text: { field: "label" } },
        },
      ],
    }, [
      `labels: offered load (${
        offeredUnitLong([...new Set(rows.map((r) => String(r.workload)))].join(", "))
      }; cN = concurrency)${endsOnly ? " at each line's ends" : ""}; up and right is better`,
      ...(ranking
        ? [`◆ each topology's last load meeting the SLO; ranking: ${rankingSummary(ranking)}`]
        : []),
    ]),
  };
}
