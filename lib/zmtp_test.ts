import assert from "node:assert/strict";
import { Dealer, greeting, readyCommand, RouterSocket } from "./zmtp.ts";

Deno.test("zmtp: a DEALER's messages reach the ROUTER with its identity, short and long frames, multipart", async () => {
  const got: [string, number[]][] = [];
  const router = new RouterSocket("127.0.0.1", 0, (id, frames) => {
    got.push([new TextDecoder().decode(id), frames.map((f) => f.length)]);
  });
  const dealer = new Dealer("127.0.0.1", router.port, new TextEncoder().encode("me:1"), 50);
  try {
    for (let i = 0; i < 100 && !dealer.connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(dealer.connected);
    assert.ok(await dealer.send(new Uint8Array(3)));
    assert.ok(await dealer.send(new Uint8Array(1000), new Uint8Array(0), new Uint8Array(256)));
    for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, [["me:1", [3]], ["me:1", [1000, 0, 256]]]);
  } finally {
    dealer.close();
    await router.close();
  }
  // with the ROUTER gone the DEALER drops sends instead of queueing them
  assert.equal(await dealer.send(new Uint8Array(1)), false);
});

Deno.test("zmtp: a DEALER started before its ROUTER connects once it is there", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const dealer = new Dealer("127.0.0.1", port, new TextEncoder().encode("early"), 50);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(dealer.connected, false);
  const got: string[] = [];
  const router = new RouterSocket(
    "127.0.0.1",
    port,
    (id) => got.push(new TextDecoder().decode(id)),
  );
  try {
    for (let i = 0; i < 100 && !dealer.connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await dealer.send(new Uint8Array(1)));
    for (let i = 0; i < 100 && got.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["early"]);
  } finally {
    dealer.close();
    await router.close();
  }
});

/** A raw connection that has done the greeting and READY as a DEALER. */
async function rawDealer(port: number): Promise<Deno.TcpConn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(greeting());
  await c.write(readyCommand({ "Socket-Type": new TextEncoder().encode("DEALER") }));
  return c;
}

/** Reads until the peer closes; false if it is still open after `ms`. */
async function closedWithin(c: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(4096);
  const t = setTimeout(() => c.close(), ms);
  try {
    while ((await c.read(buf)) !== null) { /* greeting, READY */ }
    return true;
  } catch {
    return false; // our timer closed it
  } finally {
    clearTimeout(t);
    try {
      c.close();
    } catch { /* closed */ }
  }
}

Deno.test("zmtp: a frame declaring 2^62 bytes, a message of too many frames: the ROUTER closes that peer, says why, and serves others", async () => {
  const refused: string[] = [];
  const got: number[] = [];
  const router = new RouterSocket("127.0.0.1", 0, (_id, f) => got.push(f.length), {
    onRefuse: (why, remote) => refused.push(`${why} from ${remote}`),
  });
  try {
    const huge = await rawDealer(router.port);
    const head = new Uint8Array(9);
    head[0] = 0x02;
    new DataView(head.buffer).setBigUint64(1, 2n ** 62n);
    await huge.write(head);
    await huge.write(new Uint8Array(1 << 20)).catch(() => {});
    assert.ok(await closedWithin(huge, 3000), "the peer declaring 2^62 bytes is closed");
    const many = await rawDealer(router.port);
    await many.write(new Uint8Array(2 * 100).map((_, i) => i % 2 ? 0 : 1)).catch(() => {});
    assert.ok(
      await closedWithin(many, 3000),
      "the peer sending 100 frames in one message is closed",
    );
    assert.match(
      refused[0],
      /^a frame of 4611686018427387904 bytes \(the limit is 65536\) from 127\.0\.0\.1:\d+$/,
    );
    assert.match(refused[1], /a message of over 65536 bytes or 64 frames/);
    const ok = new Dealer("127.0.0.1", router.port, new TextEncoder().encode("ok"), 50);
    for (let i = 0; i < 100 && !ok.connected; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(await ok.send(new Uint8Array(60_000)));
    for (let i = 0; i < 100 && !got.length; i++) await new Promise((r) => setTimeout(r, 20));
    ok.close();
    assert.deepEqual(got, [1]);
  } finally {
    await router.close();
  }
});

Deno.test("zmtp: half-open greetings and idle peers are closed after their timeouts; connections beyond the cap at once", async () => {
  const refused: string[] = [];
  const router = new RouterSocket("127.0.0.1", 0, () => {}, {
    handshakeTimeoutMs: 300,
    idleTimeoutMs: 600,
    maxConnections: 3,
    onRefuse: (why) => refused.push(why),
  });
  try {
    const half = await Deno.connect({ hostname: "127.0.0.1", port: router.port });
    await half.write(greeting()); // greeting, no READY
    const idle = await rawDealer(router.port);
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: router.port });
    await new Promise((r) => setTimeout(r, 100));
    const extra = await Deno.connect({ hostname: "127.0.0.1", port: router.port });
    assert.ok(await closedWithin(extra, 1000), "the 4th connection is closed at once");
    assert.ok(await closedWithin(half, 3000), "a greeting without READY is closed");
    assert.ok(await closedWithin(silent, 3000), "a connection that says nothing is closed");
    assert.ok(await closedWithin(idle, 3000), "an idle peer is closed");
    assert.deepEqual(refused.sort(), [
      "no byte for 0.6 s (idle timeout)",
      "no handshake within 0.3 s",
      "no handshake within 0.3 s",
      "over 3 connections",
    ]);
  } finally {
    await router.close();
  }
});
