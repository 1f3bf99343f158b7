/**
 * The simulated engine's P2P-NCCL registration on the wire, read by a ZMQ
 * ROUTER written here from the ZMTP 3.0 spec (not `lib/zmtp.ts`, so the two
 * check each other), as vLLM's xPyD proxy reads it with pyzmq and msgpack: the
 * three fields, the DEALER identity, silence once the engine stops (the 3 s
 * interval and the drain run on a manual clock in `_lifecycle_test.ts`). (`lib/zmtp.ts` was also checked against pyzmq 24 / libzmq 4.3.4 by
 * hand, both ways.)
 */
import assert from "node:assert/strict";
import { decode } from "@msgpack/msgpack";
import { startSim } from "./start_sim.ts";

/** A one-connection ZMTP 3.0 NULL ROUTER: [identity, body] of each message to `onMessage`. */
function zmtpRouter(onMessage: (identity: string, body: Uint8Array) => void) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const serve = async (conn: Deno.Conn) => {
    conns.push(conn);
    let buf = new Uint8Array(0);
    const need = async (n: number) => {
      while (buf.length < n) {
        const c = new Uint8Array(4096);
        const k = await conn.read(c);
        if (k === null) throw new Error("eof");
        buf = new Uint8Array([...buf, ...c.subarray(0, k)]);
      }
      const out = buf.slice(0, n);
      buf = buf.slice(n);
      return out;
    };
    const frame = async () => {
      const [flags] = await need(1);
      const size = flags & 2
        ? Number(new DataView((await need(8)).buffer).getBigUint64(0))
        : (await need(1))[0];
      return { flags, body: await need(size) };
    };
    // greeting: 0xFF, 8 pad, 0x7F, version 3.0, "NULL" in 20 bytes, as-server 0, 31 filler
    const g = new Uint8Array(64);
    g.set([0xff], 0), g.set([0x7f, 3, 0], 9), g.set(new TextEncoder().encode("NULL"), 12);
    const ready = [
      5,
      ...new TextEncoder().encode("READY"),
      11,
      ...new TextEncoder().encode("Socket-Type"),
      0,
      0,
      0,
      6,
      ...new TextEncoder().encode("ROUTER"),
    ];
    await conn.write(new Uint8Array([...g, 4, ready.length, ...ready]));
    const theirs = await need(64);
    assert.deepEqual([theirs[0], theirs[9], theirs[10]], [0xff, 0x7f, 3]);
    assert.equal(new TextDecoder().decode(theirs.subarray(12, 16)), "NULL");
    const cmd = await frame();
    assert.ok(cmd.flags & 4, "READY is a command");
    const text = new TextDecoder().decode(cmd.body);
    assert.match(text, /READY.*Socket-Type.*DEALER/s);
    const id = /Identity\0\0\0.(.*)$/s.exec(text)?.[1] ?? "";
    for (;;) {
      const f = await frame();
      if (!(f.flags & 4)) onMessage(id, f.body);
    }
  };
  const accepting = (async () => {
    for await (const c of listener) serve(c).catch(() => {});
  })().catch(() => {});
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
}

Deno.test("sim P2P-NCCL: registers with the proxy like vLLM (msgpack, DEALER identity) and stops with the engine", async () => {
  const got: { identity: string; msg: Record<string, unknown> }[] = [];
  const router = zmtpRouter((identity, body) =>
    got.push({ identity, msg: decode(body) as Record<string, unknown> })
  );
  const proxyPort = String(router.port);
  const kv = {
    kv_connector: "P2pNcclConnector",
    kv_role: "kv_consumer",
    kv_port: 0,
    kv_connector_extra_config: { proxy_ip: "127.0.0.1", proxy_port: proxyPort, http_port: "8299" },
  };
  const sim = await startSim(["--speed", "100", "--kv-transfer-config", JSON.stringify(kv)], {
    VLLM_HOST_IP: "127.0.0.1",
  });
  const waitFor = async (what: string, ok: () => boolean) => {
    const until = performance.now() + 15_000;
    while (!ok() && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.ok(ok(), `not within 15 s: ${what}`);
  };
  let n = -1;
  try {
    // the first ping goes out as soon as the DEALER is connected; the next every 3 s
    // (that interval, and the drain, are checked on a manual clock in _lifecycle_test.ts)
    await waitFor("a ping", () => got.length >= 1);
    const kvPort = /side channel on [\d.]+:(\d+)/.exec(sim.lines.join("\n"))?.[1];
    assert.ok(kvPort, "the side channel port is logged");
    for (const g of got) {
      assert.deepEqual(g.msg, {
        type: "D",
        http_address: "127.0.0.1:8299",
        zmq_address: `127.0.0.1:${kvPort}`,
      });
      assert.equal(g.identity, `127.0.0.1:${kvPort}`); // the DEALER's identity
    }
    // the first SIGTERM stops the pings (the engine would drain 7 s)
    sim.child.kill("SIGTERM");
    await waitFor("stopped registering", () => /stopped registering/.test(sim.lines.join("\n")));
    n = got.length;
  } finally {
    // a second signal, over a second after the first, stops it at once
    await new Promise((r) => setTimeout(r, 1100));
    await sim.stop(15_000);
  }
  assert.equal(got.length, n, "no ping after the first signal");
  await router.close();
});
