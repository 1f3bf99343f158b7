/**
 * Parameter counts of a decoder from its `config.json` shapes: the weight
 * matrices, biases and norms each family's Hugging Face modelling code creates.
 *
 * @module
 */
import type { DecoderShape } from "./model_config.ts";

/** Model families whose weights differ in biases, norms and MLP layout. */
export type Family =
  | "llama"
  | "qwen2"
  | "qwen3"
  | "qwen3_moe"
  | "deepseek_v3"
  | "gpt_oss"
  | "llama4"
  | "mixtral"
  | "gemma2"
  | "gemma3";

/** Total and per-token parameters, billions. */
export interface ParamCounts {
  /** Every weight: embeddings, LM head unless tied, all experts. */
  totalB: number;
  /**
   * What one token computes with: attention, dense and shared MLPs, routers,
   * its top-k experts and the LM head; not the input embedding lookup (as
   * OpenAI's gpt-oss card counts; Qwen's and Meta's cards add the embedding).
   */
  activeB: number;
  /** The input embedding matrix (also the LM head when tied). */
  embeddingB: number;
}

/** Standard (GQA/MHA) attention of one layer. */
function gqaAttention(s: DecoderShape): number {
  const q = s.numHeads * s.headDim;
  const kv = s.numKvHeads * s.headDim;
  let n = s.hidden * q * 2 + s.hidden * kv * 2;
  // Qwen2 has q, k and v biases; attention_bias adds them and o's (Llama, Qwen3, gpt-oss)
  if (s.family === "qwen2" || s.attentionBias) n += q + 2 * kv;
  if (s.attentionBias) n += s.hidden;
  // q_norm, k_norm
  if (s.family === "qwen3" || s.family === "qwen3_moe" || s.family === "gemma3") n += 2 * s.headDim;
  if (s.family === "gpt_oss") n += s.numHeads; // attention sinks
  return n; // Llama 4's qk norm has no weights
}

/** DeepSeek's latent attention of one layer (q_a/q_b or q, kv_a with MQA rope key, kv_b, o). */
function mlaAttention(s: DecoderShape): number {
  const m = s.mla!;
  const qHead = m.qkNopeHeadDim + m.qkRopeHeadDim;
  const q = m.qLoraRank > 0
    ? s.hidden * m.qLoraRank + m.qLoraRank + m.qLoraRank * s.numHeads * qHead
    : s.hidden * s.numHeads * qHead;
  const kv = s.hidden * (m.kvLoraRank + m.qkRopeHeadDim) + m.kvLoraRank +
    m.kvLoraRank * s.numHeads * (m.qkNopeHeadDim + m.vHeadDim);
  return q + kv + s.numHeads * m.vHeadDim * s.hidden;
}

/**
 * DeepSeek-V3.2's indexer of one layer, as vLLM builds it: `wq_b` (the query
 * latent, or the hidden state without one, to heads x head dim), `wk` (hidden
 * to head dim), `k_norm` (a LayerNorm: weight and bias) and `weights_proj`
 * (hidden to one weight per head).
 */
function dsaIndexer(s: DecoderShape): number {
  const d = s.dsa!;
  const qIn = s.mla && s.mla.qLoraRank > 0 ? s.mla.qLoraRank : s.hidden;
  return qIn * d.indexHeads * d.indexHeadDim + s.hidden * d.indexHeadDim +
    2 * d.indexHeadDim + s.hidden * d.indexHeads;
}

/** A gated MLP (gate, up, down) of `inter`, with biases when `bias`. */
function mlp(hidden: number, inter: number, bias: boolean): number {
  return 3 * hidden * inter + (bias ? 2 * inter + hidden : 0);
}

/** Parameters of the decoder `s` describes. */
export function paramCounts(s: DecoderShape): ParamCounts {
  const attn = (s.mla ? mlaAttention(s) : gqaAttention(s)) + (s.dsa ? dsaIndexer(s) : 0);
  // Gemma 2/3 norm both sides of attention and of the MLP: four RMSNorms a layer
  const norms = (s.family === "gemma2" || s.family === "gemma3" ? 4 : 2) * s.hidden;
  const embed = s.vocabSize * s.hidden;
  const head = s.tiedEmbeddings ? 0 : embed;
  let total = embed + head + s.layers * (attn + norms) + s.hidden;
  let idle = 0;
  const moe = s.moe;
  const moeLayers = moe?.moeLayers ?? 0;
  total += (s.layers - moeLayers) * mlp(s.hidden, s.intermediate, s.mlpBias);
  if (moe) {
    const gptOss = s.family === "gpt_oss";
    const expert = mlp(s.hidden, moe.expertIntermediate, gptOss);
    const router = s.hidden * moe.experts + (gptOss || s.routerScoreBias ? moe.experts : 0);
    const shared = moe.sharedIntermediate > 0 ? mlp(s.hidden, moe.sharedIntermediate, false) : 0;
    total += moeLayers * (moe.experts * expert + shared + router);
    idle = moeLayers * (moe.experts - moe.expertsPerToken) * expert;
  }
  const active = total - idle - (s.tiedEmbeddings ? 0 : embed);
  return { totalB: total / 1e9, activeB: active / 1e9, embeddingB: embed / 1e9 };
}
