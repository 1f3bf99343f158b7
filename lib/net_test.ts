import assert from "node:assert/strict";
import { freePort, isPortFree, sleep, waitForHealth } from "./net.ts";

/** A loopback server answering `/health` with the statuses in turn (the last one repeats). */
function healthServer(statuses: number[]) {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname !== "/health") return new Response("no", { status: 404 });
    const status = statuses[Math.min(hits++, statuses.length - 1)];
    return new Response(status === 200 ? "" : "starting", { status });
  });
  return { server, url: `http://127.0.0.1:${server.addr.port}/health`, hits: () => hits };
}

Deno.test("freePort and isPortFree: a picked port is bindable, a bound one is not", async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await isPortFree(port), true);
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    assert.equal(await isPortFree(port), false);
  } finally {
    l.close();
  }
  assert.equal(await isPortFree(port), true);
  assert.throws(() => isPortFree(70000), /Cannot use port as an integer port/);
});

Deno.test("waitForHealth: resolves once the endpoint answers 200", async () => {
  const h = healthServer([503, 503, 200]);
  try {
    await waitForHealth(h.url, { intervalMs: 10, timeoutMs: 5000 });
    assert.equal(h.hits(), 3);
  } finally {
    await h.server.shutdown();
  }
});

Deno.test("waitForHealth: timeout names the last status", async () => {
  const h = healthServer([503]);
  try {
    const t0 = performance.now();
    await assert.rejects(
      waitForHealth(h.url, { intervalMs: 20, timeoutMs: 200 }),
      /Cannot reach http:\/\/127\.0\.0\.1:\d+\/health as a healthy server within 200 ms: last result was HTTP 503/,
    );
    const tookMs = performance.now() - t0;
    assert.ok(tookMs >= 190 && tookMs < 2000, `took ${tookMs} ms`);
    assert.ok(h.hits() >= 3);
  } finally {
    await h.server.shutdown();
  }
});

Deno.test("waitForHealth: timeout names the network error when nothing listens", async () => {
  const port = await freePort();
  await assert.rejects(
    waitForHealth(`http://127.0.0.1:${port}/health`, { intervalMs: 10, timeoutMs: 100 }),
    (e: Error) => /within 100 ms: last result was /.test(e.message) && !/HTTP \d/.test(e.message),
  );
});

Deno.test("waitForHealth: alive() false stops early; abort signal stops the wait", async () => {
  const h = healthServer([503]);
  try {
    let checks = 0;
    const t0 = performance.now();
    await assert.rejects(
      waitForHealth(h.url, { intervalMs: 10, alive: () => ++checks < 3 }),
      /process exited before it was healthy \(last: HTTP 503\)/,
    );
    assert.equal(checks, 3);
    assert.ok(performance.now() - t0 < 2000);
    const ac = new AbortController();
    const p = waitForHealth(h.url, { intervalMs: 50, signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop now")), 30);
    await assert.rejects(p, /stop now/);
  } finally {
    await h.server.shutdown();
  }
  await assert.rejects(waitForHealth("not a url"), TypeError);
});

Deno.test("sleep: waits, and rejects on abort", async () => {
  const t0 = performance.now();
  await sleep(30);
  assert.ok(performance.now() - t0 >= 29);
  const ac = new AbortController();
  const p = sleep(10_000, ac.signal);
  ac.abort(new Error("cancelled"));
  await assert.rejects(p, /cancelled/);
  await assert.rejects(sleep(5, AbortSignal.abort(new Error("already"))), /already/);
});
