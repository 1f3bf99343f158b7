/**
 * Health and failures through the router CLI: a killed engine is taken out and
 * the router keeps serving on the others, the engine is put back once healthy
 * again, a stream cut by a dying engine ends with an error event, and no
 * healthy engine at all gives 503.
 */
import assert from "node:assert/strict";
import {
  chat,
  enginesOf,
  post,
  readStream,
  type Server,
  startRouter,
  startSim,
  stopAll,
} from "./_harness.ts";

const SPEED = ["--speed", "20"];

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("router health: a killed backend is taken out, then put back; none left is 503", async () => {
  const sims: Server[] = await Promise.all([startSim(SPEED), startSim(SPEED)]);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "dp-health",
      kind: "dp",
      backends: enginesOf(sims),
      healthIntervalMs: 200,
    });
    const status = async () => (await (await fetch(`${r!.url}/status`)).json());
    const healthyOf = async (name: string) =>
      (await status()).backends.find((b: { name: string }) => b.name === name).healthy;

    // A stream on engine-1 when it dies ends with an error event and [DONE].
    const warm = await post(`${r.url}/v1/chat/completions`, chat("first"));
    await readStream(warm);
    const long = await post(
      `${r.url}/v1/completions`,
      { prompt: "a long one", max_tokens: 5000, ignore_eos: true, stream: true },
    );
    assert.equal(long.headers.get("x-backend"), "engine-1");
    const port1 = Number(new URL(sims[1].url).port);
    sims[1].child.kill("SIGKILL");
    await sims[1].done;
    const cut = await readStream(long);
    assert.equal(cut.events.at(-1), "[DONE]");
    assert.match(cut.events.at(-2)!, /"error".*engine-1/);

    // Every request still succeeds (an unreachable pick is retried on engine-0).
    for (let i = 0; i < 4; i++) {
      const res = await post(`${r.url}/v1/chat/completions`, chat(`after ${i}`));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-backend"), "engine-0");
      await readStream(res);
    }
    assert.equal(await healthyOf("engine-1"), false);
    assert.equal((await fetch(`${r.url}/health`)).status, 200);

    // Back on the same port: put back by the health checks.
    sims[1] = await startSim(SPEED, port1);
    await until("engine-1 put back", () => healthyOf("engine-1"));
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await post(`${r.url}/v1/chat/completions`, chat(`back ${i}`));
      seen.add(res.headers.get("x-backend")!);
      await readStream(res);
    }
    assert.deepEqual([...seen].sort(), ["engine-0", "engine-1"]);

    // Nothing left: 503 at once, /health says so.
    for (const s of sims) {
      s.child.kill("SIGKILL");
      await s.done;
    }
    const none = await post(`${r.url}/v1/chat/completions`, chat("anyone?"));
    assert.ok(none.status === 503, `status ${none.status}`);
    assert.match((await none.json()).error.message, /^No healthy backend \(2 configured\)/);
    const h = await fetch(`${r.url}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual((await h.json()).missing, ["backend"]);
  } finally {
    await stopAll([r, ...sims]);
  }
});

Deno.test("router: a hung engine (SIGSTOP) fails its in-flight stream within seconds, not the client's timeout", async () => {
  const sims: Server[] = await Promise.all([startSim(SPEED), startSim(SPEED)]);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "dp-hung",
      kind: "dp",
      policy: "round_robin",
      backends: enginesOf(sims),
      healthIntervalMs: 200,
    });
    await readStream(await post(`${r.url}/v1/chat/completions`, chat("warm")));
    const long = await post(
      `${r.url}/v1/completions`,
      { prompt: "a long one", max_tokens: 20000, ignore_eos: true, stream: true },
    );
    const victim = long.headers.get("x-backend") === "engine-0" ? sims[0] : sims[1];
    const t0 = performance.now();
    victim.child.kill("SIGSTOP");
    try {
      const cut = await readStream(long);
      const waited = performance.now() - t0;
      assert.equal(cut.events.at(-1), "[DONE]");
      assert.match(cut.events.at(-2)!, /"error".*taken out/);
      assert.ok(waited < 15_000, `the stream ended after ${waited.toFixed(0)} ms`);
    } finally {
      victim.child.kill("SIGCONT");
    }
  } finally {
    await stopAll([...sims, ...(r ? [r] : [])]);
  }
});

Deno.test("router: a leg that sends nothing for stallTimeoutMs ends with 504", async () => {
  // a backend that accepts and then never answers
  const ac = new AbortController();
  const hang = Deno.serve(
    { port: 0, signal: ac.signal, onListen() {} },
    (req) =>
      new URL(req.url).pathname === "/health"
        ? new Response("ok")
        : new Promise<Response>(() => {}),
  );
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "agg-stall",
      kind: "agg",
      backends: [{ name: "engine-0", url: `http://127.0.0.1:${hang.addr.port}` }],
      healthIntervalMs: 60_000,
      stallTimeoutMs: 300,
    });
    const res = await post(`${r.url}/v1/chat/completions`, { ...chat("x"), stream: true });
    assert.equal(res.status, 504);
    assert.match((await res.json()).error.message, /engine-0 sent nothing for 0\.3 s/);
  } finally {
    await stopAll(r ? [r] : []);
    ac.abort();
    await hang.finished;
  }
});
