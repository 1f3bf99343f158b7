/**
 * The `vllm/*.json` copy of a real bench run (bench as a process against the
 * simulated engine as a process) has exactly the keys, order and JSON types
 * of `vllm bench serve --save-result --save-detailed --percentile-metrics
 * ttft,tpot,itl,e2el --metric-percentiles 50,90,95,99` (the table in
 * docs/vllm_result_format.md), for completions and chat.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { benchSetup } from "./_test_harness.ts";

const { tmp, server, bench } = await benchSetup("bench_vllm_file_test_");

// vLLM's table, written out here (not imported) so the test checks the writer against it
const HEAD: [string, string][] = [
  ["date", "str"],
  ["endpoint_type", "str"],
  ["backend", "str"],
  ["label", "str|null"],
  ["model_id", "str"],
  ["tokenizer_id", "str"],
  ["num_prompts", "int"],
  ["request_rate", "float"],
  ["burstiness", "float"],
  ["max_concurrency", "int|null"],
  ["duration", "float"],
  ["completed", "int"],
  ["failed", "int"],
  ["total_input_tokens", "int"],
  ["total_output_tokens", "int"],
  ["request_throughput", "float"],
  ["request_goodput", "float|null"],
  ["output_throughput", "float"],
  ["total_token_throughput", "float"],
  ["input_lens", "list[int]"],
  ["output_lens", "list[int]"],
  ["ttfts", "list[float]"],
  ["itls", "list[list[float]]"],
  ["start_times", "list[float]"],
  ["queue_times", "list[float]"],
  ["generated_texts", "list[str]"],
  ["errors", "list[str]"],
  ["max_output_tokens_per_s", "float"],
  ["max_concurrent_requests", "int"],
  ["rtfx", "float"],
];
const STATS = ["ttft", "tpot", "itl", "e2el"].flatMap((m) =>
  ["mean", "median", "std", "p50", "p90", "p95", "p99"].map((s): [string, string] => [
    `${s}_${m}_ms`,
    "float",
  ])
);
const TABLE = [...HEAD, ...STATS];

/**
 * Python's JSON types of a vLLM file's values: each number is tagged by its
 * source text (`2.0` is a float, `2` an int), arrays as `list[...]`.
 */
function pyTypes(text: string): Record<string, string> {
  const reviver = (_k: string, v: unknown, ctx?: { source?: string }) =>
    typeof v === "number" ? (/[.eE]/.test(ctx!.source!) ? "#float" : "#int") : v;
  const name = (v: unknown): string => {
    if (v === null) return "null";
    if (Array.isArray(v)) {
      // an empty list (a failed request's gaps) fits any element type
      const inner = [...new Set(v.map(name).filter((t) => t !== "list[]"))];
      return `list[${inner.join("|")}]`;
    }
    return typeof v === "string" && v.startsWith("#")
      ? v.slice(1)
      : typeof v === "string"
      ? "str"
      : typeof v;
  };
  const j = JSON.parse(text, reviver as never) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(j).map(([k, v]) => [k, name(v)]));
}

async function vllmFile(dir: string): Promise<string> {
  const names = [...Deno.readDirSync(join(dir, "vllm"))].map((e) => e.name);
  assert.equal(names.length, 1, `${names}`);
  return await Deno.readTextFile(join(dir, "vllm", names[0]));
}

for (
  const [endpoint, backend] of [["/v1/completions", "openai"], [
    "/v1/chat/completions",
    "openai-chat",
  ]]
) {
  Deno.test(`a ${backend} run's vLLM file has vLLM's keys, order and types`, async () => {
    const r = await bench(
      "--endpoint",
      endpoint,
      "--rate",
      "200",
      "--num-requests",
      "6",
      "--input-len",
      "32",
      "--output-len",
      "4",
    );
    assert.equal(r.code, 0, r.stderr);
    const text = await vllmFile(r.dir);
    const types = pyTypes(text);
    assert.deepEqual(Object.keys(types), TABLE.map(([k]) => k));
    for (const [k, want] of TABLE) {
      assert.ok(want.split("|").includes(types[k]), `${k}: ${types[k]}, vLLM writes ${want}`);
    }
    const j = JSON.parse(text);
    assert.equal(j.backend, backend);
    assert.equal(j.endpoint_type, backend);
    // a random --input-len 32 prompt is 32 tokens as the server counts them (BOS included)
    if (backend === "openai") assert.deepEqual(j.input_lens, [32, 32, 32, 32, 32, 32]);
  });
}

Deno.test.afterAll(async () => {
  await server.stop();
  await Deno.remove(tmp, { recursive: true });
});
