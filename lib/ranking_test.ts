import assert from "node:assert/strict";
import { beyondBracket, rankingSummary, rankTopologies } from "./ranking.ts";
import type { SloRow } from "./metrics.ts";

/** `n` requests, `bad` of them over a 500 ms TTFT. */
const rows = (n: number, bad: number): SloRow[] =>
  Array.from({ length: n }, (_, i) => ({ ttft_ms: i < bad ? 900 : 100, tpot_ms: 10, error: "" }));

const point = (rate: number, bad: number) => ({
  rate,
  rows: rows(10, bad),
  outputTokS: rate * 100,
});

Deno.test("rankTopologies: capacity per GPU, its bracket, the binding objective, ranks", () => {
  const r = rankTopologies(
    [
      { topology: "one", gpus: 1, points: [point(1, 0), point(2, 0), point(4, 5)] },
      { topology: "two", gpus: 2, points: [point(2, 0), point(4, 0), point(8, 0), point(16, 9)] },
      { topology: "none", gpus: 2, points: [point(1, 8)] },
    ],
    { ttftMs: 500 },
    0.9,
    "conv/s",
  );
  assert.deepEqual(r.topologies.map((t) => [t.topology, t.rank]), [["two", 1], ["one", 2], [
    "none",
    null,
  ]]);
  const [two, one] = r.topologies;
  // two: 8 passes, 16 fails at 10%: 8 + 8 * (1 - 0.9) / (1 - 0.1) per 2 GPUs
  assert.ok(Math.abs(two.slo_capacity - (8 + 8 / 9)) < 1e-9);
  assert.deepEqual([two.pass_rate, two.fail_rate, two.binding], [8, 16, "ttft"]);
  assert.equal(two.output_tok_s_per_gpu, 400);
  assert.ok(Math.abs(one.slo_capacity_per_gpu! - 2.4) < 1e-9); // 2 + 2 * 0.1 / 0.5
  assert.equal(beyondBracket(two, one), true); // two holds 4/GPU, where one fails
  assert.equal(beyondBracket(one, two), false);
  assert.match(
    rankingSummary(r),
    /^1\. two 4\.44, 2\. one 2\.4 \(two 1\.85×\), none met it at no rate conv\/s per GPU$/,
  );
});

Deno.test("rankTopologies: a topology that never fails is a lower bound (≥), never resolved against", () => {
  const r = rankTopologies(
    [
      { topology: "a", gpus: 1, points: [point(1, 0), point(2, 0)] },
      { topology: "b", gpus: 1, points: [point(1, 0), point(2, 10)] },
    ],
    { ttftMs: 500 },
    0.9,
    "req/s",
  );
  assert.equal(r.topologies[0].fail_rate, null);
  assert.equal(beyondBracket(r.topologies[1], r.topologies[0]), null);
  assert.match(rankingSummary(r), /^1\. a ≥2, 2\. b 1\.1 \(a 1\.82×\) req\/s per GPU$/);
});
