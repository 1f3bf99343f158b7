/**
 * Warm-up at startup (vLLM profiles and captures graphs; we let V8 compile the
 * hot paths): a throw-away engine on a very fast clock runs a few requests
 * through the same scheduler and KV code, so that the first real requests are
 * not timed while the JIT is still cold.
 *
 * @module
 */
import { SimClock } from "./clock.ts";
import type { CostModel } from "../core/cost_model.ts";
import { LiveEngine } from "./live_engine.ts";
import { KvCache } from "../core/kv_cache.ts";
import { createHandler, type SimServerOptions } from "./server.ts";

/**
 * Runs a few requests through a scratch engine and the real HTTP handler (no
 * socket); resolves when they are done. Nothing of it shows in metrics or cache.
 */
export async function warmUp(
  cost: CostModel,
  blockSize: number,
  server: SimServerOptions,
): Promise<void> {
  const engine = new LiveEngine({
    cost,
    kv: new KvCache({ numBlocks: 4096, blockSize }),
    clock: new SimClock(1e6),
  });
  const handler = createHandler({ ...server, engine, ready: () => true, log: () => {} });
  const text = (i: number) =>
    `${i} The quick brown fox, 42 lazy dogs; alpha beta gamma delta. `.repeat(10 + 20 * i);
  for (let i = 0; i < 6; i++) {
    for (
      const [path, body] of [
        ["/v1/completions", { prompt: text(i), max_tokens: 24, ignore_eos: true }],
        ["/v1/chat/completions", {
          messages: [{ role: "user", content: text(i) }],
          max_tokens: 24,
        }],
      ] as const
    ) {
      for (const stream of [true, false]) {
        const req = new Request(`http://warmup${path}`, {
          method: "POST",
          body: JSON.stringify({
            ...body,
            stream,
            ...(stream ? { stream_options: { include_usage: true } } : {}),
          }),
        });
        await (await handler(req)).text();
      }
    }
  }
  const jobs: Promise<void>[] = [];
  for (let r = 0; r < 24; r++) {
    const promptTokens = Array.from({ length: 300 + 50 * r }, (_, i) => (i * 31 + r) % 1000);
    jobs.push(
      new Promise((resolve) =>
        engine.add({
          id: `warmup-${r}`,
          promptTokens,
          outputIds: new Array(48).fill(1),
          finishReason: "length",
          sink: { onToken: () => {}, onFinish: () => resolve() },
        })
      ),
    );
  }
  await Promise.all(jobs);
  await engine.close();
}
