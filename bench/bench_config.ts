/**
 * Flags of `deno task bench` (with vLLM's `vllm bench serve` spellings as
 * aliases) and their validation into a {@linkcode BenchConfig}: a pure function
 * of the parsed flags and an optional workload YAML object (flags win).
 *
 * @module
 */
import type { SamplingOptions } from "./request_body.ts";
import type { MetricsCompat } from "./client.ts";
import { type LengthDist, parseLengthDist } from "./workload/lengths.ts";
import { type Slo, SLO_FLAGS, sloFromFlags } from "../lib/metrics.ts";
import { enumFlag, type FlagSpec, type FlagValues, numberFlag } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { checkSafeName } from "../lib/safe_name.ts";
import { basename } from "node:path";
import { ARRIVAL_PROCESSES, type ArrivalProcess, type Ramp, RAMPS } from "./workload/arrivals.ts";
import { type DatasetOptions, DATASETS } from "./workload/datasets.ts";
import { MULTITURN_PRESETS } from "./workload/multiturn.ts";
import { parseImageSizes } from "./workload/random_mm.ts";

/** Flags of the bench CLI, by canonical name. */
export const BENCH_FLAGS: FlagSpec = {
  url: {
    type: "string",
    help: "Server base URL, e.g. http://127.0.0.1:8000",
    aliases: ["base-url"],
  },
  endpoint: {
    type: "string",
    default: "/v1/completions",
    help:
      "/v1/completions, /v1/chat/completions, any other path (with --request-body-template) or a full URL",
  },
  model: { type: "string", help: "Model name (default: first id of /v1/models)" },
  config: { type: "string", help: "Workload YAML with the same options (flags override it)" },
  rate: {
    type: "string",
    default: "inf",
    aliases: ["request-rate"],
    help: "Requests per second, or inf",
  },
  duration: { type: "string", help: "Send for this many seconds" },
  "num-requests": {
    type: "string",
    aliases: ["num-prompts"],
    help: "Send this many requests (conversations for multiturn)",
  },
  concurrency: {
    type: "string",
    aliases: ["max-concurrency"],
    help: "Closed loop with rate inf, else a cap on in-flight requests",
  },
  arrival: {
    type: "string",
    default: "poisson",
    help: "Inter-arrival process: poisson, gamma, constant",
  },
  burstiness: {
    type: "string",
    default: "1",
    help: "Gamma shape: 1 Poisson, <1 burstier, >1 smoother",
  },
  ramp: {
    type: "string",
    default: "none",
    help: "Rate ramp: none, linear, exponential (from --rate to --ramp-to)",
  },
  "ramp-to": { type: "string", help: "Rate at the end of the ramp" },
  "ramp-duration": { type: "string", help: "Ramp length in seconds (default: --duration)" },
  dataset: {
    type: "string",
    default: "random",
    aliases: ["dataset-name"],
    help: "random, sharegpt, prompts-file, prefix-repetition, multiturn, random-mm",
  },
  "dataset-path": { type: "string", help: "File for sharegpt / prompts-file" },
  class: {
    type: "string",
    multiple: true,
    aliases: ["classes"],
    help:
      "A request class with its own options, NAME:flag=value,...  e.g. text:rate=30,input-len=256; one schedule, rows and summaries per class",
    placeholder: "spec",
  },
  "trace-speedup": {
    type: "string",
    default: "1",
    help: "mooncake / trace: replay this many times faster than the trace's timestamps",
  },
  "sample-prompts-file": {
    type: "string",
    help:
      "A prompts file (the Poisson framework's spelling of --dataset prompts-file --dataset-path F)",
  },
  "input-len": {
    type: "string",
    default: "512",
    aliases: ["random-input-len"],
    help: "Input tokens per request (suffix for prefix-repetition, per turn for multiturn)",
  },
  "output-len": {
    type: "string",
    aliases: ["random-output-len"],
    help: "Output tokens per request (default 128)",
  },
  "range-ratio": {
    type: "string",
    default: "0",
    aliases: ["random-range-ratio"],
    help: "Lengths uniform in [len(1-r), len(1+r)]",
  },
  "input-dist": {
    type: "string",
    help:
      "Input length distribution (random): fixed(n), uniform(min,max), choices(a,b,..), normal(mean,sd), lognormal(mean,sd)",
    placeholder: "dist",
  },
  "output-dist": {
    type: "string",
    help: "Output length distribution (random), same forms as --input-dist",
    placeholder: "dist",
  },
  "prompt-dist": {
    type: "string",
    help:
      "Poisson-framework spelling: uniform (--min-tokens, --max-tokens) or choices (--choices-tokens)",
  },
  "min-tokens": { type: "string", help: "With --prompt-dist uniform: fewest input tokens" },
  "max-tokens": { type: "string", help: "With --prompt-dist uniform: most input tokens" },
  "choices-tokens": { type: "string", help: "With --prompt-dist choices: input lengths, a,b,c" },
  "prefix-len": {
    type: "string",
    default: "0",
    aliases: ["random-prefix-len"],
    help: "Shared prefix tokens (random, prefix-repetition)",
  },
  "num-prefixes": { type: "string", default: "4", help: "Distinct prefixes for prefix-repetition" },
  turns: { type: "string", default: "4", help: "Turns per conversation (multiturn)" },
  "think-time": {
    type: "string",
    default: "1000",
    help: "Mean think time between turns, ms (exponential; 0 none)",
  },
  preset: {
    type: "string",
    help:
      "Multiturn preset (PPD suite: a ~20-token turn 1, then W1 512/256, W2 4096/128, W3 256/1024, W4 8192/64 per turn; W1-uniform..W4-uniform: every turn W-sized)",
  },
  "image-size": { type: "string", default: "512x512", help: "random-mm image sizes, WxH[,WxH]" },
  "images-per-request": { type: "string", default: "1", help: "random-mm images per request" },
  "no-ignore-eos": {
    type: "boolean",
    default: false,
    help: "Do not send ignore_eos (outputs may end early)",
  },
  seed: { type: "string", default: "0", help: "Seed of the workload and arrivals" },
  warmup: {
    type: "string",
    default: "0",
    aliases: ["num-warmups"],
    help:
      "Warmup before each run: N requests at once, or a duration (30s, 2m) of the run's own load; rows go to warmup.csv",
  },
  runs: { type: "string", default: "1", help: "Repeat the run K times (seed + k)" },
  ...SLO_FLAGS,
  timeout: { type: "string", default: "300", help: "Per-request timeout, s" },
  "stall-timeout": {
    type: "string",
    default: "60",
    help:
      "Fail a request whose stream started but sent no byte for this long, s (a hung server); 0: never",
  },
  grace: {
    type: "string",
    default: "10",
    help: "On Ctrl-C/SIGTERM wait this long for in-flight requests, s",
  },
  "metrics-compat": {
    type: "string",
    default: "topobench",
    help:
      "Metric definitions: topobench, or vllm (E2E at the last token, rescaled Poisson schedule, role chunk counts for TTFT, an error after tokens is a success)",
  },
  temperature: {
    type: "string",
    help: "Sampling temperature sent with every request (default: none, the server's own)",
  },
  "top-p": { type: "string", help: "top_p sent with every request (default: none)" },
  "extra-body": {
    type: "string",
    help: "JSON object merged into every request body last, e.g. '{\"seed\": 1}'",
    placeholder: "json",
  },
  "request-body-template": {
    type: "string",
    help:
      "JSON body (inline or a file) with {prompt} {messages} {max_tokens} {model} {request_id} (or {{...}}), JSON-escaped",
  },
  stream: {
    type: "string",
    default: "true",
    help:
      "false: ask OpenAI servers for whole answers (TTFT = full response time); non-SSE answers are read whole either way",
  },
  "response-text-path": {
    type: "string",
    help: "Dotted path of the text in a whole JSON answer, e.g. generated_text or choices.0.text",
  },
  "response-tokens-path": {
    type: "string",
    help:
      "Dotted path of the output token count in a whole JSON answer, e.g. details.generated_tokens",
  },
  "gpu-monitor": { type: "boolean", default: false, help: "Sample nvidia-smi into gpu.csv" },
  "gpu-interval": { type: "string", default: "1000", help: "GPU sampling interval, ms" },
  "scrape-metrics": { type: "string", help: "Sample this /metrics URL into server_metrics.csv" },
  "scrape-interval": { type: "string", default: "1000", help: "Metrics sampling interval, ms" },
  out: {
    type: "string",
    default: "results/adhoc/run",
    aliases: ["result-dir", "outdir"],
    help:
      "results/<experiment>/<label>: the run directory is results/<experiment>/<YYYYMMDD-HHMMSS>-<label>",
  },
  topology: { type: "string", default: "", help: "Topology name recorded in the summary" },
  gpus: { type: "string", help: "GPUs used by the topology (for goodput per GPU)" },
  tokenizer: {
    type: "string",
    help: "Local Hugging Face tokenizer folder (default: shipped Llama 3.1)",
  },
  "reset-prefix-cache": {
    type: "boolean",
    default: false,
    help: "POST /reset_prefix_cache before each run",
  },
  "no-itl": { type: "boolean", default: false, help: "Do not write itl.jsonl" },
  "time-scale": {
    type: "string",
    default: "1",
    help:
      "The server runs F times faster than real time (sim --speed F): rate, duration, ramp, think time, timeout and every recorded time are server time; send lag stays real ms",
  },
  workers: {
    type: "string",
    help:
      "Split the load over bench workers: comma-separated ssh hosts running --worker-cmd, or local (a subprocess)",
  },
  "worker-cmd": {
    type: "string",
    default: "deno run -A bench.js",
    help: "Command that runs the bundled bench on a worker host (in the ssh login folder)",
  },
  "start-at": {
    type: "string",
    help: "Internal (workers): start at this Unix time in ms, or stdin (print ready, read it)",
  },
  platform: {
    type: "string",
    default: "local",
    help:
      "Where the load runs: local (this process, or --workers), or kubernetes (--replicas bench pods as a Job, through kubectl)",
  },
  replicas: {
    type: "string",
    default: "1",
    help: "Bench pods with --platform kubernetes; each sends rate/N with its own seed",
  },
  namespace: {
    type: "string",
    default: "default",
    help: "Namespace of the bench Job (--platform kubernetes)",
  },
  image: {
    type: "string",
    default: "denoland/deno:2.9.6",
    help: "Image of the bench pods: any with Deno 2 and sh (the bundled bench is copied in)",
  },
  context: { type: "string", help: "kubeconfig context (--platform kubernetes)" },
};

/** Everything a run needs, validated. */
export interface BenchConfig {
  url: string;
  /** A path (`/v1/completions`, `/v1/chat/completions`, any other) or a full URL. */
  endpoint: string;
  model?: string;
  rateRps: number;
  durationS?: number;
  numRequests?: number;
  concurrency?: number;
  arrival: ArrivalProcess;
  burstiness: number;
  ramp: Ramp;
  rampToRps?: number;
  rampDurationS?: number;
  dataset: DatasetOptions;
  /** Warmup requests sent at once before each run. */
  warmup: number;
  /** Or: warmup seconds of the run's own load (`--warmup 30s`). */
  warmupS?: number;
  runs: number;
  slo: Slo | null;
  timeoutS: number;
  /** A started stream with no byte for this long fails (`--stall-timeout`); 0: never. */
  stallTimeoutS: number;
  graceS: number;
  requestBodyTemplate?: string;
  /** Ask OpenAI servers to stream (`--stream`). */
  stream: boolean;
  /** Dotted paths into a whole (non-SSE) JSON answer. */
  responseTextPath?: string;
  responseTokensPath?: string;
  /** Sampling fields sent with OpenAI bodies; none unless asked, as `vllm bench serve` does. */
  sampling: SamplingOptions;
  /** Whose metric definitions the run uses (`--metrics-compat`). */
  metricsCompat: MetricsCompat;
  /**
   * Request classes (`--class`): each its own options (dataset, rate, lengths)
   * over the shared ones; one schedule, rows and summaries per class. @default []
   */
  classes: { name: string; cfg: BenchConfig }[];
  gpuMonitor: boolean;
  gpuIntervalMs: number;
  scrapeMetrics?: string;
  scrapeIntervalMs: number;
  out: string;
  topology: string;
  gpus?: number;
  tokenizer?: string;
  resetPrefixCache: boolean;
  writeItl: boolean;
  /**
   * The server runs this many times faster than real time (the simulated
   * engine's `--speed`). Rates, durations, ramps, think time and timeout are in
   * server time; the client sleeps server/F real ms and reports times x F.
   * @default 1
   */
  timeScale: number;
  /** Worker hosts (`local` = subprocess); empty runs the load in this process. @default [] */
  workers: string[];
  /** Command line of the bundled bench on a remote worker. @default "deno run -A bench.js" */
  workerCmd: string;
  /** Start the first run at this Unix time (ms), or at one read from stdin, so workers share one clock. */
  startAt?: number | "stdin";
  /** `--platform kubernetes`: the load runs in `replicas` pods of a Job. */
  kubernetes?: { replicas: number; namespace: string; image: string; context?: string };
}

/** Flag spec without defaults, so a parse tells which flags were given. */
export function flagsWithoutDefaults(): FlagSpec {
  return Object.fromEntries(
    Object.entries(BENCH_FLAGS).map(([k, d]) => [k, { ...d, default: undefined }]),
  );
}

/** Flag values from a workload YAML object (kebab or snake case keys); throws on unknown keys. */
export function valuesFromFile(obj: unknown, file: string): FlagValues {
  if (obj === null || obj === undefined) return {};
  if (typeof obj !== "object" || Array.isArray(obj)) {
    throw fieldError({
      field: "the top level",
      file,
      value: obj,
      expected: "a mapping of options",
    });
  }
  const canon = new Map<string, string>();
  for (const [k, d] of Object.entries(BENCH_FLAGS)) {
    for (const n of [k, ...(d.aliases ?? [])]) {
      canon.set(n, k);
      canon.set(n.replaceAll("-", "_"), k);
    }
  }
  const out: FlagValues = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const name = canon.get(k);
    if (name === "class") {
      // classes: [{name: text, rate: 30, input-len: 256}, ...]
      if (!Array.isArray(v)) {
        throw fieldError({ field: k, file, value: v, expected: "a list of {name, option: value}" });
      }
      out.class = v.map((c, i) => {
        if (
          typeof c !== "object" || c === null || typeof (c as { name?: unknown }).name !== "string"
        ) {
          throw fieldError({
            field: `${k}[${i}]`,
            file,
            value: c,
            expected: "{name, option: value, ...}",
          });
        }
        const { name: cn, ...opts } = c as Record<string, unknown>;
        return `${cn}:${Object.entries(opts).map(([a, b]) => `${a}=${b}`).join(",")}`;
      });
      continue;
    }
    if (!name || name === "config") {
      throw fieldError({ field: k, file, value: v, expected: "a bench option (see --help)" });
    }
    const def = BENCH_FLAGS[name];
    if (def.type === "boolean") {
      if (typeof v !== "boolean") {
        throw fieldError({ field: k, file, value: v, expected: "true or false", kind: "type" });
      }
      out[name] = v;
    } else {
      if (typeof v === "object" && v !== null) {
        throw fieldError({
          field: k,
          file,
          value: v,
          expected: "a string or number",
          kind: "type",
        });
      }
      out[name] = String(v);
    }
  }
  return out;
}

/**
 * A config with request classes: each class is the shared options with its own
 * over them (validated as a run of its own); the run's rate is their sum.
 */
function withClasses(cli: FlagValues, file: FlagValues, specs: string[]): BenchConfig {
  const base = { ...cli, class: undefined };
  const baseFile = { ...file, class: undefined };
  const classes = specs.map((sp) => {
    const { name, values } = parseClass(sp);
    let cfg: BenchConfig;
    try {
      cfg = resolveBenchConfig({ ...base, ...values }, baseFile);
    } catch (e) {
      const E = e instanceof RangeError ? RangeError : TypeError;
      throw new E(`In --class ${name}: ${(e as Error).message}`);
    }
    if (!Number.isFinite(cfg.rateRps) || cfg.concurrency !== undefined) {
      throw fieldError({
        field: `--class ${name}`,
        value: sp,
        expected: "a class with a finite rate (classes are open-loop)",
      });
    }
    return { name, cfg };
  });
  const names = classes.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw fieldError({ field: "--class", value: dup, expected: "unique class names" });
  const rateRps = classes.reduce((a, c) => a + c.cfg.rateRps, 0);
  const first = classes[0].cfg;
  return { ...first, rateRps, classes };
}

/** `--warmup N` (requests) or `--warmup 30s` / `2m` (a duration of the run's own load). */
function warmupFlag(v: unknown): { warmup: number; warmupS?: number } {
  const s = String(v ?? "0").trim();
  const m = /^(\d+(?:\.\d+)?)\s*(s|m)$/.exec(s);
  if (m) {
    const secs = Number(m[1]) * (m[2] === "m" ? 60 : 1);
    if (secs > 0) return { warmup: 0, warmupS: secs };
  }
  if (/^\d+$/.test(s)) return { warmup: Number(s) };
  throw fieldError({
    field: "--warmup",
    value: v,
    expected: "a number of requests, or a duration such as 30s or 2m",
  });
}

/** `--input-dist`/`--output-dist`, or the Poisson framework's `--prompt-dist` spelling. */
function lengthDists(
  v: FlagValues,
  dataset: string,
): { inputDist?: LengthDist; outputDist?: LengthDist } {
  let input = v["input-dist"] as string | undefined;
  const pd = v["prompt-dist"] as string | undefined;
  if (pd !== undefined) {
    if (input !== undefined) {
      throw fieldError({ field: "--prompt-dist", value: pd, expected: "absent with --input-dist" });
    }
    if (pd === "uniform") input = `uniform(${v["min-tokens"] ?? ""},${v["max-tokens"] ?? ""})`;
    else if (pd === "choices") input = `choices(${v["choices-tokens"] ?? ""})`;
    else throw fieldError({ field: "--prompt-dist", value: pd, expected: "uniform or choices" });
  }
  const output = v["output-dist"] as string | undefined;
  if ((input !== undefined || output !== undefined) && dataset !== "random") {
    throw fieldError({
      field: input !== undefined ? "--input-dist" : "--output-dist",
      value: input ?? output,
      expected: "absent unless --dataset random",
    });
  }
  return {
    ...(input !== undefined ? { inputDist: parseLengthDist(input, "--input-dist") } : {}),
    ...(output !== undefined ? { outputDist: parseLengthDist(output, "--output-dist") } : {}),
  };
}

/** The `--temperature`, `--top-p` and `--extra-body` of a config. */
function samplingFromFlags(v: FlagValues): SamplingOptions {
  const out: SamplingOptions = {};
  const temperature = numberFlag(v, "temperature", { min: 0 });
  if (temperature !== undefined) out.temperature = temperature;
  const topP = numberFlag(v, "top-p", { min: 0, max: 1 });
  if (topP !== undefined) out.topP = topP;
  const extra = v["extra-body"];
  if (extra !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(extra));
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw fieldError({ field: "--extra-body", value: extra, expected: "a JSON object" });
    }
    out.extraBody = parsed as Record<string, unknown>;
  }
  return out;
}

/** Options a class may set (the rest are the run's). */
const CLASS_OPTIONS = new Set([
  "rate",
  "arrival",
  "burstiness",
  "dataset",
  "dataset-path",
  "input-len",
  "output-len",
  "range-ratio",
  "input-dist",
  "output-dist",
  "prefix-len",
  "num-prefixes",
  "turns",
  "think-time",
  "preset",
  "image-size",
  "images-per-request",
  "no-ignore-eos",
  "trace-speedup",
]);

/** Parses `--class NAME:flag=value,...` into its name and flag values. */
export function parseClass(spec: string): { name: string; values: FlagValues } {
  const m = /^([A-Za-z0-9_-]+):(.*)$/s.exec(spec);
  if (!m) {
    throw fieldError({
      field: "--class",
      value: spec,
      expected: "NAME:flag=value,... (NAME of letters, digits, _ -)",
    });
  }
  const values: FlagValues = {};
  const canon = new Map<string, string>();
  for (const [k, d] of Object.entries(BENCH_FLAGS)) {
    for (const n of [k, ...(d.aliases ?? [])]) canon.set(n, k).set(n.replaceAll("-", "_"), k);
  }
  for (const part of m[2].split(",").map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = canon.get(eq < 0 ? part : part.slice(0, eq));
    if (!key || !CLASS_OPTIONS.has(key)) {
      throw fieldError({
        field: `--class ${m[1]}`,
        value: part,
        expected: `flag=value with a flag of ${[...CLASS_OPTIONS].join(", ")}`,
      });
    }
    values[key] = BENCH_FLAGS[key].type === "boolean"
      ? (eq < 0 || part.slice(eq + 1) !== "false")
      : part.slice(eq + 1);
  }
  return { name: m[1], values };
}

/** `--out` when its last part is a plain name (it names the run directory). */
function checkOut(out: string): string {
  checkSafeName(basename(out), "--out, its last part", { what: "a run label" });
  return out;
}

/** Validates flag values (CLI over file over defaults) into a config. Pure. */
export function resolveBenchConfig(cli: FlagValues, file: FlagValues = {}): BenchConfig {
  const classSpecs = (cli.class ?? file.class) as string[] | undefined;
  if (classSpecs?.length) return withClasses(cli, file, classSpecs);
  const v: FlagValues = {};
  for (const [k, d] of Object.entries(BENCH_FLAGS)) v[k] = cli[k] ?? file[k] ?? d.default;
  const bad = (field: string, value: unknown, expected: string) =>
    fieldError({ field: `--${field}`, value, expected });
  const endpoint = String(v.endpoint);
  const fullUrl = /^https?:\/\/[^/\s]+/.test(endpoint);
  if (!fullUrl && !/^\/\S*$/.test(endpoint)) {
    throw bad("endpoint", endpoint, "a path starting with / or a full http(s) URL");
  }
  const url = (v.url as string | undefined) ?? (fullUrl ? new URL(endpoint).origin : undefined);
  if (!url || !/^https?:\/\/[^/\s]+/.test(url)) throw bad("url", url, "an http(s) base URL");
  const openaiPath = endpoint === "/v1/completions" || endpoint === "/v1/chat/completions";
  if (
    !openaiPath && v["request-body-template"] === undefined &&
    !/\/v1\/(chat\/)?completions\/?$/.test(endpoint)
  ) {
    throw bad(
      "endpoint",
      endpoint,
      "/v1/completions or /v1/chat/completions, or any endpoint with --request-body-template",
    );
  }
  const stream = enumFlag(v, "stream", ["true", "false"] as const) === "true";
  const rateRps = numberFlag(v, "rate", { allowInf: true })!;
  if (!(rateRps > 0)) throw bad("rate", v.rate, "a positive number or inf");
  const durationS = numberFlag(v, "duration", { min: 0.001 });
  const numRequests = numberFlag(v, "num-requests", { integer: true, min: 1 });
  // a trace is its own schedule and length
  const traced = v.dataset === "mooncake" || v.dataset === "trace";
  if (durationS === undefined && numRequests === undefined && !traced) {
    throw bad("duration", undefined, "a number of seconds when --num-requests is not given");
  }
  const concurrency = numberFlag(v, "concurrency", { integer: true, min: 1 });
  if (rateRps === Infinity && numRequests === undefined && concurrency === undefined && !traced) {
    throw bad(
      "rate",
      "inf",
      "a finite rate with --duration (or give --concurrency or --num-requests)",
    );
  }
  const burstiness = numberFlag(v, "burstiness", { min: 0.001 })!;
  let arrival = enumFlag(v, "arrival", ARRIVAL_PROCESSES)!;
  if (burstiness !== 1 && arrival === "poisson") arrival = "gamma";
  const ramp = enumFlag(v, "ramp", RAMPS)!;
  const rampToRps = numberFlag(v, "ramp-to", { min: 0.001 });
  const rampDurationS = numberFlag(v, "ramp-duration", { min: 0.001 });
  if (ramp !== "none") {
    if (rampToRps === undefined) throw bad("ramp-to", undefined, "a rate when --ramp is given");
    if (rateRps === Infinity) throw bad("rate", "inf", "a finite start rate when --ramp is given");
    if (rampDurationS === undefined && durationS === undefined) {
      throw bad("ramp-duration", undefined, "seconds when --ramp is given without --duration");
    }
  }
  const spf = v["sample-prompts-file"] as string | undefined;
  if (spf !== undefined) {
    if ((cli.dataset ?? file.dataset ?? "prompts-file") !== "prompts-file") {
      throw bad("sample-prompts-file", spf, "absent with a --dataset other than prompts-file");
    }
    v.dataset = "prompts-file";
    v["dataset-path"] ??= spf;
  }
  const name = enumFlag(v, "dataset", DATASETS)!;
  const path = v["dataset-path"] as string | undefined;
  if (
    ["sharegpt", "prompts-file", "mooncake", "trace", "sharegpt-multiturn"].includes(name) && !path
  ) {
    throw bad("dataset-path", path, `a file for --dataset ${name}`);
  }
  let inputLen = numberFlag(v, "input-len", { integer: true, min: 1 })!;
  let outputLen = numberFlag(v, "output-len", { integer: true, min: 1 });
  const outputLenGiven = outputLen !== undefined;
  const preset = v.preset as string | undefined;
  let first: { firstInputLen?: number; firstOutputLen?: number } = {};
  if (preset !== undefined) {
    const p = MULTITURN_PRESETS[preset.toUpperCase()];
    if (!p) {
      throw bad(
        "preset",
        preset,
        `one of ${
          Object.keys(MULTITURN_PRESETS).map((k) => k.replace("-UNIFORM", "-uniform")).join(", ")
        }`,
      );
    }
    if ((cli["input-len"] ?? file["input-len"]) === undefined) inputLen = p.inputLen;
    if ((cli["output-len"] ?? file["output-len"]) === undefined) outputLen = p.outputLen;
    first = { firstInputLen: p.firstInputLen, firstOutputLen: p.firstOutputLen };
  }
  const rangeRatio = numberFlag(v, "range-ratio", { min: 0, max: 1 })!;
  if (rangeRatio >= 1) throw bad("range-ratio", v["range-ratio"], "a number in [0, 1)");
  const imageSizes = parseImageSizes(v["image-size"] as string);
  if (name === "sharegpt-multiturn" && !/\/chat\/completions\/?$/.test(endpoint)) {
    throw bad("endpoint", endpoint, "/v1/chat/completions for --dataset sharegpt-multiturn");
  }
  if (name === "random-mm" && !/\/chat\/completions\/?$/.test(endpoint)) {
    throw bad("endpoint", endpoint, "/v1/chat/completions for --dataset random-mm");
  }
  const { inputDist, outputDist } = lengthDists(v, name);
  const gpusN = numberFlag(v, "gpus", { min: 0 });
  const workers = v.workers === undefined ? [] : String(v.workers).split(",").map((w) => w.trim());
  if (workers.length) {
    if (workers.some((w) => !/^[\w@.:[\]-]+$/.test(w))) {
      throw bad("workers", v.workers, "comma-separated host names or local");
    }
    if (!Number.isFinite(rateRps) || concurrency !== undefined) {
      throw bad("workers", v.workers, "workers with a finite --rate and no --concurrency");
    }
    if (numberFlag(v, "runs", { integer: true, min: 1 })! > 1) {
      throw bad("runs", v.runs, "1 with --workers");
    }
  }
  const platform = enumFlag(v, "platform", ["local", "kubernetes"] as const) ?? "local";
  const replicas = numberFlag(v, "replicas", { integer: true, min: 1, max: 1000 }) ?? 1;
  if (platform === "kubernetes") {
    // the pods split one Poisson schedule: a finite rate, open loop
    if (workers.length) {
      throw bad(
        "workers",
        v.workers,
        "absent with --platform kubernetes (the pods are the workers)",
      );
    }
    if (concurrency !== undefined) {
      throw bad(
        "concurrency",
        concurrency,
        "absent with --platform kubernetes (the pods split a --rate)",
      );
    }
    if (!Number.isFinite(rateRps)) {
      throw bad("rate", v.rate, "a finite rate with --platform kubernetes (the pods split it)");
    }
    if (numberFlag(v, "runs", { integer: true, min: 1 })! > 1) {
      throw bad("runs", v.runs, "1 with --platform kubernetes");
    }
    if (v["gpu-monitor"] === true) {
      throw bad(
        "gpu-monitor",
        true,
        "off with --platform kubernetes (the GPUs are on the cluster's nodes)",
      );
    }
  } else {
    // cluster options without the cluster would be silently ignored
    for (const f of ["replicas", "namespace", "image", "context"] as const) {
      const d = (BENCH_FLAGS[f] as { default?: string }).default;
      if (v[f] !== undefined && String(v[f]) !== d) {
        throw bad(f, v[f], "given only with --platform kubernetes");
      }
    }
  }
  return {
    url: url.replace(/\/+$/, ""),
    endpoint,
    model: v.model as string | undefined,
    rateRps,
    durationS,
    numRequests,
    concurrency,
    arrival,
    burstiness,
    ramp,
    rampToRps,
    rampDurationS,
    dataset: {
      name,
      seed: numberFlag(v, "seed", { integer: true, min: 0 })!,
      endpoint: /\/chat\/completions\/?$/.test(endpoint) ? "chat" : "completions",
      inputLen,
      outputLen: outputLen ?? 128,
      outputLenGiven,
      rangeRatio,
      ...(inputDist ? { inputDist } : {}),
      ...(traced ? { traceSpeedup: numberFlag(v, "trace-speedup", { min: 1e-6 })! } : {}),
      ...(outputDist ? { outputDist } : {}),
      prefixLen: numberFlag(v, "prefix-len", { integer: true, min: 0 })!,
      numPrefixes: numberFlag(v, "num-prefixes", { integer: true, min: 1 })!,
      path,
      turns: numberFlag(v, "turns", { integer: true, min: 1 })!,
      ...(first.firstInputLen !== undefined ? first : {}),
      thinkTimeMs: numberFlag(v, "think-time", { min: 0 })!,
      imageSizes,
      imagesPerRequest: numberFlag(v, "images-per-request", { integer: true, min: 0 })!,
      ignoreEos: !(v["no-ignore-eos"] as boolean),
    },
    ...warmupFlag(v.warmup),
    runs: numberFlag(v, "runs", { integer: true, min: 1 })!,
    slo: sloFromFlags(v),
    timeoutS: numberFlag(v, "timeout", { min: 0.001 })!,
    stallTimeoutS: numberFlag(v, "stall-timeout", { min: 0 })!,
    graceS: numberFlag(v, "grace", { min: 0 })!,
    requestBodyTemplate: v["request-body-template"] as string | undefined,
    stream,
    ...(v["response-text-path"] !== undefined
      ? { responseTextPath: String(v["response-text-path"]) }
      : {}),
    ...(v["response-tokens-path"] !== undefined
      ? { responseTokensPath: String(v["response-tokens-path"]) }
      : {}),
    sampling: samplingFromFlags(v),
    classes: [],
    metricsCompat: enumFlag(v, "metrics-compat", ["topobench", "vllm"] as const)!,
    gpuMonitor: v["gpu-monitor"] as boolean,
    gpuIntervalMs: numberFlag(v, "gpu-interval", { min: 10 })!,
    scrapeMetrics: v["scrape-metrics"] as string | undefined,
    scrapeIntervalMs: numberFlag(v, "scrape-interval", { min: 10 })!,
    out: checkOut(v.out as string),
    topology: v.topology as string,
    gpus: gpusN,
    tokenizer: v.tokenizer as string | undefined,
    resetPrefixCache: v["reset-prefix-cache"] as boolean,
    writeItl: !(v["no-itl"] as boolean),
    timeScale: numberFlag(v, "time-scale", { min: 1e-6 })!,
    workers,
    workerCmd: v["worker-cmd"] as string,
    startAt: v["start-at"] === "stdin" ? "stdin" : numberFlag(v, "start-at", { min: 0 }),
    ...(platform === "kubernetes"
      ? {
        kubernetes: {
          replicas,
          namespace: String(v.namespace ?? "default"),
          image: String(v.image ?? "denoland/deno:2.9.6"),
          ...(v.context !== undefined ? { context: String(v.context) } : {}),
        },
      }
      : {}),
  };
}
