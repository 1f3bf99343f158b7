/**
 * pd (xPyD) through the router CLI over real simulated engines: NIXL 1P1D and
 * 2P2D, P2P-NCCL 2P2D, LMCache 1P1D.
 */
import assert from "node:assert/strict";
import { freePort } from "../../../lib/net.ts";
import {
  chat,
  nixlSim,
  onePd,
  post,
  readStream,
  scrape,
  type Server,
  startNixlPd,
  startRouter,
  startSim,
  stopAll,
} from "./_harness.ts";

const text = (tag: string) => `${tag}: ` + "a b c d e f g h i j k l m n o p ".repeat(20);

Deno.test("router pd 1P1D nixl: handshake, decode gets the whole prompt from prefill", async () => {
  const { p, d, r } = await startNixlPd("pd-1p1d", "pd");
  try {
    const res = await post(`${r.url}/v1/chat/completions`, chat(text("one"), { max_tokens: 16 }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-backend"), "decode-0");
    assert.equal(res.headers.get("x-topobench-prefill-backend"), "prefill-0");
    assert.ok(Number(res.headers.get("x-topobench-prefill-ms")) > 0);
    assert.ok(Number(res.headers.get("x-topobench-transfer-ms")) > 0);
    const s = await readStream(res);
    assert.ok(s.text.length > 0);
    assert.equal(s.usage!.prompt_tokens_details!.cached_tokens, s.usage!.prompt_tokens);
    assert.ok(
      d.lines.some((l) =>
        /NIXL handshake: engine decode-0 connected to remote engine prefill-0/.test(l)
      ),
      "decode log has the NIXL handshake",
    );
    // The prefill leg generated exactly one token.
    const pm = await scrape(p.url);
    const gen = [...pm].find(([k]) => k.startsWith("vllm:generation_tokens_total"))![1];
    assert.equal(gen, 1);

    const whole = await post(`${r.url}/v1/completions`, { prompt: text("two"), max_tokens: 4 });
    assert.equal(whole.status, 200);
    const j = await whole.json();
    assert.equal(j.usage.prompt_tokens_details.cached_tokens, j.usage.prompt_tokens);
    assert.ok(Number(whole.headers.get("x-topobench-transfer-ms")) > 0);
    const rm = await scrape(r.url);
    assert.equal(rm.get('topobench_router_requests_total{backend="prefill-0",leg="prefill"}'), 2);
    assert.equal(rm.get('topobench_router_requests_total{backend="decode-0",leg="decode"}'), 2);
    assert.equal(rm.get('topobench_router_leg_latency_seconds_count{leg="prefill"}'), 2);
    assert.equal(rm.get('topobench_router_request_latency_seconds_count{route="pd"}'), 2);
  } finally {
    await stopAll([r, p, d]);
  }
});

Deno.test("router pd 2P2D nixl: both prefills and both decodes serve, each decode handshakes", async () => {
  const sims = await Promise.all(
    ["prefill-0", "prefill-1", "decode-0", "decode-1"].map((n) => nixlSim(n)),
  );
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "pd-2p2d",
      kind: "pd",
      connector: "nixl",
      prefill: [0, 1].map((i) => ({ name: `prefill-${i}`, url: sims[i].url })),
      decode: [0, 1].map((i) => ({ name: `decode-${i}`, url: sims[2 + i].url })),
    });
    const pairs = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = await post(`${r.url}/v1/chat/completions`, chat(text(`req ${i}`)));
      const s = await readStream(res);
      assert.equal(s.usage!.prompt_tokens_details!.cached_tokens, s.usage!.prompt_tokens);
      pairs.add(
        `${res.headers.get("x-topobench-prefill-backend")}>${res.headers.get("x-backend")}`,
      );
    }
    const used = new Set([...pairs].flatMap((p) => p.split(">")));
    assert.deepEqual([...used].sort(), ["decode-0", "decode-1", "prefill-0", "prefill-1"]);
    for (const i of [0, 1]) {
      assert.ok(
        sims[2 + i].lines.some((l) => /NIXL handshake: engine decode-/.test(l)),
        `decode-${i} handshakes`,
      );
    }
  } finally {
    await stopAll([r, ...sims]);
  }
});

Deno.test("router pd 2P2D p2pnccl: the request id names both KV addresses", async () => {
  const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
  const cfg = (role: string, port: number) =>
    JSON.stringify({ kv_connector: "P2pNcclConnector", kv_role: role, kv_port: port });
  const sims = await Promise.all(
    ports.map((port, i) =>
      startSim([
        "--speed",
        "20",
        "--kv-transfer-config",
        cfg(i < 2 ? "kv_producer" : "kv_consumer", port),
      ])
    ),
  );
  let r: Server | undefined;
  try {
    const spec = (i: number, role: string) => ({
      name: `${role}-${i % 2}`,
      url: sims[i].url,
      kvAddr: `127.0.0.1:${ports[i]}`,
    });
    r = await startRouter({
      name: "pd-2p2d-p2p",
      kind: "pd",
      connector: "p2pnccl",
      prefill: [spec(0, "prefill"), spec(1, "prefill")],
      decode: [spec(2, "decode"), spec(3, "decode")],
    });
    const backends = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const res = await post(`${r.url}/v1/chat/completions`, chat(text(`p2p ${i}`)));
      const s = await readStream(res);
      assert.ok(performance.now() - t0 < 5000, "KV arrived (no 30 s recompute fallback)");
      const rid = res.headers.get("x-request-id")!;
      const p = Number(res.headers.get("x-topobench-prefill-backend")!.split("-")[1]);
      const d = Number(res.headers.get("x-backend")!.split("-")[1]);
      assert.match(
        rid,
        new RegExp(
          `^___prefill_addr_127\\.0\\.0\\.1:${ports[p]}___decode_addr_127\\.0\\.0\\.1:${
            ports[2 + d]
          }_[0-9a-f]{32}$`,
        ),
      );
      assert.equal(s.usage!.prompt_tokens_details!.cached_tokens, s.usage!.prompt_tokens);
      backends.add(`p${p}`).add(`d${d}`);
    }
    assert.equal(backends.size, 4);
  } finally {
    await stopAll([r, ...sims]);
  }
});

Deno.test("router pd 1P1D lmcache: prefill one token, then decode", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lmcache_router_" });
  const cfg = (role: string) =>
    JSON.stringify({
      kv_connector: "LMCacheConnectorV1",
      kv_role: role,
      kv_connector_extra_config: { shared_storage_path: dir },
    });
  const [p, d] = await Promise.all([
    startSim(["--speed", "20", "--kv-transfer-config", cfg("kv_producer")]),
    startSim(["--speed", "20", "--kv-transfer-config", cfg("kv_consumer")]),
  ]);
  let r: Server | undefined;
  try {
    r = await startRouter({
      name: "pd-lmcache",
      kind: "pd",
      connector: "lmcache",
      ...onePd(p, d),
    });
    const res = await post(
      `${r.url}/v1/chat/completions`,
      chat(text("lm"), { max_tokens: 6, ignore_eos: true }),
    );
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get("x-topobench-prefill-ms")) > 0);
    const s = await readStream(res);
    assert.equal(s.usage!.completion_tokens, 6);
    const pm = await scrape(p.url);
    assert.equal([...pm].find(([k]) => k.startsWith("vllm:generation_tokens_total"))![1], 1);
  } finally {
    await stopAll([r, p, d]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("router pd: with its decode engine dead, a request gets 503 and no prefill runs", async () => {
  const { p, d, r } = await startNixlPd("pd-dead-decode", "pd", { healthIntervalMs: 100 });
  try {
    d.child.kill("SIGKILL");
    await d.done;
    for (let i = 0; i < 100; i++) {
      const st = await (await fetch(`${r.url}/status`)).json();
      if (!st.backends.find((b: { name: string }) => b.name === "decode-0").healthy) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const res = await post(`${r.url}/v1/completions`, { prompt: text("dead"), max_tokens: 4 });
    assert.equal(res.status, 503);
    assert.match(
      (await res.json()).error.message,
      /No healthy decode backend .*the prefill was not run/,
    );
    const pm = await scrape(p.url);
    const prompts = [...pm].find(([k]) => k.startsWith("vllm:prompt_tokens_total"))?.[1] ?? 0;
    assert.equal(prompts, 0, "the prefill engine computed nothing");
  } finally {
    await stopAll([p, d, r]);
  }
});
