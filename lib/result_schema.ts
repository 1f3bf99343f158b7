/**
 * The bench result contract: the `requests.csv` columns and row type, the
 * `summary.json` load-point object (vLLM `--save-result` keys plus ours), and
 * the columns of the sidecars `gpu.csv` and `server_metrics.csv`.
 *
 * Conventions of `requests.csv`: times are ms since run start (`performance.now()`
 * based); `ttft_ms`/`e2e_ms` are measured from `sent_ms` as `vllm bench serve` does,
 * and `scheduled_ms` is kept so latency from the schedule (no coordinated omission)
 * is `first_token_ms - scheduled_ms`. `status` is the HTTP status (0 when no
 * response came); a request succeeded when `error` is empty. Empty cells are
 * unknown values (e.g. `first_token_ms` of a failure).
 *
 * @module
 */
import { parseDecimal } from "./decimal.ts";

/** Columns of `requests.csv`, in order. */
export const REQUEST_COLUMNS = [
  "run_id",
  "load_point",
  "request_id",
  "conversation_id",
  "turn",
  "scheduled_ms",
  "sent_ms",
  "first_token_ms",
  "end_ms",
  "ttft_ms",
  "e2e_ms",
  "tpot_ms",
  "itl_mean_ms",
  "itl_max_ms",
  "prompt_tokens",
  "output_tokens",
  "cached_tokens",
  "status",
  "error",
  "backend",
  "class",
  "failure",
] as const;

/** One column name of `requests.csv`. */
export type RequestColumn = typeof REQUEST_COLUMNS[number];

/** One `requests.csv` row; null is an empty cell. */
export interface RequestRow {
  run_id: string;
  load_point: string;
  request_id: string;
  conversation_id: string;
  turn: number;
  scheduled_ms: number;
  sent_ms: number;
  first_token_ms: number | null;
  end_ms: number;
  ttft_ms: number | null;
  e2e_ms: number;
  tpot_ms: number | null;
  itl_mean_ms: number | null;
  itl_max_ms: number | null;
  prompt_tokens: number | null;
  output_tokens: number;
  cached_tokens: number | null;
  status: number;
  error: string;
  backend: string;
  /** The request class (`--class`), or "" (files from before classes have no column). */
  class?: string;
  /**
   * Why it failed, in one word (`lib/failure_reason.ts`: stranded, reset,
   * ejected, refused, timeout, http_503, ...), or "" when it succeeded (files
   * from before have no column).
   */
  failure?: string;
}

/** The text columns of `requests.csv` (the others are numbers). */
export const TEXT_COLUMNS: ReadonlySet<string> = new Set<RequestColumn>([
  "run_id",
  "load_point",
  "request_id",
  "conversation_id",
  "error",
  "backend",
  "class",
  "failure",
]);

const MS_MAX = 1e10; // 115 days in ms: no run lasts longer
const COUNT_MAX = 1e9;

/**
 * The largest value of each numeric column of `requests.csv` (all are
 * non-negative): times in ms since run start, token counts, HTTP status, turn.
 */
export const REQUEST_NUMBER_MAX: Readonly<Record<string, number>> = {
  turn: 1e6,
  scheduled_ms: MS_MAX,
  sent_ms: MS_MAX,
  first_token_ms: MS_MAX,
  end_ms: MS_MAX,
  ttft_ms: MS_MAX,
  e2e_ms: MS_MAX,
  tpot_ms: MS_MAX,
  itl_mean_ms: MS_MAX,
  itl_max_ms: MS_MAX,
  prompt_tokens: COUNT_MAX,
  output_tokens: COUNT_MAX,
  cached_tokens: COUNT_MAX,
  status: 999,
};

/**
 * Converts a parsed CSV record (all strings) to a typed row; throws on a bad
 * number (see `lib/decimal.ts` and {@linkcode REQUEST_NUMBER_MAX}).
 */
export function parseRequestRow(rec: Record<string, string>, where = "requests.csv"): RequestRow {
  const out: Record<string, unknown> = {};
  for (const col of REQUEST_COLUMNS) {
    const v = rec[col] ?? "";
    if (TEXT_COLUMNS.has(col)) {
      out[col] = v;
      continue;
    }
    if (v === "") {
      out[col] = null;
      continue;
    }
    out[col] = parseDecimal(v, col, where, REQUEST_NUMBER_MAX[col]);
  }
  return out as unknown as RequestRow;
}

/** Percentile summary keys of one metric, e.g. `mean_ttft_ms`, `p99_ttft_ms`. */
export const METRICS = ["ttft", "tpot", "itl", "e2el"] as const;
/** Statistic prefixes of {@linkcode METRICS} keys. */
export const STATS = ["mean", "median", "std", "p50", "p90", "p95", "p99"] as const;

/**
 * The totals of one load point under vLLM's `--save-result` names: in
 * `summary.json` and in the load point's statistics (`lib/load_point.ts`).
 */
export interface LoadPointTotals {
  /** Requests, finished or failed. */
  num_prompts: number;
  completed: number;
  failed: number;
  /** Seconds from the first schedule to the last end (or as given), at least 1e-9. */
  duration: number;
  total_input_tokens: number;
  total_output_tokens: number;
  /** Completed requests per second of `duration`. */
  request_throughput: number;
  /** Requests meeting the SLO per second; null without an SLO. */
  request_goodput: number | null;
  output_throughput: number;
  total_token_throughput: number;
  /** Most content chunks in one whole second (0 when not given). */
  max_output_tokens_per_s: number;
}

/** One load point of `summary.json`. Keys of vLLM's `--save-result` plus ours. */
export interface LoadPointSummary extends LoadPointTotals {
  // vLLM --save-result keys (and the totals)
  date: string;
  backend: string;
  endpoint_type: string;
  label: string;
  model_id: string;
  tokenizer_id: string;
  /** Offered rate as vLLM names it: conversations/s on multi-turn workloads, else req/s. */
  request_rate: number | "inf";
  burstiness: number;
  max_concurrency: number | null;
  max_concurrent_requests: number;
  /** `{mean,median,std,p50,p90,p95,p99}_{ttft,tpot,itl,e2el}_ms` */
  [metricKey: string]: unknown;
  // ours
  run_id: string;
  run_index: number;
  load_point: string;
  complete: boolean;
  /** Present (true) only when the saturation rule stopped the run; `saturation` says when and why. */
  saturated?: boolean;
  saturation?: string;
  rate_target: number | "inf" | null;
  /** Unit of `rate_target`: `conv/s` on multi-turn workloads, else `req/s`. */
  rate_target_unit?: string;
  /** Sends per second (requests/s, every turn counts). */
  rate_achieved: number;
  /** Conversations started per second (first turns); null unless the load is conversations. */
  conversation_rate_achieved?: number | null;
  /** Output tok/s in the steady window, without ramp-up and drain tail; null unless conversations. */
  output_throughput_steady?: number | null;
  sent: number;
  send_lag_p50_ms: number;
  send_lag_p99_ms: number;
  send_lag_max_ms: number;
  client_saturated: boolean;
  success_rate: number;
  slo: { ttft_ms?: number; tpot_ms?: number } | null;
  slo_attainment: number | null;
  output_token_mismatches: number;
  ttft_by_turn: Record<string, { count: number; mean_ms: number; p50_ms: number; p99_ms: number }>;
  topology: string;
  workload: string;
  gpus: number | null;
  /** The server said it is our simulated engine. */
  simulated?: boolean;
  /** Whose metric definitions (`--metrics-compat`). */
  metrics_compat?: string;
  /** KV-cache usage by turn, from `--scrape-metrics`. */
  kv_usage_by_turn?: unknown;
  /** False when some answer came whole (not SSE). */
  streamed?: boolean;
  /** A request class's summary names it; "" for the total. */
  class?: string;
  /** Threads that sent the load from one bench process (`--senders`); absent with workers and in virtual time. */
  senders?: number;
}

/** Columns of `gpu.csv`: `t_ms` since run start, then nvidia-smi's query fields. */
export const GPU_COLUMNS = [
  "t_ms",
  "timestamp",
  "index",
  "name",
  "utilization_gpu_pct",
  "memory_used_mib",
  "memory_total_mib",
  "power_draw_w",
] as const;

/** Columns of `server_metrics.csv`: long format, one row per sample and series. */
export const METRICS_COLUMNS = ["t_ms", "metric", "labels", "value"] as const;
