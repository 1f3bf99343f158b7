/**
 * Perf entry `bench`: `deno task bench` at fixed open-loop rates against the
 * zero-delay server (`zero_server.ts`, its own process: 16 chunks + usage per
 * answer, 512-token random prompts), so what is measured is the load
 * generator: achieved / target rate, send-lag p99, TTFT p50 (everything the
 * client adds, plus one loopback round trip), CPU per request (all of the
 * bench process's threads) and peak RSS, each with its goal (issues 14 and
 * 34), and the sender threads `--senders auto` chose. The host's load
 * (`/proc/loadavg`) at each point's start goes into its note: other
 * processes on the box move every figure but CPU per request.
 *
 * Each point runs after bench's own `--warmup 1s` (the point's load for a
 * second, rows in `warmup.csv`, never in the summary): the figures are the
 * client at that rate, not its first second. That second is reported apart
 * ("send-lag p99 of the warm-up second"): there the main thread is busy from
 * compiling its code and growing its heap under load (scavenges of 10–30 ms;
 * bench at 5,000 req/s, 2026-12-07), and a cold run's whole-run p99 is that
 * second's (23–35 ms against 3.4–6.3 ms after the warm-up, three alternated pairs).
 *
 * @module
 */
import { BENCH_V8_FLAGS } from "../../../lib/heap.ts";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { PerfResult } from "../perf.ts";
import { startZeroServer } from "./zero_server.ts";
import { loadAverage, procUsage } from "./_proc_cpu.ts";
import { readCsv } from "../../../lib/csv.ts";
import { percentile } from "../../../lib/stats.ts";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

/**
 * One bench process; CPU and RSS are sampled from /proc until just before it
 * exits. `dir` is its run directory.
 */
export async function benchProcess(args: string[]): Promise<
  { summary: Record<string, number>; cpuS: number; peakMb: number; wallS: number; dir: string }
> {
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH_V8_FLAGS, root("bench/run.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const out = new Response(child.stdout).text();
  const err = new Response(child.stderr).text();
  let last = { cpuS: 0, peakMb: 0 };
  let running = true;
  const sampler = (async () => {
    while (running) {
      last = (await procUsage(child.pid)) ?? last;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const st = await child.status;
  running = false;
  await sampler;
  const dir = (await out).trim().split("\n").at(-1)!;
  if (!st.success) throw new Error(`bench exited ${st.code}: ${(await err).slice(-500)}`);
  await err;
  const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")))[0];
  return { summary, ...last, wallS: (performance.now() - t0) / 1000, dir };
}

/** A run's `warmup.csv` (its first second, cold): its requests and their send-lag p99 (ms). */
async function warmupRows(dir: string): Promise<{ n: number; lagP99Ms: number }> {
  const rows = await readCsv(join(dir, "warmup.csv"));
  const lags = rows.map((r) => Number(r.sent_ms) - Number(r.scheduled_ms));
  return { n: rows.length, lagP99Ms: Math.round(100 * percentile(lags, 99)) / 100 };
}

/** Runs bench at 1,000 / 2,000 / 3,000 / 5,000 req/s against the zero-delay server. */
export async function benchRate(seconds: number): Promise<PerfResult[]> {
  const server = await startZeroServer();
  const out = await Deno.makeTempDir({ prefix: "perf_bench_" });
  const results: PerfResult[] = [];
  try {
    for (const rate of [1000, 2000, 3000, 5000]) {
      const s = Math.min(seconds, 20);
      const load = await loadAverage();
      const { summary, cpuS, peakMb, dir } = await benchProcess([
        ...["--url", server.url, "--rate", String(rate), "--duration", String(s)],
        ...["--input-len", "512", "--output-len", "16", "--no-itl", "--seed", "1"],
        ...["--warmup", "1s"],
        ...["--out", join(out, `rate-${rate}`)],
      ]);
      const n = summary.completed + summary.failed;
      const warm = await warmupRows(dir);
      const note =
        `zero-delay server, 512 in / 16 chunks, ${s} s after a 1 s warm-up, ${n} requests, ${
          summary.senders ?? 1
        } sender thread(s), host load ${load}`;
      const add = (metric: string, value: number, unit: string, goal: string) =>
        results.push({
          entry: "bench",
          metric: `${rate} req/s: ${metric}`,
          value,
          unit,
          note: `${goal}; ${note}`,
        });
      add("achieved / target", (100 * summary.rate_achieved) / rate, "%", "goal >= 97%");
      add("send-lag p99", summary.send_lag_p99_ms, "ms", "goal <= 5 ms");
      add("send-lag p99 of the warm-up second", warm.lagP99Ms, "ms", "no goal");
      add("TTFT p50 (client + loopback)", summary.median_ttft_ms, "ms", "goal <= 1 ms");
      add(
        "CPU per request (incl. start-up and warm-up)",
        (1000 * cpuS) / Math.max(1, n + warm.n),
        "ms",
        "goal <= 0.25 ms",
      );
      add("peak RSS", peakMb, "MB", "goal <= 300 MB for 10 min at any rate");
      add("sender threads (--senders auto)", summary.senders ?? 1, "", "one per 1,500 req/s");
    }
  } finally {
    await server.stop();
    await Deno.remove(out, { recursive: true });
  }
  return results;
}
