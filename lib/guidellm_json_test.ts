/**
 * GuideLLM's real report (fixtures/peers/README.md names its repository,
 * path and commit), read through `inputsOf` as merge reads it. Expected values
 * were read from the file with Python, not with this code.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { inputsOf } from "./run_inputs.ts";
import { runRow } from "./run_rows.ts";

const DIR = fileURLToPath(new URL("../fixtures/peers/guidellm-0.3", import.meta.url));
const DIR08 = fileURLToPath(new URL("../fixtures/peers/guidellm-0.8", import.meta.url));

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

// Expected values: python3 -c 'import json; d=json.load(open("fixtures/peers/guidellm-0.8/benchmarks.json"))
// for b in d["benchmarks"]: m=b["metrics"]; s=lambda k: m[k]["successful"]; print(b["config"]["backend"]["model"],
// b["config"]["strategy"], m["request_totals"], b["duration"], s("time_to_first_token_ms")["mean"],
// s("time_to_first_token_ms")["percentiles"]["p99"], s("inter_token_latency_ms")["mean"],
// s("request_latency")["mean"], s("prompt_token_count")["total_sum"], s("output_token_count")["total_sum"],
// [len(v) for v in b["requests"].values() if isinstance(v, list)])'
Deno.test("GuideLLM 0.8 benchmarks.json (requests not listed) is read from its own statistics: model, load points, counts, latencies", async () => {
  const got = await inputsOf(join(DIR08, "benchmarks.json"), null);
  assert.equal(got.length, 2);
  // config.backend.model; config.strategy {type_ constant, rate 2.0 / 4.0, max_concurrency 10240}
  assert.deepEqual(
    got.map((r) => [r.model, r.loadPoint, r.rateTarget, r.maxConcurrency]),
    [["e2e-mock-model", "2", 2, 10240], ["e2e-mock-model", "4", 4, 10240]],
  );
  // requests.successful / errored / incomplete are empty lists: no rows, GuideLLM's own numbers
  assert.deepEqual(got.map((r) => [r.rows, r.complete]), [[null, true], [null, true]]);
  const [a, b] = got.map(runRow);
  // request_totals {successful 2, errored 0, incomplete 0, total 2}; duration 5.01964807510376 s
  assert.deepEqual([a.num_requests, a.completed, a.failed, a.duration], [
    2,
    2,
    0,
    5.01964807510376,
  ]);
  assert.equal(a.request_throughput, 2 / 5.01964807510376);
  // prompt_token_count / output_token_count total_sum 143 / 16
  assert.deepEqual([a.total_input_tokens, a.total_output_tokens, a.mean_input_tokens], [
    143,
    16,
    71.5,
  ]);
  assert.equal(a.output_throughput, 16 / 5.01964807510376);
  // time_to_first_token_ms mean, p99; inter_token_latency_ms mean; request_latency mean (s)
  assert.deepEqual(
    [a.mean_ttft_ms, a.p99_ttft_ms, a.mean_itl_ms, a.mean_e2el_ms],
    [11.481165885925293, 11.686325073242188, 1.1508464813232422, 0.01978909969329834 * 1000],
  );
  // GuideLLM's TPOT counts the first token and its per-request ITL is not in the file: no TPOT
  assert.equal(a.mean_tpot_ms, null);
  assert.deepEqual([b.completed, b.duration, b.mean_ttft_ms], [
    2,
    2.5186119079589844,
    9.78386402130127,
  ]);
});

Deno.test("GuideLLM 0.5+ request records (the 0.8 report with records put into its empty lists) give one row each", async () => {
  // No real 0.5+ report lists its requests (fixtures/peers/README.md): the records below use the
  // field names of GuideLLM's GenerativeRequestStats; one successful turn-2 request, one errored.
  const j = JSON.parse(await Deno.readTextFile(join(DIR08, "benchmarks.json")));
  const b0 = j.benchmarks[0];
  const info = (turn: number, error: string | null) => ({
    request_id: `r${turn}`,
    conversation_id: "conv-a",
    turn_index: turn,
    status: error ? "errored" : "completed",
    error,
  });
  b0.requests.successful = [{
    request_id: "r1",
    info: info(1, null),
    request_start_time: 1786678149.5,
    request_end_time: 1786678149.52,
    request_latency: 0.02,
    prompt_tokens: 51,
    output_tokens: 8,
    time_to_first_token_ms: 11.25,
    inter_token_latency_ms: 1.25,
  }];
  b0.requests.errored = [{
    request_id: "r0",
    info: info(0, "HTTPStatusError 500"),
    request_start_time: 1786678149.0,
    request_end_time: 1786678149.01,
    prompt_tokens: 92,
    output_tokens: 0,
  }];
  b0.metrics.request_totals = { successful: 1, errored: 1, incomplete: 0, total: 2 };
  const dir = await Deno.makeTempDir();
  try {
    const f = join(dir, "benchmarks.json");
    await Deno.writeTextFile(f, JSON.stringify(j));
    const r = (await inputsOf(f, null))[0];
    assert.equal(r.complete, true);
    const [ok, bad] = r.rows!;
    assert.deepEqual(
      [ok.request_id, ok.conversation_id, ok.turn, ok.sent_ms, ok.ttft_ms, ok.tpot_ms, ok.status],
      ["r1", "conv-a", 2, 500, 11.25, 1.25, 200],
    );
    assert.ok(Math.abs(ok.e2e_ms - 20) < 1e-9);
    assert.deepEqual([bad.request_id, bad.turn, bad.status, bad.error, bad.output_tokens], [
      "r0",
      1,
      0,
      "HTTPStatusError 500",
      0,
    ]);
    const m = runRow(r);
    assert.deepEqual([m.completed, m.failed, m.mean_ttft_ms], [1, 1, 11.25]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
