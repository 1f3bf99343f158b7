/**
 * The live measurement path behind proxies (issue 25): bench and its client
 * against a stand-in server that streams SSE under other Content-Types, closes
 * idle keep-alive connections like uvicorn, cuts a body, or sends no usage.
 */
import assert from "node:assert/strict";
import { standin } from "./_standin_server.ts";
import { benchCmd, collect, sim } from "./_test_harness.ts";
import { sendStreaming } from "./client.ts";
import { closeIdle } from "../lib/http1.ts";

const tmp = await Deno.makeTempDir({ prefix: "live_path_" });
Deno.test.afterAll(() => Deno.remove(tmp, { recursive: true }));

for (const ctype of ["text/html; charset=utf-8", "application/json"]) {
  Deno.test(`SSE under Content-Type ${ctype} is read as a stream, by its bytes`, async () => {
    await using s = standin({ contentType: ctype, tokens: 8, tokenGapMs: 4 });
    const r = await collect(
      await benchCmd(
        ["--rate", "inf", "--num-requests", "10", "--input-len", "16", "--output-len", "8"],
        "odd-ctype",
        { url: s.url, outRoot: tmp },
      ).output(),
    );
    assert.equal(r.code, 0, r.stderr);
    const sum = r.summary[0];
    assert.equal(sum.completed, 10);
    assert.equal(sum.total_output_tokens, 80);
    assert.equal(sum.streamed, true);
    assert.ok(r.rows.every((x) => x.output_tokens === 8 && x.error === ""));
    assert.ok(r.rows.every((x) => x.ttft_ms! < x.e2e_ms! && x.tpot_ms! > 0), "TTFT < E2E");
    assert.ok(sum.mean_itl_ms > 0);
    const warned = r.stderr.match(/streams SSE as Content-Type/g) ?? [];
    assert.equal(warned.length, 1, `one warning naming the Content-Type: ${r.stderr}`);
    assert.ok(r.stderr.includes(JSON.stringify(ctype)));
  });
}

Deno.test("a JSON answer under application/json is a whole answer, and the run says so", async () => {
  const body = JSON.stringify({
    choices: [{ text: " a b c" }],
    usage: { prompt_tokens: 4, completion_tokens: 3 },
  });
  await using s = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    if (req.method !== "POST") return new Response("no", { status: 404 });
    await req.arrayBuffer();
    return new Response(body, { headers: { "content-type": "application/json" } });
  });
  const r = await collect(
    await benchCmd(
      [
        "--model",
        "m",
        "--rate",
        "inf",
        "--num-requests",
        "4",
        "--input-len",
        "16",
        "--output-len",
        "3",
      ],
      "whole",
      { url: `http://127.0.0.1:${s.addr.port}`, outRoot: tmp },
    ).output(),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.summary[0].streamed, false);
  assert.equal(r.summary[0].total_output_tokens, 12);
  assert.match(r.stderr, /4 answers came whole \(not streamed although a stream was asked for\)/);
});

// uvicorn-like idle closes after 2 s at Poisson 3 req/s for 30 s, with ~1 s answers, with
// every time 5x shorter: the same 82 requests and as many closed and reopened connections
Deno.test("a server that closes idle keep-alives after 400 ms: Poisson 15 req/s for 6 s loses nothing", async () => {
  await using s = standin({ idleCloseMs: 400, tokens: 24, tokenGapMs: 8 });
  const r = await collect(
    await benchCmd(
      ["--rate", "15", "--duration", "6", "--input-len", "16", "--output-len", "24", "--seed", "7"],
      "idle-close",
      { url: s.url, outRoot: tmp },
    ).output(),
  );
  assert.equal(r.code, 0, r.stderr);
  const failed = r.rows.filter((x) => x.error !== "");
  assert.deepEqual(failed.map((x) => x.error), [], "no request lost");
  assert.ok(r.rows.length >= 60, `about 90 requests: ${r.rows.length}`);
  assert.equal(s.requests(), r.rows.length, "no request sent twice");
  assert.ok(s.connections() > 5, `idle connections were closed: ${s.connections()} opened`);
});

Deno.test("a body cut by the server fails that request with its reason, without a retry", async () => {
  await using s = standin({ closeMidBodyAfter: 3, tokens: 8 });
  try {
    const url = `${s.url}/v1/completions`;
    const res = await sendStreaming({ url, body: "{}", requestId: "cut" });
    assert.match(res.error, /stream broken|without \[DONE\]|closed/);
    assert.equal(res.contentChunks, 3);
    assert.equal(s.requests(), 1, "not retried");
    const ok = await sendStreaming({ url, body: "{}", requestId: "next" });
    assert.equal(ok.error, "");
    assert.equal(s.requests(), 2);
  } finally {
    closeIdle();
  }
});

Deno.test("a server that sends no usage: the tokenizer is ready before the first send", async () => {
  await using s = standin({ usage: false, tokens: 3, tokenGapMs: 2 });
  const r = await collect(
    await benchCmd(
      ["--rate", "5", "--num-requests", "15", "--input-len", "8", "--output-len", "3"],
      "nousage",
      { url: s.url, outRoot: tmp },
    ).output(),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /loading the client tokenizer before the run/);
  assert.doesNotMatch(r.stderr, /sent no usage/, "no load in the middle of the run");
  assert.ok(r.rows.every((x) => x.output_tokens === 3 && x.error === ""));
  // a tokenizer loaded mid-run stalls the sends for 1-4 s; 500 ms is far from both
  assert.ok(r.summary[0].send_lag_p99_ms < 500, `send lag p99 ${r.summary[0].send_lag_p99_ms}`);
});

Deno.test("a stream that stops mid-way (a hung server) fails after --stall-timeout, not --timeout", async () => {
  await using s = standin({ stallAfter: 2, tokens: 8 });
  const t0 = performance.now();
  const r = await collect(
    await benchCmd(
      ["--rate", "inf", "--num-requests", "2", "--input-len", "8", "--output-len", "8"]
        .concat(["--timeout", "120", "--stall-timeout", "0.5"]),
      "stall",
      { url: s.url, outRoot: tmp },
    ).output(),
  );
  assert.equal(r.rows.length, 2);
  for (const row of r.rows) {
    assert.match(row.error, /stalled: no byte for 500 ms after the stream started/);
  }
  assert.ok(performance.now() - t0 < 60_000, "well before the 120 s timeout");
});

Deno.test("--reset-prefix-cache sends TOPOBENCH_ADMIN_TOKEN to an engine that requires it", async () => {
  const env = { ...Deno.env.toObject(), TOPOBENCH_ADMIN_TOKEN: "t0ken-for-tests" };
  const engine = await sim("--admin-token", "t0ken-for-tests");
  try {
    const args = ["--rate", "inf", "--num-requests", "2", "--input-len", "8", "--output-len", "2"]
      .concat(["--reset-prefix-cache"]);
    const ok = await collect(
      await benchCmd(args, "token", { url: engine.url, outRoot: tmp, env }).output(),
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr, /reset_prefix_cache failed/);
    const { TOPOBENCH_ADMIN_TOKEN: _, ...noToken } = env;
    const refused = await collect(
      await benchCmd(args, "notoken", { url: engine.url, outRoot: tmp, env: noToken }).output(),
    );
    assert.match(refused.stderr, /reset_prefix_cache failed: HTTP 401/);
  } finally {
    await engine.stop();
  }
});
