/**
 * Perf entry `predict`: (a, b) simulated seconds per wall second of the virtual
 * loop for agg and pd 1P1D (Llama-3.1-8B/H100, multi-turn W1 at 90% of each
 * one's probed saturation), with the process's peak RSS; (c) live vs virtual
 * agreement on mean TTFT, mean TPOT and output throughput for agg and pd at 2
 * moderate rates, the live engines at `--speed 1` (`seconds` of load each).
 *
 * @module
 */
import { AUTO_DEFAULTS } from "../../sweep.ts";
import { join } from "node:path";
import { loadTopology } from "../../../launch/topology.ts";
import { probeCapacity } from "../../sweep.ts";
import { type Experiment, ROOT } from "../../_experiment.ts";
import { runPipeline } from "../../pipeline.ts";
import { benchConfigOf, predictFlags, predictRun } from "../../predict/run_point.ts";
import type { PerfResult } from "../perf.ts";

const W1 = {
  endpoint: "/v1/chat/completions",
  dataset: "multiturn",
  preset: "W1",
  turns: 3,
  "think-time": 1000,
  seed: 0,
};
const TOPOS = [["agg", "sim_agg.yaml"], ["pd", "sim_pd_1p1d.yaml"]] as const;

/** (a, b) Simulated seconds per wall second of the virtual loop at 90% of `file`'s saturation. */
async function loopSpeed(dir: string, label: string, file: string): Promise<PerfResult> {
  const topo = await loadTopology(join(ROOT, "fixtures/topologies", file));
  const probe = await predictFlags(topo, {
    ...W1,
    rate: "inf",
    "num-requests": 200,
    topology: label,
    url: "http://x",
    out: join(dir, `${label}-probe`),
  });
  const cap = probeCapacity(probe.summaries[0], W1) ?? 1;
  const rate = Number((0.9 * cap).toPrecision(3));
  const { cfg } = benchConfigOf({
    ...W1,
    rate,
    duration: 600,
    topology: label,
    out: join(dir, label),
  });
  const r = await predictRun(topo, cfg);
  return {
    entry: "predict",
    metric: `${label}: simulated s per wall s (W1 at ${rate}/s, 90% of saturation, 600 s)`,
    value: Math.round(r.simulatedMs / r.wallMs),
    unit: "x real time",
    note: `${r.events} events, ${(r.wallMs / 1000).toFixed(1)} s wall; peak RSS ${
      (Deno.memoryUsage().rss / 2 ** 20).toFixed(0)
    } MiB`,
  };
}

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
    targetPct: 90,
    plots: { formats: ["svg"], compare: null, logY: false },
  };
}

/** (c) The same point live and in virtual time: the virtual result's deviation per metric. */
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

/** Runs the entry. */
export async function predictSpeed(seconds: number): Promise<PerfResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "topobench_perf_predict_" });
  const out: PerfResult[] = [];
  try {
    for (const [label, file] of TOPOS) out.push(await loopSpeed(dir, label, file));
    // (c) live vs virtual at 2 moderate rates
    for (const [label, file] of TOPOS) {
      for (const rate of [1.5, 3]) out.push(...await crossCheck(dir, label, file, rate, seconds));
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return out;
}
