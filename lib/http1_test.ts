import assert from "node:assert/strict";
import { Canceller, closeIdle, DEFAULT_IDLE_MS, http1, idleCount, idleMsOf } from "./http1.ts";
import { connectTurn, endConnect, MAX_CONNECTING, Reader, release } from "./_http1_pool.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

/** A raw TCP server answering each request head with `answer(n)` (n counts requests). */
function rawServer(answer: (n: number) => string | Uint8Array[], closeAfter = false) {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let n = 0;
  const serve = async (c: Deno.Conn) => {
    conns.add(c);
    const buf = new Uint8Array(65536);
    let text = "";
    try {
      for (;;) {
        const k = await c.read(buf);
        if (k === null) break;
        text += dec.decode(buf.subarray(0, k));
        const h = text.indexOf("\r\n\r\n");
        if (h < 0) continue;
        const len = Number(/content-length: (\d+)/i.exec(text.slice(0, h))?.[1] ?? 0);
        if (text.length < h + 4 + len) continue;
        text = text.slice(h + 4 + len);
        const a = answer(n++);
        for (const part of typeof a === "string" ? [enc.encode(a)] : a) {
          await c.write(part);
          await new Promise((r) => setTimeout(r, 5));
        }
        if (closeAfter) break;
      }
    } catch { /* client gone */ }
    conns.delete(c);
    try {
      c.close();
    } catch { /* closed by dispose */ }
  };
  const serving = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const c of l) {
      const p = serve(c);
      serving.add(p);
      p.finally(() => serving.delete(p));
    }
  })();
  return {
    url: new URL(`http://127.0.0.1:${(l.addr as Deno.NetAddr).port}/v1/x`),
    count: () => n,
    async [Symbol.asyncDispose]() {
      closeIdle();
      l.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await loop.catch(() => {});
      await Promise.all(serving);
    },
  };
}

async function get(url: URL, signal?: AbortSignal) {
  let status = 0;
  let body = "";
  await http1({
    url,
    headers: { "content-type": "application/json" },
    body: enc.encode("{}"),
    signal,
    onHead: (s) => (status = s),
    onData: (b) => (body += dec.decode(b)),
  });
  return { status, body };
}

Deno.test("http1: chunked bodies split anywhere, content-length, keep-alive reuse", async () => {
  const chunked = [
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n5\r\nhel",
    "lo\r\n",
    "6\r\n world\r\n0\r\n",
    "\r\n",
  ].map((s) => enc.encode(s));
  await using s = rawServer((n) =>
    n % 2 === 0 ? chunked : "HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\nnope"
  );
  assert.deepEqual(await get(s.url), { status: 200, body: "hello world" });
  assert.deepEqual(await get(s.url), { status: 404, body: "nope" });
  assert.deepEqual(await get(s.url), { status: 200, body: "hello world" });
  assert.equal(s.count(), 3);
});

Deno.test("http1: a body until close; a pooled connection the server closed is retried", async () => {
  await using s = rawServer(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", true);
  // the server closes after each answer: the pooled connection is dead on reuse
  for (let i = 0; i < 3; i++) assert.deepEqual(await get(s.url), { status: 200, body: "ok" });
  await using c = rawServer(() => "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil close", true);
  assert.deepEqual(await get(c.url), { status: 200, body: "until close" });
});

Deno.test("http1: abort ends a stream at once; a broken stream and a refused connect throw", async () => {
  await using s = rawServer(() =>
    [
      "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n",
      ...Array.from({ length: 200 }, () => "1\r\nx\r\n"),
    ].map((x) => enc.encode(x))
  );
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error("stop now")), 50);
  const t0 = performance.now();
  await assert.rejects(get(s.url, ac.signal), /stop now/);
  assert.ok(performance.now() - t0 < 500);
  await using b = rawServer(
    () => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nab",
    true,
  );
  await assert.rejects(get(b.url), /closed inside a chunked body/);
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(get(new URL(`http://127.0.0.1:${port}/`)), /refused/i);
});

Deno.test("http1: pooled connections the server closed while idle are dropped, not reused", async () => {
  // the server closes every connection as soon as its answer is written (after a short delay)
  const closeSoon: Uint8Array[] = [enc.encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")];
  await using s = rawServer(() => closeSoon, true);
  // five at once: five connections, all pooled, all closed by the server afterwards
  const first = await Promise.all(Array.from({ length: 5 }, () => get(s.url)));
  assert.ok(first.every((x) => x.body === "ok"));
  for (let i = 0; i < 50 && idleCount() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(idleCount(), 0, "the server's closes are seen while idle");
  const again = await Promise.all(Array.from({ length: 5 }, () => get(s.url)));
  assert.ok(again.every((x) => x.body === "ok"));
  assert.equal(s.count(), 10, "each request sent once");
});

Deno.test("http1: Keep-Alive timeout= sets how long an idle connection is reused", () => {
  const h = (o: Record<string, string>) => new Map(Object.entries(o));
  assert.equal(idleMsOf(h({})), DEFAULT_IDLE_MS);
  assert.equal(idleMsOf(h({ "keep-alive": "timeout=5, max=100" })), 4000);
  assert.equal(idleMsOf(h({ "keep-alive": "timeout=2" })), 1000);
  assert.equal(idleMsOf(h({ "keep-alive": "timeout=1" })), 0);
  assert.equal(idleMsOf(h({ connection: "close", "keep-alive": "timeout=5" })), 0);
});

Deno.test("http1: a new connection closed before any byte is not retried (the server may have taken it)", async () => {
  await using s = rawServer(() => [], true); // reads the request, answers nothing, closes
  await assert.rejects(get(s.url), /closed before the response head/);
  assert.equal(s.count(), 1, "sent once");
});

Deno.test("http1: 204 and 304 answers end at their head, whatever their headers", async () => {
  await using s = rawServer((n) =>
    n === 0
      ? "HTTP/1.1 204 No Content\r\n\r\n"
      : "HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n"
  );
  const t0 = performance.now();
  assert.deepEqual(await get(s.url), { status: 204, body: "" });
  assert.deepEqual(await get(s.url), { status: 304, body: "" });
  assert.ok(performance.now() - t0 < 2000, "no wait for a body that never comes");
});

Deno.test("http1 pool: past MAX_CONNECTING attempts a request waits for a connection given back, or a free attempt", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const key = `127.0.0.1:${l.addr.port}`;
  for (let i = 0; i < MAX_CONNECTING; i++) assert.equal(connectTurn(key, () => {}), null);
  let withdrawB: ((why: unknown) => void) | null = null;
  const waitA = connectTurn(key, () => {});
  const waitB = connectTurn(key, (w) => (withdrawB ??= w));
  assert.ok(waitA instanceof Promise && waitB instanceof Promise);
  // a connection given back goes to the first waiter, not to the idle pool
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  const accepted = await l.accept();
  const r = new Reader(conn);
  const idleBefore = idleCount();
  release(key, r, 1000);
  assert.equal(await waitA, r);
  assert.equal(idleCount(), idleBefore);
  // a withdrawn waiter is skipped; an attempt that ends lets the next one start its own
  withdrawB!(new Error("cancelled while waiting"));
  await assert.rejects(waitB as Promise<unknown>, /cancelled while waiting/);
  const waitC = connectTurn(key, () => {});
  endConnect(key);
  assert.equal(await waitC, null);
  for (let i = 0; i < MAX_CONNECTING; i++) endConnect(key);
  assert.equal(connectTurn(key, () => {}), null);
  endConnect(key);
  conn.close();
  accepted.close();
  l.close();
});

Deno.test("http1: a burst of requests past MAX_CONNECTING all complete", async () => {
  await using s = rawServer(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  const n = MAX_CONNECTING * 3;
  const answers = await Promise.all(Array.from({ length: n }, () => get(s.url)));
  assert.deepEqual(answers.map((a) => a.body), Array(n).fill("ok"));
  assert.equal(s.count(), n);
});

Deno.test("http1 pool: connections that expired at the bottom of the pool are closed when one is given back", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const key = `127.0.0.1:${l.addr.port}`;
  const open = async () => {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
    return { r: new Reader(c), peer: await l.accept() };
  };
  const [a, b, c] = [await open(), await open(), await open()];
  const before = idleCount();
  release(key, a.r, 1); // expires in 1 ms
  release(key, b.r, 60_000);
  await new Promise((r) => setTimeout(r, 20));
  release(key, c.r, 60_000);
  assert.equal(idleCount(), before + 2, "a closed, b and c pooled");
  assert.equal(await a.peer.read(new Uint8Array(1)), null, "the server sees a closed");
  closeIdle();
  for (const x of [a, b, c]) x.peer.close();
  l.close();
});

Deno.test("http1: a request cancelled as its last byte came does not give its closed connection to a waiting one", async () => {
  await using s = rawServer(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  const key = s.url.host;
  const canceller = new Canceller();
  let waiting: Promise<Reader | null> | null = null;
  await http1({
    url: s.url,
    headers: {},
    canceller,
    onData: () => {
      // another request waits for a connection (every attempt taken) as this one's body ends
      for (let i = 0; i < MAX_CONNECTING; i++) connectTurn(key, () => {});
      waiting = connectTurn(key, () => {});
      // a relay's reader cancelling the body once its head came: the cancel closes the socket
      canceller.cancel(new Error("body cancelled"));
    },
  });
  endConnect(key); // a free attempt for the waiter, unless it was given a connection first
  assert.equal(await waiting, null, "the waiter was not handed the cancelled request's socket");
  for (let i = 0; i < MAX_CONNECTING; i++) endConnect(key);
});
