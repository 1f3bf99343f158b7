/**
 * `vllm bench serve --save-result` JSON: key normalization (the old
 * `request_goodput:` key with a trailing colon) and per-request rows rebuilt
 * from the `input_lens`, `output_lens`, `ttfts`, `itls` (seconds) and `errors`
 * arrays, so merge and compare recompute everything as for our own runs.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";
import { timedFields } from "./_peer.ts";

/** A normalized result object plus the rows rebuilt from its arrays (null when absent). */
export interface VllmResult {
  result: Record<string, unknown>;
  rows: RequestRow[] | null;
  /** All inter-token gaps (ms) of successful requests, or null. */
  itlGapsMs: number[] | null;
}

const arr = (v: unknown): unknown[] | null => (Array.isArray(v) ? v : null);

/** Reads one result object; throws naming the file when it is not one. */
export function readVllmResult(text: string, file: string): VllmResult {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${file} as vllm bench JSON: current value is invalid JSON (${
        e instanceof Error ? e.message : e
      })`,
    );
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) {
    throw new TypeError(
      `Cannot read ${file} as vllm bench JSON: current value is not one object`,
    );
  }
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) {
    result[k.replace(/:+$/, "").trim()] = v;
  }
  if (typeof result.completed !== "number" || typeof result.duration !== "number") {
    throw new TypeError(
      `Cannot read ${file} as vllm bench JSON: current value lacks numeric completed and duration`,
    );
  }
  const ttfts = arr(result.ttfts);
  const outs = arr(result.output_lens);
  if (!ttfts || !outs || ttfts.length !== outs.length) {
    return { result, rows: null, itlGapsMs: null };
  }
  const ins = arr(result.input_lens) ?? [];
  const itls = arr(result.itls) ?? [];
  const errors = arr(result.errors) ?? [];
  // `latencies` (s) in today's files, always kept; `e2els` in some older ones
  const e2els = arr(result.e2els) ?? arr(result.latencies);
  // `start_times`: perf-counter seconds of each send (only their differences mean anything)
  const starts = arr(result.start_times)?.map(Number) ?? null;
  const t0 = starts && starts.length === ttfts.length ? Math.min(...starts) : null;
  const rows: RequestRow[] = [];
  const gaps: number[] = [];
  const rate = result.request_rate;
  const lp = typeof rate === "number" ? String(rate) : String(rate ?? "inf");
  for (let i = 0; i < ttfts.length; i++) {
    const out = Number(outs[i] ?? 0);
    const ttftMs = Number(ttfts[i]) * 1000;
    const g = (arr(itls[i]) ?? []).map((x) => Number(x) * 1000);
    const err = typeof errors[i] === "string" ? errors[i] as string : "";
    const failed = err !== "" || (out === 0 && !(ttftMs > 0));
    const sumG = g.reduce((a, b) => a + b, 0);
    const e2e = e2els ? Number(e2els[i]) * 1000 : ttftMs + sumG;
    if (!failed) gaps.push(...g);
    const sent = t0 === null ? 0 : (starts![i] - t0) * 1000;
    rows.push({
      run_id: file,
      load_point: lp,
      request_id: String(i),
      conversation_id: String(i),
      turn: 1,
      ...timedFields(sent, failed ? null : ttftMs, e2e),
      tpot_ms: failed || out <= 1 ? null : (e2e - ttftMs) / (out - 1),
      itl_mean_ms: g.length ? sumG / g.length : null,
      itl_max_ms: g.length ? Math.max(...g) : null,
      prompt_tokens: ins[i] === undefined ? null : Number(ins[i]),
      output_tokens: out,
      cached_tokens: null,
      status: failed ? 0 : 200,
      error: failed ? (err || "failed") : "",
      backend: "",
    });
  }
  return { result, rows, itlGapsMs: gaps };
}

/** Top-level keys of `vllm bench serve --save-result`, in the order vLLM writes them (before the statistics). */
const VLLM_HEAD = [
  "date",
  "endpoint_type",
  "backend",
  "label",
  "model_id",
  "tokenizer_id",
  "num_prompts",
  "request_rate",
  "burstiness",
  "max_concurrency",
  "duration",
  "completed",
  "failed",
  "total_input_tokens",
  "total_output_tokens",
  "request_throughput",
  "request_goodput",
  "output_throughput",
  "total_token_throughput",
];

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * One load point as `vllm bench serve --save-result --save-detailed` writes
 * it: our summary's vLLM-named keys in vLLM's order, the per-request arrays in
 * seconds (`input_lens`, `output_lens`, `ttfts`, `itls`, `latencies`,
 * `start_times`, `errors`; a failed request has 0 and `[]` as in vLLM), then
 * `max_output_tokens_per_s`, `max_concurrent_requests` and the
 * `mean|median|std|pNN_<metric>_ms` statistics. `itlByRequest` maps a request
 * id to its gaps (ms).
 */
export function toVllmResult(
  summary: Record<string, unknown>,
  rows: readonly RequestRow[],
  itlByRequest: ReadonlyMap<string, number[]> | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of VLLM_HEAD) out[k] = summary[k] ?? null;
  // vLLM stamps `%Y%m%d-%H%M%S`
  const iso = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(String(summary.date ?? ""));
  if (iso) out.date = `${iso[1]}${iso[2]}${iso[3]}-${iso[4]}${iso[5]}${iso[6]}`;
  const ok = (r: RequestRow) => r.error === "";
  out.input_lens = rows.map((r) => r.prompt_tokens ?? 0);
  out.output_lens = rows.map((r) => (ok(r) ? r.output_tokens : 0));
  out.ttfts = rows.map((r) => (ok(r) && r.ttft_ms !== null ? r6(r.ttft_ms / 1000) : 0));
  out.itls = rows.map((r) =>
    ok(r) ? (itlByRequest?.get(r.request_id) ?? []).map((g) => r6(g / 1000)) : []
  );
  out.latencies = rows.map((r) => (ok(r) ? r6(r.e2e_ms / 1000) : 0));
  out.start_times = rows.map((r) => r6(r.sent_ms / 1000));
  out.errors = rows.map((r) => r.error);
  out.max_output_tokens_per_s = summary.max_output_tokens_per_s ?? null;
  out.max_concurrent_requests = summary.max_concurrent_requests ?? null;
  for (const m of ["ttft", "tpot", "itl", "e2el"]) {
    for (const [k, v] of Object.entries(summary)) {
      if (new RegExp(`^(mean|median|std|p[\\d.]+)_${m}_ms$`).test(k)) out[k] = v;
    }
  }
  return out;
}

/** vLLM's result file name: `{label or backend}-{rate}qps[-concurrency{N}]-{model}-{date}.json`. */
export function vllmResultName(summary: Record<string, unknown>, index: number): string {
  const rate = summary.request_rate;
  const model = String(summary.model_id ?? "model").split("/").at(-1);
  const conc = summary.max_concurrency;
  const label = String(summary.label ?? summary.backend ?? "openai");
  return `${label}-${rate === "inf" ? "inf" : Number(rate).toFixed(1)}qps${
    typeof conc === "number" ? `-concurrency${conc}` : ""
  }-${model}-${String(summary.date ?? "run").replace(/[-:]|\.\d+Z$/g, "")}-${index + 1}.json`
    .replace(/[^\w.@+-]/g, "_");
}
