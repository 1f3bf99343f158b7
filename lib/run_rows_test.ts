import assert from "node:assert/strict";
import type { RequestRow } from "./result_schema.ts";
import { aggregateRow, type RunInput, runRow } from "./run_rows.ts";
import { summarize } from "../bench/summary.ts";

function rows(n: number, runId: string, ttftOf: (i: number) => number): RequestRow[] {
  const out: RequestRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const ttft = ttftOf(i);
    out[i] = {
      run_id: runId,
      load_point: "10",
      request_id: `r${i}`,
      conversation_id: "",
      turn: 1,
      scheduled_ms: i * 100,
      sent_ms: i * 100,
      first_token_ms: i * 100 + ttft,
      end_ms: i * 100 + ttft + 90,
      ttft_ms: ttft,
      e2e_ms: ttft + 90,
      tpot_ms: 10,
      itl_mean_ms: 10,
      itl_max_ms: 10,
      prompt_tokens: 100,
      output_tokens: 10,
      cached_tokens: 0,
      status: 200,
      error: "",
      backend: "",
    };
  }
  return out;
}

const input = (r: RequestRow[], runId: string): RunInput => ({
  experiment: "x",
  topology: "agg",
  workload: "random 100/10",
  model: "m",
  gpus: 2,
  loadPoint: "10",
  rateTarget: 10,
  maxConcurrency: null,
  runIndex: 1,
  runId,
  runDir: runId,
  source: "topobench",
  simulated: true,
  clock: "virtual",
  complete: true,
  rows: r,
  itlGapsMs: null,
  summary: {},
  slo: { ttftMs: 500 },
});

Deno.test("run rows: 1,000,000 requests summarize, and p99 of repeats is pooled, never averaged", () => {
  const n = 1_000_000;
  const big = rows(n, "a", (i) => i % 1000); // TTFT 0..999 evenly
  const s = summarize(big, [], new Map(), {
    runId: "a",
    runIndex: 1,
    loadPoint: "10",
    complete: true,
    date: "",
    model: "m",
    tokenizer: "t",
    endpoint: "/v1/completions",
    label: "a",
    rateTarget: 10,
    burstiness: 1,
    concurrency: null,
    capped: false,
    slo: { ttftMs: 500 },
    maxConcurrent: 1,
    outputTokenMismatches: 0,
    topology: "agg",
    workload: "random 100/10",
    gpus: 2,
  });
  assert.equal(s.completed, n);
  assert.equal(s.mean_ttft_ms, 499.5);
  assert.equal(s.slo_attainment, 0.501); // 0..500 of every 1000
  const r = runRow(input(big, "a"));
  assert.equal(r.mean_ttft_ms, 499.5);
  assert.equal(r.output_throughput_per_gpu, (r.output_throughput as number) / 2);
  // repeats: one fast run, one slow run; pooled p99 is the p99 of all requests
  const fast = rows(100, "f", () => 10), slow = rows(100, "s", () => 1000);
  const ins = [input(fast, "f"), input(slow, "s")];
  const per = ins.map(runRow);
  const agg = aggregateRow(ins, per);
  assert.equal(agg.p99_ttft_ms, 1000); // averaging would give 505
  assert.equal(agg.p50_ttft_ms, 505); // the pooled median sits between the runs
  assert.equal(agg.mean_ttft_ms, 505);
  assert.equal(agg.n_runs, 2);
  assert.ok((agg.mean_ttft_ms_ci95 as number) > 0);
});

Deno.test("run rows: per-turn TTFT, TPOT, E2E and cumulative conversation latency, pooled over repeats", () => {
  // 4 conversations x 3 turns; turn t has TTFT 10*t, E2E 100*t; conversation c3 fails turn 2
  const mk = (runId: string) =>
    rows(12, runId, (i) => 10 * (i % 3 + 1)).map((r, i) => ({
      ...r,
      conversation_id: `c${Math.floor(i / 3)}`,
      turn: i % 3 + 1,
      e2e_ms: 100 * (i % 3 + 1),
      ...(i === 10 ? { error: "boom", ttft_ms: null } : {}),
    }));
  const one = runRow(input(mk("a"), "a"));
  assert.equal(one.ttft_by_turn_ms, "10;20;30");
  assert.equal(one.e2el_by_turn_ms, "100;200;300");
  // c3 stops at turn 1: turns 2 and 3 average the three conversations that got there
  assert.equal(one.cum_e2el_by_turn_ms, "100;300;600");
  assert.equal(one.tpot_by_turn_ms, "10;10;10");
  const agg = aggregateRow([input(mk("a"), "a"), input(mk("b"), "b")], [
    one,
    runRow(input(mk("b"), "b")),
  ]);
  assert.equal(agg.ttft_by_turn_ms, "10;20;30");
  // single-turn runs carry no per-turn lists
  assert.equal(runRow(input(rows(5, "s", () => 7), "s")).ttft_by_turn_ms, null);
});

Deno.test("run rows: a point the saturation stop ended is saturated, and so is a mean row holding one", () => {
  const a = runRow({ ...input(rows(20, "a", () => 50), "a"), saturated: true });
  const b = runRow(input(rows(20, "b", () => 50), "b"));
  assert.equal(a.saturated, true);
  assert.equal(b.saturated, false, "absent: not stopped");
  const ins = [input([], "a"), input([], "b")];
  assert.equal(aggregateRow(ins, [a, b]).saturated, true);
  assert.equal(aggregateRow(ins, [b, b]).saturated, false);
});
