import assert from "node:assert/strict";
import { isClientLog, parseClientLogRecorded } from "./_recorded_client_jsonl.ts";
import { recordedE2eMs, recordedTpotMs, recordedTtftMs } from "./recorded_run.ts";

const line = (o: Record<string, unknown>) => JSON.stringify(o);
const row = (i: number, actual: number, asked = 10, extra: Record<string, unknown> = {}) =>
  line({
    req_idx: i,
    input_toks: 20 + i,
    output_toks: asked,
    actual_output_toks: actual,
    arrival_time_ns: i * 100_000_000,
    ttft_ns: 40_000_000,
    tpot_ns: 20_000_000,
    total_latency_ns: 220_000_000,
    ...extra,
  });
const OPTS = { given: { model: "meta-llama/Llama-3.1-8B", tensorParallelSize: 2 } };
const DEFAULTS = {
  defaults: { maxNumSeqs: 256, maxNumBatchedTokens: 2048, tensorParallelSize: 1, source: "test" },
};

Deno.test("client log: times from the send, output tokens as chunks (+1 when stopped early), failures left out", () => {
  const text = [
    row(1, 10), // reached max_tokens: 10 tokens
    row(0, 6), // stopped early: 6 text chunks + the end-of-sequence token
    row(2, 0), // the first chunk was the empty last one: 1 token
    row(3, 0, 10, { ttft_ns: null, tpot_ns: null }),
    line({ req_idx: 4, input_toks: 5, output_toks: 3, arrival_time_ns: 1, error: "timeout" }),
  ].join("\n") + "\n";
  const run = parseClientLogRecorded(text, "x.jsonl", { ...OPTS, ...DEFAULTS });
  assert.equal(run.format, "client-jsonl");
  assert.equal(run.latencyClock, "client");
  assert.equal(run.arrivals, "recorded");
  assert.deepEqual(run.requests.map((r) => r.id), ["0", "1", "2"]); // by send time
  assert.deepEqual(run.requests.map((r) => r.outputTokens), [7, 10, 1]);
  const r1 = run.requests[1];
  assert.equal(r1.arrivalS, 0.1);
  assert.equal(r1.inputTokens, 21);
  assert.ok(Math.abs(recordedTtftMs(r1) - 40) < 1e-9);
  assert.ok(Math.abs(recordedE2eMs(r1) - 220) < 1e-9);
  assert.ok(Math.abs(recordedTpotMs(r1)! - 20) < 1e-9);
  assert.match(run.notes.join("\n"), /2 failed requests of 5 left out/);
  assert.equal(run.meta.tensorParallelSize, 2);
  assert.equal(run.meta.maxNumSeqs, 256);
  assert.match(
    run.notes.join("\n"),
    /engine settings not in the recording, test: --max-num-seqs 256/,
  );
});

Deno.test("client log: recognised by its first line's keys", () => {
  assert.ok(isClientLog(row(0, 1) + "\n"));
  assert.ok(!isClientLog('{"request_id": "bench-0", "input_toks": 1}\n'));
  assert.ok(!isClientLog("not json\n"));
});

Deno.test("client log: no model, a bad field, more chunks than asked throw naming them", () => {
  assert.throws(() => parseClientLogRecorded(row(0, 1), "x.jsonl"), /no model .*give --model/);
  assert.throws(
    () => parseClientLogRecorded(row(0, 1, 10, { ttft_ns: -1 }), "x.jsonl", OPTS),
    /Cannot use ttft_ns in x\.jsonl line 1 as a whole number >= 0: current value is -1/,
  );
  assert.throws(
    () => parseClientLogRecorded(row(0, 11, 10), "x.jsonl", OPTS),
    /actual_output_toks .* at most output_toks \(10\): current value is 11/,
  );
  assert.throws(() => parseClientLogRecorded("{oops\n", "x.jsonl", OPTS), SyntaxError);
  assert.throws(
    () => parseClientLogRecorded(row(0, 0, 10, { ttft_ns: null }), "x.jsonl", OPTS),
    /no successful request/,
  );
});
