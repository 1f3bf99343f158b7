/**
 * `deno task sweep`: a rate sweep (optionally over a parameter grid, repeated)
 * against one running server, one bench run directory per point.
 *
 *     deno task sweep --url http://127.0.0.1:10000 --out results/myexp --topology agg \
 *       --rates 0.5,1,2,4,8 [--runs 3] [--grid concurrency=8,16;input-len=512,2048] \
 *       [--auto --points 4 --slo ttft:500,tpot:50 --attainment 90] [--max-error-rate 0.2] \
 *       [--max-p99-ttft-ms 30000] \
 *       [--time-scale 10] -- --dataset multiturn --preset W1 --turns 3
 *
 * Flags after `--` go to every bench run. Points already finished in `--out`
 * (a complete `summary.json` under `<stamp>-<label>`) are kept, so re-running
 * resumes at the first missing point. Once a point exceeds the error-rate or
 * latency ceiling the higher rates of that grid cell are skipped.
 *
 * @module
 */
import { resolve } from "node:path";
import {
  type CommandHelp,
  type FlagValues,
  listFlag,
  numberFlag,
  parseCommand,
  runMain,
} from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { ATTAINMENT_FLAG, attainmentFromFlags } from "../lib/metrics.ts";
import { checkSafeName } from "../lib/safe_name.ts";
import { createLogger } from "../lib/log.ts";
import { Progress } from "../lib/progress.ts";
import { plainProgress, planCells, sweepPointDone } from "./_sweep_progress.ts";
import type { AutoSweep, StopRule } from "./_experiment.ts";
import { benchHasTimeScale, type BenchRun, num, type RunBenchOptions } from "./_bench_cmd.ts";
import { autoRates } from "./_sweep_auto.ts";
import {
  baseFlags,
  type Flags,
  pointLabel,
  type PointRun,
  pointStatus,
  runPoint,
  type SweepRun,
  timeFlags,
} from "./_sweep_point.ts";

export { changedKeys, configHash, pointIdentity, pointLabel } from "./_sweep_point.ts";
export { AUTO_DEFAULTS, probeCapacity } from "./_sweep_auto.ts";

/** One point of a sweep as run (or found finished). */
export interface SweepPoint {
  /** Run directory label, e.g. `agg-c8-r2`. */
  label: string;
  /** Target rate (req/s, conversations/s for multiturn; server time). */
  rateRps: number;
  /** Grid values of this point (bench flag -> value). */
  cell: Record<string, string | number>;
  runDir: string;
  /** Found finished from an earlier invocation. */
  resumed: boolean;
  /** Why the sweep of this cell stopped after this point, or null. */
  stopReason: string | null;
}

/** Options of {@linkcode sweep}. */
export interface SweepOptions {
  /** Server base URL. */
  url: string;
  /** Experiment folder (run directories are made inside it). */
  expDir: string;
  /** Topology label recorded in results. */
  topology: string;
  /** GPUs of the topology (goodput per GPU). @default null */
  gpus?: number | null;
  /** Bench flags for every point (without url, out, rate, runs). @default {} */
  workload?: Flags;
  /** Rates (server time), or "auto". */
  rates: number[] | "auto";
  /** Auto sweep settings. @default 40 probe requests, 4 points, up to 1.2x capacity */
  auto?: Partial<AutoSweep>;
  /** Bench flag -> values; every combination is swept. @default {} */
  grid?: Record<string, (string | number)[]>;
  /** Repeats per point. @default 1 */
  runs?: number;
  /** URLs to POST before each point (engines' /reset_prefix_cache); null: bench resets `url`. @default null */
  resetUrls?: string[] | null;
  /** Reset the prefix cache before each point. @default true */
  resetPrefixCache?: boolean;
  /** Early stop ceilings. @default error rate 0.2, no latency ceiling */
  stop?: Partial<StopRule>;
  /** SLO flag for bench, `ttft:MS,tpot:MS`. @default null */
  slo?: string | null;
  /** Attainment target of the SLO in percent (the auto search brackets where it is lost). @default 90 */
  attainmentPct?: number;
  /** The server runs this many times faster than real time (simulated engine speed). @default 1 */
  timeScale?: number;
  /** Written as `experiment.json` into every run directory (with the point). @default {} */
  meta?: Record<string, unknown>;
  /**
   * Runs one point from bench flags. @default runBench (a `deno task bench`
   * process against `url`); `deno task predict` passes a virtual-time runner.
   */
  runner?: (
    flags: Record<string, string | number | boolean | null | undefined>,
    o: RunBenchOptions,
  ) => Promise<BenchRun>;
  /**
   * A finished point is reused only when its recorded configuration hash
   * matches; otherwise "auto" reruns it (saying which keys changed) and
   * "strict" refuses. @default "auto"
   */
  resume?: "auto" | "strict";
  /** Forward bench's result blocks. @default false */
  verbose?: boolean;
  log?: (msg: string) => void;
  /**
   * Counts the points (planned under the topology label) and shows their
   * lines; pass {@linkcode Progress.logger} as `log` too, so log lines stay
   * above its status line. @default point lines through `log`, no status line
   */
  progress?: Progress;
  /** Points of this topology already reported to `progress` (a later sweep adds to them). @default 0 */
  counted?: number;
  /**
   * Points run elsewhere (parallel workers, `_point_pool.ts`): a fixed-rate
   * point's run by its label, or null to run it here; the rates a stop rule
   * skips are dropped from it. @default every point runs here
   */
  pool?: PointSource;
  signal?: AbortSignal;
}

/** Where a sweep's points may come from instead of running here (see {@linkcode SweepOptions.pool}). */
export interface PointSource {
  /** The run of point `label`, or null when this source does not hold it. */
  take(label: string): Promise<PointRun> | null;
  /** Points a stop rule skips: never to run, and deleted where they ran ahead. */
  drop(labels: string[]): void;
}

/** Every combination of the grid's values (one empty cell for an empty grid). */
export function gridCells(
  grid: Record<string, (string | number)[]>,
): Record<string, string | number>[] {
  let cells: Record<string, string | number>[] = [{}];
  for (const [k, vs] of Object.entries(grid)) {
    cells = cells.flatMap((c) => vs.map((v) => ({ ...c, [k]: v })));
  }
  return cells;
}

/** Why a point breaks a ceiling (worst over its runs), or null. */
export function stopReason(
  summaries: Record<string, unknown>[],
  stop: Partial<StopRule>,
): string | null {
  for (const s of summaries) {
    const ok = num(s, "completed") ?? 0, bad = num(s, "failed") ?? 0;
    const err = ok + bad > 0 ? bad / (ok + bad) : 1;
    if (err > (stop.maxErrorRate ?? 0.2)) return `error rate ${(err * 100).toFixed(1)}%`;
    const ttft = num(s, "p99_ttft_ms");
    if (stop.maxP99TtftMs != null && ttft !== null && ttft > stop.maxP99TtftMs) {
      return `p99 TTFT ${ttft.toFixed(0)} ms > ${stop.maxP99TtftMs} ms`;
    }
    const e2e = num(s, "p99_e2el_ms");
    if (stop.maxP99E2elMs != null && e2e !== null && e2e > stop.maxP99E2elMs) {
      return `p99 E2E ${e2e.toFixed(0)} ms > ${stop.maxP99E2elMs} ms`;
    }
  }
  return null;
}

/** Whether every point of a fixed-rate sweep is finished with its current settings. */
export async function sweepIsCurrent(o: SweepOptions, rates: number[]): Promise<boolean> {
  const f = o.timeScale ?? 1;
  for (const cell of gridCells(o.grid ?? {})) {
    for (const rate of rates) {
      const t = await timeFlags(f, { ...(o.workload ?? {}), ...cell }, rate);
      const st = await pointStatus(o, resolve(o.expDir), pointLabel(o.topology, cell, rate), {
        ...baseFlags(o),
        ...cell,
        ...t,
      });
      if (!st.runDir) return false;
    }
  }
  return true;
}

/** What the sweep of one cell starts with: the rest of the shared state of its points. */
async function startSweep(o: SweepOptions): Promise<SweepRun> {
  const log = o.log ?? createLogger({ name: "sweep" }).info;
  const f = o.timeScale ?? 1;
  if (f !== 1 && !(await benchHasTimeScale())) {
    log(
      `bench has no --time-scale yet: rates x${f} and think time /${f} on the client; latencies are wall time`,
    );
  }
  return {
    o,
    log,
    w: o.workload ?? {},
    runs: o.runs ?? 1,
    f,
    expDir: resolve(o.expDir),
    base: baseFlags(o),
    resetFlag: o.resetPrefixCache !== false && !o.resetUrls,
  };
}

/**
 * The rates of one grid cell: the fixed ones ascending, or ("auto") found by
 * the SLO search, with the points the search already ran (and reported).
 */
async function cellRates(
  s: SweepRun,
  cell: Record<string, string | number>,
  progress: Progress,
  finished: number,
): Promise<{ rates: number[]; searched: Map<number, PointRun> }> {
  const { o } = s;
  if (o.rates === "auto") return await autoRates(s, cell, progress, finished);
  if (!o.rates.length || o.rates.some((r) => !(r > 0))) {
    throw fieldError({ field: "rates", value: o.rates, expected: "positive rates" });
  }
  return { rates: [...o.rates].sort((a, b) => a - b), searched: new Map() };
}

/**
 * Runs one point of a fixed-rate sweep, as {@linkcode sweep} would run it (or
 * finds it finished), for a worker that runs points ahead of the sweep.
 */
export async function sweepPoint(
  o: SweepOptions,
  label: string,
  rate: number,
  cell: Record<string, string | number>,
): Promise<PointRun> {
  return await runPoint(await startSweep(o), label, {}, rate, cell);
}

/** Runs the sweep; returns the points in order (finished ones found again are reused). */
export async function sweep(o: SweepOptions): Promise<SweepPoint[]> {
  checkSafeName(o.topology, "topology", { what: "a topology label" }); // it names run folders
  const s = await startSweep(o);
  const points: SweepPoint[] = [];
  const progress = o.progress ?? plainProgress("sweep", s.log);
  const cells = gridCells(o.grid ?? {});
  let counted = o.counted ?? 0; // points reported to progress (the search's as they ran)
  for (const [i, cell] of cells.entries()) {
    const { rates, searched } = await cellRates(s, cell, progress, counted);
    counted += searched.size;
    const plan = (cellLeft: number) =>
      planCells(progress, o.topology, {
        finished: counted,
        cellLeft,
        cellRates: rates.length,
        cellsLeft: cells.length - i - 1,
        auto: o.rates === "auto",
      });
    plan(rates.filter((r) => !searched.has(r)).length);
    for (const [j, rate] of rates.entries()) {
      const label = pointLabel(o.topology, cell, rate);
      const known = searched.get(rate);
      if (!known) progress.start(label);
      const p = known ?? await (o.pool?.take(label) ?? runPoint(s, label, {}, rate, cell));
      const why = stopReason(p.summaries, o.stop ?? {});
      points.push({
        label,
        rateRps: rate,
        cell,
        runDir: p.runDir,
        resumed: p.resumed,
        stopReason: why,
      });
      if (!known) {
        counted++;
        const detail = `(${p.runDir})${why ? `; stop: ${why}` : ""}`;
        progress.done(sweepPointDone(label, rate, { ...s.w, ...cell }, p, detail));
      }
      if (why) {
        plan(0); // the cell's higher rates are skipped
        const higher = rates.slice(j + 1);
        o.pool?.drop(higher.map((r) => pointLabel(o.topology, cell, r)));
        const ran = higher.filter((r) => searched.has(r)).map((r) =>
          pointLabel(o.topology, cell, r)
        );
        if (known || ran.length) s.log(stopLine(label, why, higher.length, ran));
        break;
      }
    }
  }
  return points;
}

/** `label: stop: why; higher rates skipped (search points … left out)`, naming what was dropped. */
function stopLine(label: string, why: string, higher: number, ran: string[]): string {
  const out = ran.length ? ` (search points ${ran.join(", ")} ran, left out of the sweep)` : "";
  return `${label}: stop: ${why}${higher ? `; higher rates skipped${out}` : ""}`;
}

const FLAGS = {
  url: { type: "string" as const, help: "Server base URL" },
  out: { type: "string" as const, default: "results/sweep", help: "Experiment folder" },
  topology: { type: "string" as const, default: "server", help: "Topology label in results" },
  gpus: { type: "string" as const, help: "GPUs of the topology" },
  rates: { type: "string" as const, help: "Comma-separated rates, e.g. 0.5,1,2,4,8" },
  auto: {
    type: "boolean" as const,
    default: false,
    help: "Probe the capacity, then sweep up to it",
  },
  points: { type: "string" as const, default: "4", help: "Rate points of --auto" },
  "probe-requests": {
    type: "string" as const,
    default: "40",
    help: "Requests of the --auto probe",
  },
  grid: {
    type: "string" as const,
    help: "Grid, e.g. concurrency=8,16;input-len=512,2048;output-len=128",
  },
  runs: { type: "string" as const, default: "1", help: "Repeats per point" },
  slo: {
    type: "string" as const,
    help: "SLO, e.g. ttft:500,tpot:50 (--auto brackets where it is lost)",
  },
  ...ATTAINMENT_FLAG,
  "max-error-rate": {
    type: "string" as const,
    default: "0.2",
    help: "Stop a cell above this error rate",
  },
  "max-p99-ttft-ms": { type: "string" as const, help: "Stop a cell above this p99 TTFT (ms)" },
  "max-p99-e2el-ms": {
    type: "string" as const,
    help: "Stop a cell above this p99 E2E latency (ms)",
  },
  "no-reset": {
    type: "boolean" as const,
    default: false,
    help: "Do not reset the prefix cache per point",
  },
  "time-scale": {
    type: "string" as const,
    default: "1",
    help: "The server runs this many times faster",
  },
  verbose: { type: "boolean" as const, default: false, help: "Show bench's result blocks" },
};

const HELP: CommandHelp = {
  cmd: "deno task sweep --url URL (--rates R,.. | --auto) [-- bench flags]",
  summary: "Rate sweep, grid and repeats.",
};

/** Parses `concurrency=8,16;input-len=512` into a grid. */
export function parseGrid(s: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const part of s.split(";").map((x) => x.trim()).filter(Boolean)) {
    const m = /^(concurrency|input-len|output-len|turns)=([\d,\s]+)$/.exec(part);
    const vs = m?.[2].split(",").map((x) => Number(x.trim())).filter((x) => x > 0) ?? [];
    if (!m || !vs.length) {
      throw fieldError({
        field: "--grid",
        value: s,
        expected: "name=v1,v2;... over concurrency, input-len, output-len, turns",
      });
    }
    out[m[1]] = vs;
  }
  return out;
}

/** `--rates` as positive numbers. */
function rateList(values: FlagValues): number[] {
  return listFlag(values, "rates").map((r) => {
    const n = Number(r);
    if (!(n > 0)) {
      throw fieldError({
        field: "--rates",
        value: values.rates,
        expected: "positive numbers, e.g. 0.5,1,2",
      });
    }
    return n;
  });
}

/** The bench flags after `--` (`--name value` or a bare `--switch`) as a flag object. */
function benchWorkload(benchArgs: string[]): Flags {
  const workload: Flags = {};
  for (let i = 0; i < benchArgs.length; i++) {
    const a = benchArgs[i];
    if (!a.startsWith("--")) {
      throw fieldError({ field: "bench flags", value: a, expected: "--name [value] pairs" });
    }
    const next = benchArgs[i + 1];
    if (next === undefined || next.startsWith("--")) workload[a.slice(2)] = true;
    else workload[a.slice(2)] = (i++, next);
  }
  return workload;
}

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const cut = args.indexOf("--");
  const own = cut < 0 ? args : args.slice(0, cut);
  const benchArgs = cut < 0 ? [] : args.slice(cut + 1);
  const parsed = parseCommand(own, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  if (!values.url) {
    throw new TypeError("Cannot use --url as a server URL: current value is missing");
  }
  const rates = rateList(values);
  if (!values.auto && !rates.length) {
    throw new TypeError("Cannot sweep without rates: current value is neither --rates nor --auto");
  }
  const workload = benchWorkload(benchArgs);
  using progress = new Progress({ name: "sweep", log: createLogger({ name: "sweep" }).info });
  const pts = await sweep({
    log: progress.logger,
    progress,
    url: values.url as string,
    expDir: values.out as string,
    topology: values.topology as string,
    gpus: numberFlag(values, "gpus", { min: 1, integer: true }) ?? null,
    workload,
    rates: values.auto ? "auto" : rates,
    auto: {
      points: numberFlag(values, "points", { min: 1, integer: true }),
      probeRequests: numberFlag(values, "probe-requests", { min: 1, integer: true }),
    },
    grid: values.grid ? parseGrid(values.grid as string) : {},
    runs: numberFlag(values, "runs", { min: 1, integer: true }),
    slo: (values.slo as string | undefined) ?? null,
    attainmentPct: attainmentFromFlags(values),
    resetPrefixCache: !values["no-reset"],
    stop: {
      maxErrorRate: numberFlag(values, "max-error-rate", { min: 0, max: 1 }),
      maxP99TtftMs: numberFlag(values, "max-p99-ttft-ms", { min: 0 }) ?? null,
      maxP99E2elMs: numberFlag(values, "max-p99-e2el-ms", { min: 0 }) ?? null,
    },
    timeScale: numberFlag(values, "time-scale", { min: 0.001 }),
    verbose: values.verbose === true,
  });
  for (const p of pts) console.log(p.runDir);
  return 0;
}

if (import.meta.main) await runMain(main);
