import assert from "node:assert/strict";
import {
  attainment,
  attainmentKinds,
  beyondNoise,
  ci95,
  cumulativeE2el,
  e2eMs,
  goodputRate,
  improvementPct,
  itlGapsMs,
  latencyStats,
  meetsSlo,
  parseSlo,
  perGpu,
  sloFromFlags,
  t975,
  tpotMs,
  ttftMs,
  turnOf,
} from "./metrics.ts";

const row = (ttft: number | null, tpot: number | null, error = "") => ({
  error,
  ttft_ms: ttft,
  tpot_ms: tpot,
});

Deno.test("metrics: one SLO syntax, with --ttft-slo/--tpot-slo aliases", () => {
  assert.deepEqual(parseSlo("ttft:500, tpot:50"), { ttftMs: 500, tpotMs: 50 });
  assert.deepEqual(parseSlo("tpot:7.5"), { tpotMs: 7.5 });
  assert.throws(() => parseSlo("ttft=500"), /--slo.*ttft:MS,tpot:MS/);
  assert.throws(() => parseSlo("ttft:0"), /--slo/);
  assert.deepEqual(sloFromFlags({ "ttft-slo": "200", "tpot-slo": "20" }), {
    ttftMs: 200,
    tpotMs: 20,
  });
  assert.deepEqual(sloFromFlags({ slo: "ttft:300", "tpot-slo": "30" }), {
    ttftMs: 300,
    tpotMs: 30,
  });
  assert.throws(() => sloFromFlags({ slo: "ttft:300", "ttft-slo": "30" }), /--ttft-slo/);
  assert.equal(sloFromFlags({}), null);
});

Deno.test("metrics: attainment counts failures as misses; a missing TPOT passes", () => {
  const rows = [row(100, 10), row(600, 10), row(100, 60), row(100, null), row(50, 5, "HTTP 500")];
  const slo = { ttftMs: 500, tpotMs: 50 };
  assert.equal(meetsSlo(rows[3], slo), true);
  assert.equal(meetsSlo(rows[4], slo), false);
  assert.equal(attainment(rows, slo), 2 / 5);
  assert.deepEqual(attainmentKinds(rows, slo), { both: 2 / 5, ttft: 3 / 5, tpot: 3 / 5 });
  // scale 2: TTFT <= 1000, TPOT <= 100 -> all but the failure
  assert.equal(attainment(rows, slo, 2), 4 / 5);
  assert.ok(Number.isNaN(attainment([], slo)));
});

Deno.test("metrics: goodput interpolates at the first drop below target", () => {
  const pts = [{ rate: 1, value: 1 }, { rate: 2, value: 0.95 }, { rate: 4, value: 0.5 }];
  // 0.95 -> 0.5 between 2 and 4: 0.9 is reached at 2 + 2 * 0.05 / 0.45
  assert.ok(Math.abs(goodputRate(pts, 0.9).rate - (2 + 2 * 0.05 / 0.45)) < 1e-12);
  assert.deepEqual(goodputRate(pts.slice(0, 2), 0.9), { rate: 2, atLeast: true });
  assert.deepEqual(goodputRate([{ rate: 1, value: 0.5 }], 0.9), { rate: 0, atLeast: false });
  assert.equal(perGpu(6, 3), 2);
  assert.equal(perGpu(6, null), null);
});

Deno.test("metrics: latency statistics by hand (numpy's percentile, population std)", () => {
  const s = latencyStats("ttft", [1, 2, 3, 4]);
  assert.equal(s.mean_ttft_ms, 2.5);
  assert.equal(s.median_ttft_ms, 2.5);
  assert.equal(s.std_ttft_ms, Math.sqrt(1.25));
  assert.equal(s.p90_ttft_ms, 3.7); // rank 0.9 * 3 = 2.7 -> 3 + 0.7
  assert.equal(s.p99_ttft_ms, 3 + 0.97);
  assert.equal(latencyStats("tpot", []).p99_tpot_ms, null);
});

Deno.test("metrics: per-request latencies as vllm bench serve defines them", () => {
  // sent at 100, first content at 130, 5 tokens, last at 190
  assert.equal(ttftMs(100, 130), 30);
  assert.equal(ttftMs(100, null), null);
  assert.equal(e2eMs(100, 190), 90);
  assert.equal(tpotMs(90, 30, 5), 15); // (90 - 30) / (5 - 1)
  assert.equal(tpotMs(90, 30, 1), null);
  assert.equal(tpotMs(90, null, 5), null);
  assert.deepEqual(itlGapsMs([130, 140, 160, 190]), [10, 20, 30]);
  assert.deepEqual(itlGapsMs([130]), []);
});

Deno.test("metrics: cumulative conversation latency stops at a conversation's first failure", () => {
  assert.equal(turnOf(0), 1);
  assert.equal(turnOf(3), 3);
  const row = (id: string, turn: number, e2e: number, error = "") => ({
    conversation_id: id,
    turn,
    e2e_ms: e2e,
    error,
  });
  const rows = [
    row("a", 1, 100),
    row("b", 0, 50), // turn 0 counts as turn 1
    row("a", 2, 200),
    row("b", 2, 70, "boom"),
    row("b", 3, 80), // after a failure: not counted
    row("a", 3, 300),
  ];
  assert.deepEqual(cumulativeE2el(rows, 3), { sumMs: [150, 300, 600], count: [2, 1, 1] });
});

Deno.test("metrics: Student-t intervals, noise and one sign convention", () => {
  assert.equal(t975(1), 12.706);
  assert.equal(t975(1000), 1.96);
  // [1, 2, 3]: mean 2, sample sd 1 -> 4.303 / sqrt(3)
  assert.ok(Math.abs(ci95([1, 2, 3]) - 4.303 / Math.sqrt(3)) < 1e-12);
  assert.ok(Number.isNaN(ci95([5])));
  assert.equal(beyondNoise(10, 1, 13, 1), true);
  assert.equal(beyondNoise(10, 2, 13, 2), false);
  assert.equal(beyondNoise(10, null, 13, 1), null);
  assert.equal(improvementPct(100, 80, true), 20); // latency 20% lower: +20
  assert.equal(improvementPct(100, 80, false), -20); // throughput 20% lower: -20
  assert.equal(improvementPct(0, 80, true), null);
});
