/**
 * Perf entry `peers`: `deno task bench` against other load clients, in one run
 * on one server (the zero-delay server, 512-word prompts, 16 chunks):
 * - a reference client in the style of vLLM's `vllm bench serve`
 *   (`reference_client.py`: asyncio + aiohttp, Poisson arrivals, ours);
 * - `wrk` (closed loop, 64 connections, the same POST body): the box's
 *   request rate, what no open-loop client with timing reaches.
 * Each open-loop client's figure is the highest of a ladder of rates (×1.5
 * from its start, then two steps of ×1.145 between the last rate kept and the
 * first missed, so the figure is within ~15% for either client) it keeps: achieved ≥ 97% of target and send-lag p99 ≤ 5 ms
 * (bench's own saturation line). Each point follows a 1 s warm-up of its own
 * load by the same client, not recorded (bench's `--warmup 1s`, the reference
 * client's `--warmup 1`): a point is the client at that rate, not its start. Without wrk or python3-aiohttp the entry
 * says how to get them and reports the rest.
 *
 * @module
 */
import { join } from "node:path";
import type { PerfResult } from "../perf.ts";
import { startZeroServer } from "./zero_server.ts";
import { benchProcess } from "./bench_rate.ts";
import { pythonWithAiohttp, referencePoint } from "./_reference_client.ts";
import { loadNote } from "./_proc_cpu.ts";

const INSTALL = "apt-get install wrk python3-aiohttp";

/** wrk's requests/s against `url` with a prompt of 512 words, or null without wrk. */
async function wrkRps(url: string, seconds: number, dir: string): Promise<number | null> {
  const words = Array.from({ length: 512 }, (_, i) => ` w${i}`).join("");
  const body = JSON.stringify({ model: "zero", prompt: words, max_tokens: 16, stream: true });
  const script = join(dir, "post.lua");
  await Deno.writeTextFile(
    script,
    `wrk.method = "POST"\nwrk.body = ${
      JSON.stringify(body)
    }\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  try {
    const out = await new Deno.Command("wrk", {
      args: ["-t1", "-c64", `-d${seconds}s`, "-s", script, `${url}/v1/completions`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const m = /Requests\/sec:\s+([\d.]+)/.exec(new TextDecoder().decode(out.stdout));
    return m ? Number(m[1]) : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** One open-loop point as the ladder needs it. */
interface Point {
  achievedRps: number;
  lagP99Ms: number;
  cpuMsPerRequest: number;
}

/** The highest rate kept on the ladder from `startRps`, and what the points said. */
interface Kept {
  rateRps: number;
  note: string;
}

/** A point's figures in a note's words. */
const said = (rate: number, p: Point) =>
  `at ${rate} req/s: achieved ${p.achievedRps.toFixed(0)}, lag p99 ${
    p.lagP99Ms.toFixed(1)
  } ms, CPU ${p.cpuMsPerRequest.toFixed(2)} ms/req`;

const keeps = (rate: number, p: Point) => p.achievedRps >= 0.97 * rate && p.lagP99Ms <= 5;

/**
 * Climbs ×1.5 from `startRps` until a point misses 97% achieved or lag p99
 * ≤ 5 ms; when the start already misses (a loaded host), halves down to an
 * eighth of it instead.
 */
async function highestKept(
  startRps: number,
  point: (rate: number) => Promise<Point>,
): Promise<Kept> {
  const first = await point(startRps);
  if (!keeps(startRps, first)) {
    let note = `${said(startRps, first)} (not kept)`;
    for (let rate = Math.round(startRps / 2); rate >= startRps / 8; rate = Math.round(rate / 2)) {
      const p = await point(rate);
      if (keeps(rate, p)) return { rateRps: rate, note: `${said(rate, p)}; ${note}` };
      note = `${said(rate, p)} (not kept); ${note}`;
    }
    return { rateRps: 0, note };
  }
  let kept: Kept = { rateRps: startRps, note: said(startRps, first) };
  for (let rate = Math.round(startRps * 1.5); rate <= 20000; rate = Math.round(rate * 1.5)) {
    const p = await point(rate);
    if (!keeps(rate, p)) return await between(kept, `${said(rate, p)} (not kept)`, point);
    kept = { rateRps: rate, note: said(rate, p) };
  }
  return kept;
}

/** Two steps of 1.5^(1/3) up from the last rate kept (below the first one missed, `missed`). */
async function between(
  kept: Kept,
  missed: string,
  point: (rate: number) => Promise<Point>,
): Promise<Kept> {
  const base = kept.rateRps;
  for (const f of [Math.cbrt(1.5), Math.cbrt(1.5) ** 2]) {
    const rate = Math.round(base * f);
    const p = await point(rate);
    if (!keeps(rate, p)) {
      return { ...kept, note: `${kept.note}; ${said(rate, p)} (not kept); ${missed}` };
    }
    kept = { rateRps: rate, note: said(rate, p) };
  }
  return { ...kept, note: `${kept.note}; ${missed}` };
}

/** bench's ladder from 1,000 req/s. */
function benchLadder(url: string, seconds: number, dir: string): Promise<Kept> {
  return highestKept(1000, async (rate) => {
    const { summary, cpuS } = await benchProcess([
      ...["--url", url, "--rate", String(rate), "--duration", String(seconds)],
      ...["--input-len", "512", "--output-len", "16", "--no-itl", "--seed", "1"],
      ...["--warmup", "1s", "--out", join(dir, `rate-${rate}`)],
    ]);
    const n = Math.max(1, summary.completed + summary.failed);
    return {
      achievedRps: summary.rate_achieved,
      lagP99Ms: summary.send_lag_p99_ms,
      cpuMsPerRequest: (1000 * cpuS) / n,
    };
  });
}

/** The reference client's ladder from 250 req/s. */
function referenceLadder(python: string, url: string, seconds: number): Promise<Kept> {
  return highestKept(250, async (rate) => {
    const r = await referencePoint(python, url, rate, seconds);
    return {
      achievedRps: r.rate_achieved,
      lagP99Ms: r.send_lag_p99_ms,
      cpuMsPerRequest: r.cpu_ms_per_request,
    };
  });
}

/** `a / b`, NaN when `b` is not positive. */
const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);

/** bench's and the reference client's highest kept rates, wrk's rate, and their ratios. */
export async function peers(seconds: number): Promise<PerfResult[]> {
  const server = await startZeroServer();
  const dir = await Deno.makeTempDir({ prefix: "perf_peers_" });
  try {
    // 10 s at least: the first second's stalls (JIT, a major GC) then move a p99 little
    const s = Math.min(Math.max(seconds, 10), 60);
    const wrk = await wrkRps(server.url, s, dir);
    const wrkLoad = await loadNote();
    const bench = await benchLadder(server.url, s, dir);
    const benchLoad = await loadNote();
    const python = await pythonWithAiohttp();
    const ref = python ? await referenceLadder(python, server.url, s) : null;
    const refLoad = await loadNote();
    const row = (metric: string, value: number, unit: string, note: string): PerfResult => ({
      entry: "peers",
      metric,
      value,
      unit,
      note,
    });
    const keptRule = "97% achieved, lag p99 <= 5 ms";
    const base =
      `zero-delay server, 512-word prompts, 16 chunks, ${s} s a point after 1 s of warm-up`;
    return [
      row(
        `bench: highest rate kept (${keptRule})`,
        bench.rateRps,
        "req/s",
        `${bench.note}; ${base}, ${benchLoad}`,
      ),
      ref
        ? row(
          `reference client: highest rate kept`,
          ref.rateRps,
          "req/s",
          `${ref.note}; ${base}, ${refLoad}`,
        )
        : row(
          "reference client: highest rate kept",
          NaN,
          "req/s",
          `no python3 with aiohttp: ${INSTALL}`,
        ),
      wrk === null
        ? row("wrk closed loop, 64 connections", NaN, "req/s", `wrk not found: ${INSTALL}`)
        : row(
          "wrk closed loop, 64 connections",
          wrk,
          "req/s",
          `the box's HTTP rate on this server; ${base}, ${wrkLoad}`,
        ),
      row(
        "bench / reference client",
        ratio(bench.rateRps, ref?.rateRps ?? NaN),
        "ratio",
        "highest kept rates",
      ),
      row(
        "wrk / bench",
        ratio(wrk ?? NaN, bench.rateRps),
        "ratio",
        "closed-loop blast vs open loop with timing",
      ),
    ];
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
