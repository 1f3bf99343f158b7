/**
 * `--data-parallel-external-lb`: one simulated DP instance (one process) serves
 * each rank at a port of its own (rank 0's port + r), with its own counters, as
 * one `vllm serve --data-parallel-rank R` per rank would.
 */
import assert from "node:assert/strict";
import { scrape, startSim } from "./start_sim.ts";

const complete = async (url: string, prompt: string) => {
  const r = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", prompt, max_tokens: 4 }),
  });
  assert.equal(r.status, 200);
  await r.json();
};

/** Requests finished on `url`'s engine, over every finish reason. */
const success = async (url: string) => {
  let n = 0;
  for (const [k, v] of await scrape(url)) if (k.startsWith("vllm:request_success_total")) n += v;
  return n;
};

Deno.test("sim: external load balancing serves each data-parallel rank at its own port", async () => {
  const sim = await startSim([
    ...["--model", "Qwen/Qwen3-30B-A3B-Instruct-2507", "--gpu", "rtx-pro-6000"],
    ...["--data-parallel-size", "2", "--enable-expert-parallel", "--data-parallel-external-lb"],
    ...["--speed", "100", "--served-model-name", "m"],
  ]);
  try {
    const rank1 = sim.url.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`);
    assert.equal((await fetch(`${rank1}/health`)).status, 200);
    for (let i = 0; i < 3; i++) await complete(rank1, `hello rank one ${i}`);
    await complete(sim.url, "hello rank zero");
    // each port's /metrics counts only its rank's requests
    assert.deepEqual([await success(sim.url), await success(rank1)], [1, 3]);
  } finally {
    await sim.stop();
  }
});
