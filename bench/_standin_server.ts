/**
 * A stand-in for the proxies users put in front of vLLM (vLLM's xPyD proxy,
 * its NIXL toy proxy behind uvicorn, gateways), for tests: a raw HTTP/1.1
 * server on 127.0.0.1 whose odd behaviours are switches (the Content-Type it
 * streams SSE under, closing idle keep-alive connections, closing in the middle
 * of a body, no `usage`). It answers every POST with `tokens` completion chunks.
 *
 * @module
 */

/** What the stand-in does. */
export interface StandinOptions {
  /** Content-Type of the streamed answer. @default "text/event-stream" */
  contentType?: string;
  /** Completion chunks per answer, one word each. @default 8 */
  tokens?: number;
  /** Gap between chunks, ms. @default 5 */
  tokenGapMs?: number;
  /** Close a keep-alive connection that stays idle this long (uvicorn: 5 s); 0 never. @default 0 */
  idleCloseMs?: number;
  /** Close the connection after this many chunks of answer number `closeOnRequest`. */
  closeMidBodyAfter?: number;
  /** Which request (0-based) is cut mid-body. @default 0 */
  closeOnRequest?: number;
  /** Send a final `usage` chunk. @default true */
  usage?: boolean;
}

/** A running stand-in. */
export interface Standin extends AsyncDisposable {
  url: string;
  /** POST requests received so far. */
  requests(): number;
  /** Connections accepted so far. */
  connections(): number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Starts a stand-in on a free loopback port. */
export function standin(o: StandinOptions = {}): Standin {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  let posts = 0;
  let accepted = 0;
  const serving = new Set<Promise<void>>();
  const loop = (async () => {
    for await (const c of l) {
      accepted++;
      conns.add(c);
      const p = serveConn(c, o, () => posts++).catch(() => {}).finally(() => {
        conns.delete(c);
        try {
          c.close();
        } catch { /* closed */ }
      });
      serving.add(p);
      p.finally(() => serving.delete(p));
    }
  })();
  return {
    url: `http://127.0.0.1:${(l.addr as Deno.NetAddr).port}`,
    requests: () => posts,
    connections: () => accepted,
    async [Symbol.asyncDispose]() {
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

/** Reads with a deadline; null at EOF or when `ms` passes first (then the caller closes). */
async function readFor(c: Deno.Conn, buf: Uint8Array, ms: number): Promise<number | null> {
  if (ms <= 0) return await c.read(buf);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    return await Promise.race([c.read(buf), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function serveConn(c: Deno.Conn, o: StandinOptions, count: () => number): Promise<void> {
  const buf = new Uint8Array(65536);
  let text = "";
  for (;;) {
    // a request head and its content-length body; idle keep-alives are closed like uvicorn's
    const h = text.indexOf("\r\n\r\n");
    const len = h < 0 ? 0 : Number(/content-length: *(\d+)/i.exec(text.slice(0, h))?.[1] ?? 0);
    if (h < 0 || text.length < h + 4 + len) {
      const n = await readFor(c, buf, text === "" ? o.idleCloseMs ?? 0 : 0);
      if (n === null) return;
      text += dec.decode(buf.subarray(0, n));
      continue;
    }
    const head = text.slice(0, h);
    text = text.slice(h + 4 + len);
    if (head.startsWith("GET")) {
      // a model list, and no /version (vLLM's proxies answer only the OpenAI routes)
      const models = head.startsWith("GET /v1/models ");
      const body = enc.encode(JSON.stringify(models ? { data: [{ id: "standin" }] } : {}));
      await c.write(enc.encode(
        `HTTP/1.1 ${
          models ? "200 OK" : "404 Not Found"
        }\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      ));
      await c.write(body);
      continue;
    }
    const n = count();
    if (!(await answer(c, o, n))) return;
  }
}

/** Streams one answer (chunked); false when it closed the connection mid-body. */
async function answer(c: Deno.Conn, o: StandinOptions, n: number): Promise<boolean> {
  const ctype = o.contentType ?? "text/event-stream";
  await c.write(enc.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: ${ctype}\r\ntransfer-encoding: chunked\r\n\r\n`,
  ));
  const tokens = o.tokens ?? 8;
  const chunk = (s: string) =>
    c.write(enc.encode(`${enc.encode(s).length.toString(16)}\r\n${s}\r\n`));
  for (let i = 0; i < tokens; i++) {
    if (o.closeMidBodyAfter === i && (o.closeOnRequest ?? 0) === n) return false;
    await chunk(`data: ${JSON.stringify({ choices: [{ index: 0, text: " hello" }] })}\n\n`);
    await new Promise((r) => setTimeout(r, o.tokenGapMs ?? 5));
  }
  if (o.usage !== false) {
    const usage = { prompt_tokens: 8, completion_tokens: tokens, total_tokens: 8 + tokens };
    await chunk(`data: ${JSON.stringify({ choices: [], usage })}\n\n`);
  }
  await chunk("data: [DONE]\n\n");
  await c.write(enc.encode("0\r\n\r\n"));
  return true;
}
