/**
 * Perf entry `sim`: streaming requests per second one simulated-engine process
 * sustains at `--speed 100` (closed loop, 64 concurrent streams of 16 tokens).
 *
 * @module
 */
import { startSim } from "../../../launch/sim/live/start_sim.ts";
import type { PerfResult } from "../perf.ts";
import { closeIdle, http1 } from "../../../lib/http1.ts";

const enc = new TextEncoder();

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
  // the client is lib/http1.ts (as bench uses), so that it is not the bottleneck
  const target = new URL(url);
  const dec = new TextDecoder();
  const worker = async (w: number) => {
    for (let i = 0; performance.now() < deadline; i++) {
      let status = 0;
      let tail = "";
      await http1({
        url: target,
        headers: { "content-type": "application/json" },
        body: enc.encode(JSON.stringify({
          messages: [{ role: "user", content: `worker ${w} request ${i}: tell me a short story.` }],
          max_tokens: 16,
          ignore_eos: true,
          stream: true,
        })),
        onHead: (s) => (status = s),
        onData: (b) => (tail = (tail + dec.decode(b)).slice(-32)),
      }).catch(() => (status = 0));
      if (status === 200 && tail.endsWith("data: [DONE]\n\n")) {
        done++;
        tokens += 16;
      } else failed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = (performance.now() - t0) / 1000;
  closeIdle();
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
