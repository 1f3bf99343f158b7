/**
 * Who gets in through the discovery port (issue 26): only the allow-list, at
 * most `discovery.maxInstances`, never a registrant outside it (which would
 * receive client prompts, their credentials and KV pushes); and a peer that
 * declares a 2^62-byte frame or never finishes its greeting is closed while the
 * router serves on. Loopback only (127.0.0.x).
 */
import assert from "node:assert/strict";
import { encode } from "@msgpack/msgpack";
import { freePort } from "../../../lib/net.ts";
import { startPinging } from "../../../lib/p2p_registration.ts";
import { Dealer, greeting, readyCommand } from "../../../lib/zmtp.ts";
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

const p2pSim = async (role: "kv_producer" | "kv_consumer", proxyPort: number) =>
  startSim([
    "--speed",
    "20",
    "--kv-transfer-config",
    JSON.stringify({
      kv_connector: "P2pNcclConnector",
      kv_role: role,
      kv_port: await freePort(),
      kv_connector_extra_config: { proxy_ip: "127.0.0.1", proxy_port: String(proxyPort) },
    }),
  ]);

Deno.test("discovery: a registrant on 127.0.0.2 outside the allow-list gets no request and no credentials; registrants beyond maxInstances are refused", async () => {
  const proxyPort = await freePort();
  // a stand-in engine on 127.0.0.2: healthy, records whatever reaches it
  const seen: string[] = [];
  const rogue = Deno.serve({ hostname: "127.0.0.2", port: 0, onListen() {} }, (req) => {
    seen.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("authorization")}`);
    return new Response("{}", { headers: { "content-type": "application/json" } });
  });
  const r = await startRouter({
    name: "pd-admission",
    kind: "pd",
    connector: "p2pnccl",
    discovery: { kind: "zmq", port: proxyPort, allow: ["127.0.0.1"], maxInstances: 4 },
    healthIntervalMs: 100,
  });
  const sims: Server[] = [];
  const pings: { stop(): void }[] = [];
  try {
    sims.push(
      ...await Promise.all([p2pSim("kv_producer", proxyPort), p2pSim("kv_consumer", proxyPort)]),
    );
    const status = async (): Promise<Obj> => await (await fetch(`${r.url}/status`)).json();
    await until(
      "1P1D registered and healthy",
      async () => (await status()).backends.filter((b: Obj) => b.healthy).length === 2,
    );
    const register = (http: string, kv: string) =>
      pings.push(startPinging({
        proxy: `127.0.0.1:${proxyPort}`,
        registration: { type: "D", http_address: http, zmq_address: kv },
        intervalMs: 200,
      }));
    const roguePort = rogue.addr.port;
    register(`127.0.0.2:${roguePort}`, `127.0.0.2:${roguePort}`);
    // six more on closed loopback ports: two fit under maxInstances 4, four do not
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      register(`127.0.0.1:${port}`, `127.0.0.1:${port}`);
    }
    // every registrant told once (refusals are logged once a minute per address), the
    // two admitted on closed ports found down; then a few more pings (every 200 ms)
    // and health checks (every 100 ms) change nothing
    await until("each registrant admitted or refused, closed ports down", async () => {
      const log = r.lines.join("\n");
      const s = await status();
      return log.includes(`refused registration of D 127.0.0.2:${roguePort}`) &&
        log.match(/: over 4 registered instances/g)?.length === 4 &&
        s.backends.length === 4 && s.backends.filter((b: Obj) => b.healthy).length === 2;
    });
    await new Promise((res) => setTimeout(res, 600));
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await post(`${r.url}/v1/chat/completions`, chat(`secret prompt ${i}`), {
        authorization: "Bearer s3cret",
        cookie: "session=s3cret",
      });
      answers.push(`${res.status} ${(await readStream(res)).events.at(-1)}`);
    }
    assert.deepEqual(seen, [], "nothing reached the registrant outside the allow-list");
    assert.deepEqual(answers, Array(8).fill("200 [DONE]"));
    const s = await status();
    assert.ok(!s.backends.some((b: Obj) => b.url.includes("127.0.0.2")), JSON.stringify(s));
    assert.equal(s.backends.length, 4, "at most maxInstances registered");
    const log = r.lines.join("\n");
    assert.match(
      log,
      new RegExp(
        `discovery: refused registration of D 127\\.0\\.0\\.2:${roguePort} \\(KV 127\\.0\\.0\\.2:${roguePort}\\): http_address "127\\.0\\.0\\.2:${roguePort}" is not in the allow-list`,
      ),
    );
    assert.equal(log.match(/: over 4 registered instances/g)?.length, 4, log);
    assert.match(log, /admitting 127\.0\.0\.1 \(at most 4\)/);
  } finally {
    for (const p of pings) p.stop();
    // no load left: the registered engines need no drain
    await Promise.all([stopAll([r]), ...sims.map((s) => s.stop(100).catch(() => {}))]);
    await rogue.shutdown();
  }
});

/** Resident memory of a process, in MB (Linux). */
async function rssMb(pid: number): Promise<number> {
  const s = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
}

/** Reads until the peer closes; false if it is still open after `ms`. */
async function closedWithin(c: Deno.Conn, ms: number): Promise<boolean> {
  const t = setTimeout(() => c.close(), ms);
  try {
    while ((await c.read(new Uint8Array(4096))) !== null) { /* its greeting */ }
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(t);
    try {
      c.close();
    } catch { /* closed */ }
  }
}

Deno.test("discovery: a 2^62-byte frame closes that peer, half-open greetings are closed after 5 s, the router serves on with flat memory", async () => {
  const proxyPort = await freePort();
  const r = await startRouter({
    name: "pd-zmq-limits",
    kind: "pd",
    connector: "p2pnccl",
    discovery: { kind: "zmq", port: proxyPort, allow: ["127.0.0.1"] },
  });
  const conns: Deno.Conn[] = [];
  try {
    const rss0 = await rssMb(r.child.pid);
    const connect = () => Deno.connect({ hostname: "127.0.0.1", port: proxyPort });
    for (let i = 0; i < 50; i++) {
      const c = await connect();
      await c.write(greeting()); // and never READY
      conns.push(c);
    }
    const opened = performance.now();
    const huge = await connect();
    await huge.write(greeting());
    await huge.write(readyCommand({ "Socket-Type": new TextEncoder().encode("DEALER") }));
    const head = new Uint8Array(9);
    head[0] = 0x02;
    new DataView(head.buffer).setBigUint64(1, 2n ** 62n);
    await huge.write(head);
    // up to 96 MB of the frame (a fixed router closes after 64 KiB, the writes then fail)
    const mb = new Uint8Array(1 << 20);
    const sent = (async () => {
      for (let i = 0; i < 96; i++) await huge.write(mb);
    })().catch(() => {});
    assert.ok(await closedWithin(huge, 8000), "the peer declaring 2^62 bytes is closed");
    await sent;
    const rss1 = await rssMb(r.child.pid);
    assert.ok(rss1 - rss0 < 50, `router RSS ${rss0.toFixed(0)} -> ${rss1.toFixed(0)} MB`);
    // the router still serves, and still takes registrations
    assert.equal((await fetch(`${r.url}/status`)).status, 200);
    const good = new Dealer("127.0.0.1", proxyPort, new TextEncoder().encode("good"), 50);
    const port = await freePort();
    const reg = encode({
      type: "P",
      http_address: `127.0.0.1:${port}`,
      zmq_address: `127.0.0.1:${port}`,
    });
    await until("a good registration joins", async () => {
      await good.send(reg);
      const s: Obj = await (await fetch(`${r.url}/status`)).json();
      return s.backends.length === 1;
    });
    good.close();
    // half-open greetings: closed 5 s after they were opened
    await new Promise((res) => setTimeout(res, Math.max(0, 5500 - (performance.now() - opened))));
    const open = await Promise.all(conns.map((c) => closedWithin(c, 1000)));
    assert.equal(open.filter((x) => !x).length, 0, "every half-open greeting is closed");
    const log = r.lines.join("\n");
    assert.match(
      log,
      /discovery: 127\.0\.0\.1:\d+: a frame of 4611686018427387904 bytes \(the limit is 65536\)/,
    );
    assert.match(log, /discovery: 127\.0\.0\.1:\d+: no handshake within 5 s/);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await stopAll([r]);
  }
});
