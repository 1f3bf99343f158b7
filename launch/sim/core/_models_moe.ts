/**
 * Built-in mixture-of-experts model profiles beyond Qwen3-30B-A3B, each read
 * from its Hugging Face `config.json` as copied byte for byte into
 * `fixtures/model_configs` (ai-dynamo/aiconfigurator @095f58a, see that
 * folder's README for every file's source and its parameter check against the
 * model card). What the step-time model leaves out of each is said in its
 * `source`.
 *
 * @module
 */
import { modelFromConfig } from "./model_config.ts";
import type { ModelProfile } from "./profiles.ts";
import qwen3_235b from "../../../fixtures/model_configs/Qwen__Qwen3-235B-A22B.json" with {
  type: "json",
};
import qwen3_235b_fp8 from "../../../fixtures/model_configs/Qwen__Qwen3-235B-A22B-FP8.json" with {
  type: "json",
};
import deepseek_v3 from "../../../fixtures/model_configs/deepseek-ai__DeepSeek-V3.json" with {
  type: "json",
};
import gpt_oss_120b from "../../../fixtures/model_configs/openai__gpt-oss-120b.json" with {
  type: "json",
};
import scout from "../../../fixtures/model_configs/meta-llama__Llama-4-Scout-17B-16E-Instruct.json" with {
  type: "json",
};
import maverick from "../../../fixtures/model_configs/meta-llama__Llama-4-Maverick-17B-128E-Instruct.json" with {
  type: "json",
};

import mixtral_8x7b from "../../../fixtures/model_configs/mistralai__Mixtral-8x7B-v0.1.json" with {
  type: "json",
};

const DIR = "fixtures/model_configs";

/** A profile from a fixture file, with what the model leaves out appended to its source. */
function fromFixture(
  json: unknown,
  file: string,
  id: string,
  hfNames: string[],
  notModelled = "",
): ModelProfile {
  const m = modelFromConfig(json, `${DIR}/${file}.json`, { id, hfNames });
  return notModelled ? { ...m, source: `${m.source}; NOT modelled: ${notModelled}` } : m;
}

const LLAMA4_GAPS = "chunked local attention (attention_chunk_size 8,192 in three of four " +
  "layers: attention is costed over the whole context) and the vision encoder";

/** The MoE profiles of this file, in lookup order. */
export const MOE_MODELS: readonly ModelProfile[] = [
  // 128 experts, top-8, 94 layers; 235.09B parameters (card: 235B, 22B activated)
  fromFixture(qwen3_235b, "Qwen__Qwen3-235B-A22B", "qwen3-235b-a22b", ["Qwen/Qwen3-235B-A22B"]),
  // the same shapes shipped in block FP8 (quant_method fp8, e4m3, 128x128 blocks; router
  // gates and the LM head left BF16): FP8 weights, as vLLM loads them
  fromFixture(qwen3_235b_fp8, "Qwen__Qwen3-235B-A22B-FP8", "qwen3-235b-a22b-fp8", [
    "Qwen/Qwen3-235B-A22B-FP8",
  ]),
  // MLA (KV = 61 layers x (kv_lora_rank 512 + qk_rope_head_dim 64) x 2 bytes) + 256 routed
  // and 1 shared expert, top-8; shipped in FP8. DeepSeek-R1 has the same config.json but
  // for transformers_version. The MTP module (num_nextn_predict_layers) is not counted.
  fromFixture(
    deepseek_v3,
    "deepseek-ai__DeepSeek-V3",
    "deepseek-v3",
    ["deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-R1"],
    "multi-token prediction (speculative decoding)",
  ),
  // 128 experts, top-4, 36 layers; shipped in MXFP4
  fromFixture(
    gpt_oss_120b,
    "openai__gpt-oss-120b",
    "gpt-oss-120b",
    ["openai/gpt-oss-120b"],
    "sliding-window attention (window 128 in every other layer) and attention sinks",
  ),
  // 16 experts, top-1, a shared expert in every layer; text decoder only
  fromFixture(
    scout,
    "meta-llama__Llama-4-Scout-17B-16E-Instruct",
    "llama-4-scout",
    ["meta-llama/Llama-4-Scout-17B-16E-Instruct", "meta-llama/Llama-4-Scout-17B-16E"],
    LLAMA4_GAPS,
  ),
  // 128 experts, top-1, MoE every other layer (interleave_moe_layer_step 2) with a shared expert
  fromFixture(
    maverick,
    "meta-llama__Llama-4-Maverick-17B-128E-Instruct",
    "llama-4-maverick",
    ["meta-llama/Llama-4-Maverick-17B-128E-Instruct", "meta-llama/Llama-4-Maverick-17B-128E"],
    LLAMA4_GAPS,
  ),
  // 8 experts, top-2, every layer MoE; 46.70B parameters (card: 46.7B, 12.9B active).
  // The Instruct model has the same shapes (TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ's
  // config.json: hidden 4,096, 32 layers, 8 KV heads, 8 x 14,336 experts, top-2, vocab 32,000)
  fromFixture(mixtral_8x7b, "mistralai__Mixtral-8x7B-v0.1", "mixtral-8x7b", [
    "mistralai/Mixtral-8x7B-v0.1",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
  ]),
];
