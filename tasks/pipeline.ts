/**
 * `deno task bench:<name>` / `deno run -A tasks/pipeline.ts <experiment.yaml>`:
 * one click from an experiment file to a report. For each topology: `up` (sim
 * speed from the file or `--speed`), a rate sweep with bench, `down` (always,
 * also on errors and Ctrl-C); then merge, compare and plot.
 *
 *     deno task bench:pd                          # tasks/experiments/pd.yaml on the sim
 *     deno task bench:pd --engine vllm --model meta-llama/Llama-3.1-8B-Instruct
 *     deno run -A tasks/pipeline.ts tasks/experiments/demo.yaml --speed 20 --rates 1,4
 *
 * Results go to `results/<experiment>/`; re-running resumes at the first missing point.
 *
 * @module
 */
import { applySets, parseSet, type TopologySet } from "../launch/topology_set.ts";
import { InterruptedError, StopSignals } from "../lib/signals.ts";
import { join, resolve } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { listFlag, numberFlag, parseFlags, runMain, usage } from "../lib/args.ts";
import { errorMessage, fieldError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { isPortFree } from "../lib/net.ts";
import type { MergedRow } from "../lib/merged_schema.ts";
import { up } from "../launch/up.ts";
import { down } from "../launch/down.ts";
import { loadTopology, type Topology } from "../launch/topology.ts";
import type { TopologyState } from "../launch/_state.ts";
import { plot } from "../plot/plot.ts";
import { mergeRuns, writeMerged } from "./merge/merge.ts";
import { compare } from "./compare/compare.ts";
import { findings, findingsMd } from "./compare/_findings.ts";
import { type Experiment, loadExperiment, ROOT, sloFlag } from "./_experiment.ts";
import {
  gridCells,
  pointLabel,
  sweep,
  sweepIsCurrent,
  type SweepOptions,
  type SweepPoint,
} from "./sweep.ts";
import { finishedRuns } from "./_bench_cmd.ts";
import { predictFlags, VIRTUAL_URL } from "./predict/run_point.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/write_file.ts";
import { readConfigText } from "../lib/read_config.ts";

/** Options of {@linkcode runPipeline}. */
export interface PipelineOptions {
  /** `--set field=value` changes to every topology. @default [] */
  sets?: TopologySet[];
  /** Results root; the experiment folder is `<outRoot>/<name>`. @default results */
  outRoot?: string;
  /** Simulated engine speed-up overriding file and experiment. @default null */
  speed?: number | null;
  /** Run the `vllm_file` topologies instead of the sim ones. @default "sim" */
  engine?: "sim" | "vllm";
  /** Clock of sim topologies, overriding the experiment's. @default the experiment's (virtual) */
  clock?: "virtual" | "live" | null;
  /** Virtual time: one start instant for every run folder and id (reproducible files). @default now */
  startTime?: Date;
  /** Model overriding the topology files'. @default null */
  model?: string | null;
  /** Only these topology labels. @default all */
  only?: string[];
  /** Rates overriding the experiment's sweep. @default null */
  rates?: number[] | null;
  /** `num-requests` overriding the workload's. @default null */
  numRequests?: number | null;
  /** First port of each topology; "auto" picks a free range (sim only). @default "auto" for sim */
  portBase?: number | "auto" | null;
  /** Reuse of finished points: "auto" reruns changed ones, "strict" refuses. @default "auto" */
  resume?: "auto" | "strict";
  /** Draw figures and report.html. @default true */
  plot?: boolean;
  /** Forward bench result blocks. @default false */
  verbose?: boolean;
  log?: (msg: string) => void;
  signal?: AbortSignal;
}

/** Result of {@linkcode runPipeline}. */
export interface PipelineResult {
  expDir: string;
  /** Sweep points per topology label. */
  points: Record<string, SweepPoint[]>;
  mergedCsv: string;
  rows: MergedRow[];
  compareMd: string;
  crossoverJson: string;
  crossover: ReturnType<typeof compare>["json"];
  /** The findings lines (also in `findings.md`, and opening report.html). */
  findings: string[];
  /** report.html, or null without plotting. */
  report: string | null;
}

/** GPUs a topology occupies (sum of tensor-parallel sizes of its engines). */
export function topologyGpus(t: Topology): number {
  return t.roles.reduce((n, r) => n + r.tp.reduce((a, b) => a + b, 0), 0);
}

/**
 * A first port with `span` free ports after it (each bound on 0.0.0.0 as `up`
 * checks). Bases are drawn below Linux's ephemeral range (32768+), where
 * outgoing connections and their TIME-WAIT sockets do not crowd the range.
 */
export async function freePortBase(span = 40, tries = 200): Promise<number> {
  for (let i = 0; i < tries; i++) {
    const p = 20000 + Math.floor(Math.random() * (32000 - span - 20000));
    let ok = true;
    for (let q = p; q < p + span && ok; q++) ok = await isPortFree(q, "0.0.0.0");
    if (ok) return p;
  }
  throw new RangeError(
    `Cannot find ${span} free ports in a row in 20000-32000 as --port-base: current value is none after ${tries} tries; pass --port-base N with ports N..N+${span} free`,
  );
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

/** Runs the experiment end to end; returns where everything went. */
export async function runPipeline(
  exp: Experiment,
  o: PipelineOptions = {},
): Promise<PipelineResult> {
  const log = o.log ?? createLogger({ name: "pipeline" }).info;
  const engine = o.engine ?? "sim";
  const expDir = resolve(o.outRoot ?? join(ROOT, "results"), exp.name);
  const stateDir = join(expDir, ".state");
  const tops = exp.topologies.filter((t) => !o.only?.length || o.only.includes(t.label));
  if (!tops.length) {
    throw fieldError({
      field: "--only",
      value: o.only,
      expected: `labels of ${exp.file}: ${exp.topologies.map((t) => t.label).join(", ")}`,
    });
  }
  const clock = engine === "vllm" ? "live" : (o.clock ?? exp.clock);
  const speed = engine === "sim" && clock === "live" ? (o.speed ?? exp.speed) : null;
  const startTime = o.startTime ?? new Date();
  const workload = { ...exp.workload };
  if (o.numRequests) workload["num-requests"] = o.numRequests;
  await Deno.mkdir(expDir, { recursive: true });
  const resolved = {
    experiment: exp,
    overrides: { ...o, log: undefined, signal: undefined },
    engine,
    clock,
    speed,
    workload,
  };
  await writeJsonAtomic(join(expDir, "experiment.json"), resolved);

  const points: Record<string, SweepPoint[]> = {};
  for (const t of tops) {
    o.signal?.throwIfAborted();
    const src = engine === "vllm" ? t.vllmFile : t.file;
    if (!src) {
      throw fieldError({
        field: `topologies[${t.label}].vllm_file`,
        value: null,
        expected: "a vllm topology file for --engine vllm",
        file: exp.file,
      });
    }
    const over: Record<string, unknown> = {};
    if (speed !== null) over.speed = speed;
    if (o.model) over.model = o.model;
    // the entry's own changes (set:, a sweep.topology cell), then the command line's --set
    const sets = [...t.sets, ...(o.sets ?? [])];
    if (sets.length) over.sets = sets;
    const file = await topologyFile(src, join(expDir, ".topologies"), t.label, over);
    const topo = await loadTopology(file);
    const virtual = clock === "virtual" && topo.engine === "sim";
    const timeScale = topo.engine === "sim" && !virtual ? topo.sim.speed : 1;
    const portBase = o.portBase === "auto" || (o.portBase === undefined && topo.engine === "sim")
      ? await freePortBase()
      : o.portBase ?? undefined;
    const rates: number[] | "auto" = o.rates?.length ? o.rates : exp.sweep.rates ?? "auto";
    const sweepOpts = (url: string, resetUrls: string[]): SweepOptions => ({
      url,
      expDir,
      topology: t.label,
      gpus: topologyGpus(topo),
      workload,
      rates,
      auto: exp.sweep.auto,
      grid: exp.sweep.grid,
      runs: exp.sweep.runs,
      resetUrls,
      resetPrefixCache: exp.sweep.resetPrefixCache,
      stop: exp.sweep.stop,
      slo: sloFlag(exp.slo),
      timeScale,
      meta: {
        experiment: exp.name,
        experiment_file: exp.file,
        engine,
        topology_label: t.label,
        topology_file: file,
        topology: topo,
        clock: virtual ? "virtual" : "live",
        sim_speed: virtual ? null : timeScale,
      },
      resume: o.resume,
      verbose: o.verbose,
      log,
      signal: o.signal,
      runner: virtual
        ? (flags) =>
          predictFlags(topo, flags, {
            routerHopMs: exp.routerHopMs ?? undefined,
            startTime,
            resultBlock: o.verbose,
          })
        : undefined,
    });
    if (virtual) {
      log(`${t.label}: ${file} in virtual time (simulated, no processes)`);
      points[t.label] = await sweep(sweepOpts(VIRTUAL_URL, []));
      continue;
    }
    if (
      rates !== "auto" && await sweepIsCurrent(sweepOpts("http://127.0.0.1:1", []), rates)
    ) {
      log(`${t.label}: every point is already in ${expDir}; not starting it`);
      points[t.label] = await sweep(sweepOpts("http://127.0.0.1:1", []));
      continue;
    }
    if (topo.platform === "kubernetes") {
      throw new RangeError(
        `Cannot run topology ${t.label} (${file}) live in a pipeline as platform kubernetes: current value is platform kubernetes; run deno task up, deno task bench --platform kubernetes and deno task down by hand (README: A cluster walkthrough), or predict it in virtual time`,
      );
    }
    log(`${t.label}: up ${file}${timeScale !== 1 ? ` (sim speed ${timeScale})` : ""}`);
    const state = await up({ file, portBase, stateDir, log, signal: o.signal }) as TopologyState;
    try {
      const resetUrls = state.processes.filter((p) => p.role !== "router")
        .map((p) => `${p.url}/reset_prefix_cache`);
      if (state.routerUrl && topo.kind === "ppd") {
        resetUrls.push(`${state.routerUrl}/conversations/clear`);
      }
      points[t.label] = await sweep(sweepOpts(state.endpoint, resetUrls));
    } finally {
      await down({ target: topo.name, stateDir, graceMs: 3000, log }).catch((e) =>
        log(`down ${topo.name} failed: ${errorMessage(e)}`)
      );
    }
  }

  const dirs = Object.values(points).flat().map((p) => p.runDir);
  // topologies left out with --only still count when their points are already here
  const rates = o.rates?.length ? o.rates : exp.sweep.rates;
  for (const t of exp.topologies.filter((t) => !tops.includes(t))) {
    for (const cell of gridCells(exp.sweep.grid)) {
      for (const r of rates ?? []) {
        const done = await finishedRuns(expDir, pointLabel(t.label, cell, r), exp.sweep.runs);
        if (done.length) dirs.push(done.at(-1)!);
      }
    }
  }
  const { rows, inputs } = await mergeRuns(dirs, { slo: exp.slo });
  const mergedCsv = join(expDir, "merged.csv");
  await writeMerged(mergedCsv, rows);
  const cmp = compare(rows, inputs, { slo: exp.slo, targetPct: exp.targetPct });
  const compareMd = join(expDir, "compare.md");
  const crossoverJson = join(expDir, "crossover.json");
  await writeFileAtomic(compareMd, cmp.markdown);
  await writeJsonAtomic(crossoverJson, cmp.json);
  const pair = exp.plots.compare ?? ["ppd", "pd"];
  const found = findings(rows, cmp.json, pair[0], pair[1]);
  await writeFileAtomic(join(expDir, "findings.md"), findingsMd(found));
  log(`merged ${dirs.length} run dirs -> ${mergedCsv}; ${compareMd}`);
  let report: string | null = null;
  if (o.plot !== false) {
    const labels = exp.topologies.map((t) => t.label);
    const res = await plot(expDir, {
      formats: exp.plots.formats,
      logY: exp.plots.logY,
      compare: exp.plots.compare && exp.plots.compare.every((c) => labels.includes(c))
        ? exp.plots.compare
        : undefined,
      slo: exp.slo ?? undefined,
      sloTarget: exp.targetPct / 100,
    });
    report = res.report;
    log(`${res.files.length - 1} figures (${res.skipped.length} skipped) -> ${report}`);
  }
  return {
    expDir,
    points,
    mergedCsv,
    rows,
    compareMd,
    crossoverJson,
    crossover: cmp.json,
    findings: found,
    report,
  };
}

/**
 * Calls `fn` with a signal that aborts on the first SIGINT/SIGTERM (its duplicates
 * within 1 s are the same signal); what `fn` started is stopped on its way out.
 * After a signal it throws {@linkcode InterruptedError} (exit 130/143), even
 * when `fn` finished.
 */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  using stop = new StopSignals({
    onForce: (sig) =>
      console.error(`${sig} again: already stopping; processes get SIGKILL after their grace`),
  });
  let result: T;
  try {
    result = await fn(stop.graceful);
  } catch (e) {
    if (stop.received) {
      throw new InterruptedError(
        `Cannot finish: interrupted by ${stop.received}; what was started was stopped (${
          errorMessage(e)
        })`,
        stop.exitCode!,
      );
    }
    throw e;
  }
  if (stop.received) {
    throw new InterruptedError(`interrupted by ${stop.received}`, stop.exitCode!);
  }
  return result;
}

/** Command-line flags shared by `pipeline.ts`, `bench:<name>` and `demo`. */
export const PIPELINE_FLAGS = {
  clock: {
    type: "string" as const,
    help:
      "virtual (one process, virtual time; default for sim) or live (processes on the wall clock)",
  },
  speed: {
    type: "string" as const,
    help: "Live clock: simulated engine speed-up (overrides the files)",
  },
  engine: {
    type: "string" as const,
    default: "sim",
    help: "sim or vllm (uses the vllm_* topology files)",
  },
  model: { type: "string" as const, help: "Model overriding the topology files" },
  only: { type: "string" as const, help: "Only these topology labels (comma-separated)" },
  rates: { type: "string" as const, help: "Rates overriding the sweep (comma-separated)" },
  "num-requests": { type: "string" as const, help: "Requests (conversations) per point" },
  out: { type: "string" as const, default: "results", help: "Results root" },
  "port-base": {
    type: "string" as const,
    help: "First port of each topology (default: a free range on sim)",
  },
  resume: {
    type: "string" as const,
    default: "auto",
    help:
      "Finished points: auto (reuse when settings match, else rerun) or strict (refuse changes)",
  },
  "no-plot": { type: "boolean" as const, default: false, help: "Skip figures and report.html" },
  verbose: { type: "boolean" as const, default: false, help: "Show bench's result blocks" },
  set: {
    type: "string" as const,
    multiple: true,
    help: "Change a field of every topology, e.g. --set decode.tp=2",
    placeholder: "field=value",
  },
};

/** Reads {@linkcode PIPELINE_FLAGS} into pipeline options. */
export function pipelineOptions(values: Record<string, unknown>): PipelineOptions {
  const v = values as Parameters<typeof numberFlag>[0];
  const engine = v.engine as string;
  if (engine !== "sim" && engine !== "vllm") {
    throw fieldError({ field: "--engine", value: engine, expected: "sim or vllm" });
  }
  const clock = v.clock as string | undefined;
  if (clock !== undefined && clock !== "virtual" && clock !== "live") {
    throw fieldError({ field: "--clock", value: clock, expected: "virtual or live" });
  }
  if (clock === "virtual" && engine === "vllm") {
    throw fieldError({ field: "--clock", value: clock, expected: "live with --engine vllm" });
  }
  const resume = v.resume as string;
  if (resume !== "auto" && resume !== "strict") {
    throw fieldError({ field: "--resume", value: resume, expected: "auto or strict" });
  }
  return {
    clock: clock ?? null,
    resume,
    outRoot: v.out as string,
    speed: numberFlag(v, "speed", { min: 0.01 }) ?? null,
    engine,
    model: (v.model as string | undefined) ?? null,
    only: listFlag(v, "only"),
    rates: listFlag(v, "rates").map((r) => {
      if (!(Number(r) > 0)) {
        throw fieldError({ field: "--rates", value: v.rates, expected: "positive rates" });
      }
      return Number(r);
    }),
    numRequests: numberFlag(v, "num-requests", { min: 1, integer: true }) ?? null,
    portBase: numberFlag(v, "port-base", { min: 1, max: 65000, integer: true }) ??
      (engine === "sim" ? "auto" : null),
    plot: v["no-plot"] !== true,
    verbose: v.verbose === true,
    sets: ((values.set as string[] | undefined) ?? []).map((x) => parseSet(x)),
  };
}

/** Runs the CLI: `pipeline.ts <experiment.yaml|name> [flags]`. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, PIPELINE_FLAGS, { allowPositionals: true });
  if (values.help) {
    console.log(
      usage(
        "deno run -A tasks/pipeline.ts <experiment.yaml|name>",
        "Experiment file -> runs, merged.csv, compare.md, report.html.",
        PIPELINE_FLAGS,
      ),
    );
    return 0;
  }
  if (positionals.length !== 1) {
    throw new TypeError(
      `Cannot use ${
        JSON.stringify(positionals)
      } as one experiment file: current value has ${positionals.length} arguments`,
    );
  }
  const p = positionals[0];
  const file = /\.ya?ml$/.test(p) ? p : join(ROOT, "tasks/experiments", `${p}.yaml`);
  const exp = await loadExperiment(file);
  const res = await withSignals((signal) =>
    runPipeline(exp, { ...pipelineOptions(values), signal })
  );
  console.log(`${res.compareMd}\n${res.report ?? res.mergedCsv}`);
  return 0;
}

if (import.meta.main) await runMain(main);
