/**
 * The router's discovery decisions on a manual clock: registered instances
 * join the backend pool on their first ping, stay while they ping every 3 s,
 * and leave after `discovery.dropAfterMs` of silence; a configured backend that
 * registers stays as configured; other details replace an instance. Real
 * listener and pool; the engines are stand-ins on 127.0.0.1 that answer
 * `/health`. The whole scale-up and scale-down under load is `discovery_test.ts`.
 */
import assert from "node:assert/strict";
import { createLogger } from "../../../lib/log.ts";
import { ManualClock } from "../../../lib/manual_clock.ts";
import { PING_INTERVAL_MS, startPinging } from "../../../lib/p2p_registration.ts";
import { BackendPool } from "./backends.ts";
import { validateRouterConfig } from "../core/config.ts";
import { startDiscovery } from "./_discovery.ts";

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A stand-in engine on 127.0.0.1 that answers every request with 200. */
function engine() {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("{}"));
}

Deno.test("router discovery on a manual clock: pings join and keep instances, silence over dropAfterMs removes them; a configured one stays", async () => {
  await using p = engine();
  await using d = engine();
  await using fixed = engine();
  const lines: string[] = [];
  const log = createLogger({ name: "router", write: (l) => lines.push(l) });
  const cfg = validateRouterConfig({
    name: "pd-discovery-clock",
    kind: "pd",
    connector: "p2pnccl",
    discovery: { kind: "zmq", port: 0, dropAfterMs: 5000, allow: ["127.0.0.1"] },
    decode: [{ name: "d0", url: `http://127.0.0.1:${fixed.addr.port}`, kvAddr: "127.0.0.1:9000" }],
  });
  const pool = new BackendPool(cfg, { log });
  const clock = new ManualClock();
  const listener = await startDiscovery(cfg, pool, log, clock);
  const proxy = `127.0.0.1:${listener.port}`;
  const at = (port: number) => `127.0.0.1:${port}`;
  const names = () => pool.all.map((b) => b.name).sort().join(" ");
  const ping = (type: "P" | "D", http: string, kv: string) =>
    startPinging({ proxy, registration: { type, http_address: http, zmq_address: kv }, clock });
  const waitFor = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 300 && !ok(); i++) await pause(10);
    assert.ok(ok(), `${what}: ${names()}`);
  };
  const pings = [
    ping("P", at(p.addr.port), "127.0.0.1:9001"),
    ping("D", at(d.addr.port), "127.0.0.1:9002"),
    ping("D", at(fixed.addr.port), "127.0.0.1:9003"), // the configured d0, other KV address
  ];
  try {
    const joined = `d0 decode@${at(d.addr.port)} prefill@${at(p.addr.port)}`;
    await waitFor("P and D joined", () => names() === joined);
    /** Moves the clock `ms` on in 3 s steps; each step waits until `who` are heard. */
    const kept = async (ms: number, who: number[]) => {
      for (let t = 0; t < ms; t += PING_INTERVAL_MS) {
        clock.advance(PING_INTERVAL_MS);
        const now = clock.nowMs();
        await waitFor(
          "pings heard",
          () => who.every((w) => listener.live.get(at(w))?.lastSeenMs === now),
        );
      }
    };
    const all = [p.addr.port, d.addr.port, fixed.addr.port];
    await kept(12_000, all); // 4 pings later, the same three
    assert.equal(names(), joined);
    assert.equal(pool.all.find((b) => b.name === "d0")?.kvAddr, "127.0.0.1:9000", "as configured");
    // the decode registers with another KV port: it is replaced
    pings[1].stop();
    pings[1] = ping("D", at(d.addr.port), "127.0.0.1:9012");
    await waitFor("replaced", () => pool.all.some((b) => b.kvAddr === "127.0.0.1:9012"));
    assert.equal(names(), joined, "one decode@ entry, with the new KV address");
    // the prefill falls silent: it is there 5 s later, gone at the next sweep
    pings[0].stop();
    const silentFrom = clock.nowMs();
    await kept(3000, all.slice(1));
    clock.advance(2000);
    assert.equal(names(), joined);
    clock.advance(1000);
    assert.equal(names(), `d0 decode@${at(d.addr.port)}`);
    assert.equal(clock.nowMs() - silentFrom, 6000);
    assert.match(
      lines.join("\n"),
      /prefill@127\.0\.0\.1:\d+ \(prefill, .*\) removed: no registration for 5\.0 s/,
    );
    assert.match(
      lines.join("\n"),
      /admitting 127\.0\.0\.1:\d+, 127\.0\.0\.1:9000, 127\.0\.0\.1 \(at most 64\)/,
    );
  } finally {
    for (const x of pings) x.stop();
    await listener.close();
    await pause(50); // the pool's first /health probes of the registered ones
  }
});
