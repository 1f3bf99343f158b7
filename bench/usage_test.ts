/**
 * A server that reports a negative or absurd `usage` fails those requests
 * with the field and value named; nothing negative reaches requests.csv or
 * summary.json. The server is a stand-in (Deno.serve on 127.0.0.1) whose
 * answers alternate between a sane and a broken usage.
 */
import assert from "node:assert/strict";
import { benchCmd, collect } from "./_test_harness.ts";
import { usageError } from "../lib/usage.ts";

function brokenUsageServer(stream: boolean) {
  let n = 0;
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method !== "POST") return new Response("not found", { status: 404 });
    await req.body?.cancel();
    const bad = n++ % 2 === 1;
    const usage = bad
      ? { prompt_tokens: 8, completion_tokens: -999993, total_tokens: -999985 }
      : { prompt_tokens: 8, completion_tokens: 3, total_tokens: 11 };
    if (!stream) {
      return Response.json({ choices: [{ index: 0, text: "a b c" }], usage });
    }
    const events = ["a", " b", " c"].map((t) => ({ choices: [{ index: 0, text: t }] }));
    const body = [...events, { choices: [], usage }].map((e) => `data: ${JSON.stringify(e)}\n\n`)
      .join("") + "data: [DONE]\n\n";
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
}

for (const stream of [true, false]) {
  Deno.test(`bench refuses a negative usage per request (${stream ? "streamed" : "whole answer"})`, async () => {
    const server = brokenUsageServer(stream);
    const tmp = await Deno.makeTempDir({ prefix: "usage_test_" });
    try {
      const url = `http://127.0.0.1:${server.addr.port}`;
      const out = await collect(
        await benchCmd(
          [
            ...["--num-requests", "6", "--rate", "inf", "--max-concurrency", "1"],
            ...["--input-len", "8", "--output-len", "3", "--model", "m"],
            ...(stream ? [] : ["--stream", "false"]),
          ],
          "u",
          { url, outRoot: tmp },
        ).output(),
      );
      const failed = out.rows.filter((r) => r.error);
      assert.equal(failed.length, 3, out.stderr);
      for (const r of failed) {
        assert.match(
          r.error,
          /server usage\.completion_tokens is -999993; allowed: a whole number/,
        );
      }
      assert.ok(out.rows.every((r) => r.output_tokens >= 0));
      assert.equal(out.summary[0].total_output_tokens, 9);
      assert.equal(out.summary[0].failed, 3);
    } finally {
      await server.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

Deno.test("usageError: counts are whole numbers from 0 to 1e9; absent or null is fine", () => {
  assert.equal(usageError(undefined), null);
  assert.equal(
    usageError({ prompt_tokens: 5, completion_tokens: 0, prompt_tokens_details: null }),
    null,
  );
  assert.match(usageError({ completion_tokens: 1.5 })!, /usage\.completion_tokens is 1\.5/);
  assert.match(usageError({ prompt_tokens: 2e9 })!, /usage\.prompt_tokens is 2000000000/);
  assert.match(usageError({ prompt_tokens: "7" })!, /usage\.prompt_tokens is "7"/);
  assert.match(
    usageError({ prompt_tokens_details: { cached_tokens: -1 } })!,
    /usage\.prompt_tokens_details\.cached_tokens is -1/,
  );
  assert.match(usageError([1])!, /server usage is \[1\]/);
});
