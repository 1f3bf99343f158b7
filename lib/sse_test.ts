import assert from "node:assert/strict";
import { sseEventBytes, sseEvents, SseParser } from "./sse.ts";

Deno.test("SseParser joins split chunks, multi-line data, CRLF, skips comments", () => {
  const p = new SseParser();
  assert.deepEqual(p.push('data: {"a"'), []);
  assert.deepEqual(p.push(":1}\n\n: keepalive\n\nevent: x\r\ndata: l1\r\ndata:l2\r\n\r\n"), [
    '{"a":1}',
    "l1\nl2",
  ]);
  assert.deepEqual(p.push("data: [DONE]"), []);
  assert.deepEqual(p.flush(), ["[DONE]"]);
});

Deno.test("sseEvents reads a real HTTP stream split at odd byte boundaries", async () => {
  const text = "data: héllo\n\ndata: [DONE]\n\n";
  const bytes = new TextEncoder().encode(text);
  const ac = new AbortController();
  const server = Deno.serve({ port: 0, signal: ac.signal, onListen() {} }, () =>
    new Response(
      new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
          c.close();
        },
      }),
    ));
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  const got: string[] = [];
  for await (const d of sseEvents(res.body!)) got.push(d);
  assert.deepEqual(got, ["héllo", "[DONE]"]);
  ac.abort();
  await server.finished;
});

Deno.test("SseParser: a 1 MB event fed in small chunks, and CRLF split across chunks", () => {
  const p = new SseParser();
  const big = "x".repeat(1 << 20);
  const text = `data: ${big}\r\n\r\ndata: after\r\n\r\n`;
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 4093) out.push(...p.push(text.slice(i, i + 4093)));
  out.push(...p.flush());
  assert.deepEqual(out.map((d) => d.length), [big.length, 5]);
  assert.equal(out[0], big);
  assert.equal(out[1], "after");
});

Deno.test("sseEventBytes: the bytes TextEncoder gives, ASCII or not, short or long", () => {
  const enc = new TextEncoder();
  for (
    const t of ['{"a":1}', "", "héllo ✓", "x".repeat(5000), '{"t":"\\u00e9"}', "é".repeat(3000)]
  ) {
    assert.deepEqual(sseEventBytes(t), enc.encode(`data: ${t}\n\n`));
  }
});
