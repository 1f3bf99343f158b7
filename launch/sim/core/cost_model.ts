/**
 * Roofline step-time model of one vLLM instance (one engine over `tp` GPUs):
 * a prefill-only step costs the larger of reading the weights and doing its
 * FLOPs (GEMMs and attention at their own efficiencies per GPU), a decode-only
 * step reading the weights and the sequences' KV; a step that mixes prefill
 * chunks with decodes costs the sum of its compute-bound prefill part and its
 * bandwidth-bound decode part (the interference chunked prefill shows as ITL
 * spikes). Plus the tensor-parallel all-reduces and a fixed CPU/launch overhead.
 * Also the per-request frontend floor (API server, tokenisation, scheduling,
 * detokenisation), KV capacity, vision encoder and KV transfer times.
 *
 * Each efficiency is one quantity per GPU with its source in `profiles.ts`;
 * `deno task calibrate` checks the result against ../shared/calibration.
 *
 * @module
 */
import type { GpuProfile, ModelProfile } from "./profiles.ts";
import { dispatchMs, expertMs, type MoeShape, routedExpertParams } from "./_moe_cost.ts";
import { dsaComputeMs, dsaKvReadBytes, type DsaShape, indexKeyBytes } from "./_dsa_cost.ts";
import { type KvBudget, kvBudget } from "./_kv_budget.ts";
import { type StepTerms, zeroTerms } from "./step_terms.ts";
import {
  type AllReduceLink,
  allReduceMs,
  CUSTOM_AR_PCIE_LATENCY_MS,
  CUSTOM_AR_PCIE_SHARE,
} from "./_all_reduce.ts";

/** One sequence's share of a step. */
export interface SeqWork {
  /** Tokens computed this step: 1 for a decode, the chunk size for a prefill chunk. */
  newTokens: number;
  /** Tokens already in the KV cache before this step (prefix hits and earlier chunks). */
  contextTokens: number;
}

/**
 * One step's work summed over its sequences: prefill chunks (more than one new
 * token, or a first token with no context) and decodes apart. The engine adds
 * each sequence as it schedules it, in the order {@linkcode CostModel.breakdown}
 * would, so both give the same time to the last bit.
 */
export class StepShape {
  pTokens = 0;
  pSeqs = 0;
  pCtx = 0;
  /** Causal attention pairs of the prefill chunks. */
  pPairs = 0;
  dSeqs = 0;
  dCtx = 0;
  dPairs = 0;
  /** Sequences in the step. */
  seqs = 0;

  /** Empties it for the next step. */
  clear(): void {
    this.pTokens =
      this.pSeqs =
      this.pCtx =
      this.pPairs =
        0;
    this.dSeqs =
      this.dCtx =
      this.dPairs =
      this.seqs =
        0;
  }

  /** Adds `seqs` decodes (one new token each) over `contextTokens` cached in all. */
  addDecodes(seqs: number, contextTokens: number): void {
    this.seqs += seqs;
    this.dSeqs += seqs;
    this.dCtx += contextTokens;
    this.dPairs += contextTokens + seqs / 2;
  }

  /** Adds one sequence computing `newTokens` over `contextTokens` already cached. */
  add(newTokens: number, contextTokens: number): void {
    const pairs = newTokens * (contextTokens + newTokens / 2); // causal attention pairs
    this.seqs++;
    if (newTokens > 1 || contextTokens === 0) {
      this.pTokens += newTokens;
      this.pSeqs++;
      this.pCtx += contextTokens;
      this.pPairs += pairs;
    } else {
      this.dSeqs++;
      this.dCtx += contextTokens;
      this.dPairs += pairs;
    }
  }
}

/** Time of one step by part, in ms. */
export interface StepBreakdown {
  /** Reading the decoder weights once. */
  weightMs: number;
  /** Linear and attention FLOPs. */
  computeMs: number;
  /** Reading the context KV of all sequences. */
  kvReadMs: number;
  /** Tensor-parallel all-reduces. */
  commMs: number;
  /** Fixed and per-sequence CPU/launch overhead. */
  overheadMs: number;
  /**
   * max(weightMs, computeMs) (one kind of work) or prefill compute + max(weightMs,
   * decode compute) (mixed) + kvReadMs + commMs + overheadMs.
   */
  totalMs: number;
  /**
   * What `totalMs` is made of, term by term (they add up to it): the roofline's
   * binding side only (a weight-bound decode counts `weightReadMs`, not its FLOPs).
   * `step_terms.ts` sums them over a run.
   */
  terms: StepTerms;
}

/** A breakdown of nothing, to fill ({@linkcode CostModel.shapeBreakdown}'s `into`). */
export function zeroBreakdown(): StepBreakdown {
  return {
    weightMs: 0,
    computeMs: 0,
    kvReadMs: 0,
    commMs: 0,
    overheadMs: 0,
    totalMs: 0,
    terms: zeroTerms(),
  };
}

/** Sets the parts of `b` (its terms are the caller's); returns it. */
function setParts(
  b: StepBreakdown,
  weightMs: number,
  computeMs: number,
  kvReadMs: number,
  commMs: number,
  overheadMs: number,
  totalMs: number,
): StepBreakdown {
  b.weightMs = weightMs;
  b.computeMs = computeMs;
  b.kvReadMs = kvReadMs;
  b.commMs = commMs;
  b.overheadMs = overheadMs;
  b.totalMs = totalMs;
  return b;
}

/** Options of {@linkcode CostModel}. */
export interface CostModelOptions {
  /** GPU of every rank. */
  gpu: GpuProfile;
  /** Served model. */
  model: ModelProfile;
  /** Tensor-parallel size (GPUs per data-parallel rank). @default 1 */
  tp?: number;
  /**
   * Data-parallel ranks of the instance (`--data-parallel-size`): each its own
   * scheduler and KV cache; an MoE model's expert layers span all `dp * tp` GPUs
   * and every rank steps with the others ({@linkcode CostModel.groupStepMs}). @default 1
   */
  dp?: number;
  /** `--enable-expert-parallel`: whole experts per GPU instead of a slice of each (MoE only). @default false */
  ep?: boolean;
  /**
   * Tokens the busiest GPU's experts get over the mean under expert parallel
   * (routing is not uniform; the expert GEMMs of a step last as long as that
   * GPU's; relative to the calibrated run's). @default {@linkcode chargedExpertImbalance}
   * of the group's dp × tp GPUs
   */
  expertImbalance?: number;
  /** `--enable-eplb`: the expert load is rebalanced ({@linkcode EPLB_EXPERT_IMBALANCE}). @default false */
  eplb?: boolean;
  /** Share of peak memory bandwidth reached. @default the GPU profile's */
  memEfficiency?: number;
  /** Share of the tensor-core peak GEMMs and attention reach (both). @default the GPU profile's */
  computeEfficiency?: number;
  /**
   * Weight precision (`--quantization`): `fp8` halves weight bytes and uses the FP8 peak.
   * @default the model's checkpoint dtype (an FP8 checkpoint loads as FP8 in vLLM), else "bf16"
   */
  dtype?: Dtype;
  /**
   * KV cache precision (`--kv-cache-dtype`): `fp8` halves KV bytes. vLLM keeps
   * the KV cache in the model's dtype (BF16) unless `kv_cache_dtype` says fp8,
   * also for an FP8 checkpoint. @default "bf16"
   */
  kvDtype?: Dtype;
  /**
   * Fixed cost of one request outside the engine steps: HTTP and API server,
   * tokenisation setup, scheduling into the first step, sampling and detokenising
   * the first token. @default DEFAULT_REQUEST_FLOOR_MS
   */
  requestFloorMs?: number;
  /** Tokenisation cost per prompt token, µs. @default DEFAULT_TOKENIZE_US_PER_TOKEN */
  tokenizeUsPerToken?: number;
  /** Fixed cost per step (scheduling, sampling, launches). @default 1.3 */
  stepOverheadMs?: number;
  /** Extra cost per sequence in the step (input prep, sampling, output). @default 0.03 */
  perSeqOverheadMs?: number;
  /**
   * Share of the per-direction link peak a collective (all-reduce, all-gather,
   * reduce-scatter) reaches; given, it (with {@linkcode allReduceLatencyMs}) replaces
   * the per-transport all-reduce of `_all_reduce.ts` for every message.
   * @default 0.8 over NVLink, PCIE_COMM_EFFICIENCY over PCIe (the expert-parallel collectives)
   */
  commEfficiency?: number;
  /** Latency of one collective, ms. @default 0.01 over NVLink, PCIE_COLLECTIVE_LATENCY_MS over PCIe */
  allReduceLatencyMs?: number;
  /**
   * vLLM's custom all-reduce allowed (false: `--disable-custom-all-reduce`, every
   * all-reduce through NCCL). @default true
   */
  customAllReduce?: boolean;
  /**
   * Non-torch memory vLLM's worker adds per GPU during its memory profile
   * (kernel modules, cuBLAS, NCCL and all-reduce buffers), GiB; ASSUMED.
   * @default NON_TORCH_GIB_ONE_GPU on one GPU, NON_TORCH_GIB_MULTI_GPU when it talks to others
   */
  nonTorchGiB?: number;
  /** `--max-num-batched-tokens`: the profile run's forward pass, sizing the activation peak. @default 8192 */
  maxNumBatchedTokens?: number;
  /** `--max-num-seqs`: the profile run's sampler rows, sizing the sampler's peak. @default 256 */
  maxNumSeqs?: number;
}

/** Weight or KV cache precision. */
export type Dtype = "bf16" | "fp8";

/**
 * Collectives between GPUs with no NVLink over PCIe, FITTED, not sourced (the
 * tensor-parallel all-reduce now tells its transports apart in `_all_reduce.ts`,
 * whose custom all-reduce keeps these two figures; the expert-parallel
 * all-gathers and reduce-scatters still use them):
 * ../shared/calibration/traces' Qwen3-32B TP 2 run on two RTX PRO 6000 (PCIe 5,
 * no NVLink) decodes 128 requests at 2,176 tok/s (58.8 ms a step) where the
 * roofline leaves 48 ms, and prefills 2,048-token chunks at ~6,000 tok/s
 * (~340 ms) where it leaves ~245 ms; 128 all-reduces a step of 1.3 MB (decode)
 * and 21 MB (prefill) explain both gaps with 80 µs each and 19 GB/s, 0.3 of
 * PCIe 5's 64 GB/s per direction. The Qwen3-30B-A3B DP 2 + EP run (its
 * all-gathers and reduce-scatters over the same link) then lands within its
 * measured decode step (43.5-47.6 ms at 256 running) without further change.
 * Published NCCL figures on PCIe agree in size: 42 µs for an 8-byte all-reduce
 * over 8 RTX 4090s (NVIDIA/nccl#1530), at most 35 GB/s bus bandwidth over 4
 * RTX 5090s on PCIe 5 for GB-sized messages (NVIDIA/nccl#1639), ~11 GB/s at
 * 1 MB and ~20 GB/s at 16 MB over a PCIe 3 pair (NVIDIA/nccl-tests#44).
 */
export const PCIE_COLLECTIVE_LATENCY_MS = CUSTOM_AR_PCIE_LATENCY_MS;

/** Share of PCIe's per-direction peak a collective reaches (see {@linkcode PCIE_COLLECTIVE_LATENCY_MS}). */
export const PCIE_COMM_EFFICIENCY = CUSTOM_AR_PCIE_SHARE;

/**
 * Busiest expert-parallel GPU's routed tokens over the mean, without EPLB:
 * 1.069, measured in vLLM (vllm-project/vllm#50647, "[Kimi K3] Add EPLB
 * support": median max/mean rank load over 97 samples of 16 EP ranks on
 * GSM8K, EPLB off). ASSUMED the same for other models and workloads (one
 * published measurement); other group sizes scale from it
 * ({@linkcode expertImbalanceFor}).
 */
export const DEFAULT_EXPERT_IMBALANCE = 1.069;

/**
 * The same with EPLB (`--enable-eplb`: experts rearranged, and copied with
 * redundant experts, to even the measured load): 1.008, measured in the same
 * run with EPLB on (vllm-project/vllm#50647). ASSUMED for any
 * `num_redundant_experts` (the model does not vary it) and in steady state
 * (the rearrangements' own cost is not modelled).
 */
export const EPLB_EXPERT_IMBALANCE = 1.008;

/** Expert GPUs of the measurement behind the two figures above (16 EP ranks). */
export const IMBALANCE_MEASURED_GPUS = 16;

/**
 * The busiest expert GPU's load over the mean on a group of `gpus` expert
 * GPUs, from `measured` (at {@linkcode IMBALANCE_MEASURED_GPUS}). ASSUMED
 * scaling (balls in bins): a GPU's share of the routed tokens spreads as
 * sqrt(gpus / experts) at fixed experts, and the largest of `gpus` shares
 * lies about sqrt(2 ln gpus) spreads above the mean; so the excess over 1
 * scales by sqrt(gpus / 16) × sqrt(ln gpus / ln 16): 1.012 on 2 GPUs, 1.042
 * on 8, 1.069 on 16, 1.109 on 32 (1.001 to 1.013 with EPLB).
 */
export function expertImbalanceFor(gpus: number, measured: number): number {
  if (gpus <= 1) return 1;
  const m = IMBALANCE_MEASURED_GPUS;
  const scale = Math.sqrt(gpus / m) * Math.sqrt(Math.log(gpus) / Math.log(m));
  return 1 + (measured - 1) * scale;
}

/**
 * Expert GPUs of the calibrated expert-parallel run (the DP2+EP trace
 * `RTXPRO6000_Qwen3-30B-A3B-Instruct-2507`, no EPLB): its real imbalance is
 * inside the efficiencies fitted on it, so the model charges only what a
 * group adds beyond it.
 */
export const CALIBRATED_EP_GPUS = 2;

/**
 * The imbalance the step model charges on `gpus` expert GPUs: the busiest
 * GPU's load ({@linkcode expertImbalanceFor}, with or without EPLB) over the
 * calibrated run's, at least 1: 1 on 2 GPUs (as calibrated), 1.030 on 8,
 * 1.056 on 16, 1.096 on 32; with EPLB 1 up to 32 GPUs (EPLB's gain below the
 * calibrated run's spread is not credited).
 */
export function chargedExpertImbalance(gpus: number, eplb: boolean): number {
  const base = expertImbalanceFor(CALIBRATED_EP_GPUS, DEFAULT_EXPERT_IMBALANCE);
  const own = expertImbalanceFor(gpus, eplb ? EPLB_EXPERT_IMBALANCE : DEFAULT_EXPERT_IMBALANCE);
  return Math.max(1, own / base);
}

/**
 * Per-request floor of vLLM's V1 frontend, ms: ../shared/calibration PPD-floor
 * (vLLM 0.13, H100) fits TTFT ≈ 21 ms + 19 µs per new prompt token, and the
 * modelled prefill of its shortest rows (277 and 533 tokens) leaves ≈ 21 ms.
 */
export const DEFAULT_REQUEST_FLOOR_MS = 21;

/**
 * Per-request floor of vLLM's V0 engine (0.5/0.6, multi-step scheduling), ms: the
 * value with which `deno task calibrate` reproduces ../shared/calibration L-H100's
 * mean TTFT (62.4 ms; its 10 prompts reach the scheduler a tokenisation apart, so
 * the first step takes only the first); L-A100 then checks it.
 */
export const VLLM_V0_REQUEST_FLOOR_MS = 27.7;

/**
 * Tokenisation per prompt token, µs: Hugging Face `tokenizers` (Rust BPE) encodes
 * on the order of 1-2 M tokens/s on one core (assumed 0.7 µs per token).
 */
export const DEFAULT_TOKENIZE_US_PER_TOKEN = 0.7;

/** Kinds of links KV moves over between instances. */
export const LINK_KINDS = ["nvlink", "pcie", "rdma", "tcp"] as const;

/** One kind of link KV moves over between instances. */
export type LinkKind = typeof LINK_KINDS[number];

/**
 * Link bandwidths per GPU in GB/s: the per-direction peak, and the effective
 * rate we model for NIXL KV transfers (block-sized copies, many descriptors).
 */
export const LINKS: Readonly<Record<LinkKind, { peakGBps: number; effectiveGBps: number }>> = {
  // NVLink 4 (H100): 900 GB/s both directions = 450 per direction; NIXL's
  // UCX cuda_ipc copies of paged blocks reach about two thirds of it (assumed).
  nvlink: { peakGBps: 450, effectiveGBps: 300 },
  // PCIe Gen5 x16: 64 GB/s per direction; cudaMemcpy reaches ~50-55 GB/s.
  pcie: { peakGBps: 64, effectiveGBps: 50 },
  // One 400 Gb/s NIC per GPU (ConnectX-7, InfiniBand NDR / RoCE): 50 GB/s line rate.
  rdma: { peakGBps: 50, effectiveGBps: 45 },
  // NCCL's socket transport (NCCL_IB_DISABLE=1, NCCL_NET=Socket, as the PPD suite ran
  // P2P-NCCL) on 25 Gb/s Ethernet: NVIDIA/nccl-tests#83 reports 1.7 GB/s of a 3.1 GB/s
  // link, NVIDIA/nccl#209 at most 60% of wire speed over TCP.
  tcp: { peakGBps: 3.1, effectiveGBps: 1.7 },
};

/** Effective KV transfer bandwidth per GPU in GB/s for a link kind (see {@linkcode LINKS}). */
export function defaultLinkGBps(kind: LinkKind): number {
  const link = LINKS[kind];
  if (!link) {
    throw new RangeError(
      `Cannot use "${kind}" as link kind: current value is "${kind}"; allowed: ${
        Object.keys(LINKS).join(", ")
      }`,
    );
  }
  return link.effectiveGBps;
}

const GIB = 2 ** 30;

function checkFraction(name: string, v: number): number {
  if (!(v > 0 && v <= 1)) {
    throw new RangeError(`Cannot use ${name} as a fraction in (0, 1]: current value is ${v}`);
  }
  return v;
}

function checkNonNegative(name: string, v: number): number {
  if (!(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`Cannot use ${name} as a number >= 0: current value is ${v}`);
  }
  return v;
}

function checkAtLeastOne(name: string, v: number): number {
  if (!(v >= 1) || !Number.isFinite(v)) {
    throw new RangeError(`Cannot use ${name} as a number >= 1: current value is ${v}`);
  }
  return v;
}

function checkPositiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) {
    throw new RangeError(`Cannot use ${name} as a positive integer: current value is ${v}`);
  }
  return v;
}

type ResolvedOptions =
  & Required<
    Omit<
      CostModelOptions,
      | "gpu"
      | "model"
      | "tp"
      | "dtype"
      | "kvDtype"
      | "dp"
      | "ep"
      | "expertImbalance"
      | "eplb"
      | "nonTorchGiB"
      | "customAllReduce"
    >
  >
  & { nonTorchGiB?: number };

/** Tensor-parallel, data-parallel and expert-parallel sizes of `o`, checked against its model. */
function checkParallel(o: CostModelOptions): { tp: number; dp: number; ep: boolean } {
  const { model } = o;
  const tp = checkPositiveInt("tp", o.tp ?? 1);
  const kvOk = model.numKvHeads % tp === 0 || tp % model.numKvHeads === 0;
  if (model.numHeads % tp !== 0 || !kvOk) {
    throw new RangeError(
      `Cannot use ${tp} as tensor-parallel size for ${model.id}: current value is ${tp}; ` +
        `allowed: divisors of ${model.numHeads} heads compatible with ${model.numKvHeads} KV heads`,
    );
  }
  const dp = checkPositiveInt("dp", o.dp ?? 1);
  const ep = o.ep ?? false;
  if (ep && (!model.moe || model.moe.experts % (dp * tp) !== 0)) {
    throw new RangeError(
      `Cannot use --enable-expert-parallel for ${model.id} on dp ${dp} x tp ${tp}: current value is true; allowed: ${
        model.moe
          ? `a group whose ${dp * tp} GPUs divide the ${model.moe.experts} experts`
          : "false (a dense model has no experts)"
      }`,
    );
  }
  return { tp, dp, ep };
}

/** The weight and KV precisions of `o`, checked (FP8 weights need FP8 tensor cores). */
function checkDtype(o: CostModelOptions): { dtype: Dtype; kvDtype: Dtype } {
  const dtype = o.dtype ?? o.model.checkpointDtype ?? "bf16";
  const kvDtype = o.kvDtype ?? "bf16";
  for (const [name, v] of [["dtype", dtype], ["kvDtype", kvDtype]]) {
    if (v !== "bf16" && v !== "fp8") {
      throw new RangeError(`Cannot use ${name} as bf16 or fp8: current value is ${v}`);
    }
  }
  if (dtype === "fp8" && !(o.gpu.fp8Tflops > 0)) {
    throw new RangeError(
      `Cannot use dtype fp8 on ${o.gpu.id}: current value is fp8; allowed: bf16 (no FP8 tensor cores)`,
    );
  }
  return { dtype, kvDtype };
}

/** The options of `o` with their defaults (some per GPU), each checked. */
function resolvedOptions(o: CostModelOptions): ResolvedOptions {
  const gpu = o.gpu;
  const nvlink = gpu.nvlinkGBps > 0;
  return {
    memEfficiency: checkFraction("memEfficiency", o.memEfficiency ?? gpu.memEfficiency),
    computeEfficiency: checkFraction(
      "computeEfficiency",
      o.computeEfficiency ?? gpu.gemmEfficiency,
    ),
    requestFloorMs: checkNonNegative(
      "requestFloorMs",
      o.requestFloorMs ?? DEFAULT_REQUEST_FLOOR_MS,
    ),
    tokenizeUsPerToken: checkNonNegative(
      "tokenizeUsPerToken",
      o.tokenizeUsPerToken ?? DEFAULT_TOKENIZE_US_PER_TOKEN,
    ),
    stepOverheadMs: checkNonNegative("stepOverheadMs", o.stepOverheadMs ?? 1.3),
    perSeqOverheadMs: checkNonNegative("perSeqOverheadMs", o.perSeqOverheadMs ?? 0.03),
    commEfficiency: checkFraction(
      "commEfficiency",
      o.commEfficiency ?? (nvlink ? 0.8 : PCIE_COMM_EFFICIENCY),
    ),
    allReduceLatencyMs: checkNonNegative(
      "allReduceLatencyMs",
      o.allReduceLatencyMs ?? (nvlink ? 0.01 : PCIE_COLLECTIVE_LATENCY_MS),
    ),
    ...(o.nonTorchGiB === undefined
      ? {}
      : { nonTorchGiB: checkNonNegative("nonTorchGiB", o.nonTorchGiB) }),
    maxNumBatchedTokens: checkPositiveInt("maxNumBatchedTokens", o.maxNumBatchedTokens ?? 8192),
    maxNumSeqs: checkPositiveInt("maxNumSeqs", o.maxNumSeqs ?? 256),
  };
}

/** The all-reduce link of `o`'s GPUs: its P2P settings, and the fixed figures when `o` gives either. */
function allReduceLink(o: CostModelOptions, tp: number): AllReduceLink {
  const g = o.gpu;
  const p2p = g.p2p ?? true;
  const fixed = o.commEfficiency !== undefined || o.allReduceLatencyMs !== undefined;
  const nvlink = g.nvlinkGBps > 0;
  return {
    tp,
    nvlinkGBps: g.nvlinkGBps,
    pcieGBps: g.pcieGBps,
    p2p,
    ncclP2p: p2p && (g.ncclP2p ?? true),
    customAllReduce: o.customAllReduce ?? true,
    ...(fixed
      ? {
        fixed: {
          latencyMs: o.allReduceLatencyMs ?? (nvlink ? 0.01 : PCIE_COLLECTIVE_LATENCY_MS),
          share: o.commEfficiency ?? (nvlink ? 0.8 : PCIE_COMM_EFFICIENCY),
        },
      }
      : {}),
  };
}

/** Step, encoder, KV-capacity and KV-transfer times of one instance. Deterministic. */
export class CostModel {
  /** GPU of every rank. */
  readonly gpu: GpuProfile;
  /** Served model. */
  readonly model: ModelProfile;
  /** Tensor-parallel size (GPUs per data-parallel rank). */
  readonly tp: number;
  /** Data-parallel ranks (each with its own scheduler and KV cache). */
  readonly dp: number;
  /** Expert parallel (whole experts per GPU). */
  readonly ep: boolean;
  /** KV bytes per token of the whole model (all ranks), in {@linkcode kvDtype}. */
  readonly kvBytesPerToken: number;
  /** KV bytes per token held by one rank (KV heads split, replicated when tp > kvHeads). */
  readonly kvBytesPerTokenPerRank: number;
  /** Weight precision. */
  readonly dtype: Dtype;
  /** KV cache precision. */
  readonly kvDtype: Dtype;
  readonly #o: ResolvedOptions;
  /** How the tensor-parallel all-reduce travels (`_all_reduce.ts`). */
  readonly #ar: AllReduceLink;
  /** Bytes/ms of one rank's memory. */
  readonly #memBytesPerMs: number;
  /** GEMM FLOPs/ms of one rank. */
  readonly #flopsPerMs: number;
  /** Attention FLOPs/ms of one rank. */
  readonly #attnFlopsPerMs: number;
  /** Bytes per weight (2 in BF16, 1 in FP8). */
  readonly #weightBytes: number;
  /** Routed expert parameters (0 for a dense model). */
  readonly #expertParams: number;
  /** The expert part's figures (null for a dense model). */
  readonly #moe: MoeShape | null;
  /** The sparse-attention terms' figures (null: dense attention). */
  readonly #dsa: DsaShape | null;

  constructor(opts: CostModelOptions) {
    const { gpu, model } = opts;
    if (!gpu || !model) {
      throw new TypeError(
        `Cannot use CostModel options as {gpu, model}: current value is ${
          JSON.stringify(Object.keys(opts ?? {}))
        }`,
      );
    }
    const { tp, dp, ep } = checkParallel(opts);
    const { dtype, kvDtype } = checkDtype(opts);
    this.dtype = dtype;
    this.kvDtype = kvDtype;
    this.#o = resolvedOptions(opts);
    this.#ar = allReduceLink(opts, tp);
    this.gpu = gpu;
    this.model = model;
    this.tp = tp;
    this.dp = dp;
    this.ep = ep;
    this.#weightBytes = dtype === "fp8" ? 1 : 2;
    const kvScale = kvDtype === "fp8" ? 0.5 : 1;
    // DeepSeek Sparse Attention: the indexer's FP8 key cache beside the latent, in any KV dtype
    this.kvBytesPerToken = model.kvBytesPerToken * kvScale +
      (model.dsa ? model.layers * indexKeyBytes(model.dsa) : 0);
    // MLA's latent is the same on every tensor-parallel rank
    this.kvBytesPerTokenPerRank = model.mla
      ? this.kvBytesPerToken
      : this.kvBytesPerToken * Math.max(1 / tp, 1 / model.numKvHeads);
    this.#memBytesPerMs = gpu.memBwGBps * 1e6 * this.#o.memEfficiency;
    const peak = dtype === "fp8" ? gpu.fp8Tflops : gpu.bf16Tflops;
    this.#flopsPerMs = peak * 1e9 * this.#o.computeEfficiency;
    // attention at its own share unless one efficiency was given for both, and at the
    // peak of the KV cache's dtype it multiplies (BF16 beside FP8 weights unless the
    // KV cache is FP8 too)
    const attnEff = opts.computeEfficiency ?? gpu.attnEfficiency;
    const attnPeak = kvDtype === "fp8" && gpu.fp8Tflops > 0 ? gpu.fp8Tflops : gpu.bf16Tflops;
    this.#attnFlopsPerMs = attnPeak * 1e9 * attnEff;
    this.#dsa = model.dsa && model.mla
      ? {
        dsa: model.dsa,
        mla: model.mla,
        layers: model.layers,
        numHeads: model.numHeads,
        tp,
        latentBytes: model.kvBytesPerToken * kvScale / model.layers,
        indexFlopsPerMs: (gpu.fp8Tflops > 0 ? gpu.fp8Tflops : gpu.bf16Tflops) * 1e9 * attnEff,
        attnFlopsPerMs: this.#attnFlopsPerMs,
      }
      : null;
    this.#expertParams = model.moe ? routedExpertParams(model.moe, model.hidden) : 0;
    this.#moe = model.moe
      ? {
        moe: model.moe,
        hidden: model.hidden,
        groupGpus: dp * tp,
        ep,
        weightBytes: this.#weightBytes,
        memBytesPerMs: this.#memBytesPerMs,
        flopsPerMs: this.#flopsPerMs,
        imbalance: checkAtLeastOne(
          "expertImbalance",
          opts.expertImbalance ?? chargedExpertImbalance(dp * tp, opts.eplb ?? false),
        ),
      }
      : null;
  }

  /** Duration of one engine step running `batch`, in ms (0 for an empty batch). */
  stepMs(batch: readonly SeqWork[]): number {
    return this.breakdown(batch).totalMs;
  }

  /** {@linkcode stepMs} by part. */
  breakdown(batch: readonly SeqWork[]): StepBreakdown {
    const shape = new StepShape();
    for (let i = 0; i < batch.length; i++) {
      const { newTokens, contextTokens: ctx } = batch[i];
      if (!Number.isInteger(newTokens) || newTokens < 1) {
        throw new RangeError(
          `Cannot use batch[${i}].newTokens as an integer >= 1: current value is ${newTokens}`,
        );
      }
      if (!Number.isInteger(ctx) || ctx < 0) {
        throw new RangeError(
          `Cannot use batch[${i}].contextTokens as an integer >= 0: current value is ${ctx}`,
        );
      }
      shape.add(newTokens, ctx);
    }
    return this.shapeBreakdown(shape);
  }

  /** {@linkcode stepMs} of a step summed up as a {@linkcode StepShape} (no array per step). */
  shapeMs(shape: StepShape): number {
    return this.shapeBreakdown(shape).totalMs;
  }

  /**
   * {@linkcode breakdown} of a summed-up step. On an MoE instance of `dp` > 1
   * ranks the other ranks are taken to carry as many tokens as this one
   * ({@linkcode groupStepMs} knows them). Written into `into` when given (a
   * caller's own record, overwritten each step: no object per step), else into
   * a new one.
   */
  shapeBreakdown(shape: StepShape, into?: StepBreakdown): StepBreakdown {
    if (shape.seqs === 0) return zeroBreakdown();
    const b = this.#rankBreakdown(shape, into ?? zeroBreakdown());
    if (this.#moe) this.#addExperts(b, (shape.pTokens + shape.dSeqs) * this.dp);
    return b;
  }

  /**
   * Duration of one lockstep step of a data-parallel group, ms: each rank's
   * attention and dense part on its own sequences (`null`: an idle rank, which
   * runs a dummy step), the slowest setting the pace, plus the expert part
   * and its token movement (0 when no rank has work). vLLM pads every rank's
   * batch to the largest rank's token count (`get_dp_padding` in its GPU model
   * runner, for CUDA graphs and equal collectives), so the experts see
   * `ranks x the largest batch` tokens.
   */
  groupStepMs(shapes: readonly (StepShape | null)[]): number {
    return this.groupBreakdown(shapes).totalMs;
  }

  /**
   * {@linkcode groupStepMs} by part: the slowest rank's breakdown with the
   * experts and their token movement added (null: no rank has work).
   */
  groupBreakdown(shapes: readonly (StepShape | null)[]): StepBreakdown {
    let slowest: StepBreakdown | null = null;
    let largest = 0;
    for (const shape of shapes) {
      if (!shape || shape.seqs === 0) continue;
      const b = this.#rankBreakdown(shape, zeroBreakdown());
      if (!slowest || b.totalMs > slowest.totalMs) slowest = b;
      largest = Math.max(largest, shape.pTokens + shape.dSeqs);
    }
    if (!slowest) return this.shapeBreakdown(new StepShape());
    if (largest === 0 || !this.#moe) return slowest;
    const { e, move } = this.#experts(largest * shapes.length);
    slowest.computeMs += e;
    slowest.commMs += move;
    slowest.totalMs = slowest.totalMs + e + move;
    slowest.terms.expertMs += e;
    slowest.terms.all2allMs += move;
    return slowest;
  }

  /** The routed experts of a step of `tokens` group tokens, and moving the tokens to them (dp > 1). */
  #experts(tokens: number): { e: number; move: number } {
    const moe = this.#moe!;
    return {
      e: expertMs(moe, tokens),
      move: this.dp > 1 ? dispatchMs(moe, tokens, this.#linkBytesPerMs(), this.#latencyMs()) : 0,
    };
  }

  /** Adds the routed experts of a step of `tokens` group tokens (and their dispatch) to `b`. */
  #addExperts(b: StepBreakdown, tokens: number): void {
    const { e, move } = this.#experts(tokens);
    b.computeMs += e;
    b.commMs += move;
    b.totalMs += e + move;
    b.terms.expertMs += e;
    b.terms.all2allMs += move;
  }

  /**
   * One rank's step without the routed experts: a dense model's whole step.
   * Shared experts, routers and dense layers count as dense weights. Fills
   * and returns `b`.
   */
  #rankBreakdown(shape: StepShape, b: StepBreakdown): StepBreakdown {
    const m = this.model;
    const tp = this.tp;
    const { pTokens, pSeqs, pCtx, pPairs, dSeqs, dCtx, dPairs } = shape;
    const params = m.paramsB * 1e9;
    const embedParams = m.vocabSize * m.hidden;
    // Embedding rows are gathered, not multiplied; logits only for each sequence's last token.
    const bodyParams = params - embedParams * (m.tiedEmbeddings ? 1 : 2) - this.#expertParams;
    const weightMs = ((bodyParams + embedParams) * this.#weightBytes) / tp / this.#memBytesPerMs;
    const attnFlopsPerPair = 4 * m.layers * m.numHeads * m.headDim;
    const dsa = this.#dsa; // sparse attention: its own terms (_dsa_cost.ts)
    const linP = (2 * bodyParams * pTokens + 2 * embedParams * pSeqs) / tp / this.#flopsPerMs;
    const attnP = dsa
      ? dsaComputeMs(dsa, pTokens, pPairs)
      : attnFlopsPerPair * pPairs / tp / this.#attnFlopsPerMs;
    const linD = ((2 * bodyParams * dSeqs + 2 * embedParams * dSeqs) / tp) / this.#flopsPerMs;
    const attnD = dsa
      ? dsaComputeMs(dsa, dSeqs, dPairs)
      : attnFlopsPerPair * dPairs / tp / this.#attnFlopsPerMs;
    const prefillMs = linP + attnP;
    const decodeMs = linD + attnD;
    const computeMs = prefillMs + decodeMs;
    const kvReadMs = dsa
      ? (dsaKvReadBytes(dsa, pCtx, pSeqs) + dsaKvReadBytes(dsa, dCtx, dSeqs)) / this.#memBytesPerMs
      : ((pCtx + dCtx) * this.kvBytesPerTokenPerRank) / this.#memBytesPerMs;
    const commMs = this.#allReduceMs((pTokens + dSeqs) * m.hidden * 2) * 2 * m.layers;
    const overheadMs = this.#o.stepOverheadMs + this.#o.perSeqOverheadMs * shape.seqs;
    // prefill-only or decode-only: the roofline max; mixed: the compute-bound prefill
    // part plus the bandwidth-bound decode part
    const coreMs = pSeqs === 0 || dSeqs === 0
      ? Math.max(weightMs, computeMs)
      : prefillMs + Math.max(weightMs, decodeMs);
    const totalMs = coreMs + kvReadMs + commMs + overheadMs;
    const terms = b.terms;
    terms.attentionMs = terms.denseGemmMs = terms.weightReadMs = 0;
    terms.expertMs = terms.all2allMs = 0;
    terms.kvReadMs = kvReadMs;
    terms.tpCommMs = commMs;
    terms.overheadMs = overheadMs;
    // the roofline's binding side: a mixed step's prefill FLOPs always count; the rest
    // counts its FLOPs (attention and GEMMs apart) or the weight read, whichever binds
    const mixed = pSeqs > 0 && dSeqs > 0;
    if (mixed) {
      terms.attentionMs = attnP;
      terms.denseGemmMs = linP;
    }
    if (mixed ? weightMs >= decodeMs : weightMs >= computeMs) terms.weightReadMs = weightMs;
    else if (mixed) {
      terms.attentionMs += attnD;
      terms.denseGemmMs += linD;
    } else {
      terms.attentionMs = attnP + attnD;
      terms.denseGemmMs = linP + linD;
    }
    return setParts(b, weightMs, computeMs, kvReadMs, commMs, overheadMs, totalMs);
  }

  /**
   * The per-request floor outside engine steps, ms: {@linkcode CostModelOptions.requestFloorMs}
   * plus tokenising `promptTokens` tokens. A request enters the scheduler this long
   * after it arrives; TTFT and E2E include it, TPOT does not.
   */
  frontendMs(promptTokens: number): number {
    return this.#o.requestFloorMs + this.#o.tokenizeUsPerToken * promptTokens / 1000;
  }

  /** One all-reduce of `bytes` across the tp ranks as vLLM runs it (`_all_reduce.ts`), in ms (0 at tp=1). */
  #allReduceMs(bytes: number): number {
    return this.tp === 1 ? 0 : allReduceMs(this.#ar, bytes);
  }

  /** Bytes/ms a collective reaches per direction between the instance's GPUs (NVLink, else PCIe). */
  #linkBytesPerMs(): number {
    const g = this.gpu;
    const perDirGBps = g.nvlinkGBps > 0 ? g.nvlinkGBps / 2 : g.pcieGBps;
    return perDirGBps * 1e6 * this.#o.commEfficiency;
  }

  /** Latency of one collective. */
  #latencyMs(): number {
    return this.#o.allReduceLatencyMs;
  }

  /**
   * Vision encoder time for the images encoded in one step, in ms, given each
   * image's placeholder token count; 0 for text-only models or no images.
   */
  encoderMs(imageTokens: readonly number[]): number {
    const v = this.model.vision;
    imageTokens.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0) {
        throw new RangeError(
          `Cannot use imageTokens[${i}] as an integer >= 0: current value is ${t}`,
        );
      }
    });
    if (!v || !imageTokens.some((t) => t > 0)) return 0;
    const merge = v.mergeSize * v.mergeSize;
    let flops = 0;
    for (const t of imageTokens) {
      const patches = t * merge;
      const windowed = v.layers - v.fullAttnLayers;
      const attnPairs = patches * (v.fullAttnLayers * patches + windowed * v.windowPatches);
      flops += 2 * v.paramsB * 1e9 * patches + 4 * v.hidden * attnPairs;
    }
    const weightMs = (v.paramsB * 1e9 * 2) / this.tp / this.#memBytesPerMs;
    const computeMs = flops / this.tp / this.#flopsPerMs;
    // Windowed blocks do 2 all-reduces each like the decoder; full-attention ones too.
    const patchesAll = imageTokens.reduce((a, t) => a + t * merge, 0);
    const commMs = this.#allReduceMs(patchesAll * v.hidden * 2) * 2 * v.layers;
    return Math.max(weightMs, computeMs) + commMs;
  }

  /**
   * One GPU's KV cache budget at `gpuMemoryUtilization`, term by term, as vLLM
   * 0.19's worker profiles it (`_kv_budget.ts`: weights, the profile run's
   * activation peak, non-torch memory; CUDA graphs not charged).
   */
  kvBudget(gpuMemoryUtilization: number): KvBudget {
    checkFraction("--gpu-memory-utilization", gpuMemoryUtilization);
    return kvBudget({
      model: this.model,
      memBytes: this.gpu.memGiB * GIB,
      tp: this.tp,
      groupGpus: this.#moe ? this.tp * this.dp : this.tp,
      ep: this.ep,
      weightBytes: this.#weightBytes,
      expertParams: this.#expertParams,
      maxNumBatchedTokens: this.#o.maxNumBatchedTokens,
      maxNumSeqs: this.#o.maxNumSeqs,
      nonTorchGiB: this.#o.nonTorchGiB,
    }, gpuMemoryUtilization);
  }

  /**
   * KV blocks of `blockSize` tokens this instance holds (per data-parallel
   * rank), as vLLM sizes them: {@linkcode kvBudget}'s available bytes divided
   * by one rank's KV bytes per block, rounded down.
   */
  numGpuBlocks(gpuMemoryUtilization: number, blockSize: number): number {
    const b = this.kvBudget(gpuMemoryUtilization);
    checkPositiveInt("--block-size", blockSize);
    const blocks = Math.floor(b.available / (this.kvBytesPerTokenPerRank * blockSize));
    if (blocks < 1) {
      const gib = (x: number) => (x / GIB).toFixed(2);
      throw new RangeError(
        `Cannot use ${gpuMemoryUtilization} as --gpu-memory-utilization for ${this.model.id} on ` +
          `${this.gpu.id} x${this.tp}: current value is ${gpuMemoryUtilization} (${
            gib(b.requested)
          } GiB per GPU, weights ${gib(b.weights)} GiB, activation peak ${
            gib(b.activation)
          } GiB, non-torch ${gib(b.nonTorch)} GiB); allowed: a value ` +
          `leaving room for at least one KV block, or a larger tp`,
      );
    }
    return blocks;
  }

  /**
   * Time to move the KV of `tokens` tokens to another instance, in ms: each rank
   * sends its shard over its own link of `linkGBps`, after `latencyMs` of setup.
   *
   * @param latencyMs handshake and first-byte latency (@default 1)
   */
  kvTransferMs(tokens: number, linkGBps: number, latencyMs = 1): number {
    checkNonNegative("tokens", tokens);
    if (!(linkGBps > 0) || !Number.isFinite(linkGBps)) {
      throw new RangeError(`Cannot use linkGBps as a number > 0: current value is ${linkGBps}`);
    }
    checkNonNegative("latencyMs", latencyMs);
    if (tokens === 0) return 0;
    return latencyMs + (tokens * this.kvBytesPerTokenPerRank) / (linkGBps * 1e6);
  }
}
