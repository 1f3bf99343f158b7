/**
 * `deno task demo`: which topology serves multi-turn chat best, and from which
 * load on, on the embedded simulated engine (no GPU). agg, dp(2), pd 1P1D and
 * ppd 1P1D (simulated H100, Llama-3.1-8B profile) on W1:
 *
 * 1. searches each topology's SLO capacity and throughput knee in virtual time
 *    (`rates: auto`), then sweeps it around both;
 * 2. merges, compares and plots (report.html);
 * 3. cross-checks 2 of those points live: real engine and router processes
 *    (`up`/`down`) and bench at speed 1, printed side by side with virtual time;
 * 4. prints the findings.
 *
 *     deno task demo [--clock live] [--rates 1,2,4] [--no-live-check] [--out results]
 *
 * @module
 */
import { join } from "node:path";
import { type CommandHelp, parseCommand, runMain } from "../lib/args.ts";
import { errorMessage } from "../lib/errors.ts";
import { type Experiment, loadExperiment, ROOT } from "./_experiment.ts";
import {
  PIPELINE_FLAGS,
  type PipelineOptions,
  pipelineOptions,
  type PipelineResult,
  runPipeline,
  withSignals,
} from "./pipeline.ts";

/** The demo's experiment file. */
export const DEMO_EXPERIMENT = join(ROOT, "tasks/experiments/demo.yaml");

const FLAGS = {
  ...PIPELINE_FLAGS,
  experiment: { type: "string" as const, default: DEMO_EXPERIMENT, help: "Experiment file" },
  "no-live-check": {
    type: "boolean" as const,
    default: false,
    help: "Skip the live cross-check (real processes)",
  },
  "check-duration": {
    type: "string" as const,
    default: "20",
    help: "Seconds of each live cross-check point",
  },
};

const HELP: CommandHelp = {
  cmd: "deno task demo",
  summary: "agg vs dp vs pd vs ppd on the simulated engine, end to end.",
};

/** One live-vs-virtual comparison. */
export interface CrossCheck {
  topology: string;
  rate: number;
  live: Record<string, number | null>;
  virtual: Record<string, number | null>;
}

/** Result of {@linkcode runDemo}: the pipeline's (findings included) plus the probes and checks. */
export interface DemoResult extends PipelineResult {
  checks: CrossCheck[];
  /** Wall-clock seconds. */
  wallS: number;
  /** Of which the live cross-check, s (0 without one). */
  liveCheckS: number;
}

/** Options of {@linkcode runDemo}. */
export interface DemoOptions extends PipelineOptions {
  experiment?: string;
  /** Run the live cross-check. @default true */
  liveCheck?: boolean;
  /** Seconds of each cross-check point. @default 20 */
  checkDurationS?: number;
}

const KEYS = ["request_throughput", "output_throughput", "mean_ttft_ms", "mean_tpot_ms"];

/** The cross-check's rate: half the lowest SLO capacity of agg and pd, 2 significant digits. */
function crossCheckRate(res: PipelineResult): number {
  const caps = (res.crossover.ranking?.topologies ?? [])
    .filter((t) => t.topology === "agg" || t.topology === "pd")
    .map((t) => t.pass_rate).filter((x): x is number => x !== null);
  const lowest = caps.length
    ? Math.min(...caps)
    : Math.min(...res.points.agg.map((p) => p.rateRps));
  return Number((lowest / 2).toPrecision(2));
}

/** Runs the demo: the pipeline's search and sweep, report, live cross-check. */
export async function runDemo(o: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const log = o.log ?? ((m: string) => console.error(`[demo] ${m}`));
  const exp = await loadExperiment(o.experiment ?? DEMO_EXPERIMENT);
  const clock = o.clock ?? exp.clock;
  const res = await runPipeline(exp, { ...o, log, clock });
  const checks: CrossCheck[] = [];
  const tLive = performance.now();
  if (o.liveCheck !== false && clock === "virtual" && !o.signal?.aborted) {
    const dur = o.checkDurationS ?? 20;
    const rate = crossCheckRate(res);
    for (const label of ["agg", "pd"].filter((l) => exp.topologies.some((t) => t.label === l))) {
      const one: Experiment = {
        ...exp,
        name: `${exp.name}-check`,
        topologies: exp.topologies.filter((t) => t.label === label),
        workload: { ...exp.workload, duration: dur },
        sweep: { ...exp.sweep, rates: [rate], stop: { ...exp.sweep.stop } },
      };
      const row = async (c: "live" | "virtual") => {
        const r = await runPipeline(one, {
          // beside the study, not in it: a glob over results/demo/* must not pool these
          outRoot: join(o.outRoot ?? join(ROOT, "results"), `${exp.name}-check`, c),
          clock: c,
          speed: 1,
          plot: false,
          statusLine: false,
          log: () => {},
          signal: o.signal,
        });
        const s = r.rows.find((x) => x.run_index === "mean") ?? r.rows[0];
        return Object.fromEntries(
          KEYS.map((k) => [k, typeof s?.[k] === "number" ? s[k] as number : null]),
        );
      };
      log(`cross-check ${label} at ${rate}/s: ${dur} s live (engines + router + bench, speed 1)`);
      try {
        checks.push({
          topology: label,
          rate,
          live: await row("live"),
          virtual: await row("virtual"),
        });
      } catch (e) {
        log(`cross-check ${label} failed: ${errorMessage(e)}`);
      }
    }
  }
  return {
    ...res,
    checks,
    wallS: (performance.now() - t0) / 1000,
    liveCheckS: checks.length ? (performance.now() - tLive) / 1000 : 0,
  };
}

/** The cross-check as a table. */
export function checkTable(checks: CrossCheck[]): string[] {
  const f = (x: number | null) => (x === null ? "-" : x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const pct = (l: number | null, v: number | null) =>
    l === null || v === null || l === 0 ? "-" : `${(100 * (v - l) / l).toFixed(1)}%`;
  const out = ["topology  rate  metric               live      virtual   virtual vs live"];
  for (const c of checks) {
    for (const k of KEYS) {
      out.push(
        `${c.topology.padEnd(9)} ${String(c.rate).padEnd(5)} ${k.padEnd(20)} ${
          f(c.live[k]).padEnd(9)
        } ${f(c.virtual[k]).padEnd(9)} ${pct(c.live[k], c.virtual[k])}`,
      );
    }
  }
  return out;
}

/**
 * How to read the cross-check: what live time holds that virtual time does
 * not, with the host's 1-minute load average and core count (a busy host
 * widens the TTFT gap).
 */
export function checkReading(loadAverage: number, cores: number): string[] {
  return [
    "Reading: live time includes this host (loopback HTTP, SSE, the router's legs; load",
    `average ${loadAverage.toFixed(1)} on ${cores} cores); virtual time has no host in the loop.`,
    "Throughput and TPOT should agree within a few %; live TTFT is higher by the host's",
    "latency, more so on a busy host.",
  ];
}

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  console.error(
    "topobench demo: agg, dp(2), pd 1P1D, ppd 1P1D on the SIMULATED engine (H100 x Llama-3.1-8B), " +
      "multi-turn W1; study in virtual time, then a short live cross-check",
  );
  const res = await withSignals((signal) =>
    runDemo({
      ...pipelineOptions(values),
      experiment: values.experiment as string,
      liveCheck: values["no-live-check"] !== true,
      checkDurationS: Number(values["check-duration"]),
      signal,
    })
  );
  if (res.checks.length) {
    console.log("\nLive vs virtual (same point, same seed; simulated engine both ways):");
    for (const l of checkTable(res.checks)) console.log(`  ${l}`);
    const reading = checkReading(Deno.loadavg()[0], navigator.hardwareConcurrency);
    for (const l of reading) console.log(`  ${l}`);
  }
  console.log(`\nReport: ${res.report ?? "(not drawn: --no-plot)"}`);
  console.log(`Tables: ${res.compareMd}, ${res.mergedCsv}`);
  const live = res.liveCheckS
    ? `, of which the live cross-check ${res.liveCheckS.toFixed(0)} s`
    : "";
  console.log(
    `\nFindings (SIMULATED engine, virtual clock; the demo took ${res.wallS.toFixed(0)} s${live}):`,
  );
  for (const l of res.findings) console.log(`- ${l}`);
  return 0;
}

if (import.meta.main) await runMain(main);
