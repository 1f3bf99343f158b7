import assert from "node:assert/strict";
import { kvUsageByTurn, parseMetrics } from "./scrape.ts";

Deno.test("kvUsageByTurn: the samples inside each turn's in-flight time, by turn", () => {
  const rows = [
    { turn: 1, sent_ms: 0, end_ms: 100 },
    { turn: 1, sent_ms: 50, end_ms: 150 },
    { turn: 2, sent_ms: 300, end_ms: 400 },
    { turn: 3, sent_ms: 900, end_ms: 950 },
  ];
  const samples = [
    { tMs: 10, value: 0.1 },
    { tMs: 140, value: 0.3 },
    { tMs: 200, value: 0.9 }, // between turns: nobody's
    { tMs: 350, value: 0.5 },
  ];
  assert.equal(kvUsageByTurn(rows, samples), "0.2;0.5;");
  assert.equal(kvUsageByTurn(rows.filter((r) => r.turn === 1), samples), null);
  assert.equal(kvUsageByTurn(rows, []), null);
});

Deno.test("parseMetrics: series with labels, comments and buckets skipped", () => {
  const s = parseMetrics(
    '# HELP x\nvllm:kv_cache_usage_perc{engine="0"} 0.25\nvllm:x_bucket{le="1"} 3\nvllm:y 7\n',
  );
  assert.deepEqual(s.map((x) => [x.metric, x.value]), [["vllm:kv_cache_usage_perc", 0.25], [
    "vllm:y",
    7,
  ]]);
});
