/**
 * Discovery like vLLM's P2P-NCCL xPyD proxy: simulated engines register over
 * ZMQ, the router adds them on their first registration and drops them after
 * 5 s of silence. A running PD topology goes 1P1D -> 2P2D -> 1P1D under load,
 * without a router restart and without a failed request.
 */
import assert from "node:assert/strict";
import { freePort } from "../../../lib/net.ts";
import { chat, post, readStream, type Server, startRouter, startSim, stopAll } from "./_harness.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

async function until(what: string, ok: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("router discovery: 1P1D -> 2P2D -> 1P1D under load, no restart, no failed request", async () => {
  const proxyPort = await freePort();
  const r = await startRouter({
    name: "pd-discovery",
    kind: "pd",
    connector: "p2pnccl",
    discovery: { kind: "zmq", port: proxyPort, allow: ["127.0.0.1"] },
    healthIntervalMs: 200,
  });
  const sim = async (role: "kv_producer" | "kv_consumer") => {
    const kv = {
      kv_connector: "P2pNcclConnector",
      kv_role: role,
      kv_port: await freePort(),
      kv_connector_extra_config: { proxy_ip: "127.0.0.1", proxy_port: String(proxyPort) },
    };
    return startSim(["--speed", "20", "--kv-transfer-config", JSON.stringify(kv)]);
  };
  const live = async () => {
    const s: Obj = await (await fetch(`${r.url}/status`)).json();
    const up = s.backends.filter((b: Obj) => b.healthy);
    return [
      up.filter((b: Obj) => b.role === "prefill").length,
      up.filter((b: Obj) => b.role === "decode").length,
    ];
  };
  const sims: Server[] = [];
  let load: Promise<void> | undefined;
  let running = true;
  const failures: string[] = [];
  const servedBy = new Map<string, number>();
  const served = () => [...servedBy.values()].reduce((a, b) => a + b, 0) / 2;
  try {
    sims.push(...await Promise.all([sim("kv_producer"), sim("kv_consumer")]));
    await until("1P1D registered and healthy", async () => (await live()).join() === "1,1");
    // open load: 6 clients in a loop until told to stop
    load = Promise.all(Array.from({ length: 6 }, async (_, w) => {
      for (let i = 0; running; i++) {
        try {
          const res = await post(
            `${r.url}/v1/chat/completions`,
            chat(`client ${w} request ${i} about discovery`),
          );
          const p = res.headers.get("x-topobench-prefill-backend") ?? "?";
          const d = res.headers.get("x-backend") ?? "?";
          const s = await readStream(res);
          if (
            res.status !== 200 || s.events.at(-1) !== "[DONE]" ||
            s.events.some((e) => e.includes('"error"'))
          ) {
            failures.push(`${res.status} ${s.events.join(" ").slice(0, 200)}`);
          }
          for (const b of [p, d]) servedBy.set(b, (servedBy.get(b) ?? 0) + 1);
        } catch (e) {
          failures.push(String(e));
        }
      }
    })).then(() => {});
    await until("1P1D serves the load", () => Promise.resolve(served() >= 12));
    // scale up: a second prefill and decode register themselves
    sims.push(...await Promise.all([sim("kv_producer"), sim("kv_consumer")]));
    await until("2P2D registered and healthy", async () => (await live()).join() === "2,2");
    const names = () => [...servedBy.keys()].filter((k) => k.includes("@"));
    await until("requests served by every instance", () => Promise.resolve(names().length === 4));
    // scale down: the new pair stops (it stops registering, serves on until dropped)
    const leaving = sims.splice(2);
    for (const s of leaving) s.child.kill("SIGTERM");
    const signalled = performance.now();
    await until("back to 1P1D", async () => (await live()).join() === "1,1");
    const after = served();
    await until("1P1D serves on", () => Promise.resolve(served() >= after + 12));
    // the pair's own drain (7 s after the signal, checked on a manual clock in
    // _lifecycle_test.ts) is not waited for: once the load stopped, a second signal
    // (a second or more after the first) stops it at once
    running = false;
    await load;
    await new Promise((res) =>
      setTimeout(res, Math.max(0, 1100 - (performance.now() - signalled)))
    );
    await Promise.all(leaving.map((s) => s.stop(20_000)));
  } finally {
    running = false;
    await load;
    // no load left: the registered engines need no drain
    await Promise.all([stopAll([r]), ...sims.map((s) => s.stop(100).catch(() => {}))]);
  }
  assert.deepEqual(failures, []);
  assert.ok(served() > 50, `${served()} requests`);
  assert.match(r.lines.join("\n"), /removed: no registration for 5\.0 s/);
});
