/**
 * Perf entry `sim`: streaming requests per second one simulated-engine process
 * sustains at `--speed 100` (closed loop, 64 concurrent streams of 16 tokens).
 *
 * @module
 */
import { startSim } from "../../../launch/sim/start_sim.ts";
import type { PerfResult } from "../perf.ts";

/** Measures completed streaming requests/s and tokens/s over `seconds`. */
export async function simThroughput(seconds: number): Promise<PerfResult[]> {
  const sim = await startSim(["--speed", "100", "--log-interval", "1000"]);
  const url = `${sim.url}/v1/chat/completions`;
  const concurrency = 64;
  let done = 0;
  let failed = 0;
  let tokens = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          messages: [{ role: "user", content: `worker ${w} request ${i}: tell me a short story.` }],
          max_tokens: 16,
          ignore_eos: true,
          stream: true,
        }),
      });
      const text = await res.text();
      if (res.ok && text.endsWith("data: [DONE]\n\n")) {
        done++;
        tokens += 16;
      } else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - t0) / 1000;
  await sim.stop();
  const note = `speed 100, ${concurrency} streams x 16 tokens, ${failed} failed, ${
    elapsed.toFixed(1)
  } s`;
  return [
    {
      entry: "sim",
      metric: "streaming requests/s (one engine process)",
      value: done / elapsed,
      unit: "req/s",
      note,
    },
    {
      entry: "sim",
      metric: "streamed tokens/s (one engine process)",
      value: tokens / elapsed,
      unit: "tok/s",
      note,
    },
  ];
}
