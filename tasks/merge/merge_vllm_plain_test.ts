/**
 * Merge reads a plain `vllm bench serve --save-result` file (statistics only,
 * no per-request arrays) with its E2E latency: mean, median, p50 (vLLM's
 * median is its p50) and p99.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { mergeRuns } from "./merge.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FILE = join(
  ROOT,
  "fixtures/peers/vllm-bench-plain/openai-2.0qps-Qwen3-0.6B-20260102-120000.json",
);

Deno.test("merge reads a plain --save-result file with E2E (mean, median, p50, p99)", async () => {
  const src = JSON.parse(await Deno.readTextFile(FILE));
  const { rows } = await mergeRuns([FILE]);
  // the run's row, then the load point's mean over runs: both carry it
  assert.equal(rows.length, 2);
  for (const r of rows as Record<string, unknown>[]) check(r, src);
});

function check(r: Record<string, unknown>, src: Record<string, number>) {
  assert.equal(r.source, "vllm-json");
  for (const m of ["ttft", "tpot", "itl", "e2el"]) {
    assert.equal(r[`mean_${m}_ms`], src[`mean_${m}_ms`], `mean ${m}`);
    assert.equal(r[`median_${m}_ms`], src[`median_${m}_ms`], `median ${m}`);
    assert.equal(r[`p50_${m}_ms`], src[`median_${m}_ms`], `p50 ${m}`);
    assert.equal(r[`p99_${m}_ms`], src[`p99_${m}_ms`], `p99 ${m}`);
  }
  assert.equal(r.completed, 4);
  assert.equal(r.request_throughput, src.request_throughput);
}
