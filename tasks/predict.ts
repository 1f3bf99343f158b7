/**
 * `deno task predict`: simulated topologies in virtual time, one process, no
 * host in the loop (DESIGN.md, "Two clocks").
 *
 *     deno task predict tasks/experiments/demo.yaml [--out results]   # a whole experiment
 *     deno task predict --topology fixtures/topologies/sim_pd_1p1d.yaml \
 *       --rate 4 --duration 300 --dataset multiturn --preset W1 --endpoint /v1/chat/completions
 *
 * The last stdout line is the experiment or run directory.
 *
 * @module
 */
import { resolve } from "node:path";
import { type CommandHelp, type FlagSpec, numberFlag, parseCommand, runMain } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { loadTopologyWith, parseSet, sizeLabelOf } from "../launch/topology_set.ts";
import { BENCH_FLAGS, flagsWithoutDefaults, resolveBenchConfig } from "../bench/bench_config.ts";
import { loadExperiment } from "./_experiment.ts";
import { PIPELINE_FLAGS, pipelineOptions, printFindings } from "./_pipeline_cli.ts";
import { withSignals } from "../lib/signals.ts";
import { VIRTUAL_URL } from "./predict/run_point.ts";
import { predictPoint } from "./predict/point_progress.ts";
import { DEFAULT_ROUTER_HOP_MS } from "./predict/virtual_topology.ts";

const OWN: FlagSpec = {
  topology: { type: "string", help: "Topology YAML (engine: sim) for one load point" },
  label: { type: "string", help: "Topology label in results (default: the topology's name)" },
  "router-hop-ms": {
    type: "string",
    help: `Router hop per leg, simulated ms (default ${DEFAULT_ROUTER_HOP_MS})`,
  },
  "start-time": {
    type: "string",
    help: "Start instant (ISO) naming run folders and ids; the same one gives identical files",
  },
  set: {
    type: "string",
    multiple: true,
    help: "Change a topology field, e.g. --set prefill.count=2 (every topology of an experiment)",
    placeholder: "field=value",
  },
};

/**
 * Bench and pipeline flags of live runs only (a server, its connection and
 * answers, processes, hosts, the wall clock): not in predict's help, and
 * refused by name when given.
 */
export const LIVE_ONLY: ReadonlySet<string> = new Set([
  "url",
  "worker-cmd",
  "senders",
  "start-at",
  "time-scale",
  "timeout",
  "stall-timeout",
  "grace",
  "temperature",
  "top-p",
  "extra-body",
  "request-body-template",
  "stream",
  "response-text-path",
  "response-tokens-path",
  "gpu-monitor",
  "gpu-interval",
  "scrape-metrics",
  "scrape-interval",
  "reset-prefix-cache",
  "platform",
  "replicas",
  "namespace",
  "image",
  "context",
  "clock",
  "speed",
  "engine",
  "port-base",
]);

/**
 * Predict's flags: its own, bench's workload flags, the pipeline's; with
 * `live`, the live-only ones too (without defaults, so a given one is seen).
 */
function flagSpec(withDefaults: boolean, live = false): FlagSpec {
  const bench = withDefaults ? BENCH_FLAGS : flagsWithoutDefaults();
  const out: FlagSpec = { ...OWN };
  for (const [k, d] of [...Object.entries(bench), ...Object.entries(PIPELINE_FLAGS)]) {
    if (k in out || k === "help") continue;
    if (!LIVE_ONLY.has(k)) out[k] = d;
    else if (live) out[k] = { ...d, default: undefined };
  }
  // the pipeline's workers (bench's load hosts are live only)
  out.workers = PIPELINE_FLAGS.workers;
  return out;
}

/** Throws on the first live-only flag given, naming where it applies. */
function refuseLiveOnly(values: Record<string, unknown>): void {
  const k = Object.keys(values).find((k) => LIVE_ONLY.has(k) && values[k] !== undefined);
  if (k === undefined) return;
  throw new TypeError(
    `Cannot use --${k} with deno task predict as a virtual-time setting: current value is ${
      JSON.stringify(values[k])
    }; it applies to live runs: deno task up, then deno task bench (one server), or a ` +
      "pipeline with --clock live (deno task bench:<name> --clock live)",
  );
}

/**
 * With an experiment file the workload is the file's: a bench workload flag
 * given as well is refused by name (it used to be ignored silently).
 */
function refuseWorkloadFlags(values: Record<string, unknown>): void {
  const bench = Object.keys(flagsWithoutDefaults());
  const k = bench.find((k) =>
    !(k in OWN) && !(k in PIPELINE_FLAGS) && k !== "help" && values[k] !== undefined
  );
  if (k === undefined) return;
  throw new TypeError(
    `Cannot use --${k} with an experiment file: current value is ${
      JSON.stringify(values[k])
    }; the file sets it (${
      k === "rate" ? "sweep.rates, or --rates here" : `workload: { ${k}: … }`
    }), or predict one load point with --topology FILE and bench's workload flags`,
  );
}

function startTime(v: unknown): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) {
    throw fieldError({ field: "--start-time", value: v, expected: "an ISO date-time" });
  }
  return d;
}

/** What `--help` prints: the flags with their defaults (they are parsed without). */
const HELP: CommandHelp = {
  cmd: "deno task predict [EXPERIMENT.yaml | --topology T.yaml ...]",
  summary: "Runs simulated topologies in virtual time (SIMULATED, virtual clock): an " +
    "experiment file (every key: docs/experiments.md, tasks/experiments/experiment.schema.json), " +
    "or one load point of --topology FILE with bench's workload flags.",
  flags: flagSpec(true),
};

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, flagSpec(false, true), HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  refuseLiveOnly(values);
  const hop = numberFlag(values, "router-hop-ms", { min: 0 });
  const start = startTime(values["start-time"]);
  if (positionals.length) {
    if (positionals.length > 1 || values.topology !== undefined) {
      throw new TypeError(
        `Cannot use ${
          JSON.stringify(positionals)
        } as one experiment file: current value has ${positionals.length} arguments${
          values.topology !== undefined ? " and --topology" : ""
        }`,
      );
    }
    refuseWorkloadFlags(values);
    const exp = await loadExperiment(positionals[0]);
    if (hop !== undefined) exp.routerHopMs = hop;
    const po = pipelineOptions({ ...values, engine: "sim", out: values.out ?? "results" });
    // loaded for an experiment only: one point's run does not carry the pipeline's modules
    const { runPipeline } = await import("./pipeline.ts");
    const res = await withSignals((signal) =>
      runPipeline(exp, { ...po, clock: "virtual", startTime: start, signal })
    );
    printFindings(res, "SIMULATED engine, virtual clock");
    console.log(res.expDir);
    return 0;
  }
  if (values.topology === undefined) {
    throw new TypeError(
      "Cannot predict without a topology: current value is neither an experiment file nor --topology FILE",
    );
  }
  if (values.workers !== undefined) {
    throw new TypeError(
      `Cannot use --workers with --topology as parallel workers: current value is ${values.workers}; one load point runs in one process (an experiment file's topologies run in parallel)`,
    );
  }
  const sets = ((values.set as string[] | undefined) ?? []).map((x) => parseSet(x));
  const topo = await loadTopologyWith(String(values.topology), sets);
  const label = String(
    values.label ?? (sets.length ? `${topo.name}-${sizeLabelOf(topo)}` : topo.name),
  );
  const bench: Record<string, unknown> = { ...values, url: VIRTUAL_URL, topology: label };
  for (const k of Object.keys(OWN)) if (k !== "topology") delete bench[k];
  bench.out ??= resolve("results/predict", label);
  const cfg = resolveBenchConfig(bench as Parameters<typeof resolveBenchConfig>[0]);
  const r = await withSignals((signal) =>
    predictPoint(topo, cfg, {
      routerHopMs: hop,
      startTime: start,
      argv: args,
      resultBlock: true,
      signal,
    })
  );
  console.error(
    `[predict] simulated ${(r.simulatedMs / 1000).toFixed(1)} s in ${
      (r.wallMs / 1000).toFixed(2)
    } s wall (${
      (r.simulatedMs / Math.max(r.wallMs, 1)).toFixed(0)
    }x real time, ${r.events} events)`,
  );
  console.log(r.runDir);
  return 0;
}

if (import.meta.main) await runMain(main);
