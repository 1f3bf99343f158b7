/**
 * Perf entry `bench`: the highest request rate the load generator sustains
 * with send-lag p99 ≤ 5 ms (against the simulated engine at `--speed 1000`, so
 * the server is never the bottleneck), and its CPU time per 1,000 requests.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { startSim } from "../../../launch/sim/start_sim.ts";
import type { PerfResult } from "../perf.ts";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

/** One bench run at `rateRps`; returns its summary and the CPU seconds it used. */
async function benchAt(url: string, rateRps: number, seconds: number, out: string) {
  const n = Math.max(50, Math.round(rateRps * seconds));
  const cmd = [
    Deno.execPath(),
    "run",
    "-A",
    root("bench/run.ts"),
    "--url",
    url,
    "--rate",
    String(rateRps),
    "--num-requests",
    String(n),
    "--input-len",
    "32",
    "--output-len",
    "16",
    "--no-itl",
    "--out",
    join(out, `rate-${rateRps}`),
  ].map((a) => `'${a}'`).join(" ");
  // bash's `times` reports the CPU time of the finished child.
  const res = await new Deno.Command("bash", {
    args: ["-c", `${cmd} >"$0" 2>/dev/null; times`, join(out, `rate-${rateRps}.out`)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const times = new TextDecoder().decode(res.stdout).trim().split("\n").at(-1)!;
  const secs = [...times.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (a, m) => a + Number(m[1]) * 60 + Number(m[2]),
    0,
  );
  const dir = (await Deno.readTextFile(join(out, `rate-${rateRps}.out`))).trim().split("\n").at(
    -1,
  )!;
  const summary = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")))[0];
  return { summary, cpuS: secs, n };
}

/** Doubles the rate until send-lag p99 exceeds 5 ms; reports the last rate that kept it. */
export async function benchRate(seconds: number): Promise<PerfResult[]> {
  const sim = await startSim(["--speed", "1000", "--log-interval", "100000"]);
  const out = await Deno.makeTempDir({ prefix: "perf_bench_" });
  let best = 0;
  let cpuPer1k = NaN;
  let lastLag = NaN;
  try {
    for (let rate = 50; rate <= 6400; rate *= 2) {
      const { summary, cpuS, n } = await benchAt(sim.url, rate, Math.min(seconds, 5), out);
      lastLag = summary.send_lag_p99_ms;
      if (!(lastLag <= 5) || summary.failed > 0) break;
      best = rate;
      cpuPer1k = (cpuS / n) * 1000;
    }
  } finally {
    await sim.stop();
    await Deno.remove(out, { recursive: true });
  }
  const note =
    `sim --speed 1000, 32 in / 16 out tokens, rates doubled from 50 (lag p99 at the next rate ${lastLag} ms); CPU includes process start-up`;
  return [
    {
      entry: "bench",
      metric: "max rate with send-lag p99 <= 5 ms",
      value: best,
      unit: "req/s",
      note,
    },
    {
      entry: "bench",
      metric: "client CPU per 1,000 requests (at that rate)",
      value: cpuPer1k,
      unit: "cpu-s",
      note,
    },
  ];
}
