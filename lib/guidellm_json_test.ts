/**
 * GuideLLM's real report (fixtures/peers/README.md names its repository,
 * path and commit), read through `inputsOf` as merge reads it. Expected values
 * were read from the file with Python, not with this code.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { inputsOf } from "./run_inputs.ts";

const DIR = fileURLToPath(new URL("../fixtures/peers/guidellm-0.3", import.meta.url));

for (const name of ["benchmarks.json", "benchmarks.yaml"]) {
  Deno.test(`GuideLLM 0.3 ${name} is read with its model, strategy and the requests it lists, marked as a sample`, async () => {
    const got = await inputsOf(join(DIR, name), null);
    assert.equal(got.length, 1);
    const r = got[0];
    // worker.backend_model; args.strategy.type_ "synchronous" (one request at a time)
    assert.deepEqual([r.model, r.loadPoint, r.maxConcurrency, r.rateTarget], [
      "example_model",
      "synchronous",
      1,
      null,
    ]);
    // python3: requests.successful has 1 entry, request_totals.total is 47: a sampled report
    assert.equal(r.rows!.length, 1);
    assert.equal(r.complete, false);
    const x = r.rows![0];
    // the entry: time_to_first_token_ms 21.281957626342773, request_latency 0.6891846656799316 s,
    // prompt_tokens 257, output_tokens 128, inter_token_latency_ms 5.258346167136365
    assert.deepEqual(
      [x.ttft_ms, x.e2e_ms, x.prompt_tokens, x.output_tokens, x.tpot_ms, x.status],
      [21.281957626342773, 0.6891846656799316 * 1000, 257, 128, 5.258346167136365, 200],
    );
    assert.equal(x.request_id, "73054dd1-486f-4894-a861-075750b82453");
    assert.equal(r.durationS, 29.997201442718506);
  });
}

Deno.test("GuideLLM: a string where a number belongs and a report with no model are refused naming file, field and value", async () => {
  const text = await Deno.readTextFile(join(DIR, "benchmarks.json"));
  const dir = await Deno.makeTempDir();
  try {
    const bad = join(dir, "benchmarks.json");
    await Deno.writeTextFile(bad, text.replace('"output_tokens": 128', '"output_tokens": "128"'));
    await assert.rejects(
      () => inputsOf(bad, null),
      /benchmarks\.json field benchmarks\[0\]\.requests\.successful\[0\]\.output_tokens as a number: current value is "128"/,
    );
    await Deno.writeTextFile(
      bad,
      text.replace('"backend_model": "example_model"', '"backend_model": null'),
    );
    await assert.rejects(
      () => inputsOf(bad, null),
      /benchmark benchmarks\[0\] as a GuideLLM benchmark: current value names no model \(accepted: GuideLLM 0\.3-0\.4/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
