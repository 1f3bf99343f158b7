import assert from "node:assert/strict";
import { type HttpServeOptions, rawRequest, rawResponse, serveHttp } from "./http_server.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Starts a server on 127.0.0.1, runs `fn` with it and stops it. */
async function withServer(
  o: Partial<HttpServeOptions>,
  handler: (req: Request) => Response | Promise<Response>,
  fn: (port: number, stats: () => { gone: number; refused: number }) => Promise<void>,
): Promise<void> {
  const ac = new AbortController();
  const s = serveHttp({ hostname: "127.0.0.1", port: 0, signal: ac.signal, ...o }, handler);
  try {
    await fn(s.addr.port, s.stats);
  } finally {
    ac.abort();
    await s.finished;
  }
}

/** Everything the server sends until it closes (or `ms` pass); an error ends it. */
async function readAll(c: Deno.Conn, ms = 3000): Promise<string> {
  const buf = new Uint8Array(65536);
  let text = "";
  const timer = setTimeout(() => c.close(), ms);
  try {
    for (let n; (n = await c.read(buf)) !== null;) text += dec.decode(buf.subarray(0, n));
  } catch (e) {
    text += `<${e}>`;
  } finally {
    clearTimeout(timer);
    try {
      c.close();
    } catch { /* closed */ }
  }
  return text;
}

/** Sends raw bytes on a new connection and reads until the server closes. */
async function exchange(port: number, raw: string, ms?: number): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  await c.write(enc.encode(raw));
  return await readAll(c, ms);
}

function assertStringIncludes(text: string, part: string): void {
  assert.ok(text.includes(part), `${JSON.stringify(part)} not in ${JSON.stringify(text)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("serveHttp: a bodiless request's slow handler is not cut by the head timeout", async () => {
  await withServer({ headerTimeoutMs: 200 }, async (req) => {
    await sleep(700);
    return new Response(`slow ${req.method}`);
  }, async (port) => {
    for (const m of ["GET", "POST"]) {
      const text = await exchange(
        port,
        `${m} / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
      );
      assertStringIncludes(text, "200 OK");
      assertStringIncludes(text, `slow ${m}`);
    }
  });
});

/**
 * Sends a head and part of a body, waits for the answer to be written, sends
 * more of the body (a client still sending), then reads the answer.
 */
async function postUnread(port: number): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const part = new Uint8Array(64 << 10).fill(97);
  try {
    await c.write(enc.encode(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${1 << 20}\r\n\r\n`));
    for (let off = 0; off < part.length;) off += await c.write(part.subarray(off));
    await sleep(100);
    for (let off = 0; off < part.length;) off += await c.write(part.subarray(off));
  } catch (e) {
    c.close();
    return `<write: ${e}>`;
  }
  return await readAll(c);
}

Deno.test("serveHttp: an answer sent before the request body is read reaches the client", async () => {
  await withServer({}, () => new Response("too large", { status: 413 }), async (port) => {
    for (let i = 0; i < 3; i++) {
      const text = await postUnread(port);
      assertStringIncludes(text, "413 Content Too Large");
      assertStringIncludes(text, "too large");
    }
  });
});

Deno.test("serveHttp: the connection cap's 503 reaches a client that sends a body", async () => {
  await withServer(
    { maxConnections: 1, warn: () => {} },
    () => new Response("ok"),
    async (port) => {
      const hold = await Deno.connect({ hostname: "127.0.0.1", port });
      await sleep(50);
      try {
        const text = await postUnread(port);
        assertStringIncludes(text, "503 Service Unavailable");
      } finally {
        hold.close();
      }
    },
  );
});

Deno.test("serveHttp: at the connection cap an idle kept-alive connection makes room", async () => {
  await withServer(
    { maxConnections: 1, warn: () => {} },
    () => new Response("ok"),
    async (port) => {
      const idle = await Deno.connect({ hostname: "127.0.0.1", port });
      await idle.write(enc.encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
      const buf = new Uint8Array(4096);
      assertStringIncludes(dec.decode(buf.subarray(0, (await idle.read(buf))!)), "200 OK");
      const text = await exchange(port, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
      assertStringIncludes(text, "200 OK");
      assert.deepEqual(await readAll(idle, 1000), "", "the idle connection was closed");
    },
  );
});

function failing(firstChunk: string | null, headers: HeadersInit): Response {
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(c) {
        if (firstChunk !== null) {
          c.enqueue(enc.encode(firstChunk));
          firstChunk = null;
          await sleep(50); // written before the failure
          return;
        }
        throw new Error("boom");
      },
    }),
    { headers },
  );
}

Deno.test("serveHttp: a body that fails before its first chunk is answered by onError", async () => {
  const seen: unknown[] = [];
  const onError = (e: unknown) => (seen.push(e), new Response("failed", { status: 502 }));
  await withServer({ onError }, (req) => {
    const sse = new URL(req.url).pathname === "/sse";
    return failing(null, sse ? { "content-type": "text/event-stream" } : {});
  }, async (port, stats) => {
    for (const path of ["/sse", "/whole"]) {
      const text = await exchange(port, `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
      assertStringIncludes(text, "502 Bad Gateway");
      assertStringIncludes(text, "failed");
    }
    assert.deepEqual(seen.length, 2);
    assert.deepEqual(stats().gone, 0);
  });
});

Deno.test("serveHttp: a body that fails midway keeps what was written and is not 'gone'", async () => {
  await withServer(
    {},
    () => failing("data: 1\n\n", { "content-type": "text/event-stream" }),
    async (port, stats) => {
      const text = await exchange(port, "GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      assertStringIncludes(text, "200 OK");
      assertStringIncludes(text, "data: 1\n\n");
      assert.ok(!text.includes("0\r\n\r\n"), "no last chunk: the answer is cut");
      assert.deepEqual(stats().gone, 0);
    },
  );
});

Deno.test("serveHttp: a body that fails right after a chunk, before any write, still sends the chunk", async () => {
  // the engine's injected mid-stream failure under load: the status is 200 and the chunk arrives
  const body = () =>
    new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(enc.encode("data: 1\n\n")); // taken by the server's pending read
        c.error(new Error("injected")); // at once: its next read fails straight away
      },
    }, { highWaterMark: 0 }); // pulled only by a read
  await withServer(
    {},
    () => new Response(body(), { headers: { "content-type": "text/event-stream" } }),
    async (port) => {
      const text = await exchange(port, "GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      assertStringIncludes(text, "200 OK");
      assertStringIncludes(text, "data: 1\n\n");
    },
  );
});

function endless(cancelled: string[], name: string): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    pull: async (c) => {
      await sleep(20);
      c.enqueue(enc.encode("data: x\n\n"));
    },
    cancel: () => void cancelled.push(name),
  });
}

Deno.test("serveHttp: a HEAD answer's body is cancelled; HEAD, 204 and 304 are framed right", async () => {
  const cancelled: string[] = [];
  await withServer({}, (req) => {
    const p = new URL(req.url).pathname;
    if (p === "/len") return new Response("hello", { headers: { "content-length": "5" } });
    if (p === "/204" || p === "/304") return new Response(null, { status: Number(p.slice(1)) });
    return new Response(endless(cancelled, p));
  }, async (port) => {
    const head = await exchange(
      port,
      "HEAD /head HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    );
    assertStringIncludes(head, "200 OK");
    assert.ok(!head.includes("content-length: 0"), head);
    for (const p of ["/204", "/304"]) {
      const text = await exchange(
        port,
        `GET ${p} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
      );
      assertStringIncludes(text, `HTTP/1.1 ${p.slice(1)} `);
      assert.ok(!/content-length|transfer-encoding/.test(text), text);
    }
    const len = await exchange(port, "HEAD /len HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    assertStringIncludes(len, "content-length: 5\r\n");
    assert.ok(len.endsWith("\r\n\r\n"), "no body after a HEAD head");
    await sleep(100);
    assert.deepEqual(cancelled, ["/head"]);
  });
});

/** A stream with one piece now and its end once `release` is called. */
function held(): { body: ReadableStream<Uint8Array>; release: () => void } {
  let release = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(enc.encode("first;"));
      release = () => (c.enqueue(enc.encode("last")), c.close());
    },
  });
  return { body, release: () => release() };
}

Deno.test("serveHttp: a stream of unknown length is streamed (HTTP/1.0 raw, 1.1 chunked)", async () => {
  let release = () => {};
  await withServer({}, () => {
    const h = held();
    release = h.release;
    return new Response(h.body, { headers: { "content-type": "application/x-ndjson" } });
  }, async (port) => {
    for (const v of ["1.0", "1.1"]) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(enc.encode(`GET / HTTP/${v}\r\nhost: x\r\nconnection: close\r\n\r\n`));
      const buf = new Uint8Array(4096);
      let text = "";
      let buffered = false; // the answer came only once the stream ended
      const timer = setTimeout(() => (buffered = true, release()), 1000);
      while (!text.includes("first;")) text += dec.decode(buf.subarray(0, (await c.read(buf))!));
      clearTimeout(timer);
      assert.ok(!buffered, `HTTP/${v}: the first piece waited for the end`);
      release();
      text += await readAll(c);
      if (v === "1.0") {
        assert.ok(!text.includes("transfer-encoding"), text);
        assertStringIncludes(text, "connection: close\r\n");
        assert.ok(text.endsWith("\r\n\r\nfirst;last"), text);
      } else {
        assertStringIncludes(text, "transfer-encoding: chunked\r\n");
        assert.ok(text.endsWith("6\r\nfirst;\r\n4\r\nlast\r\n0\r\n\r\n"), text);
      }
    }
  });
});

Deno.test("serveHttp: an over-long chunk-size or trailer line is answered 400", async () => {
  await withServer({}, async (req) => new Response(await req.text()), async (port) => {
    const long = "a".repeat(9000);
    for (const body of [`1;ext=${long}\r\nx\r\n0\r\n\r\n`, `1\r\nx\r\n0\r\nx-t: ${long}\r\n\r\n`]) {
      const text = await exchange(
        port,
        `POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n${body}`,
      );
      assertStringIncludes(text, "400 Bad Request");
    }
  });
});

Deno.test("serveHttp rawRequests: headers, whole body and client signal beside the request; rawResponse's head as given", async () => {
  let seen:
    | { headers: [string, string][]; body: string; reqBody: boolean; aborted: boolean }
    | null = null;
  await withServer({ rawRequests: true }, (req) => {
    const raw = rawRequest(req)!;
    seen = {
      headers: raw.headers,
      body: dec.decode(raw.body!),
      reqBody: req.body !== null,
      aborted: raw.signal.aborted,
    };
    return rawResponse("ok", 200, [["x-b", "2"], ["content-type", "text/plain"], ["x-a", "1"]]);
  }, async (port) => {
    const text = await exchange(
      port,
      "POST /p HTTP/1.1\r\nHost: h\r\nX-Two: a\r\nx-two: b\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert.match(
      text,
      /^HTTP\/1\.1 200 OK\r\nx-b: 2\r\ncontent-type: text\/plain\r\nx-a: 1\r\n/,
    );
    assert.ok(text.endsWith("\r\n\r\nok"), text);
  });
  assert.deepEqual(seen, {
    headers: [["host", "h"], ["x-two", "a"], ["x-two", "b"], ["content-length", "5"], [
      "connection",
      "close",
    ]],
    body: "hello",
    reqBody: false,
    aborted: false,
  });
});

Deno.test("serveHttp rawRequests: the request reads as a Request does (json of a whole body, text of a chunked one, once), not a Request", async () => {
  const seen: unknown[] = [];
  await withServer({ rawRequests: true }, async (req) => {
    seen.push(
      req instanceof Request,
      req.method,
      new URL(req.url).pathname,
      req.headers.get("x-a"),
    );
    seen.push(req.headers.get("transfer-encoding") ? await req.text() : await req.json());
    seen.push(req.bodyUsed, await req.text().catch((e) => e.constructor.name));
    return rawResponse(`{"ok":true}`, 200, [["content-type", "application/json"]]);
  }, async (port) => {
    const whole = await exchange(
      port,
      `POST /v1/x HTTP/1.1\r\nhost: h\r\nx-a: 1\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{"n":3}`,
    );
    assert.ok(whole.endsWith(`content-length: 11\r\n\r\n{"ok":true}`), whole);
    const chunked = await exchange(
      port,
      "POST /v1/y HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    );
    assert.ok(chunked.endsWith(`{"ok":true}`), chunked);
  });
  assert.deepEqual(seen, [
    false,
    "POST",
    "/v1/x",
    "1",
    { n: 3 },
    true,
    "TypeError",
    false,
    "POST",
    "/v1/y",
    null,
    "abcde",
    true,
    "TypeError",
  ]);
});
