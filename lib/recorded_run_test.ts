import assert from "node:assert/strict";
import { join } from "node:path";
import {
  parseRecordedMeta,
  parseRecordedRequests,
  parseRecordedTimeseries,
  readRecordedRun,
  recordedE2eMs,
  recordedTpotMs,
  recordedTtftMs,
} from "./recorded_run.ts";

const FIXTURE = join(
  import.meta.dirname!,
  "../fixtures/validate/RTXPRO6000_Llama-3.1-8B_first40",
);

const line = (o: Record<string, unknown> = {}) =>
  JSON.stringify({
    request_id: "bench-0",
    input_toks: 100,
    output_toks: 11,
    arrival_time: 1000.5,
    queued_ts: 10,
    scheduled_ts: 10.1,
    first_token_ts: 10.5,
    last_token_ts: 11.5,
    ...o,
  });

Deno.test("readRecordedRun: the fixture's settings, requests and series, with engine-side metrics", async () => {
  const run = await readRecordedRun(FIXTURE);
  assert.deepEqual(run.meta, {
    model: "meta-llama/Llama-3.1-8B",
    vllmVersion: "0.19.0",
    tensorParallelSize: 1,
    dataParallelSize: 1,
    expertParallel: false,
    maxNumSeqs: 128,
    maxNumBatchedTokens: 2048,
    startedAtMs: Date.parse("2026-04-25T18:47:18.273Z"),
    kvCacheDtype: "auto",
  });
  assert.equal(run.requests.length, 40);
  assert.equal(run.requests[0].id, "bench-0");
  assert.deepEqual(run.timeseries, [
    { tS: 1, running: 9, waiting: 0 },
    { tS: 2, running: 19, waiting: 1 },
    { tS: 3, running: 34, waiting: 0 },
  ]);
});

Deno.test("recorded metrics: TTFT and E2E from queued, TPOT over the tokens after the first", () => {
  const [r] = parseRecordedRequests(line(), "x.jsonl");
  assert.ok(Math.abs(recordedTtftMs(r) - 500) < 1e-9);
  assert.ok(Math.abs(recordedE2eMs(r) - 1500) < 1e-9);
  assert.ok(Math.abs(recordedTpotMs(r)! - 100) < 1e-9);
  const [one] = parseRecordedRequests(line({ output_toks: 1 }), "x.jsonl");
  assert.equal(recordedTpotMs(one), null);
});

Deno.test("parseRecordedRequests: a bad record names the file, line, field, value and what is allowed", () => {
  const text = `${line()}\n\n${line({ output_toks: 0 })}\n`;
  assert.throws(() => parseRecordedRequests(text, "r.jsonl"), {
    name: "RangeError",
    message: "Cannot use output_toks in r.jsonl:3 as a whole number >= 1: current value is 0",
  });
  assert.throws(() => parseRecordedRequests(line({ first_token_ts: 9 }), "r.jsonl"), {
    message:
      "Cannot use first_token_ts in r.jsonl:1 as a time >= scheduled_ts (10.1): current value is 9",
  });
  assert.throws(() => parseRecordedRequests(line({ arrival_time: "x" }), "r.jsonl"), {
    message:
      'Cannot use arrival_time in r.jsonl:1 as a number of seconds >= 0: current value is "x"',
  });
  assert.throws(() => parseRecordedRequests("{nope", "r.jsonl"), {
    name: "SyntaxError",
    message: /^Cannot read r\.jsonl:1 as a request record: current value is invalid JSON/,
  });
  assert.throws(() => parseRecordedRequests("\n", "r.jsonl"), /has no records/);
});

Deno.test("parseRecordedMeta: engine settings required where vLLM's defaults would guess", () => {
  const meta = (kw: Record<string, unknown>) =>
    JSON.stringify({
      model: "m",
      engine_kwargs: { max_num_seqs: 8, max_num_batched_tokens: 64, ...kw },
    });
  assert.equal(parseRecordedMeta(meta({}), "meta.json").tensorParallelSize, 1);
  assert.throws(() => parseRecordedMeta(meta({ max_num_seqs: null }), "meta.json"), {
    message:
      "Cannot use max_num_seqs in meta.json engine_kwargs as a whole number >= 1 (else resolved_config.scheduler_config's; or give --max-num-seqs): current value is null",
  });
  assert.throws(() => parseRecordedMeta(meta({ enable_expert_parallel: "yes" }), "meta.json"), {
    message:
      'Cannot use enable_expert_parallel in meta.json engine_kwargs as true or false: current value is "yes"',
  });
  // the KV cache dtype: engine_kwargs first, else vLLM's resolved cache_config
  assert.equal(parseRecordedMeta(meta({}), "meta.json").kvCacheDtype, undefined);
  assert.equal(parseRecordedMeta(meta({ kv_cache_dtype: "fp8" }), "meta.json").kvCacheDtype, "fp8");
  const resolved = JSON.stringify({
    ...JSON.parse(meta({})),
    resolved_config: { cache_config: { cache_dtype: "auto" } },
  });
  assert.equal(parseRecordedMeta(resolved, "meta.json").kvCacheDtype, "auto");
  assert.throws(() => parseRecordedMeta(meta({ kv_cache_dtype: 8 }), "meta.json"), {
    message: "Cannot use kv_cache_dtype in meta.json as a dtype name or null: current value is 8",
  });
  assert.throws(() => parseRecordedMeta("{}", "meta.json"), {
    name: "TypeError",
    message: "Cannot use engine_kwargs in meta.json as a JSON object: current value is undefined",
  });
});

Deno.test("parseRecordedMeta: a setting left null comes from vLLM's resolved config, else the flag, noted; the GPU torch named; no pipeline parallelism", () => {
  const meta = (kw: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    JSON.stringify({
      model: "m",
      engine_kwargs: { max_num_seqs: 8, max_num_batched_tokens: 64, ...kw },
      ...top,
    });
  const resolved = {
    resolved_config: {
      scheduler_config: { max_num_seqs: 256, max_num_batched_tokens: 8192 },
      parallel_config: { tensor_parallel_size: 2, data_parallel_size: 1 },
    },
  };
  const kw = { max_num_seqs: null, max_num_batched_tokens: null, tensor_parallel_size: null };
  const m = parseRecordedMeta(meta(kw, resolved), "meta.json");
  assert.deepEqual([m.maxNumSeqs, m.maxNumBatchedTokens, m.tensorParallelSize], [256, 8192, 2]);
  const notes: string[] = [];
  const g = parseRecordedMeta(meta({ max_num_seqs: null }), "meta.json", { maxNumSeqs: 32 }, notes);
  assert.equal(g.maxNumSeqs, 32);
  assert.deepEqual(notes, [
    "engine setting from the command line: --max-num-seqs 32 (meta.json has none)",
  ]);
  const hw = { hardware: { device_name: "NVIDIA H100 80GB HBM3 ", device_count: 1 } };
  assert.equal(parseRecordedMeta(meta({}, hw), "meta.json").gpuName, "NVIDIA H100 80GB HBM3");
  assert.equal(parseRecordedMeta(meta({}), "meta.json").gpuName, undefined);
  assert.throws(() => parseRecordedMeta(meta({}, { hardware: { device_name: 7 } }), "meta.json"), {
    message: /^Cannot use hardware\.device_name in meta\.json as a GPU name as torch reports it/,
  });
  assert.throws(() => parseRecordedMeta(meta({ pipeline_parallel_size: 2 }), "meta.json"), {
    message:
      "Cannot use pipeline_parallel_size in meta.json engine_kwargs as 1 (the simulated engine has no pipeline parallelism; TP, DP and EP are replayed): current value is 2",
  });
  const pp = { resolved_config: { parallel_config: { pipeline_parallel_size: 4 } } };
  assert.throws(() => parseRecordedMeta(meta({}, pp), "meta.json"), /pipeline_parallel_size/);
});

Deno.test("parseRecordedTimeseries: t, running and waiting checked per row", () => {
  assert.throws(() => parseRecordedTimeseries("t,running,waiting\n1,2,3\n2,x,0\n", "ts.csv"), {
    message: 'Cannot use running in ts.csv:3 as a whole number >= 0: current value is "x"',
  });
  assert.throws(() => parseRecordedTimeseries("t,running\n1,2\n", "ts.csv"), {
    message: /^Cannot use waiting in ts\.csv:2 as a whole number >= 0/,
  });
});

Deno.test("readRecordedRun: a folder without requests.jsonl is refused naming what it needs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.copyFile(join(FIXTURE, "meta.json"), join(dir, "meta.json"));
    await assert.rejects(readRecordedRun(dir), {
      message:
        `Cannot read ${dir} as a recorded run: current value has no requests.jsonl; allowed: a folder with meta.json and requests.jsonl (timeseries.csv optional)`,
    });
    await assert.rejects(readRecordedRun(join(dir, "none")), /as an existing folder/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recorded run: server_metrics.csv's running/waiting are summed over engines per scrape", async () => {
  const { scrapedSeries } = await import("./_recorded_run_dir.ts");
  const csv = [
    "t_ms,metric,labels,value",
    '1000,vllm:num_requests_running,"engine=""0""",3',
    '1000,vllm:num_requests_running,"engine=""1""",4',
    '1000,vllm:num_requests_waiting,"engine=""0""",2',
    "1000,vllm:kv_cache_usage_perc,,0.5",
    "500,vllm:num_requests_running,,1",
  ].join("\n");
  assert.deepEqual(scrapedSeries(csv, "server_metrics.csv"), [
    { tS: 0.5, running: 1, waiting: 0 },
    { tS: 1, running: 7, waiting: 2 },
  ]);
});
