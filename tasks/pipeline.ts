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
import type { TopologySet } from "../launch/topology_set.ts";
import { withSignals } from "../lib/signals.ts";
import { join, resolve } from "node:path";
import { type CommandHelp, onePositional, parseCommand, runMain } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { Progress } from "../lib/progress.ts";
import type { MergedRow } from "../lib/merged_schema.ts";
import { mergeRuns, writeMerged } from "./merge/merge.ts";
import { compare } from "./compare/compare.ts";
import { findings, findingsMd } from "./compare/_findings.ts";
import { type Experiment, type ExperimentTopology, loadExperiment, ROOT } from "./_experiment.ts";
import { gridCells, pointLabel, type SweepPoint } from "./sweep.ts";
import { finishedRuns } from "./_bench_cmd.ts";
import { resolveRouting } from "./_topology_sweep.ts";
import type { PipelineRun } from "./_pipeline_topology.ts";
import { defaultWorkers, sweepTopologies } from "./_parallel_sweeps.ts";
import { refineLeaders } from "./_refine_leaders.ts";
import { PIPELINE_FLAGS, pipelineOptions, printFindings } from "./_pipeline_cli.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/write_file.ts";
import type { Ranking } from "../lib/ranking.ts";
import { burstFlag } from "../lib/scenario_events.ts";

/** Options of {@linkcode runPipeline}. */
export interface PipelineOptions {
  /** Count points found finished without a line each (plan's last pass reuses its search's). @default false */
  quietResumed?: boolean;
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
  /** SLO attainment target, percent, overriding the experiment's `attainment`. @default null */
  attainmentPct?: number | null;
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
  /**
   * Virtual clock: topologies swept in parallel workers, at most this many at
   * a time (1: one after the other in this process). Results do not depend on
   * it. @default min(2, CPU cores)
   */
  workers?: number | null;
  /** Forward bench result blocks. @default false */
  verbose?: boolean;
  log?: (msg: string) => void;
  /** Show the progress status line (k of N, ETA) on stderr. @default whether stderr is a terminal, unless verbose */
  statusLine?: boolean;
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

export { freePortBase } from "../lib/net.ts";
export { PIPELINE_FLAGS, pipelineOptions, printFindings } from "./_pipeline_cli.ts";
export { withSignals } from "../lib/signals.ts";
export { topologyGpus } from "../launch/topology_budget.ts";

/** Resolves the options once, checks `--only`, and records them as `experiment.json`. */
async function startRun(
  given: Experiment,
  o: PipelineOptions,
): Promise<{ run: PipelineRun; tops: ExperimentTopology[] }> {
  // the router policies as they run, the command line's --set included
  const exp = await resolveRouting(given, o.sets);
  if (o.attainmentPct !== undefined && o.attainmentPct !== null) exp.targetPct = o.attainmentPct;
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
  const scaled = tops.findIndex((t) => t.autoscale);
  if (clock === "live" && scaled >= 0) {
    throw fieldError({
      field: `topologies[${exp.topologies.indexOf(tops[scaled])}].autoscale`,
      value: `clock live${engine === "vllm" ? " (engine vllm)" : ""}`,
      expected:
        "a run in virtual time (clock: virtual, engine sim): the autoscaler runs there only",
      file: exp.file,
    });
  }
  const startTime = o.startTime ?? new Date();
  const workload = { ...exp.workload };
  if (o.numRequests) workload["num-requests"] = o.numRequests;
  // a scenario's rate bursts are the load driver's (both clocks): bench's --rate-burst
  const bursts = burstFlag(exp.events);
  if (bursts) workload["rate-burst"] = bursts;
  await Deno.mkdir(expDir, { recursive: true });
  const resolved = {
    experiment: exp,
    // without what the results do not depend on
    overrides: {
      ...o,
      log: undefined,
      signal: undefined,
      statusLine: undefined,
      workers: undefined,
    },
    engine,
    clock,
    speed,
    workload,
  };
  await writeJsonAtomic(join(expDir, "experiment.json"), resolved);
  // made last: on a terminal it refreshes until runPipeline disposes it
  const progress = new Progress({
    quietResumed: o.quietResumed,
    name: "pipeline",
    log: o.log ?? createLogger({ name: "pipeline" }).info,
    tty: o.statusLine ?? (o.verbose ? false : undefined), // bench's forwarded output would cut it
  });
  const log = progress.logger;
  const run = {
    exp,
    o,
    log,
    progress,
    engine,
    clock,
    speed,
    startTime,
    workload,
    expDir,
    stateDir,
  };
  planPoints(run, tops);
  return { run, tops };
}

/** Search points a topology's `rates: auto` typically runs (the demo: 5–6; 8 GPUs: 6–8). */
const TYPICAL_SEARCH_POINTS = 6;

/**
 * Plans every topology's points: cells × rates, or for auto rates an estimate
 * (cells × the typical search and the placed points).
 */
function planPoints(r: PipelineRun, tops: ExperimentTopology[]): void {
  const { exp, o } = r;
  const rates = o.rates?.length ? o.rates : exp.sweep.rates;
  const cells = gridCells(exp.sweep.grid).length;
  const auto = TYPICAL_SEARCH_POINTS + exp.sweep.auto.points;
  for (const t of tops) r.progress.plan(t.label, cells * (rates?.length ?? auto), !rates?.length);
}

/** Finished run dirs of the topologies left out with `--only` (they still count when here). */
async function leftOutDirs(r: PipelineRun, tops: ExperimentTopology[]): Promise<string[]> {
  const { exp, o } = r;
  const dirs: string[] = [];
  const rates = o.rates?.length ? o.rates : exp.sweep.rates;
  for (const t of exp.topologies.filter((t) => !tops.includes(t))) {
    for (const cell of gridCells(exp.sweep.grid)) {
      for (const rate of rates ?? []) {
        const done = await finishedRuns(r.expDir, pointLabel(t.label, cell, rate), exp.sweep.runs);
        if (done.length) dirs.push(done.at(-1)!);
      }
    }
  }
  return dirs;
}

/** Figures and report.html of the experiment folder (figures read `ranking`); returns report.html. */
async function drawReport(r: PipelineRun, ranking: Ranking | null): Promise<string> {
  const { exp } = r;
  const labels = exp.topologies.map((t) => t.label);
  // loaded here, not with the module: the plotting libraries (vega, resvg) weigh ~10 MB of heap and
  // ~30 MB of RSS that a virtual run's memory then carries (`deno task predict` of one point never plots)
  const { plot } = await import("../plot/plot.ts");
  const res = await plot(r.expDir, {
    formats: exp.plots.formats,
    logY: exp.plots.logY,
    compare: exp.plots.compare && exp.plots.compare.every((c) => labels.includes(c))
      ? exp.plots.compare
      : undefined,
    slo: exp.slo ?? undefined,
    sloTarget: exp.targetPct / 100,
    ranking,
  });
  r.log(`${res.files.length - 1} figures (${res.skipped.length} skipped) -> ${res.report}`);
  return res.report;
}

/** Merge, compare, findings and (unless turned off) the report of `dirs`. */
async function analyze(r: PipelineRun, dirs: string[]) {
  const { exp, expDir } = r;
  const { rows, inputs } = await mergeRuns(dirs, { slo: exp.slo });
  const mergedCsv = join(expDir, "merged.csv");
  await writeMerged(mergedCsv, rows);
  const cmp = compare(rows, inputs, { slo: exp.slo, targetPct: exp.targetPct });
  const compareMd = join(expDir, "compare.md");
  const crossoverJson = join(expDir, "crossover.json");
  await writeFileAtomic(compareMd, cmp.markdown);
  await writeJsonAtomic(crossoverJson, cmp.json);
  const found = findings(rows, cmp.json, {
    pair: exp.plots.compare ?? undefined,
    // the policies as resolved once for the run (resolveRouting), the command line's --set included
    policies: Object.fromEntries(
      r.exp.topologies.filter((t) => t.routerPolicy !== null).map((
        t,
      ) => [t.label, t.routerPolicy!]),
    ),
  });
  await writeFileAtomic(join(expDir, "findings.md"), findingsMd(found));
  r.log(`merged ${dirs.length} run dirs -> ${mergedCsv}; ${compareMd}`);
  const report = r.o.plot !== false ? await drawReport(r, cmp.json.ranking) : null;
  return {
    mergedCsv,
    rows,
    compareMd,
    crossoverJson,
    crossover: cmp.json,
    findings: found,
    report,
  };
}

/** Runs the experiment end to end; returns where everything went. */
export async function runPipeline(
  exp: Experiment,
  o: PipelineOptions = {},
): Promise<PipelineResult> {
  const { run, tops } = await startRun(exp, o);
  using _progress = run.progress;
  const points = await sweepTopologies(run, tops, o.workers ?? defaultWorkers());
  await refineLeaders(run, tops, points);
  const dirs = Object.values(points).flat().map((p) => p.runDir);
  dirs.push(...await leftOutDirs(run, tops));
  return { expDir: run.expDir, points, ...await analyze(run, dirs) };
}

/**
 * The topologies' sweeps alone, no merge, compare or report (a plan's probing
 * waves); finished points are reused as a full run would reuse them.
 */
export async function sweepOnly(
  exp: Experiment,
  o: PipelineOptions = {},
): Promise<Record<string, SweepPoint[]>> {
  const { run, tops } = await startRun(exp, o);
  using _progress = run.progress;
  return await sweepTopologies(run, tops, o.workers ?? defaultWorkers());
}

const HELP: CommandHelp = {
  cmd: "deno run -A tasks/pipeline.ts <experiment.yaml|name>",
  summary: "Experiment file -> runs, merged.csv, compare.md, report.html. Experiment keys " +
    "(topologies, workload, sweep with rates, grid and topology sizes or a GPU budget, slo, " +
    "attainment, plots): docs/experiments.md; schema: tasks/experiments/experiment.schema.json.",
};

/** Runs the CLI: `pipeline.ts <experiment.yaml|name> [flags]`. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, PIPELINE_FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const p = onePositional(positionals, "one experiment file");
  const file = /\.ya?ml$/.test(p) ? p : join(ROOT, "tasks/experiments", `${p}.yaml`);
  const exp = await loadExperiment(file);
  const o = pipelineOptions(values);
  const res = await withSignals((signal) => runPipeline(exp, { ...o, signal }));
  const clock = o.engine === "vllm" ? "live" : o.clock ?? exp.clock;
  const sim = res.rows.some((r) => r.simulated === true) ? "SIMULATED engine, " : "";
  printFindings(res, `${sim}${clock} clock`);
  console.log(`${res.compareMd}\n${res.report ?? res.mergedCsv}`);
  return 0;
}

if (import.meta.main) await runMain(main);
