/**
 * The memory one GPU of a vLLM instance gives its KV cache, term by term, as
 * vLLM 0.19's V1 worker sizes it (private to the cost model). Sources, each
 * read from vLLM's code and pull requests, none fitted to a recorded run:
 *
 * - `Worker.determine_available_memory` (vllm/v1/worker/gpu_worker.py) runs
 *   `profile_run` inside `memory_profiling` (vllm/utils/mem_utils.py) and gives
 *   the KV cache `requested_memory − non_kv_cache_memory`, where
 *   `requested_memory = ceil(total × gpu_memory_utilization)` of the device's
 *   total as CUDA reports it, and `non_kv_cache_memory` = the weights loaded +
 *   the increase of torch's peak allocation during the profile run + the
 *   increase of non-torch memory since the worker's baseline snapshot (taken
 *   after the CUDA context exists, so the context is not charged).
 * - CUDA graphs are captured after the KV cache is allocated and are NOT
 *   charged before vLLM 0.21 (vllm-project/vllm#30515 added the estimate off by
 *   default; 0.21 turned it on, "default since v0.21.0" in vLLM's own startup
 *   log, gpustack/runner#251). Not modelled here: this is 0.19's budget.
 * - The profile run (`GPUModelRunner.profile_run`) is one forward pass over
 *   `max_num_batched_tokens` tokens spread over `min(max_num_seqs, tokens)`
 *   dummy requests, then the sampler on one row per request with temperature
 *   0.5, top-p 0.9 and top-k vocab − 1 and no logprobs (`_dummy_sampler_run`,
 *   added by vllm-project/vllm#13594); a multimodal model first encodes its
 *   largest item and keeps the encoder output.
 * - The sampler's peak (vllm/v1/sample/sampler.py, ops/topk_topp_sampler.py):
 *   the BF16 logits (2 B a logit) stay alive while the sampler upcasts them to
 *   FP32 (4 B), masks top-k/top-p in place with the Triton kernel of
 *   vllm-project/vllm#33538 (batches of 8 or more; FlashInfer's sampler was off
 *   by default, vllm-project/vllm#26859, until vllm-project/vllm#40376, merged
 *   after 0.19.0), then `softmax` (4 B) and the exponential noise of
 *   `random_sample` (4 B): {@linkcode SAMPLER_BYTES_PER_LOGIT}.
 *
 * @module
 */
import type { ModelProfile } from "./profiles.ts";

/** BF16 logits + their FP32 copy + probabilities + exponential noise, bytes per logit (see the module note). */
export const SAMPLER_BYTES_PER_LOGIT = 2 + 4 + 4 + 4;

/**
 * Non-torch memory a GPU's vLLM worker adds between its baseline and the end
 * of the profile run (kernel modules, cuBLAS, NCCL and custom all-reduce
 * buffers), GiB: ASSUMED from the one published breakdown found, not from the
 * runs checked here. llm-d/llm-d-benchmark
 * `config_explorer/empirical-vllm-memory-results.md` @ 4f4d449 (vLLM's DEBUG
 * profiling log on an H100, `vllm/vllm-openai:latest` of late 2025): 0.13 GiB
 * on one GPU (Llama-3.1-8B, Qwen3-0.6B, gpt-oss-20b alike), 0.54-0.55 GiB on
 * each of two tensor-parallel GPUs (Llama-3.3-70B-FP8, Qwen3-32B).
 */
export const NON_TORCH_GIB_ONE_GPU = 0.13;

/** {@linkcode NON_TORCH_GIB_ONE_GPU} for a GPU that talks to others (tp or an expert group > 1), GiB. */
export const NON_TORCH_GIB_MULTI_GPU = 0.55;

const GIB = 2 ** 30;

/** What the budget needs to know of one GPU of the instance. */
export interface KvBudgetShape {
  model: ModelProfile;
  /** Device memory as CUDA reports its total, bytes. */
  memBytes: number;
  tp: number;
  /** GPUs an MoE model's experts span (dp × tp); 1 for a dense model on one GPU. */
  groupGpus: number;
  ep: boolean;
  /** Bytes per linear-layer weight (2 BF16, 1 FP8). */
  weightBytes: number;
  /** Routed expert parameters of the whole model (0: dense). */
  expertParams: number;
  maxNumBatchedTokens: number;
  maxNumSeqs: number;
  /** Non-torch memory, GiB (default by {@linkcode NON_TORCH_GIB_ONE_GPU}). */
  nonTorchGiB?: number;
}

/** One GPU's budget by term, bytes. */
export interface KvBudget {
  /** ceil(total × utilization). */
  requested: number;
  /** The weight shard plus the rotary cos/sin cache. */
  weights: number;
  /** The forward pass over max_num_batched_tokens tokens. */
  forward: number;
  /** The sampler over min(max_num_seqs, max_num_batched_tokens) rows. */
  sampler: number;
  /** A multimodal model's encoder pass over its largest item (0 without one). */
  encoder: number;
  /** max(forward, sampler, encoder): torch's peak increase. */
  activation: number;
  nonTorch: number;
  /** requested − weights − activation − nonTorch: the KV cache's bytes. */
  available: number;
}

/**
 * Weights vLLM loads onto one GPU, bytes: the linear layers at `weightBytes`
 * (FP8 quantizes linear and expert layers only), the embedding and LM head at
 * BF16 (vocab-parallel: split over tp), routed experts spread over the expert
 * group, the rest split over tp; plus the rotary cos/sin cache (positions ×
 * rotary dim in BF16: Llama-3.1-8B's 14.9575 GiB of parameters load as
 * "Model loading took 14.9889 GiB" in vLLM's log, ai-computing/LLMServingSim
 * `evaluation/artifacts/figure_6/raw_data/vllm_pulse_power_tp1.txt` @ 9092614).
 */
export function weightBytes(s: KvBudgetShape): number {
  const m = s.model;
  const embed = m.vocabSize * m.hidden * (m.tiedEmbeddings ? 1 : 2);
  const vision = (m.vision?.paramsB ?? 0) * 1e9;
  const dense = m.paramsB * 1e9 - embed - s.expertParams;
  const perGpu = (dense * s.weightBytes + (embed + vision) * 2) / s.tp +
    s.expertParams * s.weightBytes / s.groupGpus;
  const rotaryDim = m.mla ? m.mla.qkRopeHeadDim : m.headDim;
  return perGpu + m.maxModelLen * rotaryDim * 2;
}

/**
 * torch's peak over one forward pass of `tokens` tokens on one GPU, bytes: the
 * hidden-sized residual, normed input and layer output (BF16) plus the widest
 * layer's intermediates, whichever is larger of attention (q, k, v and the
 * attention output), the dense MLP (gate-up and SiLU·mul outputs) and the
 * fused MoE kernel's caches (tokens × top-k rows of gate-up, SiLU·mul and
 * hidden; under expert parallel the experts see every data-parallel rank's
 * tokens).
 */
export function forwardBytes(s: KvBudgetShape, tokens: number): number {
  const m = s.model;
  const tp = s.tp;
  const heads = m.numHeads / tp;
  const kvHeads = Math.max(m.numKvHeads / tp, 1);
  const attn = m.mla
    ? heads * (2 * m.mla.qkNopeHeadDim + m.mla.qkRopeHeadDim + 2 * m.mla.vHeadDim)
    : (2 * heads + 2 * kvHeads) * m.headDim;
  const mlp = 3 * m.intermediate / tp;
  let moe = 0;
  if (m.moe) {
    const rows = m.moe.expertsPerToken * (s.ep ? s.groupGpus / tp : 1);
    const inter = s.ep ? m.moe.expertIntermediate : m.moe.expertIntermediate / s.groupGpus;
    moe = rows * (3 * inter + m.hidden);
  }
  return tokens * 2 * (3 * m.hidden + Math.max(attn, mlp, moe));
}

/**
 * A multimodal model's encoder pass in the profile run, bytes: the ViT over the
 * patches of the largest image its processor accepts (residual, normed input,
 * q/k/v and output, and the MLP's gate-up and product; the MLP width is what
 * the encoder's parameters leave after attention's 4 hidden² a block) plus the
 * encoder output vLLM keeps in its encoder cache.
 */
export function encoderBytes(model: ModelProfile): number {
  const v = model.vision;
  if (!v) return 0;
  const tokens = v.tokensPerImage(1e5, 1e5);
  const patches = tokens * v.mergeSize * v.mergeSize;
  const mlpWidth = Math.max(0, (v.paramsB * 1e9 / v.layers - 4 * v.hidden ** 2) / (3 * v.hidden));
  return patches * 2 * (6 * v.hidden + 3 * mlpWidth) + tokens * model.hidden * 2;
}

/** One GPU's KV budget at `util` (see the module note). */
export function kvBudget(s: KvBudgetShape, util: number): KvBudget {
  const tokens = s.maxNumBatchedTokens;
  const rows = Math.min(s.maxNumSeqs, tokens);
  const requested = Math.ceil(s.memBytes * util);
  const weights = weightBytes(s);
  const forward = forwardBytes(s, tokens);
  // the forward's hidden states stay alive while the sampler runs
  const sampler = rows * s.model.vocabSize * SAMPLER_BYTES_PER_LOGIT +
    tokens * s.model.hidden * 2;
  const encoder = encoderBytes(s.model);
  const activation = Math.max(forward, sampler, encoder);
  const multi = s.tp > 1 || s.groupGpus > 1;
  const nonTorch = (s.nonTorchGiB ?? (multi ? NON_TORCH_GIB_MULTI_GPU : NON_TORCH_GIB_ONE_GPU)) *
    GIB;
  const available = requested - weights - activation - nonTorch;
  return { requested, weights, forward, sampler, encoder, activation, nonTorch, available };
}
