/**
 * The `predict` perf entries' one way to run predict: `deno task predict` as a
 * child process, as a user types it (under `/usr/bin/time -v` when present, for
 * the child's peak RSS), with the loop's speed read from the line predict
 * prints: `[predict] simulated S s in W s wall (Nx real time, E events)`.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../../_experiment.ts";
import { readSummaries } from "../../_bench_cmd.ts";
import { probeCapacity } from "../../sweep.ts";
import { loadAverage } from "./_proc_cpu.ts";

/** Fixed start instant: run folders and ids are the same in every perf run. */
export const START = "2026-12-01T00:00:00Z";

/** Multi-turn W1 (the demo's workload): 3 turns, 1 s think time. */
export const W1 = {
  endpoint: "/v1/chat/completions",
  dataset: "multiturn",
  preset: "W1",
  turns: 3,
  "think-time": 1000,
  seed: 0,
};
const GNU_TIME = "/usr/bin/time";

/** What one predict child process did. */
export interface PredictChild {
  /** The command line, as a user would type it (for the figure's note). */
  command: string;
  /** Exit code of the child (null when a signal ended it). */
  code: number | null;
  /** Signal that ended it, e.g. 5 for V8's out-of-memory abort, or null. */
  signal: number | null;
  /** Loop figures from predict's last line (NaN when it printed none). */
  simulatedS: number;
  loopWallS: number;
  events: number;
  /** Wall time of the whole process, s (start-up included). */
  processWallS: number;
  /** Peak RSS (VmHWM) of the child, MiB; NaN without /usr/bin/time. */
  peakRssMiB: number;
  /** The run directory predict printed last on stdout ("" when none). */
  runDir: string;
  stderrTail: string;
  /** The host's load average when it ended (what else ran). */
  load: string;
}

let gnuTime: boolean | undefined;
async function hasGnuTime(): Promise<boolean> {
  gnuTime ??= await Deno.stat(GNU_TIME).then((s) => s.isFile, () => false);
  return gnuTime;
}

const LOOP_LINE =
  /\[predict\] simulated ([\d.]+) s in ([\d.]+) s wall \((\d+)x real time, (\d+) events\)/;

/** The figures of a finished child's output. */
function parseChild(stdout: string, stderr: string) {
  const loop = stderr.match(LOOP_LINE);
  const rss = stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  const sig = stderr.match(/Command terminated by signal (\d+)/);
  return {
    simulatedS: loop ? Number(loop[1]) : NaN,
    loopWallS: loop ? Number(loop[2]) : NaN,
    events: loop ? Number(loop[4]) : NaN,
    peakRssMiB: rss ? Number(rss[1]) / 1024 : NaN,
    signal: sig ? Number(sig[1]) : null,
    runDir: stdout.trim().split("\n").at(-1) ?? "",
  };
}

/** `deno task predict` as deno.json declares it: its environment and V8 flags. */
const PREDICT_TASK: string = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks
  .predict;

/**
 * The environment `deno task predict` sets (glibc's malloc on transparent
 * huge pages: fewer page faults, which cost ~10 us each on this project's VM).
 */
export const PREDICT_ENV: Record<string, string> = Object.fromEntries(
  (PREDICT_TASK.match(/^(?:[A-Z_][A-Z0-9_]*=\S+\s+)*/)?.[0] ?? "").trim().split(/\s+/)
    .filter((kv) => kv).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
);

/**
 * The V8 flags of `deno task predict` (a smaller young generation: fewer
 * fresh pages touched), so that perf times the command a user runs.
 */
export const PREDICT_V8_FLAGS: string = PREDICT_TASK.match(/--v8-flags=(\S+)/)?.[1] ?? "";

/**
 * Runs `deno task predict` with `args` (plus `--start-time` fixed) in the
 * repository root, with the task's environment and V8 flags; `extraV8Flags`
 * are added to them (e.g. `--max-old-space-size=200`).
 */
export async function predictChild(args: string[], extraV8Flags = ""): Promise<PredictChild> {
  const v8Flags = [PREDICT_V8_FLAGS, extraV8Flags].filter((f) => f).join(",");
  const deno = [
    "run",
    "-A",
    ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
    "tasks/predict.ts",
    ...args,
    "--start-time",
    START,
  ];
  const timed = await hasGnuTime();
  const t0 = performance.now();
  const r = await new Deno.Command(timed ? GNU_TIME : Deno.execPath(), {
    args: timed ? ["-v", Deno.execPath(), ...deno] : deno,
    cwd: ROOT,
    env: PREDICT_ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const processWallS = (performance.now() - t0) / 1000;
  const stdout = new TextDecoder().decode(r.stdout);
  const stderr = new TextDecoder().decode(r.stderr);
  const p = parseChild(stdout, stderr);
  return {
    command: `${envText()}deno run -A ${v8Flags ? `--v8-flags=${v8Flags} ` : ""}tasks/predict.ts ${
      args.join(" ")
    } --start-time ${START}`,
    code: p.signal === null ? r.code : null,
    ...p,
    processWallS,
    stderrTail: stderr.slice(-2000),
    load: await loadAverageNote(),
  };
}

/** `NAME=value ` for each of {@linkcode PREDICT_ENV}, as a shell would take them. */
function envText(): string {
  return Object.entries(PREDICT_ENV).map(([k, v]) => `${k}=${v} `).join("");
}

/** Throws when `c` did not finish, naming its command and the end of its stderr. */
export function finished(c: PredictChild): PredictChild {
  if (c.code === 0 && Number.isFinite(c.simulatedS)) return c;
  const how = c.code === 0
    ? "no '[predict] simulated S s in W s wall (Nx real time, E events)' line"
    : c.signal !== null
    ? `signal ${c.signal}`
    : `code ${c.code}`;
  throw new Error(`Cannot measure ${c.command}: it ended with ${how}:\n${c.stderrTail}`);
}

/**
 * Saturation of `topology` under the workload `flags` (bench flags without
 * `--`): a rate-inf probe of `requests` requests, read as the sweep's
 * `rates: auto` reads its probe (per conversation on multi-turn).
 */
export async function probeSaturation(
  dir: string,
  topology: string,
  flags: Record<string, string | number>,
  requests = 200,
): Promise<number> {
  const c = finished(
    await predictChild([
      "--topology",
      join("fixtures/topologies", topology),
      ...argsOf(flags),
      "--rate",
      "inf",
      "--num-requests",
      String(requests),
      "--no-itl",
      "--out",
      join(dir, `probe-${topology.replace(/\.yaml$/, "")}`),
    ]),
  );
  const cap = probeCapacity((await readSummaries(c.runDir))[0], flags);
  if (!cap) throw new Error(`Cannot read a saturation rate from ${c.runDir}`);
  return cap;
}

/** The 1-minute load average (what else ran on the host), "?" where unknown. */
async function loadAverageNote(): Promise<string> {
  return `load average ${await loadAverage()} on ${navigator.hardwareConcurrency} cores`;
}

/** `{ a: 1 }` -> `["--a", "1"]`. */
export function argsOf(flags: Record<string, string | number>): string[] {
  return Object.entries(flags).flatMap(([k, v]) => [`--${k}`, String(v)]);
}

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
export async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: `topobench_perf_${prefix}_` });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
