/**
 * Perf entry `peers`: the headroom of this machine against what `deno task
 * bench` sustains, in one run on one server (the zero-delay server): `wrk`
 * (closed loop, 64 connections, the same POST body) gives the box's request
 * rate; bench's rate is the highest of 1,000 · 1.5^k req/s it keeps (achieved
 * ≥ 97% of target, send-lag p99 ≤ 5 ms: bench's own saturation line). Without `wrk` on the PATH the entry
 * says how to get it and reports bench alone.
 *
 * @module
 */
import { join } from "node:path";
import type { PerfResult } from "../perf.ts";
import { startZeroServer } from "./zero_server.ts";
import { benchProcess } from "./bench_rate.ts";

/** wrk's requests/s against `url` with a chat body of ~512 tokens, or null without wrk. */
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

/** wrk's rate, bench's highest kept rate, and their ratio. */
export async function peers(seconds: number): Promise<PerfResult[]> {
  const server = await startZeroServer();
  const dir = await Deno.makeTempDir({ prefix: "perf_peers_" });
  try {
    // 20 s at least: the first second's stalls (JIT, one major GC) are then under 1%
    const s = Math.min(Math.max(seconds, 20), 60);
    const wrk = await wrkRps(server.url, s, dir);
    let kept = 0;
    let lastNote = "";
    for (let rate = 1000; rate <= 20000; rate = Math.round(rate * 1.5)) {
      const { summary } = await benchProcess([
        ...["--url", server.url, "--rate", String(rate), "--duration", String(s)],
        ...["--input-len", "512", "--output-len", "16", "--no-itl", "--seed", "1"],
        ...["--out", join(dir, `rate-${rate}`)],
      ]);
      lastNote =
        `at ${rate} req/s: achieved ${summary.rate_achieved}, lag p99 ${summary.send_lag_p99_ms} ms`;
      if (!(summary.rate_achieved >= 0.97 * rate && summary.send_lag_p99_ms <= 5)) break;
      kept = rate;
    }
    const note = `zero-delay server, ${s} s each; bench ${lastNote}`;
    const out: PerfResult[] = [
      {
        entry: "peers",
        metric: "bench: highest rate kept (97%, lag p99 <= 5 ms, not saturated)",
        value: kept,
        unit: "req/s",
        note,
      },
    ];
    if (wrk === null) {
      out.push({
        entry: "peers",
        metric: "wrk closed loop, 64 connections",
        value: NaN,
        unit: "req/s",
        note: "wrk not found: apt-get install wrk",
      });
    } else {
      out.push(
        {
          entry: "peers",
          metric: "wrk closed loop, 64 connections",
          value: wrk,
          unit: "req/s",
          note: "the box's HTTP rate on this server",
        },
        {
          entry: "peers",
          metric: "bench / wrk",
          value: kept / wrk,
          unit: "ratio",
          note: "open loop with timing vs closed-loop blast",
        },
      );
    }
    return out;
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}
