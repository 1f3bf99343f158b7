/**
 * Flags of `deno task sim` (vLLM's `vllm serve` spellings where one exists) and
 * their validation into a config object: a pure function, tested on its own.
 *
 * @module
 */
import { connectorKvCost } from "./kv_link.ts";
import { enumFlag, type FlagSpec, numberFlag } from "../../../lib/args.ts";
import { SERVE_FLAGS } from "../../../lib/serve_flags.ts";
import {
  DEFAULT_REQUEST_FLOOR_MS,
  defaultLinkGBps,
  type Dtype,
  LINK_KINDS,
  type LinkKind,
} from "./cost_model.ts";
import { listGpus, listModels } from "./profiles.ts";

/**
 * vLLM's `--kv-cache-dtype` values and the KV precision each gives: `auto` is
 * the model's dtype (BF16 here, also for an FP8 checkpoint: vLLM quantizes the
 * KV cache only when this flag says fp8).
 */
export const KV_CACHE_DTYPES: Readonly<Record<string, Dtype>> = {
  auto: "bf16",
  bf16: "bf16",
  bfloat16: "bf16",
  fp8: "fp8",
  fp8_e4m3: "fp8",
  fp8_e5m2: "fp8",
};

const KV_CACHE_DTYPE_NAMES = Object.keys(KV_CACHE_DTYPES);

/** Flags of the simulated engine. */
export const SIM_FLAGS: FlagSpec = {
  host: { type: "string", default: "127.0.0.1", help: "Address to listen on" },
  port: { type: "string", default: "8000", help: "Port to listen on (0 picks a free one)" },
  model: {
    type: "string",
    default: "meta-llama/Llama-3.1-8B-Instruct",
    help: "Model name (Hugging Face id); picks the profile unless --model-profile is given",
  },
  "model-profile": {
    type: "string",
    help: `Profile id (${listModels().map((m) => m.id).join(", ")}) or a Hugging Face config.json`,
  },
  "served-model-name": { type: "string", help: "Name clients use (default: --model)" },
  gpu: {
    type: "string",
    default: "h100",
    help: `GPU profile id (${
      listGpus().map((g) => g.id).join(", ")
    }) or a YAML file of datasheet figures`,
  },
  "tensor-parallel-size": {
    type: "string",
    short: "t",
    default: "1",
    aliases: ["tp"],
    help: "GPUs per instance",
  },
  "data-parallel-size": {
    type: "string",
    default: "1",
    aliases: ["dp"],
    help:
      "Data-parallel ranks in this instance, each its own scheduler and KV cache (vLLM's internal load balancing)",
  },
  "data-parallel-external-lb": {
    type: "boolean",
    default: false,
    help:
      "External load balancing: rank r serves at --port + r and takes only the requests sent there (the router picks the rank, as with one vllm serve --data-parallel-rank r per rank); needs --data-parallel-size > 1",
  },
  "enable-eplb": {
    type: "boolean",
    default: false,
    help:
      "Expert-parallel load balancing: the busiest expert GPU's load over the mean drops from 1.069 to 1.008 at 16 GPUs (measured, vllm-project/vllm#50647; scaled to the group's size)",
  },
  "eplb-config": {
    type: "string",
    help:
      "vLLM's EPLBConfig as JSON (accepted; the simulated engine models EPLB's steady state only)",
  },
  "expert-imbalance": {
    type: "string",
    help:
      "Busiest expert-parallel GPU's routed tokens over the calibrated run's, >= 1 (default by group size: 1 on 2 GPUs, 1.056 on 16; 1 with --enable-eplb up to 32)",
  },
  "enable-expert-parallel": {
    type: "boolean",
    default: false,
    aliases: ["ep"],
    help: "MoE: whole experts per GPU over the dp x tp group instead of a slice of each",
  },
  "gpu-memory-utilization": {
    type: "string",
    default: "0.9",
    help: "Share of GPU memory for weights + KV",
  },
  "max-model-len": {
    type: "string",
    help: "Context limit (default: the model's, capped by KV capacity)",
  },
  "max-num-batched-tokens": { type: "string", default: "8192", help: "Token budget per step" },
  "max-num-seqs": { type: "string", default: "256", help: "Max running requests" },
  "block-size": { type: "string", default: "16", help: "Tokens per KV block" },
  "num-gpu-blocks-override": {
    type: "string",
    help: "Number of KV blocks (overrides the memory sizing)",
  },
  "async-scheduling": {
    type: "boolean",
    default: false,
    help:
      "Schedule the next step while the current one runs (vLLM's --async-scheduling): one more step of TTFT",
  },
  "disable-custom-all-reduce": {
    type: "boolean",
    default: false,
    help:
      "vLLM's --disable-custom-all-reduce: every tensor-parallel all-reduce through NCCL (simulated cost: launch/sim/core/_all_reduce.ts)",
  },
  "no-enable-prefix-caching": { type: "boolean", default: false, help: "Disable prefix caching" },
  "enable-prefix-caching": {
    type: "boolean",
    default: false,
    help: "Accepted for vLLM compatibility (on by default)",
  },
  speed: {
    type: "string",
    default: "1",
    help: "Run this many times faster than real time (tests)",
  },
  seed: { type: "string", default: "0", help: "Seed of step noise and output lengths" },
  jitter: { type: "string", default: "0.03", help: "Relative step-time noise (uniform ±)" },
  tokenizer: {
    type: "string",
    help: "Local Hugging Face tokenizer folder (default: shipped Llama-3.1)",
  },
  "kv-transfer-config": {
    type: "string",
    help: "vLLM KV connector JSON (NixlConnector, P2pNcclConnector)",
  },
  "ec-transfer-config": { type: "string", help: "vLLM encoder-cache connector JSON (EPD)" },
  "side-channel-port": {
    type: "string",
    help: "KV side-channel port (default: $VLLM_NIXL_SIDE_CHANNEL_PORT, else a free port)",
  },
  "kv-link": {
    type: "string",
    help: "Link for KV transfers: nvlink, pcie, rdma, tcp (default: the connector's, nvlink)",
  },
  "kv-link-gbps": { type: "string", help: "KV transfer bandwidth in GB/s (overrides --kv-link)" },
  "kv-latency-ms": {
    type: "string",
    help: "Fixed cost of one KV transfer, simulated ms (default: the connector's)",
  },
  "kv-per-block-us": {
    type: "string",
    help: "Cost per KV block transferred, µs (default: the connector's)",
  },
  "engine-id": { type: "string", help: "Engine id in kv_transfer_params (default: random)" },
  "mean-output-tokens": {
    type: "string",
    default: "256",
    help: "Mean output length when EOS is not ignored",
  },
  "log-interval": {
    type: "string",
    default: "10",
    help: "Seconds (simulated) between stats lines",
  },
  "log-level": { type: "string", default: "info", help: "debug, info, warn, error" },
  "fail-rate": { type: "string", default: "0", help: "Share of requests answered with HTTP 500" },
  "startup-delay": {
    type: "string",
    default: "0",
    help: "Seconds /health answers 503 before ready",
  },
  quantization: {
    type: "string",
    help:
      "fp8: FP8 weights (vLLM's --quantization fp8; halves weight bytes, FP8 peak; KV stays BF16); default: the checkpoint's (FP8 where its config.json says quant_method fp8), else BF16",
  },
  "kv-cache-dtype": {
    type: "string",
    default: "auto",
    help:
      "KV cache precision as vLLM's --kv-cache-dtype: auto (the model's BF16), bf16, bfloat16, fp8, fp8_e4m3 or fp8_e5m2 (halves KV bytes)",
  },
  "request-floor-ms": {
    type: "string",
    default: String(DEFAULT_REQUEST_FLOOR_MS),
    help: "Per-request frontend cost before the queue, simulated ms (API server, tokenisation)",
  },
  "enforce-eager": { type: "boolean", default: false, help: "Accepted for vLLM compatibility" },
  "trust-remote-code": { type: "boolean", default: false, help: "Accepted for vLLM compatibility" },
  "disable-log-requests": {
    type: "boolean",
    default: false,
    help: "Accepted for vLLM compatibility",
  },
  "enable-prompt-tokens-details": { type: "boolean", default: false, help: "Accepted (always on)" },
  ...SERVE_FLAGS,
};

/** Validated simulated-engine settings. */
export interface SimConfig {
  host: string;
  port: number;
  model: string;
  modelProfile?: string;
  servedModelName?: string;
  gpu: string;
  tp: number;
  /** Data-parallel ranks (`--data-parallel-size`). */
  dp: number;
  /** `--data-parallel-external-lb`: one port per rank, the router balances the ranks. */
  dpExternalLb: boolean;
  /** `--enable-expert-parallel`. */
  ep: boolean;
  /** `--enable-eplb`. */
  eplb: boolean;
  /** `--expert-imbalance`: busiest expert GPU's load over the mean (absent: the cost model's default). */
  expertImbalance?: number;
  gpuMemoryUtilization: number;
  maxModelLen?: number;
  maxNumBatchedTokens: number;
  maxNumSeqs: number;
  blockSize: number;
  numGpuBlocksOverride?: number;
  prefixCaching: boolean;
  /** vLLM's custom all-reduce allowed (no `--disable-custom-all-reduce`). */
  customAllReduce: boolean;
  /** `--async-scheduling`. */
  asyncScheduling: boolean;
  speed: number;
  seed: number;
  jitter: number;
  tokenizer?: string;
  kvTransferConfig?: string;
  ecTransferConfig?: string;
  sideChannelPort: number;
  kvLinkGBps: number;
  kvLatencyMs: number;
  /** Cost per KV block transferred, µs. */
  kvPerBlockUs: number;
  /** Weight precision (`--quantization fp8`); absent: the checkpoint's (`quantization_config`), else BF16. */
  dtype?: Dtype;
  /** KV cache precision (`--kv-cache-dtype`; auto: BF16). */
  kvDtype: Dtype;
  /** Per-request frontend floor, simulated ms. */
  requestFloorMs: number;
  engineId: string;
  meanOutputTokens: number;
  logIntervalS: number;
  logLevel: "debug" | "info" | "warn" | "error";
  failRate: number;
  startupDelayS: number;
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** Checks flag values (and `VLLM_NIXL_SIDE_CHANNEL_PORT` from `env`) into a {@linkcode SimConfig}. */
export function simConfig(v: Values, env: Record<string, string> = {}): SimConfig {
  const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
    numberFlag(v, name, { min, max, integer: true });
  const num = (name: string, min: number, max = Number.MAX_VALUE) =>
    numberFlag(v, name, { min, max });
  // the connector's transfer costs unless a flag says otherwise
  let connector: string | undefined;
  try {
    connector = JSON.parse(String(v["kv-transfer-config"] ?? "null"))?.kv_connector;
  } catch { /* the connector parser names the bad JSON */ }
  const kvCost = connectorKvCost(connector);
  const link = (enumFlag(v, "kv-link", LINK_KINDS) ?? kvCost.link) as LinkKind;
  const sidePort = v["side-channel-port"] ?? env.VLLM_NIXL_SIDE_CHANNEL_PORT ?? "0";
  if (v["data-parallel-external-lb"] === true && String(v["data-parallel-size"] ?? "1") === "1") {
    throw new RangeError(
      "Cannot use --data-parallel-external-lb with --data-parallel-size 1: current value is 1; allowed: --data-parallel-size > 1 (external load balancing routes over the ranks)",
    );
  }
  if (v["enable-eplb"] === true && v["enable-expert-parallel"] !== true) {
    throw new RangeError(
      "Cannot use --enable-eplb without --enable-expert-parallel: current value is true; allowed: --enable-eplb with --enable-expert-parallel (vLLM: EPLB needs expert parallelism)",
    );
  }
  const sideChannelPort = numberFlag({ "side-channel-port": sidePort }, "side-channel-port", {
    min: 0,
    max: 65535,
    integer: true,
  })!;
  const str = (name: string) => v[name] as string | undefined;
  return {
    host: str("host")!,
    port: int("port", 0, 65535)!,
    model: str("model")!,
    modelProfile: str("model-profile"),
    servedModelName: str("served-model-name"),
    gpu: str("gpu")!,
    tp: int("tensor-parallel-size", 1, 64)!,
    dp: int("data-parallel-size", 1, 1024)!,
    dpExternalLb: v["data-parallel-external-lb"] === true,
    ep: v["enable-expert-parallel"] === true,
    eplb: v["enable-eplb"] === true,
    expertImbalance: num("expert-imbalance", 1, 64),
    gpuMemoryUtilization: num("gpu-memory-utilization", 0.01, 1)!,
    maxModelLen: int("max-model-len", 16),
    maxNumBatchedTokens: int("max-num-batched-tokens", 1)!,
    maxNumSeqs: int("max-num-seqs", 1)!,
    blockSize: int("block-size", 1, 1024)!,
    numGpuBlocksOverride: int("num-gpu-blocks-override", 1),
    prefixCaching: v["no-enable-prefix-caching"] !== true,
    asyncScheduling: v["async-scheduling"] === true,
    customAllReduce: v["disable-custom-all-reduce"] !== true,
    speed: num("speed", 1e-3, 1e6)!,
    seed: int("seed", 0)!,
    jitter: num("jitter", 0, 0.5)!,
    tokenizer: str("tokenizer"),
    kvTransferConfig: str("kv-transfer-config"),
    ecTransferConfig: str("ec-transfer-config"),
    sideChannelPort,
    kvLinkGBps: num("kv-link-gbps", 1e-3) ?? defaultLinkGBps(link),
    kvLatencyMs: num("kv-latency-ms", 0) ?? kvCost.latencyMs,
    kvPerBlockUs: num("kv-per-block-us", 0) ?? kvCost.perBlockUs,
    dtype: enumFlag(v, "quantization", ["fp8"] as const) as Dtype | undefined,
    kvDtype: KV_CACHE_DTYPES[enumFlag(v, "kv-cache-dtype", KV_CACHE_DTYPE_NAMES) ?? "auto"],
    requestFloorMs: num("request-floor-ms", 0)!,
    engineId: str("engine-id") ?? crypto.randomUUID(),
    meanOutputTokens: num("mean-output-tokens", 1)!,
    logIntervalS: num("log-interval", 0.001)!,
    logLevel: enumFlag(
      v,
      "log-level",
      ["debug", "info", "warn", "error"] as const,
    ) as SimConfig["logLevel"],
    failRate: num("fail-rate", 0, 1)!,
    startupDelayS: num("startup-delay", 0)!,
  };
}
