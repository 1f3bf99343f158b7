/**
 * Perf entry `router`: what the router adds, measured with `deno task bench`
 * (open loop, 500 req/s) straight to the zero-delay server and through an
 * `agg` router in front of it: TTFT p50 / p99 difference (goals ≤ 0.5 / 2 ms).
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
import { parseCsv } from "../../../lib/csv.ts";

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

/** TTFT p50 / p99 at 500 req/s through an `agg` router minus straight to the zero-delay server. */
async function addedTtft(dir: string, seconds: number): Promise<PerfResult[]> {
  const zero = await startZeroServer();
  const router = await startRouter(zero.url, dir, "perf-zero");
  try {
    const s = Math.min(seconds, 20);
    const run = (url: string, label: string) =>
      benchProcess([
        ...["--url", url, "--rate", "500", "--duration", String(s), "--seed", "3"],
        ...["--input-len", "512", "--output-len", "16", "--no-itl", "--out", join(dir, label)],
      ]);
    // alternate so that drift on the host hits both alike
    const d1 = await run(zero.url, "direct");
    const r1 = await run(router.url, "routed");
    const note = `bench at 500 req/s for ${s} s each, zero-delay server behind an agg router`;
    const diff = (k: string) => r1.summary[k] - d1.summary[k];
    return [
      {
        entry: "router",
        metric: "added TTFT p50 at 500 req/s (router - direct)",
        value: diff("median_ttft_ms"),
        unit: "ms",
        note: `goal <= 0.5 ms; ${note}; direct p50 ${d1.summary.median_ttft_ms} ms`,
      },
      {
        entry: "router",
        metric: "added TTFT p99 at 500 req/s (router - direct)",
        value: diff("p99_ttft_ms"),
        unit: "ms",
        note: `goal <= 2 ms; ${note}; direct p99 ${d1.summary.p99_ttft_ms} ms`,
      },
    ];
  } finally {
    await router.stop();
    await zero.stop();
  }
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

/** Added TTFT at 500 req/s and 5,000 concurrent streams through the router. */
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
