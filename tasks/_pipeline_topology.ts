/**
 * One topology of a pipeline run: its topology file with the run's overrides,
 * the sweep options of its points, and its sweep: in virtual time, from points
 * already finished, or live between `up` and `down` (always down, also on
 * errors and Ctrl-C).
 *
 * @module
 */
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { applySets, type TopologySet } from "../launch/topology_set.ts";
import { topologyGpus } from "../launch/topology_budget.ts";
import { up } from "../launch/up.ts";
import { down } from "../launch/down.ts";
import { loadTopology, type Topology } from "../launch/topology.ts";
import type { TopologyState } from "../launch/_state.ts";
import { errorMessage, fieldError } from "../lib/errors.ts";
import { freePortBase } from "../lib/net.ts";
import { readConfigText } from "../lib/read_config.ts";
import { writeFileAtomic } from "../lib/write_file.ts";
import type { Progress } from "../lib/progress.ts";
import { type Experiment, type ExperimentTopology, sloFlag } from "./_experiment.ts";
import type { PipelineOptions } from "./pipeline.ts";
import { predictFlags, VIRTUAL_URL } from "./predict/run_point.ts";
import { sweep, sweepIsCurrent, type SweepOptions, type SweepPoint, sweepPoint } from "./sweep.ts";
import type { PointRun } from "./_sweep_point.ts";
import { runBench } from "./_bench_cmd.ts";
import type { AutoscaleSpec } from "../lib/autoscale.ts";
import {
  checkLiveEvents,
  type LiveScenario,
  liveSpares,
  startLiveScenario,
  writeLiveScenario,
} from "./_live_scenario.ts";

/** What every topology of one pipeline run shares (the options resolved once). */
export interface PipelineRun {
  exp: Experiment;
  o: PipelineOptions;
  /** Log lines (above the status line of `progress`). */
  log: (msg: string) => void;
  /** The points of every topology (each planned under its label). */
  progress: Progress;
  engine: "sim" | "vllm";
  clock: "virtual" | "live";
  /** Simulated engine speed of a live sim run, else null. */
  speed: number | null;
  startTime: Date;
  /** The experiment's bench flags with the run's overrides. */
  workload: Experiment["workload"];
  expDir: string;
  stateDir: string;
}

/** Writes the topology file with overrides under `dir` when needed; returns the path to launch. */
async function topologyFile(
  src: string,
  dir: string,
  label: string,
  over: Record<string, unknown>,
) {
  const sets = (over.sets ?? []) as TopologySet[];
  if (Object.keys(over).filter((k) => k !== "sets").length === 0 && sets.length === 0) return src;
  const doc = applySets(parseYaml(await readConfigText(src, "a topology file")), sets) as Record<
    string,
    unknown
  >;
  if (over.speed !== undefined) doc.sim = { ...(doc.sim as object ?? {}), speed: over.speed };
  if (over.model !== undefined) doc.model = over.model;
  await Deno.mkdir(dir, { recursive: true });
  const out = join(dir, `${label}.yaml`);
  await writeFileAtomic(out, `# generated from ${src}\n${stringifyYaml(doc)}`);
  return out;
}

/** The file `t` launches from: its sim or vllm file with the run's speed, model and sets. */
async function launchFile(r: PipelineRun, t: ExperimentTopology): Promise<string> {
  const src = r.engine === "vllm" ? t.vllmFile : t.file;
  if (!src) {
    throw fieldError({
      field: `topologies[${t.label}].vllm_file`,
      value: null,
      expected: "a vllm topology file for --engine vllm",
      file: r.exp.file,
    });
  }
  const over: Record<string, unknown> = {};
  if (r.speed !== null) over.speed = r.speed;
  if (r.o.model) over.model = r.o.model;
  // the entry's own changes (set:, a sweep.topology cell), then the command line's --set
  const sets = [...t.sets, ...(r.o.sets ?? [])];
  if (sets.length) over.sets = sets;
  return await topologyFile(src, join(r.expDir, ".topologies"), t.label, over);
}

/** One topology as launched: its label, file, parsed topology, clock and rates. */
interface Launch {
  label: string;
  file: string;
  topo: Topology;
  virtual: boolean;
  /** The sim runs this many times faster than real time (1 in virtual time and on vllm). */
  timeScale: number;
  rates: number[] | "auto";
  /** The entry's autoscaler (virtual time only). */
  autoscale: AutoscaleSpec | null;
}

/** Sweep options of `l`'s points against `url` (`resetUrls` POSTed before each). */
function sweepOptions(r: PipelineRun, l: Launch, url: string, resetUrls: string[]): SweepOptions {
  const { exp, o } = r;
  return {
    url,
    expDir: r.expDir,
    topology: l.label,
    gpus: topologyGpus(l.topo),
    workload: r.workload,
    rates: l.rates,
    auto: exp.sweep.auto,
    grid: exp.sweep.grid,
    runs: exp.sweep.runs,
    resetUrls,
    resetPrefixCache: exp.sweep.resetPrefixCache,
    stop: exp.sweep.stop,
    slo: sloFlag(exp.slo),
    attainmentPct: exp.targetPct,
    timeScale: l.timeScale,
    meta: {
      experiment: exp.name,
      experiment_file: exp.file,
      engine: r.engine,
      topology_label: l.label,
      topology_file: l.file,
      topology: l.topo,
      clock: l.virtual ? "virtual" : "live",
      sim_speed: l.virtual ? null : l.timeScale,
    },
    resume: o.resume,
    verbose: o.verbose,
    log: r.log,
    progress: r.progress,
    signal: o.signal,
    runner: l.virtual
      ? (flags) =>
        predictFlags(l.topo, flags, {
          routerHopMs: exp.routerHopMs ?? undefined,
          events: exp.events,
          autoscale: l.autoscale,
          targetPct: exp.targetPct,
          startTime: r.startTime,
          signal: o.signal,
          resultBlock: o.verbose,
          print: (text) => r.progress.print(text),
          progress: r.progress.tty
            ? (line) => r.progress.note(line.replace(/^\[predict\] [^:]*: /, ""))
            : undefined,
        })
      : undefined,
  };
}

/** `up`, the sweep against the launched endpoint, then `down` whatever happened. */
async function sweepLaunched(
  r: PipelineRun,
  l: Launch,
  portBase: number | undefined,
): Promise<SweepPoint[]> {
  const { log, o } = r;
  log(`${l.label}: up ${l.file}${l.timeScale !== 1 ? ` (sim speed ${l.timeScale})` : ""}`);
  const state = await up({
    file: l.file,
    portBase,
    stateDir: r.stateDir,
    log,
    signal: o.signal,
    spares: liveSpares(r.exp.events),
  }) as TopologyState;
  try {
    const resetUrls = state.processes.filter((p) => p.role !== "router")
      .map((p) => `${p.url}/reset_prefix_cache`);
    if (state.routerUrl && l.topo.kind === "ppd") {
      resetUrls.push(`${state.routerUrl}/conversations/clear`);
    }
    const opts = sweepOptions(r, l, state.endpoint, resetUrls);
    const faults = r.exp.events.filter((e) => e.action !== "burst");
    if (faults.length) opts.runner = liveScenarioRunner(r, l, state);
    return await sweep(opts);
  } finally {
    await down({ target: l.topo.name, stateDir: r.stateDir, graceMs: 3000, log }).catch((e) =>
      log(`down ${l.topo.name} failed: ${errorMessage(e)}`)
    );
  }
}

/**
 * A bench runner that plays the experiment's events on the live processes
 * (`_live_scenario.ts`): bench starts its load at the agreed instant, the
 * supervisor's signals follow the events, and `scenario.json` is written
 * beside the rows.
 */
function liveScenarioRunner(
  r: PipelineRun,
  l: Launch,
  state: TopologyState,
): SweepOptions["runner"] {
  const { exp } = r;
  checkLiveEvents(exp.events, exp.file);
  return async (flags, ro) => {
    const sc = startLiveScenario(state, exp.events, {
      timeScale: l.timeScale,
      log: r.log,
      stateDir: r.stateDir,
    });
    let got: Awaited<ReturnType<LiveScenario["stop"]>> | null = null;
    try {
      const b = await runBench({ ...flags, "start-at": sc.startAtMs }, ro);
      got = await sc.stop();
      if (b.runDir) {
        const duration = Number(r.workload.duration);
        const findings = await writeLiveScenario(b.runDir, {
          events: exp.events,
          ...got,
          slo: exp.slo ?? {},
          targetPct: exp.targetPct,
          durationMs: Number.isFinite(duration) ? duration * 1000 : undefined,
        });
        for (const f of findings) r.log(`${l.label}: ${f}`);
      }
      return b;
    } finally {
      if (!got) await sc.stop();
    }
  };
}

/** Topology `t` as the run launches it: its file with the run's overrides, clock and rates. */
async function launchOf(r: PipelineRun, t: ExperimentTopology): Promise<Launch> {
  r.o.signal?.throwIfAborted();
  const file = await launchFile(r, t);
  const topo = await loadTopology(file);
  const virtual = r.clock === "virtual" && topo.engine === "sim";
  const timeScale = topo.engine === "sim" && !virtual ? topo.sim.speed : 1;
  const rates: number[] | "auto" = r.o.rates?.length ? r.o.rates : r.exp.sweep.rates ?? "auto";
  if (t.routerPolicyDefaulted) {
    r.log(
      `${t.label}: router.policy ${t.routerPolicy} (session affinity: a replica baseline on a multi-turn workload; set router.policy to choose another)`,
    );
  }
  if (t.autoscale && !virtual) {
    throw new RangeError(
      `Cannot use topologies[${t.label}].autoscale on the live clock: current value is ${
        topo.engine === "sim" ? `clock ${r.clock}` : `engine ${topo.engine}`
      }; allowed: a sim topology in virtual time (clock: virtual)`,
    );
  }
  return { label: t.label, file, topo, virtual, timeScale, rates, autoscale: t.autoscale };
}

/** The sweep of a launch in virtual time (no processes). */
async function sweepVirtual(r: PipelineRun, l: Launch, extra: Partial<SweepOptions>) {
  r.log(`${l.label}: ${l.file} in virtual time (simulated, no processes)`);
  return await sweep({ ...sweepOptions(r, l, VIRTUAL_URL, []), ...extra });
}

/**
 * Sweeps topology `t` when it runs in virtual time (a sim topology on the
 * virtual clock); null, having run nothing, when it runs live.
 */
export async function runVirtualTopology(
  r: PipelineRun,
  t: ExperimentTopology,
): Promise<SweepPoint[] | null> {
  const l = await launchOf(r, t);
  return l.virtual ? await sweepVirtual(r, l, {}) : null;
}

/**
 * How topology `t` runs, found without a log line: in virtual time or not,
 * and its rates (fixed, or "auto" for the SLO search).
 */
export async function howItRuns(
  r: PipelineRun,
  t: ExperimentTopology,
): Promise<{ virtual: boolean; rates: number[] | "auto" }> {
  const { virtual, rates } = await launchOf({ ...r, log: () => {} }, t);
  return { virtual, rates };
}

/**
 * Runs one point of virtual topology `t`'s fixed-rate sweep (or finds it
 * finished) as its sweep would; for a worker running points ahead of it.
 */
export async function runVirtualPoint(
  r: PipelineRun,
  t: ExperimentTopology,
  p: { label: string; rate: number; cell: Record<string, string | number> },
): Promise<PointRun> {
  const l = await launchOf({ ...r, log: () => {} }, t);
  return await sweepPoint(sweepOptions(r, l, VIRTUAL_URL, []), p.label, p.rate, p.cell);
}

/** Sweeps topology `t` of the run; returns its points. */
export async function runTopology(
  r: PipelineRun,
  t: ExperimentTopology,
  extra: Partial<SweepOptions> = {},
): Promise<SweepPoint[]> {
  const l = await launchOf(r, t);
  if (l.virtual) return await sweepVirtual(r, l, extra);
  const { o } = r;
  const { rates, file } = l;
  if (
    rates !== "auto" &&
    await sweepIsCurrent(sweepOptions(r, l, "http://127.0.0.1:1", []), rates)
  ) {
    r.log(`${t.label}: every point is already in ${r.expDir}; not starting it`);
    return await sweep(sweepOptions(r, l, "http://127.0.0.1:1", []));
  }
  if (l.topo.platform === "kubernetes") {
    throw new RangeError(
      `Cannot run topology ${t.label} (${file}) live in a pipeline as platform kubernetes: current value is platform kubernetes; run deno task up, deno task bench --platform kubernetes and deno task down by hand (README: A cluster walkthrough), or predict it in virtual time`,
    );
  }
  const portBase = o.portBase === "auto" || (o.portBase === undefined && l.topo.engine === "sim")
    ? await freePortBase()
    : o.portBase ?? undefined;
  return await sweepLaunched(r, l, portBase);
}
