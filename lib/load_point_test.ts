import assert from "node:assert/strict";
import { loadPointStats, type StatsRow } from "./load_point.ts";
import { type RunInput, runRow } from "./run_rows.ts";
import { summaryOf } from "../bench/summary.ts";

/** A successful request: sent at `at` ms, TTFT, E2E and output tokens. */
function ok(at: number, ttft: number, e2e: number, out: number, extra: Partial<StatsRow> = {}) {
  return {
    error: "",
    scheduled_ms: at,
    sent_ms: at,
    first_token_ms: at + ttft,
    end_ms: at + e2e,
    ttft_ms: ttft,
    tpot_ms: out > 1 ? (e2e - ttft) / (out - 1) : null,
    e2e_ms: e2e,
    prompt_tokens: 100,
    output_tokens: out,
    turn: 1,
    ...extra,
  } satisfies StatsRow;
}

function failed(at: number, extra: Partial<StatsRow> = {}): StatsRow {
  return { ...ok(at, 0, 50, 0, extra), first_token_ms: null, ttft_ms: null, error: "boom" };
}

// two conversations of 2 turns and one that fails its turn 2, a lagging send, a 1-token answer
const ROWS: StatsRow[] = [
  ok(0, 10, 100, 10, { conversation_id: "a" }),
  ok(100, 20, 200, 1, { conversation_id: "b" }),
  ok(300, 30, 300, 28, { conversation_id: "a", turn: 2, sent_ms: 304, first_token_ms: 334 }),
  failed(500, { conversation_id: "b", turn: 2 }),
  ok(900, 40, 400, 37, { conversation_id: "c", prompt_tokens: null }),
  ok(1000, 60, 600, 55, { conversation_id: "c", turn: 2 }),
];

Deno.test("load point: one record of counts, throughputs, send lag, SLO, latency and turns", () => {
  const st = loadPointStats(ROWS, {
    itlsMs: [5, 10, 15],
    tokensPerSecond: new Map([[0, 7], [1, 9]]),
    slo: { ttftMs: 35, tpotMs: 12 },
    timeScale: 2,
  });
  assert.equal(st.num_prompts, 6);
  assert.equal(st.completed, 5);
  assert.equal(st.failed, 1);
  assert.equal(st.duration, 1.6); // first schedule 0, last end 1600
  assert.equal(st.total_input_tokens, 400); // a missing prompt count adds nothing
  assert.equal(st.total_output_tokens, 131);
  assert.equal(st.request_throughput, 5 / 1.6);
  assert.equal(st.max_output_tokens_per_s, 9);
  assert.equal(st.rate_achieved, 5 / 1); // 6 sends from 0 to 1000 ms
  assert.equal(st.send_lag_max_ms, 2); // 4 ms at time scale 2
  assert.equal(st.send_lag_p50_ms, 0);
  assert.equal(st.success_rate, 5 / 6);
  // met: turn 1 of a (10 ms, TPOT 10), b's one-token answer (20 ms, no TPOT), a's turn 2 (30 ms, 10)
  assert.equal(st.slo_attainment, 3 / 6);
  assert.equal(st.request_goodput, 3 / 1.6);
  assert.equal(st.mean_ttft_ms, 32);
  assert.equal(st.p50_tpot_ms, 10);
  assert.equal(st.mean_itl_ms, 10);
  assert.equal(st.median_e2el_ms, 300);
  assert.equal(st.mean_ttft_from_scheduled_ms, (10 + 20 + 34 + 40 + 60) / 5);
  assert.deepEqual(st.ttft_by_turn.map((t) => [t.turn, t.count, t.mean_ms]), [
    [1, 3, 70 / 3],
    [2, 2, 45],
  ]);
  assert.equal(st.mean_ttft_turn1_ms, 70 / 3);
  assert.equal(st.mean_ttft_turn2plus_ms, 45);
  assert.equal(st.p50_ttft_turn2plus_ms, 45);
  // cumulative: turn 1 of a, b, c; turn 2 of a and c (b failed its turn 2)
  assert.deepEqual(st.by_turn, [
    { ttft_ms: 70 / 3, tpot_ms: 10, e2el_ms: 700 / 3, cum_e2el_ms: 700 / 3 },
    { ttft_ms: 45, tpot_ms: 10, e2el_ms: 450, cum_e2el_ms: (400 + 1000) / 2 },
  ]);
});

Deno.test("load point: no requests, no SLO, no gaps: nulls where nothing is known", () => {
  const st = loadPointStats([]);
  assert.equal(st.num_prompts, 0);
  assert.equal(st.duration, 1e-9);
  assert.equal(st.rate_achieved, 0);
  for (const k of ["send_lag_p99_ms", "send_lag_max_ms", "success_rate", "slo_attainment"]) {
    assert.equal(st[k as keyof typeof st], null, k);
  }
  assert.equal(st.request_goodput, null);
  assert.equal(st.p99_ttft_ms, null);
  assert.equal(st.mean_itl_ms, null);
  assert.equal(st.by_turn, null);
  // all sent at one instant: the achieved rate is unbounded (summary and merged row say null)
  assert.equal(loadPointStats([ok(5, 1, 2, 2), ok(5, 1, 2, 2)]).rate_achieved, Infinity);
});

Deno.test("load point: summary.json and the merged row are views of the same record", () => {
  const slo = { ttftMs: 35, tpotMs: 12 };
  const st = loadPointStats(ROWS, { itlsMs: [5, 10, 15], slo });
  const s = summaryOf(st, {
    runId: "r",
    runIndex: 1,
    loadPoint: "2",
    complete: true,
    date: "",
    model: "m",
    tokenizer: "t",
    endpoint: "/v1/completions",
    label: "x",
    rateTarget: 2,
    burstiness: 1,
    concurrency: null,
    capped: false,
    slo,
    maxConcurrent: 1,
    outputTokenMismatches: 0,
    topology: "agg",
    workload: "w",
    gpus: 1,
  });
  const rows = ROWS.map((r, i) => ({
    ...r,
    run_id: "r",
    load_point: "2",
    request_id: String(i),
    conversation_id: r.conversation_id!,
    itl_mean_ms: null,
    itl_max_ms: null,
    cached_tokens: null,
    status: 200,
    backend: "",
  }));
  const input: RunInput = {
    experiment: "e",
    topology: "agg",
    workload: "w",
    model: "m",
    gpus: 1,
    loadPoint: "2",
    rateTarget: 2,
    maxConcurrency: null,
    runIndex: 1,
    runId: "r",
    runDir: "d",
    source: "topobench",
    simulated: true,
    clock: "virtual",
    complete: true,
    rows,
    itlGapsMs: [5, 10, 15],
    summary: {},
    slo,
  };
  const m = runRow(input);
  const r3 = (x: unknown) => Math.round((x as number) * 1000) / 1000;
  for (
    const k of [
      "completed",
      "duration",
      "request_throughput",
      "request_goodput",
      "rate_achieved",
      "slo_attainment",
      "p99_ttft_ms",
      "std_tpot_ms",
      "mean_itl_ms",
      "p90_e2el_ms",
    ]
  ) assert.equal(s[k], r3(m[k]), k);
  assert.equal(s.num_prompts, m.num_requests);
  assert.equal(m.ttft_by_turn_ms, "23.333;45");
  assert.equal(m.cum_e2el_by_turn_ms, "233.333;700");
  assert.equal(s.ttft_by_turn["2"].mean_ms, 45);
});

Deno.test("load point: a conversation of 150,000 turns merges (turns are not spread into Math.max)", () => {
  const n = 150_000;
  const rows = Array.from({ length: n }, (_, i) => ({
    ...ok(i, 1, 2, 2, { conversation_id: "c", turn: i + 1 }),
    run_id: "r",
    load_point: "1",
    request_id: String(i),
    conversation_id: "c",
    itl_mean_ms: null,
    itl_max_ms: null,
    cached_tokens: null,
    status: 200,
    backend: "",
  }));
  const m = runRow({
    experiment: "e",
    topology: "agg",
    workload: "w",
    model: "m",
    gpus: 1,
    loadPoint: "1",
    rateTarget: 1,
    maxConcurrency: null,
    runIndex: 1,
    runId: "r",
    runDir: "d",
    source: "topobench",
    simulated: true,
    clock: "virtual",
    complete: true,
    rows,
    itlGapsMs: null,
    summary: {},
    slo: null,
  });
  const cum = String(m.cum_e2el_by_turn_ms).split(";");
  assert.equal(cum.length, n);
  assert.equal(cum[n - 1], String(2 * n));
});

Deno.test("load point: conversations started per s, and output tok/s without ramp-up and drain tail", () => {
  // three 2-turn conversations starting at 0, 1 and 2 s; each turn 1 s long, 10 tokens
  const rows: StatsRow[] = ["a", "b", "c"].flatMap((c, i) => [
    ok(i * 1000, 0, 1000, 10, { conversation_id: c }),
    ok(i * 1000 + 2000, 0, 1000, 10, { conversation_id: c, turn: 2 }),
  ]);
  const st = loadPointStats(rows, { conversations: true });
  assert.equal(st.conversation_rate_achieved, 1); // 3 starts over 2 s
  assert.equal(st.rate_achieved, 1.25); // 6 sends over 4 s
  assert.equal(st.output_throughput, 12); // vLLM's: 60 tokens / 5 s
  // tail 3 s (last end 5 s − last start 2 s) cut to half the 2 s arrival window:
  // window 1..2 s holds b's first turn only, 10 tokens in 1 s
  assert.equal(st.output_throughput_steady, 10);
  const single = loadPointStats(rows);
  assert.equal(single.conversation_rate_achieved, null);
  assert.equal(single.output_throughput_steady, null);
});
