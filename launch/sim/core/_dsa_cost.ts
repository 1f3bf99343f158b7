/**
 * The attention terms of a model with DeepSeek Sparse Attention (DeepSeek-V3.2:
 * MLA plus a "lightning indexer"; private to the cost model), from first
 * principles:
 *
 * - **Indexer scores**: every query token of every layer scores every cached
 *   token of its sequence, `index_n_heads` heads of `index_head_dim` in FP8:
 *   `2 * heads * headDim` FLOPs per (query, cached token) pair, at the FP8
 *   tensor peak (BF16 where the GPU has none) and the GPU's attention share
 *   (ASSUMED: the scoring kernel is an attention-like GEMM over the cache).
 *   Its key cache is read whole: `headDim` FP8 bytes plus one FP32 scale per
 *   128 values per token and layer (vLLM's `DeepseekV32IndexerCache` layout in
 *   `vllm/model_executor/models/deepseek_v2.py`: 132 bytes at headDim 128),
 *   replicated on every tensor-parallel rank like the latent.
 * - **Sparse attention**: each query attends to at most `index_topk` tokens,
 *   in MLA's absorbed (MQA) form over the latent, as the sparse MLA kernels
 *   run it in prefill and decode: per pair and head, QK over `kvLoraRank +
 *   qkRopeHeadDim` and PV over `kvLoraRank` dims, `2 * (2 * kvLoraRank +
 *   qkRopeHeadDim)` FLOPs, at the KV cache dtype's peak; it reads the latent
 *   of the selected tokens only.
 * - **Not modelled**: the top-k selection over the scores (a sort per query
 *   token) and the indexer's ReLU-weighted head sum (2 FLOPs per pair and
 *   head, <2% of the scores).
 *
 * A step is summed up per kind of work (`StepShape`), not per sequence, so
 * the top-k cap is taken on the sums, `min(pairs, tokens * topk)`: exact when
 * every sequence of the step is on the same side of `topk` (all shorter, as
 * in a ShareGPT replay at 2,048, or all longer), an upper bound otherwise.
 *
 * @module
 */
import type { DsaProfile, MlaProfile } from "./profiles.ts";

/** Values the indexer's FP8 key cache shares one FP32 scale over (vLLM's `quant_block_size`). */
export const INDEX_QUANT_BLOCK = 128;

/** Bytes of the indexer's key cache per token and layer: FP8 keys plus their FP32 scales. */
export function indexKeyBytes(dsa: DsaProfile): number {
  return dsa.indexHeadDim + Math.ceil(dsa.indexHeadDim / INDEX_QUANT_BLOCK) * 4;
}

/** What the sparse attention terms need to know about the instance. */
export interface DsaShape {
  dsa: DsaProfile;
  mla: MlaProfile;
  layers: number;
  /** Attention (query) heads of the model. */
  numHeads: number;
  /** Tensor-parallel size: the attention heads split, the indexer is replicated. */
  tp: number;
  /** Latent bytes per token and layer in the KV cache dtype (the same on every rank). */
  latentBytes: number;
  /** Indexer-score FLOPs/ms of one GPU (FP8 peak x attention share). */
  indexFlopsPerMs: number;
  /** Sparse-attention FLOPs/ms of one GPU (the KV dtype's peak x attention share). */
  attnFlopsPerMs: number;
}

/**
 * Sparse attention plus indexer scores of one kind of work of a step
 * (prefill chunks or decodes: `tokens` query tokens over `pairs` causal
 * (query, key) pairs of the whole context) on one GPU, ms of compute.
 */
export function dsaComputeMs(s: DsaShape, tokens: number, pairs: number): number {
  if (tokens === 0) return 0;
  const { dsa, mla, layers } = s;
  const sparsePairs = Math.min(pairs, tokens * dsa.indexTopK);
  const attnFlops = 2 * (2 * mla.kvLoraRank + mla.qkRopeHeadDim) * (s.numHeads / s.tp) *
    layers * sparsePairs;
  const indexFlops = 2 * dsa.indexHeads * dsa.indexHeadDim * layers * pairs;
  return attnFlops / s.attnFlopsPerMs + indexFlops / s.indexFlopsPerMs;
}

/**
 * Bytes of KV cache one kind of work reads on one GPU (`ctx` cached tokens
 * over `seqs` sequences): the latent of the selected tokens, every token's
 * indexer key.
 */
export function dsaKvReadBytes(s: DsaShape, ctx: number, seqs: number): number {
  if (seqs === 0) return 0;
  const selected = Math.min(ctx, seqs * s.dsa.indexTopK);
  return s.layers * (selected * s.latentBytes + ctx * indexKeyBytes(s.dsa));
}
