/**
 * Bench compiles its own code before a fast run's clock starts, on a responder
 * inside its process (`_self_warmup.ts`): the target sees only the run.
 */
import assert from "node:assert/strict";
import { standin } from "./_standin_server.ts";
import { benchCmd, collect } from "./_test_harness.ts";
import { warmupAnswer } from "./_self_warmup.ts";

const tmp = await Deno.makeTempDir({ prefix: "self_warmup_" });
Deno.test.afterAll(() => Deno.remove(tmp, { recursive: true }));

Deno.test("the warm-up answer is an OpenAI stream of each endpoint: chunks, usage, [DONE]", () => {
  for (const endpoint of ["completions", "chat"] as const) {
    const events = new TextDecoder().decode(warmupAnswer(endpoint, 5)).split("\n\n")
      .filter(Boolean).map((e) => e.replace(/^data: /, ""));
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    const texts = chunks.slice(0, -1).map((c) =>
      endpoint === "chat" ? c.choices[0].delta.content : c.choices[0].text
    );
    assert.deepEqual(texts, [" w0", " w1", " w2", " w3", " w4"]);
    assert.equal(chunks.at(-1).usage.completion_tokens, 5);
    assert.equal(chunks.at(-2).choices[0].finish_reason, "length");
  }
});

Deno.test("a run at 800 req/s warms bench's code first; the target gets the run's requests only", async () => {
  await using s = standin({ tokens: 4, tokenGapMs: 0 });
  const r = await collect(
    await benchCmd(
      ["--rate", "800", "--num-requests", "40", "--input-len", "16", "--output-len", "4"],
      "self-warmup",
      { url: s.url, outRoot: tmp },
    ).output(),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /compiling bench's own code: \d+ requests to a responder in this process/);
  assert.equal(r.rows.length, 40);
  assert.ok(r.rows.every((x) => !x.request_id.startsWith("self-warmup")), "no warm-up row kept");
  assert.equal(s.requests(), 40, "the target saw the run's requests and no others");
});
