/**
 * agg and dp through the router CLI over real simulated engines: streaming and
 * not, errors, body limit, client disconnect, and the dp policies.
 */
import assert from "node:assert/strict";
import {
  chat,
  enginesOf,
  post,
  readStream,
  scrape,
  type Server,
  startRouter,
  startSim,
  stopAll,
  sumOf,
} from "./_harness.ts";

const SPEED = ["--speed", "20"];

Deno.test("router agg: streams, passes whole answers, models, errors, limits, disconnects", async () => {
  const sim = await startSim(SPEED);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "agg-1",
      kind: "agg",
      backends: [{ name: "engine-0", url: sim.url }],
      maxBodyBytes: 4096,
    });
    const res = await post(`${r.url}/v1/chat/completions`, chat("hello router"));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-backend"), "engine-0");
    assert.equal(res.headers.get("x-topobench-backend"), "engine-0");
    assert.equal(res.headers.get("x-topobench-prefill-ms"), null);
    assert.ok(Number(res.headers.get("x-topobench-first-byte-ms")) > 0);
    const s = await readStream(res);
    assert.equal(s.events.at(-1), "[DONE]");
    assert.ok(s.usage && Number(s.usage.completion_tokens) > 0);

    const whole = await post(`${r.url}/v1/completions`, {
      prompt: "once upon a time",
      max_tokens: 5,
      ignore_eos: true,
    });
    assert.equal(whole.status, 200);
    const j = await whole.json();
    assert.equal(j.usage.completion_tokens, 5);

    const models = await (await fetch(`${r.url}/v1/models`)).json();
    assert.equal(
      models.data[0].id,
      (await (await fetch(`${sim.url}/v1/models`)).json()).data[0].id,
    );
    // /tokenize goes through to the engine (bench counts output tokens with it)
    const tk = await (await post(`${r.url}/tokenize`, { prompt: "once upon a time" })).json();
    assert.deepEqual(
      tk,
      await (await post(`${sim.url}/tokenize`, { prompt: "once upon a time" })).json(),
    );

    // An engine 500 becomes a 502 naming the backend; a 4xx passes through.
    const bad = await post(`${r.url}/v1/chat/completions`, chat("x"), { "X-Return-Error": "500" });
    assert.equal(bad.status, 502);
    assert.match((await bad.json()).error.message, /engine-0 answered HTTP 500/);
    const notFound = await post(`${r.url}/v1/completions`, { prompt: "x", model: "nope" });
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();

    // A stream cut by the engine ends with an SSE error event and [DONE], never a hang.
    const cut = await post(`${r.url}/v1/chat/completions`, chat("cut me", { max_tokens: 50 }), {
      "X-Return-Error": "midstream",
    });
    assert.equal(cut.status, 200);
    const cs = await readStream(cut);
    assert.equal(cs.events.at(-1), "[DONE]");
    assert.match(cs.events.at(-2)!, /"error"/);

    const mode = await post(`${r.url}/mode/ppd`, {});
    assert.equal(mode.status, 400);
    assert.match((await mode.json()).error.message, /needs kind pd or ppd/);
    assert.deepEqual(await (await fetch(`${r.url}/mode`)).json(), { mode: "agg" });

    const big = await post(`${r.url}/v1/completions`, { prompt: "x".repeat(5000) });
    assert.equal(big.status, 413);
    assert.match((await big.json()).error.message, /limit is 4096 bytes/);

    // A client that goes away cancels the engine's request.
    const ac = new AbortController();
    const long = await post(
      `${r.url}/v1/completions`,
      { prompt: "long story", max_tokens: 2000, ignore_eos: true, stream: true },
      {},
      ac.signal,
    );
    const reader = long.body!.getReader();
    await reader.read();
    assert.equal(sumOf(await scrape(sim.url), "vllm:num_requests_running"), 1);
    ac.abort();
    let running = 1;
    for (let i = 0; i < 50 && running > 0; i++) {
      await new Promise((res) => setTimeout(res, 50));
      running = sumOf(await scrape(sim.url), "vllm:num_requests_running");
    }
    assert.equal(running, 0);
    const st = await (await fetch(`${r.url}/status`)).json();
    assert.equal(st.backends[0].inFlight, 0);
    const m = await scrape(r.url);
    assert.ok(m.get('topobench_router_requests_total{backend="engine-0",leg="direct"}')! >= 5);
    assert.equal((await post(`${r.url}/metrics/clear`, {})).status, 200);
    assert.equal(sumOf(await scrape(r.url), "topobench_router_requests_total"), 0);
  } finally {
    await stopAll([r, sim]);
  }
});

Deno.test("router dp(2): round robin alternates, session sticks, prefix follows the cache", async () => {
  const sims = await Promise.all([startSim(SPEED), startSim(SPEED)]);
  const backends = enginesOf(sims);
  const routers: Server[] = [];
  try {
    const [rr, sess, pre] = await Promise.all([
      startRouter({ name: "dp-rr", kind: "dp", backends }),
      startRouter({ name: "dp-s", kind: "dp", policy: "session", backends }),
      startRouter({ name: "dp-p", kind: "dp", policy: "prefix", backends }),
    ]);
    routers.push(rr, sess, pre);
    const served: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(`${rr.url}/v1/chat/completions`, chat(`rr ${i}`));
      served.push(res.headers.get("x-backend")!);
      await readStream(res);
    }
    assert.deepEqual(served, ["engine-0", "engine-1", "engine-0", "engine-1"]);

    const bySession = new Map<string, Set<string>>();
    for (let turn = 0; turn < 3; turn++) {
      // Three sessions over two engines: round robin would move them.
      for (const conv of ["a", "b", "c"]) {
        const headers: Record<string, string> = conv === "c" ? { "X-Session-Id": conv } : {};
        const body = conv === "c"
          ? chat(`turn ${turn}`)
          : chat(`turn ${turn}`, { conversation_id: conv });
        const res = await post(`${sess.url}/v1/chat/completions`, body, headers);
        await readStream(res);
        const set = bySession.get(conv) ?? new Set();
        set.add(res.headers.get("x-backend")!);
        bySession.set(conv, set);
      }
    }
    for (const [conv, set] of bySession) assert.equal(set.size, 1, `session ${conv} moved`);
    const used = new Set([...bySession.values()].flatMap((s) => [...s]));
    assert.equal(used.size, 2, "sessions spread over both engines");

    const doc = (tag: string) =>
      `${tag}: ` + "the quick brown fox jumps over the lazy dog ".repeat(30);
    const first = new Map<string, string>();
    for (const tag of ["alpha", "beta", "gamma", "delta"]) {
      const res = await post(`${pre.url}/v1/chat/completions`, chat(doc(tag)));
      await readStream(res);
      first.set(tag, res.headers.get("x-backend")!);
    }
    // Reversed order: round robin would send each to the other engine.
    for (const tag of ["delta", "gamma", "beta", "alpha"]) {
      const res = await post(`${pre.url}/v1/chat/completions`, chat(doc(tag) + " and more"));
      const s = await readStream(res);
      assert.equal(res.headers.get("x-backend"), first.get(tag), `prefix ${tag} moved`);
      assert.ok(Number(s.usage!.prompt_tokens_details!.cached_tokens) > 0);
    }
  } finally {
    await stopAll([...routers, ...sims]);
  }
});
