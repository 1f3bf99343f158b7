import assert from "node:assert/strict";
import { CostModel } from "../core/cost_model.ts";
import type { EngineRequest } from "../core/engine.ts";
import { KvCache } from "../core/kv_cache.ts";
import { resolveGpu, resolveModel } from "../core/profiles.ts";
import { SimClock } from "./clock.ts";
import { LiveDpGroup } from "./live_dp_group.ts";

/** A DP group of 2 ranks of `model` on a clock 200x faster than real time. */
function group(model: string) {
  const cost = new CostModel({
    gpu: resolveGpu("rtx-pro-6000"),
    model: resolveModel(model),
    dp: 2,
    ep: model !== "llama-3.1-8b",
  });
  return new LiveDpGroup({
    clock: new SimClock(200),
    cost,
    jitter: 0,
    rankOptions: () => ({ cost, kv: new KvCache({ numBlocks: 2048, blockSize: 16 }), jitter: 0 }),
  });
}

/** Sends `n` requests and resolves when all have finished. */
function run(g: LiveDpGroup, n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    new Promise<string>((done) => {
      const req: EngineRequest = {
        id: `r${i}`,
        promptTokens: Array.from({ length: 256 }, (_, t) => (t * 31 + i * 7) % 30000),
        outputIds: Array.from({ length: 8 }, (_, t) => 100 + t),
        finishReason: "length",
        sink: { onFinish: (reason) => done(reason) },
      };
      g.add(req);
    })));
}

Deno.test("live DP group: an MoE instance's ranks share the requests and step together on the wall clock", async () => {
  const g = group("qwen3-30b-a3b");
  try {
    assert.deepEqual(await run(g, 8), Array(8).fill("length"));
    // both ranks got work (balanced by waiting x 4 + running) and stepped in lockstep
    assert.ok(g.ranks.every((r) => r.steps > 0), g.ranks.map((r) => r.steps).join());
    // every group step steps each rank with work (a rank with none runs a dummy step, uncounted)
    const steps = g.ranks.map((r) => r.steps);
    assert.ok(
      steps.every((n) => n <= g.steps) && steps[0] + steps[1] >= g.steps,
      `${steps} ${g.steps}`,
    );
    // one set of counters for the instance; the KV view sums the ranks
    assert.equal(g.metrics.finished.length, 8);
    assert.equal(g.kv.queries, g.ranks[0].kv.queries + g.ranks[1].kv.queries);
    assert.equal(g.numRunning + g.numWaiting, 0);
  } finally {
    await g.close();
  }
});

Deno.test("live DP group: a dense model's ranks step on their own", async () => {
  const g = group("llama-3.1-8b");
  try {
    assert.deepEqual(await run(g, 4), Array(4).fill("length"));
    assert.equal(g.steps, 0); // no lockstep steps
    assert.ok(g.ranks.every((r) => r.steps > 0));
  } finally {
    await g.close();
  }
});
