/**
 * `deno task plan --validate live`: the recommended deployment (and the
 * runner-up) brought up for real on this host (simulated engine processes,
 * router and bench on the wall clock, speed 1) at 80% and 100% of its
 * predicted SLO capacity, beside the prediction at the same rates, so the
 * answer is checked by the live path a GPU host would take (there: the same
 * topology with `engine: vllm`, docs/plan.md).
 *
 * @module
 */
import { join } from "node:path";
import type { Experiment, ExperimentTopology } from "../_experiment.ts";
import type { TopologySet } from "../../launch/topology_set.ts";
import { writeFileAtomic } from "../../lib/write_file.ts";
import { vllmVersion } from "./deploy_files.ts";
import { runPipeline } from "../pipeline.ts";
import { roundRate } from "../../lib/slo_search.ts";
import type { PlanCandidate } from "./answer.ts";

/** The figures compared, as merged.csv names them. */
export const CHECK_KEYS = ["slo_attainment", "p90_ttft_ms", "p90_tpot_ms"] as const;

/** One candidate at one rate, predicted and measured live. */
export interface LiveCheck {
  label: string;
  rate: number;
  /** Share of the predicted capacity (0.8 or 1). */
  share: number;
  virtual: Record<string, number | null>;
  live: Record<string, number | null>;
}

/** Options of {@linkcode validateLive}. */
export interface LiveOptions {
  /** Simulated seconds (virtual) and wall seconds (live) of each point. @default 20 */
  durationS?: number;
  /** Where the check's runs go (beside the plan's experiment, not in it). */
  outRoot: string;
  /**
   * The engine the live points run: `sim` (engine processes of the simulated
   * engine, speed 1) or `vllm` (the same sizes on real vLLM: a GPU host). @default "sim"
   */
  engine?: "sim" | "vllm";
  /** Field changes to the live topologies (`--check-set`, e.g. `vllm.extra_args=[...]`). @default [] */
  sets?: TopologySet[];
  signal?: AbortSignal;
  log?: (msg: string) => void;
}

/**
 * The experiment entry of a checked candidate: its sized topology file as the
 * plan ran it (no further changes), and its real-vLLM twin beside the check's
 * runs for `engine: vllm`.
 */
async function checkedTopology(c: PlanCandidate, o: LiveOptions): Promise<ExperimentTopology> {
  let vllmFile: string | null = null;
  if (o.engine === "vllm") {
    await Deno.mkdir(o.outRoot, { recursive: true });
    vllmFile = join(o.outRoot, `${c.label}_vllm.yaml`);
    const text = await Deno.readTextFile(c.topology);
    await writeFileAtomic(vllmFile, vllmVersion(text, c.topology, o.sets ?? []));
  }
  return {
    label: c.label,
    file: c.topology,
    vllmFile,
    sets: [],
    routerPolicy: null,
    routerPolicyDefaulted: false,
    autoscale: null,
  };
}

/** Runs `cands` (the recommendation, the runner-up) at 80% and 100% of their capacity, both clocks. */
export async function validateLive(
  exp: Experiment,
  cands: readonly PlanCandidate[],
  o: LiveOptions,
): Promise<LiveCheck[]> {
  const out: LiveCheck[] = [];
  const dur = o.durationS ?? 20;
  for (const c of cands) {
    const rates = [0.8, 1].map((s) => roundRate(s * c.slo_capacity));
    const one: Experiment = {
      ...exp,
      name: `check-${c.label}`,
      topologies: [await checkedTopology(c, o)],
      workload: { ...exp.workload, duration: dur },
      sweep: { ...exp.sweep, rates, stop: { ...exp.sweep.stop } },
    };
    const run = async (clock: "live" | "virtual") => {
      o.log?.(
        `${c.label} at ${rates.join(", ")} ${clock === "live" ? `live, ${dur} s each` : "virtual"}`,
      );
      const r = await runPipeline(one, {
        outRoot: join(o.outRoot, clock),
        clock,
        // the vllm twin has the changes already (the sim file would refuse vllm's fields)
        ...(clock === "live"
          ? o.engine === "vllm" ? { engine: "vllm" as const } : { sets: o.sets ?? [] }
          : {}),
        speed: 1,
        plot: false,
        statusLine: false,
        log: () => {},
        signal: o.signal,
      });
      return rates.map((rate) => {
        const row = r.rows.find((x) => x.rate_target === rate && x.run_index !== "mean") ??
          r.rows.find((x) => x.rate_target === rate);
        return Object.fromEntries(
          CHECK_KEYS.map((k) => [k, typeof row?.[k] === "number" ? row[k] as number : null]),
        );
      });
    };
    const virtual = await run("virtual");
    const live = await run("live");
    rates.forEach((rate, i) =>
      out.push({
        label: c.label,
        rate,
        share: i === 0 ? 0.8 : 1,
        virtual: virtual[i],
        live: live[i],
      })
    );
  }
  return out;
}

/** The check as a table: predicted and measured side by side. */
export function liveTable(checks: readonly LiveCheck[]): string {
  const f = (k: string, x: number | null) =>
    x === null ? "-" : k === "slo_attainment" ? `${(x * 100).toFixed(1)}%` : x.toFixed(1);
  const lines = [
    "candidate            load         SLO attainment (virtual / live)  p90 TTFT ms (v / l)  p90 TPOT ms (v / l)",
  ];
  for (const c of checks) {
    const pair = (k: string) => `${f(k, c.virtual[k])} / ${f(k, c.live[k])}`;
    lines.push(
      `${c.label.padEnd(20)} ${`${c.rate} (${c.share * 100}%)`.padEnd(12)} ${
        pair("slo_attainment").padEnd(32)
      } ${pair("p90_ttft_ms").padEnd(20)} ${pair("p90_tpot_ms")}`,
    );
  }
  return lines.join("\n");
}
