/**
 * Part of perf entry `predict`: live vs virtual agreement on mean TTFT, mean
 * TPOT and output throughput for agg and pd 1P1D at 2 moderate rates (W1), the
 * live engines at `--speed 1` (`seconds` of load each).
 *
 * @module
 */
import { join } from "node:path";
import { AUTO_DEFAULTS } from "../../sweep.ts";
import { type Experiment, ROOT } from "../../_experiment.ts";
import { runPipeline } from "../../pipeline.ts";
import type { PerfResult } from "../perf.ts";
import { inTempDir, W1 } from "./_predict_cli.ts";

const TOPOS = [["agg", "sim_agg.yaml"], ["pd", "sim_pd_1p1d.yaml"]] as const;

/** A one-point experiment of `file` at `rate` for `seconds` (W1, speed 1). */
function pointExperiment(label: string, file: string, rate: number, seconds: number): Experiment {
  return {
    name: `xcheck-${label}-${rate}`,
    description: "",
    file: "perf",
    topologies: [{
      label,
      file: join(ROOT, "fixtures/topologies", file),
      vllmFile: null,
      sets: [],
      routerPolicy: null,
      routerPolicyDefaulted: false,
      autoscale: null,
    }],
    speed: 1,
    clock: "live",
    routerHopMs: null,
    workload: { ...W1, duration: seconds },
    sweep: {
      rates: [rate],
      auto: AUTO_DEFAULTS,
      grid: {},
      topology: {},
      budget: null,
      runs: 1,
      resetPrefixCache: true,
      stop: { maxErrorRate: 0.5, maxP99TtftMs: null, maxP99E2elMs: null },
    },
    slo: null,
    events: [],
    targetPct: 90,
    plots: { formats: ["svg"], compare: null, logY: false },
  };
}

/** The same point live and in virtual time: the virtual result's deviation per metric. */
async function crossCheck(
  dir: string,
  label: string,
  file: string,
  rate: number,
  seconds: number,
): Promise<PerfResult[]> {
  const exp = pointExperiment(label, file, rate, seconds);
  const get = async (clock: "live" | "virtual") => {
    const r = await runPipeline(exp, {
      outRoot: join(dir, clock),
      clock,
      speed: 1,
      plot: false,
      log: () => {},
    });
    return r.rows.find((x) => x.run_index === "mean") ?? r.rows[0];
  };
  const live = await get("live");
  const virt = await get("virtual");
  return ["mean_ttft_ms", "mean_tpot_ms", "output_throughput"].map((k) => {
    const l = live[k] as number, v = virt[k] as number;
    return {
      entry: "predict",
      metric: `${label} at ${rate}/s: virtual vs live ${k}`,
      value: Number((100 * (v - l) / l).toFixed(1)),
      unit: "%",
      note: `live ${l.toFixed(2)}, virtual ${v.toFixed(2)} (${seconds} s, speed 1)`,
    };
  });
}

/** The cross-check of agg and pd at 1.5 and 3 conv/s, `seconds` each. */
export function crossChecks(seconds: number): Promise<PerfResult[]> {
  return inTempDir("xcheck", async (dir) => {
    const out: PerfResult[] = [];
    for (const [label, file] of TOPOS) {
      for (const rate of [1.5, 3]) out.push(...await crossCheck(dir, label, file, rate, seconds));
    }
    return out;
  });
}
