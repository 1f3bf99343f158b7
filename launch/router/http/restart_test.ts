/**
 * A backend restart through the router CLI (issue 26): once the restarted
 * engine is back in rotation, the router's pooled connections to the old
 * process fail no request and do not take the healthy engine out again.
 */
import assert from "node:assert/strict";
import { chat, post, readStream, type Server, startRouter, startSim, stopAll } from "./_harness.ts";

const SPEED = ["--speed", "20"];

Deno.test("router: after a backend restarts, no request fails on dead pooled connections", async () => {
  let sim: Server = await startSim(SPEED);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "agg-restart",
      kind: "agg",
      backends: [{ name: "engine-0", url: sim.url }],
      healthIntervalMs: 200,
    });
    const status = async () => (await (await fetch(`${r!.url}/status`)).json()).backends[0];
    // six concurrent streams leave six keep-alive connections in the router's pool
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        await readStream(await post(`${r!.url}/v1/chat/completions`, chat(`warm ${i}`)));
      }),
    );
    const port = Number(new URL(sim.url).port);
    sim.child.kill("SIGKILL");
    await sim.done;
    sim = await startSim(SPEED, port);
    // put back by the health checks (if they saw it gone at all)
    const end = performance.now() + 10_000;
    while (!(await status()).healthy) {
      if (performance.now() > end) throw new Error("timed out waiting for engine-0 put back");
      await new Promise((res) => setTimeout(res, 50));
    }
    const failed: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await post(`${r.url}/v1/chat/completions`, chat(`after ${i}`));
      if (res.status !== 200) failed.push(`${res.status} ${await res.text()}`);
      else await readStream(res);
    }
    assert.deepEqual(failed, []);
    const st = await status();
    assert.equal(st.healthy, true);
    assert.equal(st.errors, 0);
  } finally {
    await stopAll([r, sim]);
  }
});
