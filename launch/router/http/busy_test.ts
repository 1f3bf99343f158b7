/**
 * A busy backend is not a dead one, through the router CLI: a stand-in engine
 * whose `/health` answers later than the probe's timeout while its streams
 * flow stays in rotation, and no request fails.
 */
import assert from "node:assert/strict";
import { chat, post, readStream, type Server, startRouter, stopAll } from "./_harness.ts";

const enc = new TextEncoder();
const CHUNK = enc.encode(`data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n`);
const DONE = enc.encode("data: [DONE]\n\n");

/** A stand-in engine: streams `chunks` chunks 50 ms apart; `/health` takes `slowMs` while any stream is open. */
function busyEngine(chunks: number, slowMs: number) {
  const ac = new AbortController();
  let open = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      if (new URL(req.url).pathname === "/health") {
        if (open > 0) await new Promise((r) => setTimeout(r, slowMs));
        return new Response(null, { status: 200 });
      }
      await req.arrayBuffer();
      open++;
      let n = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          timer = setInterval(() => {
            if (n++ < chunks) return c.enqueue(CHUNK);
            clearInterval(timer);
            open--;
            c.enqueue(DONE);
            c.close();
          }, 50);
        },
        cancel() {
          clearInterval(timer);
          open--;
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    stop: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("router: a backend whose /health is slower than the probe's timeout while its streams flow stays in rotation", async () => {
  const engine = busyEngine(30, 1500);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "agg-busy",
      kind: "agg",
      backends: [{ name: "engine-0", url: engine.url }],
      healthIntervalMs: 200, // probe timeout 500 ms; /health takes 1,500 ms while busy
    });
    const failures: string[] = [];
    const one = async (i: number) => {
      const res = await post(`${r!.url}/v1/chat/completions`, chat(`busy ${i}`));
      if (res.status !== 200) return failures.push(`${res.status} ${await res.text()}`);
      const s = await readStream(res);
      const err = s.events.find((e) => e.includes('"error"'));
      if (err || s.text.length !== 30) failures.push(err ?? `${s.text.length} chunks`);
    };
    // three waves of streams, 0.7 s apart, each stream 1.5 s long: several probes time out meanwhile
    const all: Promise<unknown>[] = [];
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 8; i++) all.push(one(wave * 8 + i));
      await new Promise((res) => setTimeout(res, 700));
    }
    await Promise.all(all);
    assert.deepEqual(failures.slice(0, 3), [], `${failures.length} of 24 failed`);
    const st = await (await fetch(`${r.url}/status`)).json();
    assert.equal(st.backends[0].healthy, true);
  } finally {
    await stopAll([r]);
    await engine.stop();
  }
});
