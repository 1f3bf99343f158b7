/**
 * From finished requests to one `summary.json` load point (vLLM `--save-result`
 * keys plus ours): a view of the load point's one record (`lib/load_point.ts`),
 * rounded to 3 decimals; and vLLM's console result block.
 *
 * @module
 */
import type { Slo } from "../lib/metrics.ts";
import {
  type LoadPointStats,
  loadPointStats,
  type PerSecondCounts,
  type StatsRow,
} from "../lib/load_point.ts";
import type { Describable } from "../lib/stats.ts";
import { type LoadPointSummary, METRICS, type RequestRow, STATS } from "../lib/result_schema.ts";
import { vllmBackend } from "../lib/vllm_result.ts";
import { offeredUnit, offersConversations } from "../lib/rate_unit.ts";

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
  /** The saturation rule's line when it stopped the run (`lib/saturation.ts`). @default none */
  saturated?: string | null;
}

const r3 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
const r3n = (x: number | null) => (x === null ? null : r3(x));

/**
 * What a summary reads of a request row (a run keeps only this much of each in
 * memory; no conversation ids: the summary has no cumulative conversation latency).
 */
export type SummaryRow = Omit<StatsRow, "conversation_id">;

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
 * Summarizes one load point: its record (`lib/load_point.ts`) seen as
 * {@linkcode summaryOf}. `itls` are all inter-token gaps (or a `ValueLog` of
 * them), `tokensPerSecond` the counts of content chunks per whole second of the
 * run's clock (see `RunRows`).
 */
export function summarize(
  rows: Iterable<SummaryRow> & { readonly length: number },
  itls: ArrayLike<number> | Describable,
  tokensPerSecond: PerSecondCounts,
  m: SummaryMeta,
): LoadPointSummary {
  const st = loadPointStats(rows, {
    itlsMs: itls,
    tokensPerSecond,
    slo: m.slo,
    timeScale: m.timeScale,
    conversations: offersConversations(m.workload),
  });
  return summaryOf(st, m);
}

/** The `summary.json` object of a load point's record: vLLM's keys, ours, then the statistics (ms, 3 decimals). */
export function summaryOf(st: LoadPointStats, m: SummaryMeta): LoadPointSummary {
  const s: LoadPointSummary = { ...vllmKeys(st, m), ...ourKeys(st, m) };
  for (const name of METRICS) {
    for (const k of STATS) s[`${k}_${name}_ms`] = r3n(st[`${k}_${name}_ms`]);
  }
  // latency from the schedule (includes send lag: no coordinated omission)
  s.mean_ttft_from_scheduled_ms = r3n(st.mean_ttft_from_scheduled_ms);
  s.p50_ttft_from_scheduled_ms = r3n(st.p50_ttft_from_scheduled_ms);
  s.p99_ttft_from_scheduled_ms = r3n(st.p99_ttft_from_scheduled_ms);
  s.p50_e2el_from_scheduled_ms = r3n(st.p50_e2el_from_scheduled_ms);
  s.p99_e2el_from_scheduled_ms = r3n(st.p99_e2el_from_scheduled_ms);
  return s;
}

/** The vLLM `--save-result` keys of a summary, in its order. */
function vllmKeys(st: LoadPointStats, m: SummaryMeta) {
  return {
    date: m.date,
    // vLLM's `--backend` name in both, as `vllm bench serve` writes them
    backend: vllmBackend(m.endpoint),
    endpoint_type: vllmBackend(m.endpoint),
    label: m.label,
    model_id: m.model,
    tokenizer_id: m.tokenizer,
    num_prompts: st.num_prompts,
    request_rate: Number.isFinite(m.rateTarget) ? m.rateTarget : "inf" as const,
    burstiness: m.burstiness,
    max_concurrency: m.concurrency,
    completed: st.completed,
    failed: st.failed,
    duration: r3(st.duration)!,
    total_input_tokens: st.total_input_tokens,
    total_output_tokens: st.total_output_tokens,
    request_throughput: r3(st.request_throughput)!,
    request_goodput: r3n(st.request_goodput),
    output_throughput: r3(st.output_throughput)!,
    total_token_throughput: r3(st.total_token_throughput)!,
    max_output_tokens_per_s: st.max_output_tokens_per_s,
    max_concurrent_requests: m.maxConcurrent,
  };
}

/** Our keys of a summary, in its order. */
function ourKeys(st: LoadPointStats, m: SummaryMeta) {
  const ttftByTurn: LoadPointSummary["ttft_by_turn"] = {};
  for (const t of st.ttft_by_turn) {
    ttftByTurn[String(t.turn)] = {
      count: t.count,
      mean_ms: r3(t.mean_ms)!,
      p50_ms: r3(t.p50_ms)!,
      p99_ms: r3(t.p99_ms)!,
    };
  }
  return {
    run_id: m.runId,
    run_index: m.runIndex,
    load_point: m.loadPoint,
    complete: m.complete,
    // only on a point the saturation rule stopped (the others' summaries stay as they were)
    ...(m.saturated ? { saturated: true, saturation: m.saturated } : {}),
    rate_target: Number.isFinite(m.rateTarget) ? m.rateTarget : "inf" as const,
    rate_target_unit: offeredUnit(m.workload),
    rate_achieved: r3(st.rate_achieved)!,
    conversation_rate_achieved: r3n(st.conversation_rate_achieved),
    output_throughput_steady: r3n(st.output_throughput_steady),
    sent: st.num_prompts,
    send_lag_p50_ms: r3n(st.send_lag_p50_ms)!,
    send_lag_p99_ms: r3n(st.send_lag_p99_ms)!,
    send_lag_max_ms: r3n(st.send_lag_max_ms)!,
    client_saturated: !m.capped && (st.send_lag_p99_ms ?? 0) > 5,
    success_rate: r3n(st.success_rate)!,
    slo: m.slo ? { ttft_ms: m.slo.ttftMs, tpot_ms: m.slo.tpotMs } : null,
    slo_attainment: r3n(st.slo_attainment),
    output_token_mismatches: m.outputTokenMismatches,
    ttft_by_turn: ttftByTurn,
    topology: m.topology,
    workload: m.workload,
    gpus: m.gpus,
    time_scale: m.timeScale ?? 1,
  };
}

const line = (k: string, v: unknown) =>
  `${k.padEnd(40)} ${typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : v}`;
const head = (t: string) => {
  const pad = Math.max(0, 50 - t.length);
  return "-".repeat(Math.floor(pad / 2)) + t + "-".repeat(Math.ceil(pad / 2));
};

/** A line of the result block: label, key; `conv` lines only on conversation loads. */
type TotalLine = [string, keyof LoadPointSummary, "conv"?];

/**
 * The totals of vLLM's result block, in its order. On a conversation load the
 * offered rate is conversations/s (`Conversation rate target (conv/s):`), and
 * the achieved rate is given both ways; every other rate stays requests/s.
 */
function totals(conv: boolean): TotalLine[] {
  return [
    ["Successful requests:", "completed"],
    ["Failed requests:", "failed"],
    ["Maximum request concurrency:", "max_concurrency"],
    conv
      ? ["Conversation rate target (conv/s):", "request_rate"]
      : ["Request rate target (req/s):", "request_rate"],
    ["Conversation rate achieved (conv/s):", "conversation_rate_achieved", "conv"],
    ["Request rate achieved (req/s):", "rate_achieved"],
    ["Benchmark duration (s):", "duration"],
    ["Total input tokens:", "total_input_tokens"],
    ["Total generated tokens:", "total_output_tokens"],
    ["Request throughput (req/s):", "request_throughput"],
    ["Request goodput (req/s):", "request_goodput"],
    ["Output token throughput (tok/s):", "output_throughput"],
    ["Steady-state output throughput (tok/s):", "output_throughput_steady", "conv"],
    ["Peak output token throughput (tok/s):", "max_output_tokens_per_s"],
    ["Peak concurrent requests:", "max_concurrent_requests"],
    ["Total Token throughput (tok/s):", "total_token_throughput"],
  ];
}

/** Totals left out of the block when null (no concurrency cap, no SLO). */
const OPTIONAL = new Set<keyof LoadPointSummary>(["max_concurrency", "request_goodput"]);

/** vLLM's console result block (plus send lag, SLO and completeness lines). */
export function resultBlock(s: LoadPointSummary): string {
  const out = [head(" Serving Benchmark Result ").replaceAll("-", "=")];
  const conv = offersConversations(s.workload ?? "");
  for (const [label, key, only] of totals(conv)) {
    if (only && !conv) continue;
    const v = s[key] ?? null;
    if (v !== null || !OPTIONAL.has(key)) out.push(line(label, v ?? "n/a"));
  }
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
  // from the schedule: what a user would have waited had the client kept it (no coordinated omission)
  if (s.p50_ttft_from_scheduled_ms !== undefined) {
    out.push(line(
      "TTFT from schedule p50/p99 (ms):",
      `${s.p50_ttft_from_scheduled_ms ?? "n/a"} / ${s.p99_ttft_from_scheduled_ms ?? "n/a"}`,
    ));
  }
  if (s.client_saturated) {
    out.push("BEHIND SCHEDULE: send lag p99 > 5 ms (the client or its host could not keep up)");
  }
  // in percent, as --attainment and the pipeline's lines give it (summary.json keeps the fraction)
  if (s.slo_attainment !== null) {
    out.push(line("SLO attainment (%):", Number((100 * s.slo_attainment).toFixed(2))));
  }
  if (s.output_token_mismatches) {
    out.push(line("Output token count mismatches:", s.output_token_mismatches));
  }
  if (s.saturated) out.push(`SATURATED: stopped ${s.saturation}; requests in flight failed`);
  if (!s.complete) out.push("INCOMPLETE: interrupted; only finished requests are counted");
  out.push("=".repeat(50));
  return out.join("\n");
}
