/**
 * The engine's Prometheus metrics, under vLLM's names, buckets and labels, so
 * that scrapers and dashboards built for vLLM read the simulated engine as-is.
 * The text is written by `lib/prometheus.ts`.
 *
 * @module
 */
import { Histogram, PromText } from "../../../lib/prometheus.ts";

/** vLLM's bucket bounds (seconds) for `vllm:time_to_first_token_seconds`. */
// deno-fmt-ignore
export const TTFT_BUCKETS_S = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
  1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
];
/** vLLM's bucket bounds (seconds) for `vllm:inter_token_latency_seconds`. */
// deno-fmt-ignore
export const ITL_BUCKETS_S = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
  0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
/** vLLM's bucket bounds (seconds) for request latency histograms. */
// deno-fmt-ignore
export const E2E_BUCKETS_S = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0,
  30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0,
];

/** vLLM's 1-2-5 bucket bounds (tokens) for request prompt and generation lengths: 1 to 100,000. */
export const LENGTH_BUCKETS = [1, 10, 100, 1_000, 10_000, 100_000]
  .flatMap((p) => [1, 2, 5].map((m) => m * p)).filter((b) => b <= 100_000);

/** vLLM's `# HELP` text of each family the engine writes. */
const HELP: Record<string, string> = {
  "vllm:num_requests_running": "Number of requests in model execution batches.",
  "vllm:num_requests_waiting": "Number of requests waiting to be processed.",
  "vllm:kv_cache_usage_perc": "KV-cache usage. 1 means 100 percent usage.",
  "vllm:num_preemptions_total": "Cumulative number of preemption from the engine.",
  "vllm:prompt_tokens_total": "Number of prefill tokens processed.",
  "vllm:generation_tokens_total": "Number of generation tokens processed.",
  "vllm:prefix_cache_queries_total": "Prefix cache queries, in terms of number of queried tokens.",
  "vllm:prefix_cache_hits_total": "Prefix cache hits, in terms of number of cached tokens.",
  "vllm:request_success_total": "Count of successfully processed requests.",
  "vllm:request_prompt_tokens": "Number of prefill tokens processed.",
  "vllm:request_generation_tokens": "Number of generation tokens processed.",
  "vllm:time_to_first_token_seconds": "Histogram of time to first token in seconds.",
  "vllm:inter_token_latency_seconds": "Histogram of inter-token latency in seconds.",
  "vllm:e2e_request_latency_seconds": "Histogram of e2e request latency in seconds.",
  "vllm:request_queue_time_seconds": "Histogram of time spent in WAITING phase for request.",
  "vllm:request_prefill_time_seconds": "Histogram of time spent in PREFILL phase for request.",
  "vllm:request_decode_time_seconds": "Histogram of time spent in DECODE phase for request.",
};

/** Gauges read from the engine at render time. */
export interface EngineGauges {
  running: number;
  waiting: number;
  kvUsage: number;
  prefixQueries: number;
  prefixHits: number;
}

/** Counters and histograms an engine records into. */
export class SimMetrics {
  promptTokens = 0;
  generationTokens = 0;
  preemptions = 0;
  readonly finished: Record<string, number> = { stop: 0, length: 0, abort: 0, error: 0 };
  readonly ttft = new Histogram(TTFT_BUCKETS_S);
  readonly itl = new Histogram(ITL_BUCKETS_S);
  readonly e2e = new Histogram(E2E_BUCKETS_S);
  readonly queue = new Histogram(E2E_BUCKETS_S);
  readonly prefill = new Histogram(E2E_BUCKETS_S);
  readonly decode = new Histogram(E2E_BUCKETS_S);
  readonly promptLen = new Histogram(LENGTH_BUCKETS);
  readonly genLen = new Histogram(LENGTH_BUCKETS);

  /** Renders the Prometheus exposition text. */
  render(g: EngineGauges, modelName: string, engine = "0"): string {
    const l = `engine="${engine}",model_name="${modelName}"`;
    const out = new PromText();
    const one = (type: "gauge" | "counter", [name, value]: [string, number]) =>
      out.family(name, type, HELP[name]).sample(name, l, value);
    for (const s of gauges(g)) one("gauge", s);
    for (const s of this.#counters(g)) one("counter", s);
    const success = "vllm:request_success_total";
    out.family(success, "counter", HELP[success]);
    for (const r of ["stop", "length", "abort"]) {
      out.sample(success, `${l},finished_reason="${r}"`, this.finished[r]);
    }
    for (const [name, h] of this.#histograms()) {
      out.family(name, "histogram", HELP[name]).histogram(name, l, h);
    }
    return out.text();
  }

  /** The counters, in the order written. */
  #counters(g: EngineGauges): [string, number][] {
    return [
      ["vllm:num_preemptions_total", this.preemptions],
      ["vllm:prompt_tokens_total", this.promptTokens],
      ["vllm:generation_tokens_total", this.generationTokens],
      ["vllm:prefix_cache_queries_total", g.prefixQueries],
      ["vllm:prefix_cache_hits_total", g.prefixHits],
    ];
  }

  /** The histograms, in the order written. */
  #histograms(): [string, Histogram][] {
    return [
      ["vllm:request_prompt_tokens", this.promptLen],
      ["vllm:request_generation_tokens", this.genLen],
      ["vllm:time_to_first_token_seconds", this.ttft],
      ["vllm:inter_token_latency_seconds", this.itl],
      ["vllm:e2e_request_latency_seconds", this.e2e],
      ["vllm:request_queue_time_seconds", this.queue],
      ["vllm:request_prefill_time_seconds", this.prefill],
      ["vllm:request_decode_time_seconds", this.decode],
    ];
  }
}

/** The gauges, in the order written. */
function gauges(g: EngineGauges): [string, number][] {
  return [
    ["vllm:num_requests_running", g.running],
    ["vllm:num_requests_waiting", g.waiting],
    ["vllm:kv_cache_usage_perc", g.kvUsage],
  ];
}
