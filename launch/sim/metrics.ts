/**
 * The engine's Prometheus metrics, under vLLM's names, buckets and labels, so
 * that scrapers and dashboards built for vLLM read the simulated engine as-is.
 *
 * @module
 */

/** vLLM's bucket bounds (seconds) for `vllm:time_to_first_token_seconds`. */
export const TTFT_BUCKETS_S = [
  0.001,
  0.005,
  0.01,
  0.02,
  0.04,
  0.06,
  0.08,
  0.1,
  0.25,
  0.5,
  0.75,
  1.0,
  2.5,
  5.0,
  7.5,
  10.0,
  20.0,
  40.0,
  80.0,
  160.0,
  640.0,
  2560.0,
];
/** vLLM's bucket bounds (seconds) for `vllm:inter_token_latency_seconds`. */
export const ITL_BUCKETS_S = [
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.15,
  0.2,
  0.3,
  0.4,
  0.5,
  0.75,
  1.0,
  2.5,
  5.0,
  7.5,
  10.0,
  20.0,
  40.0,
  80.0,
];
/** vLLM's bucket bounds (seconds) for request latency histograms. */
export const E2E_BUCKETS_S = [
  0.3,
  0.5,
  0.8,
  1.0,
  1.5,
  2.0,
  2.5,
  5.0,
  10.0,
  15.0,
  20.0,
  30.0,
  40.0,
  50.0,
  60.0,
  120.0,
  240.0,
  480.0,
  960.0,
  1920.0,
  7680.0,
];

/** vLLM's 1-2-5 bucket bounds (tokens) for request prompt and generation lengths. */
export const LENGTH_BUCKETS = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  1000,
  2000,
  5000,
  10000,
  20000,
  50000,
  100000,
];

/** Formats a bound as the Python Prometheus client does (`1.0`, `0.25`). */
function goFloat(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}

/** A cumulative Prometheus histogram. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array(bounds.length).fill(0);
  }

  /** Records one value. */
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (value <= this.bounds[i]) {
        this.counts[i]++;
        return;
      }
    }
  }

  /** Prometheus text lines (`_bucket`, `_sum`, `_count`). */
  render(name: string, labels: string): string[] {
    const out: string[] = [];
    let cum = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cum += this.counts[i];
      out.push(`${name}_bucket{${labels},le="${goFloat(this.bounds[i])}"} ${cum}`);
    }
    out.push(`${name}_bucket{${labels},le="+Inf"} ${this.count}`);
    out.push(`${name}_sum{${labels}} ${this.sum}`);
    out.push(`${name}_count{${labels}} ${this.count}`);
    return out;
  }
}

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
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, rows: string[]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows);
    };
    metric("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", [
      `vllm:num_requests_running{${l}} ${g.running}`,
    ]);
    metric("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", [
      `vllm:num_requests_waiting{${l}} ${g.waiting}`,
    ]);
    metric("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", [
      `vllm:kv_cache_usage_perc{${l}} ${g.kvUsage}`,
    ]);
    const counter = (name: string, help: string, value: number) =>
      metric(name, "counter", help, [`${name}{${l}} ${value}`]);
    counter(
      "vllm:num_preemptions_total",
      "Cumulative number of preemption from the engine.",
      this.preemptions,
    );
    counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.", this.promptTokens);
    counter(
      "vllm:generation_tokens_total",
      "Number of generation tokens processed.",
      this.generationTokens,
    );
    counter(
      "vllm:prefix_cache_queries_total",
      "Prefix cache queries, in terms of number of queried tokens.",
      g.prefixQueries,
    );
    counter(
      "vllm:prefix_cache_hits_total",
      "Prefix cache hits, in terms of number of cached tokens.",
      g.prefixHits,
    );
    metric(
      "vllm:request_success_total",
      "counter",
      "Count of successfully processed requests.",
      ["stop", "length", "abort"].map((r) =>
        `vllm:request_success_total{${l},finished_reason="${r}"} ${this.finished[r]}`
      ),
    );
    const hist = (name: string, help: string, h: Histogram) =>
      metric(name, "histogram", help, h.render(name, l));
    hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", this.promptLen);
    hist("vllm:request_generation_tokens", "Number of generation tokens processed.", this.genLen);
    hist(
      "vllm:time_to_first_token_seconds",
      "Histogram of time to first token in seconds.",
      this.ttft,
    );
    hist(
      "vllm:inter_token_latency_seconds",
      "Histogram of inter-token latency in seconds.",
      this.itl,
    );
    hist(
      "vllm:e2e_request_latency_seconds",
      "Histogram of e2e request latency in seconds.",
      this.e2e,
    );
    hist(
      "vllm:request_queue_time_seconds",
      "Histogram of time spent in WAITING phase for request.",
      this.queue,
    );
    hist(
      "vllm:request_prefill_time_seconds",
      "Histogram of time spent in PREFILL phase for request.",
      this.prefill,
    );
    hist(
      "vllm:request_decode_time_seconds",
      "Histogram of time spent in DECODE phase for request.",
      this.decode,
    );
    return lines.join("\n") + "\n";
  }
}
