/**
 * One load point written as `vllm bench serve --save-result --save-detailed`
 * writes it: vLLM's keys in vLLM's order with vLLM's JSON types (a float is
 * written `2.0`, never `2`). The key table, with the vLLM source behind each
 * key, is `docs/vllm_result_format.md`. It is a view of the load point's
 * `summary.json` object (itself a view of its one record, `lib/load_point.ts`)
 * plus the per-request arrays: it computes no statistic of its own.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";

/** The `--backend` names of `vllm bench serve` that speak the OpenAI API. */
export const VLLM_BACKENDS = ["openai", "openai-chat", "vllm"] as const;

/**
 * vLLM's `--backend` name for an endpoint: `openai-chat` for a chat
 * completions path (or a value that already is a backend name), else `openai`.
 */
export function vllmBackend(endpoint: string): string {
  if ((VLLM_BACKENDS as readonly string[]).includes(endpoint)) return endpoint;
  return /\/chat\/completions\/?$/.test(endpoint) ? "openai-chat" : "openai";
}

/** JSON type of a key: `float` and `int` apply to a number and to every number of an array. */
export type VllmKeyType =
  | "str"
  | "str|null"
  | "int"
  | "int|null"
  | "float"
  | "float|null"
  | "float|str";

/** Keys before the per-request arrays (setup, traffic, totals), in vLLM's order. */
export const VLLM_HEAD_KEYS: ReadonlyArray<readonly [string, VllmKeyType]> = [
  ["date", "str"],
  ["endpoint_type", "str"],
  ["backend", "str"],
  ["label", "str|null"],
  ["model_id", "str"],
  ["tokenizer_id", "str|null"],
  ["num_prompts", "int"],
  ["request_rate", "float|str"],
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
];

/** The per-request arrays (`--save-detailed` only) and the keys after them, in vLLM's order. */
export const VLLM_DETAIL_KEYS: ReadonlyArray<readonly [string, VllmKeyType]> = [
  ["input_lens", "int"],
  ["output_lens", "int"],
  ["ttfts", "float"],
  ["itls", "float"],
  ["start_times", "float"],
  ["queue_times", "float"],
  ["generated_texts", "str"],
  ["errors", "str"],
];

/** Keys after the per-request arrays, before the statistics. */
export const VLLM_TAIL_KEYS: ReadonlyArray<readonly [string, VllmKeyType]> = [
  ["max_output_tokens_per_s", "float"],
  ["max_concurrent_requests", "int"],
  ["rtfx", "float"],
];

/** Statistics written per metric, in vLLM's order (`--metric-percentiles 50,90,95,99`). */
export const VLLM_STATS = ["mean", "median", "std", "p50", "p90", "p95", "p99"] as const;
/** Metrics with statistics, in vLLM's order (`--percentile-metrics ttft,tpot,itl,e2el`). */
export const VLLM_METRICS = ["ttft", "tpot", "itl", "e2el"] as const;

/** Every key of a detailed file and its type, in order. */
export function vllmResultKeys(): Array<readonly [string, VllmKeyType]> {
  const stats = VLLM_METRICS.flatMap((m) =>
    VLLM_STATS.map((s) => [`${s}_${m}_ms`, "float"] as const)
  );
  return [...VLLM_HEAD_KEYS, ...VLLM_DETAIL_KEYS, ...VLLM_TAIL_KEYS, ...stats];
}

const sec = (ms: number) => Math.round(ms * 1000) / 1e6;
const n0 = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * One load point as a `--save-result --save-detailed` object: the summary's
 * vLLM keys, the per-request arrays from `rows` (seconds; a failed request has
 * ttft 0.0, no gaps and output length 0, as in vLLM) and the statistics (0.0
 * where vLLM's `np.mean(x or 0)` gives 0.0). `itlByRequest` maps a request id
 * to its gaps (ms); `textByRequest` its generated text ("" when not kept).
 */
export function toVllmResult(
  summary: Record<string, unknown>,
  rows: readonly RequestRow[],
  itlByRequest: ReadonlyMap<string, number[]> | null,
  textByRequest: ReadonlyMap<string, string> | null = null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k] of VLLM_HEAD_KEYS) out[k] = summary[k] ?? null;
  // vLLM stamps `%Y%m%d-%H%M%S`
  const iso = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/.exec(String(summary.date ?? ""));
  if (iso) out.date = `${iso[1]}${iso[2]}${iso[3]}-${iso[4]}${iso[5]}${iso[6]}`;
  const backend = vllmBackend(String(summary.endpoint_type ?? summary.backend ?? ""));
  out.endpoint_type = backend;
  out.backend = backend;
  out.burstiness = n0(summary.burstiness ?? 1);
  const ok = (r: RequestRow) => r.error === "";
  out.input_lens = rows.map((r) => r.prompt_tokens ?? 0);
  out.output_lens = rows.map((r) => (ok(r) ? r.output_tokens : 0));
  out.ttfts = rows.map((r) => (ok(r) && r.ttft_ms !== null ? sec(r.ttft_ms) : 0));
  out.itls = rows.map((r) => (ok(r) ? (itlByRequest?.get(r.request_id) ?? []).map(sec) : []));
  out.start_times = rows.map((r) => sec(r.sent_ms));
  out.queue_times = rows.map((r) => sec(Math.max(0, r.sent_ms - r.scheduled_ms)));
  out.generated_texts = rows.map((r) => textByRequest?.get(r.request_id) ?? "");
  out.errors = rows.map((r) => r.error);
  out.max_output_tokens_per_s = n0(summary.max_output_tokens_per_s);
  out.max_concurrent_requests = n0(summary.max_concurrent_requests);
  out.rtfx = 0; // input audio seconds per second: no audio here
  for (const m of VLLM_METRICS) {
    for (const s of VLLM_STATS) out[`${s}_${m}_ms`] = n0(summary[`${s}_${m}_ms`]);
  }
  return out;
}

function num(v: number, float: boolean): string {
  if (!Number.isFinite(v)) return "0.0";
  if (!float) return String(Math.round(v));
  const s = String(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

function value(v: unknown, float: boolean): string {
  if (typeof v === "number") return num(v, float);
  if (Array.isArray(v)) return `[${v.map((x) => value(x, float)).join(", ")}]`;
  return JSON.stringify(v ?? null);
}

/**
 * The JSON text of a result object as Python's `json.dump` writes it: keys in
 * the object's order, `", "` and `": "` separators, and every number of a
 * `float` key written as a float (`2.0`).
 */
export function vllmResultText(result: Record<string, unknown>): string {
  const types = new Map<string, VllmKeyType>(vllmResultKeys());
  const parts = Object.entries(result).map(([k, v]) => {
    const t = types.get(k) ?? (/_ms$/.test(k) ? "float" : "int");
    return `${JSON.stringify(k)}: ${value(v, t.startsWith("float"))}`;
  });
  return `{${parts.join(", ")}}`;
}

/** vLLM's result file name: `{label or backend}-{rate}qps[-concurrency{N}]-{model}-{date}.json`. */
export function vllmResultName(summary: Record<string, unknown>, index: number): string {
  const rate = summary.request_rate;
  const model = String(summary.model_id ?? "model").split("/").at(-1);
  const conc = summary.max_concurrency;
  const label = String(
    summary.label ?? vllmBackend(String(summary.endpoint_type ?? summary.backend ?? "")),
  );
  return `${label}-${rate === "inf" ? "inf" : Number(rate).toFixed(1)}qps${
    typeof conc === "number" ? `-concurrency${conc}` : ""
  }-${model}-${String(summary.date ?? "run").replace(/[-:]|\.\d+Z$/g, "")}-${index + 1}.json`
    .replace(/[^\w.@+-]/g, "_");
}
