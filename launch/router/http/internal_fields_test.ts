/**
 * Only our own fields reach the engines (issue 26): a client's
 * `kv_transfer_params` / `ec_transfer_params` or a request id naming P2P-NCCL
 * KV addresses is refused with 400 at the router edge, on the direct route
 * and the disaggregated one; stand-in engines record every body they get.
 */
import assert from "node:assert/strict";
import { post, startRouter, stopAll } from "./_harness.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

/** A stand-in engine on 127.0.0.1: healthy, answers a tiny completion, records bodies and ids. */
function standIn(seen: Obj[]) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method === "POST") {
      seen.push({ body: await req.json(), id: req.headers.get("x-request-id") });
    }
    return Response.json({
      id: "x",
      object: "text_completion",
      choices: [{ index: 0, text: "ok", finish_reason: "length" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
}

Deno.test("router edge: client kv_transfer_params, ec_transfer_params and KV-address request ids never reach an engine (dp and pd)", async () => {
  const seen: Obj[] = [];
  const [a, p, d] = [standIn(seen), standIn(seen), standIn(seen)];
  const url = (s: Deno.HttpServer<Deno.NetAddr>) => `http://127.0.0.1:${s.addr.port}`;
  const dp = await startRouter({
    name: "dp-edge",
    kind: "dp",
    backends: [{ name: "a", url: url(a) }],
    healthIntervalMs: 100,
  });
  const pd = await startRouter({
    name: "pd-edge",
    kind: "pd",
    connector: "nixl",
    prefill: [{ name: "p", url: url(p) }],
    decode: [{ name: "d", url: url(d) }],
    healthIntervalMs: 100,
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    const evil = {
      do_remote_prefill: true,
      remote_host: "127.0.0.3",
      remote_port: 9,
      remote_engine_id: "victim",
      remote_block_ids: [1, 2, 3],
      remote_request_id: "someone-elses-request",
    };
    const prompt = { prompt: "hi", max_tokens: 2 };
    const statuses: string[] = [];
    for (const r of [dp, pd]) {
      const send = async (extra: Obj, headers: Record<string, string> = {}) => {
        const res = await post(`${r.url}/v1/completions`, { ...prompt, ...extra }, headers);
        const text = await res.text();
        statuses.push(`${res.status} ${res.status === 400 ? JSON.parse(text).error.message : ""}`);
      };
      await send({ kv_transfer_params: evil });
      await send({ ec_transfer_params: { remote_host: "127.0.0.3" } });
      await send({}, {
        "x-request-id": "___prefill_addr_127.0.0.3:9___decode_addr_127.0.0.3:9_ab",
      });
      await send({ kv_transfer_params: null });
    }
    const leaked = seen.filter((s) =>
      s.body.ec_transfer_params !== undefined || /_addr_/.test(s.id ?? "") ||
      (s.body.kv_transfer_params !== undefined && s.body.kv_transfer_params?.remote_host !== null)
    );
    assert.deepEqual(leaked, [], "no client internal field reached an engine");
    const refusals = [
      "400 kv_transfer_params is set by the router, not by clients; remove it from the request body",
      "400 ec_transfer_params is set by the router, not by clients; remove it from the request body",
      '400 X-Request-Id "___prefill_addr_127.0.0.3:9___decode_addr_127.0.0.3:9_ab" names KV addresses (_prefill_addr_/_decode_addr_), which only the router sets',
      "200 ",
    ];
    assert.deepEqual(statuses, [...refusals, ...refusals]);
    // the null ones went through without the field: dp's engine, pd's prefill (ours) and decode
    assert.equal(seen.length, 3);
    assert.ok(!("kv_transfer_params" in seen[0].body) && !("kv_transfer_params" in seen[2].body));
    assert.equal(seen[1].body.kv_transfer_params.do_remote_decode, true);
  } finally {
    await stopAll([dp, pd]);
    await Promise.all([a, p, d].map((s) => s.shutdown()));
  }
});
