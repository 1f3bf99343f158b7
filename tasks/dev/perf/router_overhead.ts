/**
 * Perf entry `router`: what the router adds, measured with `deno task bench`
 * (open loop) straight to the zero-delay server and through an
 * `agg` router in front of it, at 500 and 2,000 req/s, alternated, each run
 * after a 1 s warmup: TTFT p50 / p99 difference (goals ≤ 0.5 / 2 ms), and
 * the router process's CPU per request (less noisy than a tail on a shared host).
 * Then 5,000 concurrent streams through the router to one simulated engine
 * (`--speed 100`, 64 tokens each, closed loop of 5,000 users): failed requests
 * (goal 0), each distinct error (up to three) with its count, and the TTFT
 * p50 / p99 of those streams.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startSim } from "../../../launch/sim/live/start_sim.ts";
import { type ReadyProcess, startReady } from "../../../lib/ready_process.ts";
import type { PerfResult } from "../perf.ts";
import { startZeroServer } from "./zero_server.ts";
import { benchProcess } from "./bench_rate.ts";
import { procUsage } from "./_proc_cpu.ts";
import { parseCsv } from "../../../lib/csv.ts";
import { percentile } from "../../../lib/stats.ts";

/** The distinct errors of a run's `requests.csv`, most frequent first, with their counts. */
export async function distinctErrors(dir: string): Promise<[string, number][]> {
  const file = join(dir, "requests.csv");
  const counts = new Map<string, number>();
  for (const row of parseCsv(await Deno.readTextFile(file), file)) {
    if (!row.error) continue;
    // the same failure on other requests: request ids and times aside
    const key = row.error.replace(/[0-9a-f]{32}|\d+\.\d+/g, "#").slice(0, 200);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]);
}

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

/** An `agg` router in front of `url`, as its own process. */
async function startRouter(
  url: string,
  dir: string,
  name: string,
): Promise<ReadyProcess & { url: string }> {
  const file = join(dir, `${name}.json`);
  await Deno.writeTextFile(
    file,
    JSON.stringify({ name, kind: "agg", backends: [{ name: "engine-0", url }] }),
  );
  const p = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", root("launch/router/http/main.ts"), "--config", file],
    ready: /^Router listening on (http:\/\/\S+)$/,
  });
  return Object.assign(p, { url: p.match[1] });
}

/** Open-loop rates of the added-TTFT figures (req/s). */
const RATES = [500, 2000];
/** Measured seconds of each bench run, after its warmup, at most. */
const MAX_RUN_S = 10;
/** Warmup of each bench run (seconds): its rows go to `warmup.csv`, outside every figure. */
const WARMUP_S = 1;

/**
 * The TTFTs (ms) of a run's measured requests (warmup rows are apart), its
 * failed count, and every request it sent (warmup included).
 */
async function measuredTtfts(
  dir: string,
): Promise<{ ttftMs: number[]; failed: number; sent: number }> {
  const file = join(dir, "requests.csv");
  const ttftMs: number[] = [];
  let failed = 0;
  for (const row of parseCsv(await Deno.readTextFile(file), file)) {
    const t = Number(row.ttft_ms);
    if (row.error || row.ttft_ms === "" || !Number.isFinite(t)) failed++;
    else ttftMs.push(t);
  }
  const warm = join(dir, "warmup.csv");
  const warmed = parseCsv(await Deno.readTextFile(warm).catch(() => ""), warm).length;
  return { ttftMs, failed, sent: ttftMs.length + failed + warmed };
}

/** TTFTs of one rate's runs, pooled by kind, with the router's CPU per request it served. */
interface RatePool {
  direct: number[];
  routed: number[];
  failed: number;
  routerCpuMsPerReq: number;
}

/** The 1-minute load average of this host, as a note's words. */
async function loadAverage(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  return `load ${text.split(" ")[0]} on ${navigator.hardwareConcurrency} cores`;
}

/**
 * TTFT p50 / p99 through an `agg` router minus straight to the zero-delay
 * server, at each of {@linkcode RATES}: per rate four bench runs alternated
 * direct, routed, routed, direct (drift on the host hits both alike), each
 * after a {@linkcode WARMUP_S} s warmup, percentiles of the pooled rows.
 */
async function addedTtft(dir: string, seconds: number): Promise<PerfResult[]> {
  const zero = await startZeroServer();
  const router = await startRouter(zero.url, dir, "perf-zero");
  const out: PerfResult[] = [];
  try {
    const s = Math.max(2, Math.min(seconds, 2 * MAX_RUN_S) / 2);
    for (const rate of RATES) {
      const loadBefore = await loadAverage();
      const pool = await rateRuns(rate, s, { zero: zero.url, router }, dir);
      const load = `${loadBefore}, ${await loadAverage()} after`;
      out.push(...addedFigures(rate, pool, `${s} s`, load));
    }
  } finally {
    await router.stop();
    await zero.stop();
  }
  return out;
}

/** One rate's four runs (direct, routed, routed, direct), `s` measured seconds each. */
async function rateRuns(
  rate: number,
  s: number,
  to: { zero: string; router: ReadyProcess & { url: string } },
  dir: string,
): Promise<RatePool> {
  const pool: RatePool = { direct: [], routed: [], failed: 0, routerCpuMsPerReq: NaN };
  let cpuS = 0, served = 0;
  for (const [i, kind] of (["direct", "routed", "routed", "direct"] as const).entries()) {
    const cpu0 = kind === "routed" ? await procUsage(to.router.child.pid) : null;
    const { dir: runDir } = await benchProcess([
      ...["--url", kind === "direct" ? to.zero : to.router.url, "--rate", String(rate)],
      ...["--duration", String(s), "--warmup", `${WARMUP_S}s`, "--seed", String(3 + i)],
      ...["--input-len", "512", "--output-len", "16", "--no-itl"],
      ...["--out", join(dir, `${kind}-${rate}-${i}`)],
    ]);
    const m = await measuredTtfts(runDir);
    pool[kind].push(...m.ttftMs);
    pool.failed += m.failed;
    const cpu1 = cpu0 && await procUsage(to.router.child.pid);
    if (cpu0 && cpu1) [cpuS, served] = [cpuS + cpu1.cpuS - cpu0.cpuS, served + m.sent];
  }
  pool.routerCpuMsPerReq = served > 0 ? (1000 * cpuS) / served : NaN;
  return pool;
}

/** The p50 and p99 rows of one rate (routed minus direct, both figures in the note) and the router's CPU. */
function addedFigures(rate: number, pooled: RatePool, runS: string, load: string): PerfResult[] {
  const r = rate.toLocaleString("en-US");
  const failed = pooled.failed;
  const note =
    `bench at ${r} req/s, 2 direct + 2 routed runs of ${runS} alternated, each after a ` +
    `${WARMUP_S} s warmup, ${pooled.direct.length} + ${pooled.routed.length} requests pooled ` +
    `(${failed} failed), zero-delay server behind an agg router; ${load}`;
  const added = ([[50, 0.5], [99, 2]] as const).map(([p, goal]): PerfResult => {
    const direct = percentile(pooled.direct, p), routed = percentile(pooled.routed, p);
    return {
      entry: "router",
      metric: `added TTFT p${p} at ${r} req/s (router - direct)`,
      value: routed - direct,
      unit: "ms",
      note: `goal <= ${goal} ms; direct ${direct.toFixed(3)} ms, routed ${
        routed.toFixed(3)
      } ms; ${note}`,
    };
  });
  return [...added, {
    entry: "router",
    metric: `router CPU per request at ${r} req/s`,
    value: pooled.routerCpuMsPerReq,
    unit: "ms",
    note:
      `user + system CPU of the router process over its 2 runs (warmups included) / requests; ${load}`,
  }];
}

/** The figures of the 5,000-stream run: failures, each distinct error (up to 3), TTFT p50 / p99. */
async function streamResults(
  summary: Record<string, number>,
  wallS: number,
  runDir: string,
): Promise<PerfResult[]> {
  const note = `5,000 concurrent streams, sim speed 100, 64 tokens each`;
  const out: PerfResult[] = [{
    entry: "router",
    metric: "5,000 concurrent streams: failed requests",
    value: summary.failed,
    unit: "req",
    note: `goal 0; ${summary.completed} completed, ${summary.failed} failed, peak ${
      summary.max_concurrent_requests ?? "?"
    } in flight, ${wallS.toFixed(1)} s; sim speed 100, 64 tokens each`,
  }];
  const errors = await distinctErrors(runDir);
  for (const [i, [error, n]] of errors.slice(0, 3).entries()) {
    out.push({
      entry: "router",
      metric: `5,000 streams: error ${i + 1} of ${errors.length} distinct`,
      value: n,
      unit: "req",
      note: error,
    });
  }
  for (const [k, label] of [["median_ttft_ms", "p50"], ["p99_ttft_ms", "p99"]]) {
    out.push({
      entry: "router",
      metric: `5,000 streams: TTFT ${label} (router + sim)`,
      value: summary[k],
      unit: "ms",
      note,
    });
  }
  return out;
}

/** 5,000 concurrent streams through the router to one simulated engine at speed 100. */
async function manyStreams(dir: string): Promise<PerfResult[]> {
  const sim = await startSim([
    "--speed",
    "100",
    "--log-interval",
    "100000",
    "--max-num-seqs",
    "1024",
  ]);
  const simRouter = await startRouter(sim.url, dir, "perf-sim");
  try {
    const { summary, wallS, dir: runDir } = await benchProcess([
      ...[
        "--url",
        simRouter.url,
        "--rate",
        "inf",
        "--concurrency",
        "5000",
        "--num-requests",
        "5000",
      ],
      ...["--input-len", "32", "--output-len", "64", "--no-itl", "--timeout", "600"],
      ...["--out", join(dir, "streams")],
    ]);
    return await streamResults(summary, wallS, runDir);
  } finally {
    await simRouter.stop();
    await sim.stop();
  }
}

/** Added TTFT at 500 and 2,000 req/s and 5,000 concurrent streams through the router. */
export async function routerOverhead(seconds: number): Promise<PerfResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "perf_router_" });
  const out = await addedTtft(dir, seconds);
  try {
    out.push(...await manyStreams(dir));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return out;
}
