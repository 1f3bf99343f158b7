/**
 * The settings of `deno task bench` that shape the run rather than its load:
 * warmup and repeats, SLO, timeouts, metric definitions, request bodies,
 * monitors, output, and where the load runs (workers, Kubernetes); part of
 * `BENCH_SETTINGS` (`_bench_settings.ts`), in `--help` order.
 *
 * @module
 */
import { SLO_FLAGS, sloFromFlags } from "../lib/metrics.ts";
import { num, off, on, oneOf, type SettingTable, text } from "./_setting_table.ts";
import {
  hosts,
  jsonObject,
  outPath,
  senderCount,
  startAt,
  trueOrFalse,
  warmup,
} from "./_setting_readers.ts";

/** `--metrics-compat` values. */
export const METRICS_COMPAT = ["topobench", "vllm"] as const;
/** `--saturation-stop` values: `auto` is on in virtual time, off on the live clock. */
export const SATURATION_STOP = ["auto", "on", "off"] as const;
/** `--platform` values. */
export const PLATFORMS = ["local", "kubernetes"] as const;

/** Warmup to Kubernetes, in `--help` order. */
export const RUN_SETTINGS = {
  warmup: {
    field: "...",
    read: warmup,
    default: "0",
    aliases: ["num-warmups"],
    help:
      "Warmup before each run: N requests at once, or a duration (30s, 2m) of the run's own load; rows go to warmup.csv",
  },
  runs: {
    field: "runs",
    read: num({ integer: true, min: 1 }),
    default: "1",
    help: "Repeat the run K times (seed + k)",
  },
  slo: { ...SLO_FLAGS.slo, field: "slo", read: (v) => sloFromFlags(v) },
  "ttft-slo": SLO_FLAGS["ttft-slo"],
  "tpot-slo": SLO_FLAGS["tpot-slo"],
  timeout: {
    field: "timeoutS",
    read: num({ min: 0.001 }),
    default: "300",
    help: "Per-request timeout, s",
  },
  "stall-timeout": {
    field: "stallTimeoutS",
    read: num({ min: 0 }),
    default: "60",
    help:
      "Fail a request whose stream started but sent no byte for this long, s (a hung server); 0: never",
  },
  grace: {
    field: "graceS",
    read: num({ min: 0 }),
    default: "10",
    help: "On Ctrl-C/SIGTERM wait this long for in-flight requests, s",
  },
  "saturation-stop": {
    field: "saturationStop",
    read: oneOf(SATURATION_STOP),
    default: "auto",
    help:
      "Stop a run whose queue has clearly diverged (in flight and TTFT growing; docs/bench.md), its in-flight requests counted as failed: auto (on in virtual time, off live), on, off",
  },
  "metrics-compat": {
    field: "metricsCompat",
    read: oneOf(METRICS_COMPAT),
    default: "topobench",
    help:
      "Metric definitions: topobench, or vllm (E2E at the last token, rescaled Poisson schedule, role chunk counts for TTFT, an error after tokens is a success)",
  },
  temperature: {
    field: "sampling.temperature",
    read: num({ min: 0 }),
    help: "Sampling temperature sent with every request (default: none, the server's own)",
  },
  "top-p": {
    field: "sampling.topP",
    read: num({ min: 0, max: 1 }),
    help: "top_p sent with every request (default: none)",
  },
  "extra-body": {
    field: "sampling.extraBody",
    read: jsonObject,
    help: "JSON object merged into every request body last, e.g. '{\"seed\": 1}'",
    placeholder: "json",
  },
  "request-body-template": {
    field: "requestBodyTemplate",
    read: text,
    help:
      "JSON body (inline or a file) with {prompt} {messages} {max_tokens} {model} {request_id} (or {{...}}), JSON-escaped",
  },
  stream: {
    field: "stream",
    read: trueOrFalse,
    default: "true",
    help:
      "false: ask OpenAI servers for whole answers (TTFT = full response time); non-SSE answers are read whole either way",
  },
  "response-text-path": {
    field: "responseTextPath",
    read: text,
    help: "Dotted path of the text in a whole JSON answer, e.g. generated_text or choices.0.text",
  },
  "response-tokens-path": {
    field: "responseTokensPath",
    read: text,
    help:
      "Dotted path of the output token count in a whole JSON answer, e.g. details.generated_tokens",
  },
  "gpu-monitor": {
    field: "gpuMonitor",
    read: on,
    type: "boolean",
    default: false,
    help: "Sample nvidia-smi into gpu.csv",
  },
  "gpu-interval": {
    field: "gpuIntervalMs",
    read: num({ min: 10 }),
    default: "1000",
    help: "GPU sampling interval, ms",
  },
  "scrape-metrics": {
    field: "scrapeMetrics",
    read: text,
    help: "Sample this /metrics URL into server_metrics.csv",
  },
  "scrape-interval": {
    field: "scrapeIntervalMs",
    read: num({ min: 10 }),
    default: "1000",
    help: "Metrics sampling interval, ms",
  },
  out: {
    field: "out",
    read: outPath,
    default: "results/adhoc/run",
    aliases: ["result-dir", "outdir"],
    help:
      "results/<experiment>/<label>: the run directory is results/<experiment>/<YYYYMMDD-HHMMSS>-<label>",
  },
  topology: {
    field: "topology",
    read: text,
    default: "",
    help: "Topology name recorded in the summary",
  },
  gpus: {
    field: "gpus",
    read: num({ min: 0 }),
    help: "GPUs used by the topology (for goodput per GPU)",
  },
  tokenizer: {
    field: "tokenizer",
    read: text,
    help: "Local Hugging Face tokenizer folder (default: shipped Llama 3.1)",
  },
  "reset-prefix-cache": {
    field: "resetPrefixCache",
    read: on,
    type: "boolean",
    default: false,
    help: "POST /reset_prefix_cache before each run",
  },
  "no-itl": {
    field: "writeItl",
    read: off,
    type: "boolean",
    default: false,
    help: "Do not write itl.jsonl",
  },
  "time-scale": {
    field: "timeScale",
    read: num({ min: 1e-6 }),
    default: "1",
    help:
      "The server runs F times faster than real time (sim --speed F): rate, duration, ramp, think time, timeout and every recorded time are server time; send lag stays real ms",
  },
  workers: {
    field: "workers",
    read: hosts,
    help:
      "Split the load over bench workers: comma-separated ssh hosts running --worker-cmd, or local (a subprocess)",
  },
  senders: {
    field: "senders",
    read: senderCount,
    default: "auto",
    help:
      "Threads sending this process's load under one schedule (the main thread and N-1 workers, jobs dealt in a fixed turn): a number, or auto (1 up to 1,500 req/s, then one per 1,500 req/s up to the cores less one; 1 with --concurrency, a closed loop or --saturation-stop on)",
  },
  "worker-cmd": {
    field: "workerCmd",
    read: text,
    default: "deno run -A bench.js",
    help: "Command that runs the bundled bench on a worker host (in the ssh login folder)",
  },
  "start-at": {
    field: "startAt",
    read: startAt,
    help: "Internal (workers): start at this Unix time in ms, or stdin (print ready, read it)",
  },
  platform: {
    read: oneOf(PLATFORMS),
    default: "local",
    help:
      "Where the load runs: local (this process, or --workers), or kubernetes (--replicas bench pods as a Job, through kubectl)",
  },
  replicas: {
    field: "kubernetes.replicas",
    read: num({ integer: true, min: 1, max: 1000 }),
    default: "1",
    help: "Bench pods with --platform kubernetes; each sends rate/N with its own seed",
  },
  namespace: {
    field: "kubernetes.namespace",
    read: text,
    default: "default",
    help: "Namespace of the bench Job (--platform kubernetes)",
  },
  image: {
    field: "kubernetes.image",
    read: text,
    default: "denoland/deno:2.9.6",
    help: "Image of the bench pods: any with Deno 2 and sh (the bundled bench is copied in)",
  },
  context: {
    field: "kubernetes.context",
    read: text,
    help: "kubeconfig context (--platform kubernetes)",
  },
} as const satisfies SettingTable;
