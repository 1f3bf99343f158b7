/**
 * The Hugging Face `architectures[0]` values `model_config.ts` reads, the
 * family each is counted as, and what a profile read that way leaves out
 * (for its `source`).
 *
 * @module
 */
import type { Family } from "./_param_counts.ts";

/** `architectures[0]` values the reader knows, and the family each belongs to. */
export const ARCHITECTURES: Readonly<Record<string, Family>> = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  Qwen3MoeForCausalLM: "qwen3_moe",
  // Qwen3-VL: the Qwen3 decoder in text_config (the vision encoder is not counted: ARCH_NOTES)
  Qwen3VLForConditionalGeneration: "qwen3",
  // Mixtral: Mistral's decoder with every MLP a top-k of num_local_experts (readMoe)
  MixtralForCausalLM: "mixtral",
  DeepseekV3ForCausalLM: "deepseek_v3",
  // DeepSeek-V3.2(-Exp): V3's MLA + MoE plus the sparse-attention indexer (readDsa)
  DeepseekV32ForCausalLM: "deepseek_v3",
  GptOssForCausalLM: "gpt_oss",
  Llama4ForConditionalGeneration: "llama4",
  Llama4ForCausalLM: "llama4",
  // Mistral (7B, NeMo): Llama's weights (no biases, gated MLP); head_dim read when given
  MistralForCausalLM: "llama",
  // Phi-3/3.5/4 (mini, medium, phi-4): fused qkv_proj and gate_up_proj hold the same weights
  // as Llama's separate q/k/v and gate/up matrices: the counts are Llama's
  Phi3ForCausalLM: "llama",
  // DeepSeek-V2(-Lite): V3's MLA + MoE fields (q_lora_rank null: queries not compressed)
  DeepseekV2ForCausalLM: "deepseek_v3",
  // Gemma 2: four RMSNorms per layer, embeddings tied unless the file says otherwise
  Gemma2ForCausalLM: "gemma2",
  // Gemma 3: Gemma 2's layout plus q/k norms; text_config nested in the multimodal model
  Gemma3ForCausalLM: "gemma3",
  Gemma3ForConditionalGeneration: "gemma3",
};

/** Architectures whose sliding-window (local) attention layers the cost model does not model. */
const SLIDING = new Set([
  "MistralForCausalLM",
  "Phi3ForCausalLM",
  "Gemma2ForCausalLM",
  "Gemma3ForCausalLM",
  "Gemma3ForConditionalGeneration",
]);

/** What a profile read as its family leaves out, per architecture, for the profile's source. */
const ARCH_NOTES: Readonly<Record<string, string>> = {
  Qwen3VLForConditionalGeneration: "; the text decoder only: the vision encoder (vision_config) " +
    "is NOT counted, nor its work on images",
  DeepseekV32ForCausalLM: "; DeepSeek Sparse Attention modelled from first principles " +
    "(_dsa_cost.ts: the indexer's weights, FP8 key cache and scores over every cached token; " +
    "attention over the top index_topk tokens); the top-k selection itself is NOT modelled",
  Gemma3ForConditionalGeneration: "; the text decoder only: the vision encoder " +
    "(vision_config) is NOT counted, nor its work on images",
};

/**
 * The notes for a profile of `arch` read from `block` (the decoder's fields):
 * the architecture's own, and, for the architectures with local attention, a
 * line saying that a `sliding_window` is costed as full attention.
 */
export function archNotes(arch: string, block: Record<string, unknown>): string {
  const own = ARCH_NOTES[arch] ?? "";
  const window = block.sliding_window;
  if (!SLIDING.has(arch) || typeof window !== "number" || window <= 0) return own;
  return `${own}; sliding-window attention (sliding_window ${window}) NOT modelled: every ` +
    "layer is costed as full attention over the whole context, and keeps the whole context's KV";
}

/**
 * Gemma 3's `text_config` as the hub files write it leaves shapes at their
 * transformers defaults (`Gemma3TextConfig`: vocab_size 262,208, 8 heads, 4 KV
 * heads, head_dim 256, 131,072 positions, tied embeddings); those defaults,
 * for the fields the file leaves out.
 */
export const GEMMA3_TEXT_DEFAULTS: Readonly<Record<string, unknown>> = {
  vocab_size: 262208,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  max_position_embeddings: 131072,
  tie_word_embeddings: true,
};
