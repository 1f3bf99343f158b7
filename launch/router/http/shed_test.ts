/**
 * The router sheds, not dies (issue 26): a low open-files limit and a flood of
 * idle connections, slow heads, bodies and kept-alive connections, a client
 * that does not read, clients that leave, malformed bodies and cross-site
 * control requests, all against the router CLI on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { startReady } from "../../../lib/ready_process.ts";
import {
  chat,
  post,
  ROUTER_MAIN,
  scrape,
  startNixlPd,
  startRouter,
  startSim,
  stopAll,
} from "./_harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The router CLI under `ulimit -n <nofile>`, with `config`. */
async function routerWithLimit(config: unknown, nofile: number, extra: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "shed_" });
  await Deno.writeTextFile(`${dir}/router.json`, JSON.stringify(config));
  const p = await startReady({
    cmd: "bash",
    args: [
      "-c",
      `ulimit -n ${nofile}; exec "$0" run -A "$1" --config "$2" --port 0 ${extra.join(" ")}`,
      Deno.execPath(),
      ROUTER_MAIN,
      `${dir}/router.json`,
    ],
    ready: /^Router listening on (http:\/\/\S+)$/,
    timeoutMs: 30_000,
  });
  return Object.assign(p, { url: p.match[1], dir });
}

/** Opens `n` TCP connections to `url` (stops at the first that fails). */
async function openIdle(url: string, n: number): Promise<Deno.TcpConn[]> {
  const u = new URL(url);
  const out: Deno.TcpConn[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(await Deno.connect({ hostname: u.hostname, port: Number(u.port) }));
    } catch {
      break;
    }
  }
  return out;
}

/** Everything a connection sends until it closes (or `ms` pass): [text, closed]. */
async function readAll(c: Deno.Conn, ms: number): Promise<[string, boolean]> {
  const buf = new Uint8Array(65536);
  let text = "";
  const end = Date.now() + ms;
  for (;;) {
    const left = end - Date.now();
    if (left <= 0) return [text, false];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      c.read(buf).catch(() => null),
      new Promise<"time">((r) => (timer = setTimeout(() => r("time"), left))),
    ]);
    clearTimeout(timer);
    if (n === "time") return [text, false];
    if (n === null) return [text, true];
    text += dec.decode(buf.subarray(0, n));
  }
}

const closeAll = (cs: Deno.Conn[]) =>
  cs.forEach((c) => {
    try {
      c.close();
    } catch { /* closed */ }
  });

const exited = (p: { done: Promise<Deno.CommandStatus> }) =>
  Promise.race([p.done.then(() => true), new Promise<boolean>((r) => setTimeout(r, 200, false))]);

Deno.test("router shed: 400 idle connections under ulimit -n 256 get 503s, never kill it", async () => {
  const sim = await startSim(["--speed", "50"]);
  const cfg = { name: "fd", kind: "agg", backends: [{ name: "e0", url: sim.url }] };
  // the default cap (from the limit), and one set above the limit: EMFILE pauses accepting
  const capped = await routerWithLimit(cfg, 256);
  const uncapped = await routerWithLimit(cfg, 256, ["--max-connections", "5000"]);
  try {
    for (const r of [capped, uncapped]) {
      const idle = await openIdle(r.url, 400);
      await new Promise((res) => setTimeout(res, 500));
      assert.equal(await exited(r), false, `router alive with ${idle.length} connections open`);
      if (r === capped) {
        const [text] = await readAll(idle[idle.length - 1], 2000);
        assert.match(text, /^HTTP\/1\.1 503 .*Too many connections/s);
      }
      closeAll(idle);
      await new Promise((res) => setTimeout(res, 1200));
      const res = await post(`${r.url}/v1/completions`, { prompt: "hi", max_tokens: 2 });
      assert.equal(res.status, 200, await res.text());
      assert.equal(await exited(r), false);
    }
    assert.ok(uncapped.lines.some((l) => /Out of file descriptors/.test(l)), "EMFILE logged");
  } finally {
    await stopAll([capped, uncapped, sim]);
    await Deno.remove(capped.dir, { recursive: true });
    await Deno.remove(uncapped.dir, { recursive: true });
  }
});

Deno.test("router shed: PD edge: timeouts, back-pressure, cancellations, bodies, control", async (t) => {
  const { p, d, r } = await startNixlPd("pd-shed", "pd", {}, [
    ...["--header-timeout", "1", "--body-timeout", "1", "--idle-timeout", "1"],
    ...["--admin-token", "s3cret-token"],
  ]);
  try {
    const url = r.url;
    const u = new URL(url);
    await t.step("slow heads, unfinished bodies and idle connections are cut", async () => {
      const conn = () => Deno.connect({ hostname: u.hostname, port: Number(u.port) });
      const silent = await conn();
      const loris = await conn();
      const body = await conn();
      await loris.write(enc.encode("POST /v1/completions HTTP/1.1\r\nhost: x\r\n"));
      const drip = setInterval(() => loris.write(enc.encode("x-a: b\r\n")).catch(() => {}), 200);
      await body.write(enc.encode(
        "POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{",
      ));
      const results = await Promise.all([silent, loris, body].map((c) => readAll(c, 4000)));
      clearInterval(drip);
      closeAll([silent, loris, body]);
      assert.deepEqual(results.map(([, closed]) => closed), [true, true, true]);
      // a kept-alive connection is closed after its idle timeout
      const ka = await conn();
      await ka.write(enc.encode("GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n"));
      const [text, closed] = await readAll(ka, 4000);
      ka.close();
      assert.match(text, /^HTTP\/1\.1 200/);
      assert.ok(closed, "closed after the idle timeout");
    });
    await t.step("client disconnects are cancellations, not backend errors", async () => {
      for (let i = 0; i < 10; i++) {
        // a client that reads the first event and closes its connection
        const c = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
        const body = JSON.stringify(chat(`leave ${i}`, { max_tokens: 400, ignore_eos: true }));
        await c.write(enc.encode(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        ));
        const buf = new Uint8Array(4096);
        let got = "";
        while (!got.includes("data:")) got += dec.decode(buf.subarray(0, (await c.read(buf)) ?? 0));
        assert.match(got, /^HTTP\/1\.1 200/);
        c.close();
      }
      await new Promise((res) => setTimeout(res, 500));
      const m = await scrape(url);
      const k = '{backend="decode-0",leg="decode"}';
      assert.equal(m.get(`topobench_router_errors_total${k}`) ?? 0, 0);
      assert.equal(m.get(`topobench_router_client_cancelled_total${k}`), 10);
      const st = await (await fetch(`${url}/status`)).json();
      const dec0 = st.backends.find((b: { name: string }) => b.name === "decode-0");
      assert.equal(dec0.healthy, true);
      assert.equal(dec0.errors, 0);
    });
    await t.step("malformed and deeply nested bodies are 400s naming the field", async () => {
      const nul = await post(`${url}/v1/chat/completions`, {
        messages: [{ role: "user", content: [null] }],
      });
      assert.equal(nul.status, 400);
      assert.match((await nul.json()).error.message, /messages\[0\]\.content\[0\]/);
      const deep = `{"prompt":"x","max_tokens":1,"x":${"[".repeat(5000)}${"]".repeat(5000)}}`;
      const res = await fetch(`${url}/v1/completions`, { method: "POST", body: deep });
      assert.equal(res.status, 400);
      assert.match((await res.json()).error.message, /nested \d+ levels deep/);
      const num = await post(`${url}/v1/completions`, { prompt: 42 });
      assert.equal(num.status, 400);
    });
    await t.step(
      "control endpoints refuse foreign origins, rebound hosts, no token, GET",
      async () => {
        const ok = { "x-admin-token": "s3cret-token" };
        const call = (path: string, headers: Record<string, string>, method = "POST") =>
          fetch(`${url}${path}`, { method, headers }).then(async (
            x,
          ) => (await x.body?.cancel(), x));
        assert.equal((await call("/mode/ppd", ok)).status, 200);
        assert.equal((await call("/mode/pd", {})).status, 401);
        assert.equal(
          (await call("/mode/pd", { ...ok, origin: "http://evil.example" })).status,
          403,
        );
        // a DNS-rebound page: its own name in Host (fetch sets Host itself, so a raw request)
        const c = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
        await c.write(enc.encode(
          "POST /metrics/clear HTTP/1.1\r\nhost: evil.example:80\r\nx-admin-token: s3cret-token\r\ncontent-length: 0\r\n\r\n",
        ));
        const [rebound] = await readAll(c, 3000);
        c.close();
        assert.match(rebound, /^HTTP\/1\.1 403/);
        assert.equal((await call("/mode/pd", ok, "GET")).status, 405);
        assert.equal((await call("/metrics/clear", ok, "GET")).status, 405);
        assert.equal(
          (await call("/mode/pd", { ...ok, origin: "http://localhost:3000" })).status,
          200,
        );
        // a cross-site "simple" POST (text/plain, no preflight) of a completion
        const plain = await fetch(`${url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "text/plain", origin: "https://evil.example" },
          body: JSON.stringify({ prompt: "hi", max_tokens: 1 }),
        });
        assert.equal(plain.status, 403);
        await plain.body?.cancel();
      },
    );
  } finally {
    await stopAll([r, p, d]);
  }
});

Deno.test("router shed: a client that does not read holds back its backend (bounded buffer)", async () => {
  // a stand-in engine that streams 40 MB of events as fast as it is read, counting what it sends
  let sentBytes = 0;
  const chunk = enc.encode(`data: ${JSON.stringify({ choices: [{ text: "x".repeat(900) }] })}\n\n`);
  const engine = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    if (new URL(req.url).pathname === "/health") return new Response("ok");
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sentBytes > 40e6) return c.close();
        sentBytes += chunk.length;
        c.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  const r = await startRouter({
    name: "bp",
    kind: "agg",
    backends: [{ name: "e0", url: `http://127.0.0.1:${engine.addr.port}` }],
  });
  try {
    const res = await post(`${r.url}/v1/completions`, { prompt: "hi", stream: true });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((res) => setTimeout(res, 1500));
    // the router holds at most its 64 KiB and the sockets' buffers, not the whole 40 MB
    assert.ok(sentBytes < 16e6, `engine sent ${(sentBytes / 1e6).toFixed(1)} MB to a non-reader`);
    await reader.cancel();
  } finally {
    await r.stop();
    await engine.shutdown();
  }
});
