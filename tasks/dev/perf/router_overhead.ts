/**
 * Perf entry `router`: the latency the router adds (TTFT through an `agg`
 * router minus TTFT straight to the engine, p50 and p99) and the highest
 * request rate through the router versus straight to the engine (closed loop),
 * against one simulated engine at `--speed 1000` so the engine is not the
 * bottleneck.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { startSim } from "../../../launch/sim/start_sim.ts";
import { startReady } from "../../../lib/ready_process.ts";
import { percentile } from "../../../lib/stats.ts";
import type { PerfResult } from "../perf.ts";

const root = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));

/** TTFT of one streamed chat request (first non-empty content chunk), in ms. */
async function ttftMs(url: string, i: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: [{ role: "user", content: `request ${i}: say something short.` }],
      max_tokens: 4,
      ignore_eos: true,
      stream: true,
    }),
  });
  if (!res.ok) throw new Error(`Cannot time ${url}: HTTP ${res.status} ${await res.text()}`);
  const dec = new TextDecoder();
  let ttft = NaN;
  for await (const chunk of res.body!) {
    if (Number.isNaN(ttft) && /"content":"[^"]/.test(dec.decode(chunk, { stream: true }))) {
      ttft = performance.now() - t0;
    }
  }
  return ttft;
}

/** Completed requests/s of a closed loop of `concurrency` streams over `seconds`. */
async function rateRps(url: string, seconds: number, concurrency: number): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ role: "user", content: `worker ${w} request ${i}` }],
          max_tokens: 4,
          ignore_eos: true,
          stream: true,
        }),
      });
      if ((await res.text()).endsWith("data: [DONE]\n\n") && res.ok) done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

/** Measures the router's added TTFT (p50/p99) and max request rate vs direct. */
export async function routerOverhead(seconds: number): Promise<PerfResult[]> {
  const sim = await startSim(["--speed", "1000", "--log-interval", "1000"]);
  const dir = await Deno.makeTempDir({ prefix: "perf_router_" });
  const direct = sim.url;
  await Deno.writeTextFile(
    `${dir}/router.json`,
    JSON.stringify({
      name: "perf-agg",
      kind: "agg",
      backends: [{ name: "engine-0", url: direct }],
    }),
  );
  const router = await startReady({
    cmd: Deno.execPath(),
    args: ["run", "-A", root("launch/router/main.ts"), "--config", `${dir}/router.json`],
    ready: /^Router listening on (http:\/\/\S+)$/,
  });
  const routed = router.match[1];
  try {
    for (let i = 0; i < 50; i++) await Promise.all([ttftMs(direct, i), ttftMs(routed, i)]);
    // Latency: alternate direct and routed requests one at a time so drift hits both alike.
    const d: number[] = [];
    const r: number[] = [];
    const end = performance.now() + (seconds * 1000) / 2;
    for (let i = 0; performance.now() < end; i++) {
      d.push(await ttftMs(direct, i));
      r.push(await ttftMs(routed, i));
    }
    const concurrency = 64;
    const directRps = await rateRps(direct, seconds / 4, concurrency);
    const routedRps = await rateRps(routed, seconds / 4, concurrency);
    const note = `agg, 1 sim at speed 1000, ${d.length} sequential pairs, 4-token streams`;
    const rateNote = `closed loop, ${concurrency} streams x 4 tokens, ${seconds / 4} s each`;
    const at = (xs: number[], p: number) => percentile(xs, p);
    return [
      {
        entry: "router",
        metric: "added TTFT p50 (router - direct)",
        value: at(r, 50) - at(d, 50),
        unit: "ms",
        note: `${note}; direct p50 ${at(d, 50).toFixed(2)} ms`,
      },
      {
        entry: "router",
        metric: "added TTFT p99 (router - direct)",
        value: at(r, 99) - at(d, 99),
        unit: "ms",
        note: `${note}; direct p99 ${at(d, 99).toFixed(2)} ms`,
      },
      {
        entry: "router",
        metric: "max request rate through the router",
        value: routedRps,
        unit: "req/s",
        note: rateNote,
      },
      {
        entry: "router",
        metric: "max request rate straight to the engine",
        value: directRps,
        unit: "req/s",
        note: rateNote,
      },
    ];
  } finally {
    await router.stop();
    await sim.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
