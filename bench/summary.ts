/**
 * From finished requests to one `summary.json` load point (vLLM `--save-result`
 * keys plus ours) and vLLM's console result block.
 *
 * @module
 */
import { describe, percentile } from "../lib/stats.ts";
import { latencyStats, meetsSlo, type Slo } from "../lib/metrics.ts";
import type { LoadPointSummary, RequestRow } from "../lib/result_schema.ts";
import { vllmBackend } from "../lib/vllm_result.ts";

/** Inputs of {@linkcode summarize} besides the rows. */
export interface SummaryMeta {
  runId: string;
  runIndex: number;
  loadPoint: string;
  complete: boolean;
  date: string;
  model: string;
  tokenizer: string;
  endpoint: string;
  label: string;
  rateTarget: number;
  burstiness: number;
  concurrency: number | null;
  /** Whether concurrency was a cap on an open loop (lag then is queueing, not client saturation). */
  capped: boolean;
  slo: Slo | null;
  maxConcurrent: number;
  outputTokenMismatches: number;
  topology: string;
  workload: string;
  gpus: number | null;
  /**
   * Server time per real time (`--time-scale`): row times are server ms, so
   * send lag (a client property) is divided by it to stay in real ms.
   * @default 1
   */
  timeScale?: number;
}

const r3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

/** What a summary reads of a request row (a run keeps only this much of each in memory). */
export type SummaryRow = Pick<
  RequestRow,
  | "error"
  | "scheduled_ms"
  | "sent_ms"
  | "first_token_ms"
  | "end_ms"
  | "ttft_ms"
  | "tpot_ms"
  | "e2e_ms"
  | "prompt_tokens"
  | "output_tokens"
  | "turn"
>;

/** The {@linkcode SummaryRow} of a request row: a small object of numbers. */
export function summaryRow(r: RequestRow): SummaryRow {
  return {
    error: r.error,
    scheduled_ms: r.scheduled_ms,
    sent_ms: r.sent_ms,
    first_token_ms: r.first_token_ms,
    end_ms: r.end_ms,
    ttft_ms: r.ttft_ms,
    tpot_ms: r.tpot_ms,
    e2e_ms: r.e2e_ms,
    prompt_tokens: r.prompt_tokens,
    output_tokens: r.output_tokens,
    turn: r.turn,
  };
}

/**
 * Summarizes one load point. `itls` are all inter-token gaps, `tokensPerSecond`
 * the content chunks per whole second of the run's clock (see `RunRows`).
 */
export function summarize(
  rows: readonly SummaryRow[],
  itls: ArrayLike<number>,
  tokensPerSecond: ReadonlyMap<number, number>,
  m: SummaryMeta,
): LoadPointSummary {
  const ok = rows.filter((r) => !r.error);
  // loops, not spreads: a spread of 150,000+ values overflows the call stack
  let first = rows.length ? Infinity : 0;
  let last = rows.length ? -Infinity : 0;
  for (const r of rows) {
    if (r.scheduled_ms < first) first = r.scheduled_ms;
    if (r.end_ms > last) last = r.end_ms;
  }
  const durationS = Math.max(1e-9, (last - first) / 1000);
  const inTok = ok.reduce((s, r) => s + (r.prompt_tokens ?? 0), 0);
  const outTok = ok.reduce((s, r) => s + r.output_tokens, 0);
  const sent = rows.map((r) => r.sent_ms).sort((a, b) => a - b);
  const timeScale = m.timeScale ?? 1;
  // send lag stays in real ms: it is the client's own property, not the server's
  const lags = rows.map((r) => (r.sent_ms - r.scheduled_ms) / timeScale);
  const rateAchieved = sent.length >= 2
    ? (sent.length - 1) / ((sent[sent.length - 1] - sent[0]) / 1000)
    : 0;
  const lagP99 = percentile(lags, 99);
  const met = m.slo ? rows.filter((r) => meetsSlo(r, m.slo!)).length : 0;
  const s: LoadPointSummary = {
    date: m.date,
    // vLLM's `--backend` name in both, as `vllm bench serve` writes them
    backend: vllmBackend(m.endpoint),
    endpoint_type: vllmBackend(m.endpoint),
    label: m.label,
    model_id: m.model,
    tokenizer_id: m.tokenizer,
    num_prompts: rows.length,
    request_rate: Number.isFinite(m.rateTarget) ? m.rateTarget : "inf",
    burstiness: m.burstiness,
    max_concurrency: m.concurrency,
    completed: ok.length,
    failed: rows.length - ok.length,
    duration: r3(durationS)!,
    total_input_tokens: inTok,
    total_output_tokens: outTok,
    request_throughput: r3(ok.length / durationS)!,
    request_goodput: m.slo ? r3(met / durationS) : null,
    output_throughput: r3(outTok / durationS)!,
    total_token_throughput: r3((inTok + outTok) / durationS)!,
    max_output_tokens_per_s: [...tokensPerSecond.values()].reduce((a, b) => Math.max(a, b), 0),
    max_concurrent_requests: m.maxConcurrent,
    run_id: m.runId,
    run_index: m.runIndex,
    load_point: m.loadPoint,
    complete: m.complete,
    rate_target: Number.isFinite(m.rateTarget) ? m.rateTarget : "inf",
    rate_achieved: r3(rateAchieved)!,
    sent: rows.length,
    send_lag_p50_ms: r3(percentile(lags, 50))!,
    send_lag_p99_ms: r3(lagP99)!,
    send_lag_max_ms: r3(lags.length ? lags.reduce((a, b) => Math.max(a, b), -Infinity) : NaN)!,
    client_saturated: !m.capped && lagP99 > 5,
    success_rate: r3(rows.length ? ok.length / rows.length : NaN)!,
    slo: m.slo ? { ttft_ms: m.slo.ttftMs, tpot_ms: m.slo.tpotMs } : null,
    slo_attainment: m.slo ? r3(rows.length ? met / rows.length : NaN) : null,
    output_token_mismatches: m.outputTokenMismatches,
    ttft_by_turn: {},
    topology: m.topology,
    workload: m.workload,
    gpus: m.gpus,
    time_scale: timeScale,
  };
  const series: Record<string, ArrayLike<number>> = {
    ttft: ok.map((r) => r.ttft_ms).filter((x): x is number => x !== null),
    tpot: ok.map((r) => r.tpot_ms).filter((x): x is number => x !== null),
    itl: itls,
    e2el: ok.map((r) => r.e2e_ms),
  };
  for (const [name, xs] of Object.entries(series)) {
    for (const [k, v] of Object.entries(latencyStats(name, xs))) s[k] = v === null ? null : r3(v);
  }
  // latency from the schedule (includes send lag: no coordinated omission)
  const fromSched = ok.filter((r) => r.first_token_ms !== null).map((r) =>
    r.first_token_ms! - r.scheduled_ms
  );
  s.mean_ttft_from_scheduled_ms = r3(describe(fromSched).mean);
  s.p99_ttft_from_scheduled_ms = r3(percentile(fromSched, 99));
  const byTurn = new Map<number, number[]>();
  for (const r of ok) {
    if (r.ttft_ms === null) continue;
    if (!byTurn.has(r.turn)) byTurn.set(r.turn, []);
    byTurn.get(r.turn)!.push(r.ttft_ms);
  }
  for (const [turn, xs] of [...byTurn].sort((a, b) => a[0] - b[0])) {
    const d = describe(xs);
    s.ttft_by_turn[String(turn)] = {
      count: d.count,
      mean_ms: r3(d.mean)!,
      p50_ms: r3(d.median)!,
      p99_ms: r3(d.p[99])!,
    };
  }
  return s;
}

const line = (k: string, v: unknown) =>
  `${k.padEnd(40)} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : v}`;
const head = (t: string) => {
  const pad = Math.max(0, 50 - t.length);
  return "-".repeat(Math.floor(pad / 2)) + t + "-".repeat(Math.ceil(pad / 2));
};

/** vLLM's console result block (plus send lag, SLO and completeness lines). */
export function resultBlock(s: LoadPointSummary): string {
  const out = [head(" Serving Benchmark Result ").replaceAll("-", "=")];
  out.push(line("Successful requests:", s.completed));
  out.push(line("Failed requests:", s.failed));
  if (s.max_concurrency !== null) out.push(line("Maximum request concurrency:", s.max_concurrency));
  out.push(line("Request rate target (req/s):", s.request_rate));
  out.push(line("Request rate achieved (req/s):", s.rate_achieved));
  out.push(line("Benchmark duration (s):", s.duration));
  out.push(line("Total input tokens:", s.total_input_tokens));
  out.push(line("Total generated tokens:", s.total_output_tokens));
  out.push(line("Request throughput (req/s):", s.request_throughput));
  if (s.request_goodput !== null) out.push(line("Request goodput (req/s):", s.request_goodput));
  out.push(line("Output token throughput (tok/s):", s.output_throughput));
  out.push(line("Peak output token throughput (tok/s):", s.max_output_tokens_per_s));
  out.push(line("Peak concurrent requests:", s.max_concurrent_requests));
  out.push(line("Total Token throughput (tok/s):", s.total_token_throughput));
  const sect: [string, string, string][] = [
    ["ttft", "TTFT", "Time to First Token"],
    ["tpot", "TPOT", "Time per Output Token (excl. 1st token)"],
    ["itl", "ITL", "Inter-token Latency"],
    ["e2el", "E2EL", "End-to-end Latency"],
  ];
  for (const [k, name, title] of sect) {
    out.push(head(title));
    out.push(line(`Mean ${name} (ms):`, s[`mean_${k}_ms`] ?? "n/a"));
    out.push(line(`Median ${name} (ms):`, s[`median_${k}_ms`] ?? "n/a"));
    out.push(line(`P99 ${name} (ms):`, s[`p99_${k}_ms`] ?? "n/a"));
  }
  out.push(head("Client"));
  out.push(
    line(
      (s.time_scale ?? 1) === 1 ? "Send lag p50/p99/max (ms):" : "Send lag p50/p99/max (real ms):",
      `${s.send_lag_p50_ms} / ${s.send_lag_p99_ms} / ${s.send_lag_max_ms}`,
    ),
  );
  if (s.slo_attainment !== null) out.push(line("SLO attainment:", s.slo_attainment));
  if (s.output_token_mismatches) {
    out.push(line("Output token count mismatches:", s.output_token_mismatches));
  }
  if (!s.complete) out.push("INCOMPLETE: interrupted; only finished requests are counted");
  out.push("=".repeat(50));
  return out.join("\n");
}
