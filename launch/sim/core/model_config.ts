/**
 * A {@linkcode ModelProfile} from a Hugging Face `config.json` (parsed): the
 * shapes (layers, hidden, heads, KV heads, head dim, intermediate), the
 * mixture-of-experts MLPs and DeepSeek's latent attention where the config has
 * them, and the parameter count derived from the shapes by
 * {@linkcode paramCounts}. Pure: the caller reads the file.
 *
 * Families: Llama (`LlamaForCausalLM`), Mistral, Phi-3/4, Qwen2/2.5, Qwen3
 * (and Qwen3-VL's text decoder), Qwen3-MoE, Mixtral, Gemma 2, Gemma 3 (and its
 * multimodal model's text decoder), DeepSeek-V2 and V3/R1 (MLA),
 * DeepSeek-V3.2 (MLA plus the sparse-attention indexer), gpt-oss and Llama 4
 * (`text_config` nested); `_model_archs.ts` lists them.
 *
 * @module
 */
import { isMapping, Reader } from "../../../lib/schema.ts";
import type { DsaProfile, MlaProfile, ModelProfile, MoeProfile } from "./profiles.ts";
import { type Family, paramCounts } from "./_param_counts.ts";
import { ARCHITECTURES, archNotes, GEMMA3_TEXT_DEFAULTS } from "./_model_archs.ts";

export { ARCHITECTURES, paramCounts };

/** Options of {@linkcode modelFromConfig}. */
export interface ModelConfigOptions {
  /** Profile id. @default the file name as given */
  id?: string;
  /** Hugging Face names. @default `org/name` from a file named `org__name.json`, else none */
  hfNames?: string[];
}

/** The decoder's shapes, as {@linkcode paramCounts} reads them. */
export interface DecoderShape {
  family: Family;
  layers: number;
  hidden: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediate: number;
  vocabSize: number;
  tiedEmbeddings: boolean;
  /** `attention_bias` (q, k, v and o projections). */
  attentionBias: boolean;
  /** `mlp_bias` (Llama's dense MLP). */
  mlpBias: boolean;
  moe?: MoeProfile;
  mla?: MlaProfile;
  dsa?: DsaProfile;
  /** DeepSeek `topk_method: noaux_tc`: a per-expert score-correction bias in each router. */
  routerScoreBias: boolean;
}

const INT_MAX = 2 ** 31;

/** A required positive integer field. */
function need(r: Reader, key: string): number {
  return r.need(r.int(key, 1, INT_MAX), key, `an integer in [1, ${INT_MAX}]`);
}

/** `raw` with `defaults` for its absent (undefined or null) fields. */
function withDefaults(raw: object, defaults: Readonly<Record<string, unknown>>) {
  const given = Object.entries(raw).filter(([, v]) => v !== undefined && v !== null);
  return { ...defaults, ...Object.fromEntries(given) };
}

/** The block holding the decoder's shapes (`text_config` when nested) and the family. */
function decoderBlock(
  json: unknown,
  file: string,
): { t: Reader; top: Reader; family: Family; arch: string } {
  const top = Reader.root(file, json, null, { field: "(top level)" });
  const allowed = `a list whose first item is one of ${Object.keys(ARCHITECTURES).join(", ")}`;
  const arch = top.list("architectures", allowed).value(0);
  const family = typeof arch === "string" ? ARCHITECTURES[arch] : undefined;
  if (family === undefined) throw top.fail("architectures", top.value("architectures"), allowed);
  const block = isMapping(top.value("text_config")) ? top.obj("text_config") : top;
  // Gemma 3's hub files leave shapes at transformers' defaults (GEMMA3_TEXT_DEFAULTS)
  const t = family === "gemma3"
    ? new Reader(file, withDefaults(block.raw, GEMMA3_TEXT_DEFAULTS), block.path, block.style)
    : block;
  return { t, top, family, arch: arch as string };
}

/** Query heads, KV heads and head dim (`head_dim`, else hidden / heads). */
function readHeads(t: Reader, hidden: number) {
  const numHeads = need(t, "num_attention_heads");
  const numKvHeads = t.int("num_key_value_heads", 1, numHeads) ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw t.fail("num_key_value_heads", numKvHeads, `a divisor of ${numHeads} attention heads`);
  }
  const headDim = t.int("head_dim", 1, INT_MAX) ??
    t.check<number>(
        "hidden_size",
        () => hidden % numHeads === 0,
        `a multiple of num_attention_heads ${numHeads} (no head_dim given)`,
      ) / numHeads;
  return { numHeads, numKvHeads, headDim };
}

/** `experts` routed experts, top `num_experts_per_tok` of them (checked), no shared expert. */
function topKExperts(
  t: Reader,
  experts: number,
  expertIntermediate: number,
  moeLayers: number,
): MoeProfile {
  const k = t.int("num_experts_per_tok", 1, experts);
  return {
    experts,
    expertsPerToken: t.need(k, "num_experts_per_tok", `an integer in [1, ${experts}]`),
    expertIntermediate,
    sharedIntermediate: 0,
    moeLayers,
  };
}

/** Routed and shared experts, top-k and which layers are MoE, per family; undefined for dense. */
function readMoe(t: Reader, family: Family, layers: number): MoeProfile | undefined {
  const range = (pred: (i: number) => boolean) =>
    Array.from({ length: layers }, (_, i) => i).filter(pred).length;
  if (family === "qwen3_moe") {
    const step = need(t, "decoder_sparse_step");
    const only = t.value("mlp_only_layers") ?? [];
    const dense = t.check<number[]>(
      "mlp_only_layers",
      () => Array.isArray(only) && only.every(Number.isInteger),
      "a list of layer indices",
      "type",
    ) ?? [];
    return topKExperts(
      t,
      need(t, "num_experts"),
      need(t, "moe_intermediate_size"),
      range((i) => !dense.includes(i) && (i + 1) % step === 0),
    );
  }
  if (family === "deepseek_v3") {
    const first = t.need(
      t.int("first_k_dense_replace", 0, layers),
      "first_k_dense_replace",
      `an integer in [0, ${layers}]`,
    );
    const freq = need(t, "moe_layer_freq");
    const expertIntermediate = need(t, "moe_intermediate_size");
    return {
      experts: need(t, "n_routed_experts"),
      expertsPerToken: need(t, "num_experts_per_tok"),
      expertIntermediate,
      sharedIntermediate: (t.int("n_shared_experts", 0, INT_MAX) ?? 0) * expertIntermediate,
      moeLayers: range((i) => i >= first && i % freq === 0),
    };
  }
  if (family === "gpt_oss") {
    const k = need(t, "experts_per_token");
    const alt = t.int("num_experts_per_tok", 1, INT_MAX);
    if (alt !== undefined && alt !== k) {
      throw t.fail("num_experts_per_tok", alt, `equal to experts_per_token ${k}`);
    }
    return {
      experts: need(t, "num_local_experts"),
      expertsPerToken: k,
      expertIntermediate: need(t, "intermediate_size"),
      sharedIntermediate: 0,
      moeLayers: layers,
    };
  }
  if (family === "llama4") return readLlama4Moe(t, layers);
  if (family === "mixtral") {
    return topKExperts(t, need(t, "num_local_experts"), need(t, "intermediate_size"), layers);
  }
  return undefined;
}

/** Llama 4: every `interleave_moe_layer_step`-th layer (or `moe_layers`) is MoE with one shared expert. */
function readLlama4Moe(t: Reader, layers: number): MoeProfile {
  const step = t.int("interleave_moe_layer_step", 1, layers) ?? 1;
  const listed = t.value("moe_layers");
  const moeLayers = Array.isArray(listed)
    ? t.check<number[]>(
      "moe_layers",
      () => listed.every(Number.isInteger),
      "a list of layer indices",
      "type",
    ).length
    : Array.from({ length: layers }, (_, i) => i).filter((i) => (i + 1) % step === 0).length;
  const expertIntermediate = need(t, "intermediate_size");
  return {
    experts: need(t, "num_local_experts"),
    expertsPerToken: need(t, "num_experts_per_tok"),
    expertIntermediate,
    sharedIntermediate: expertIntermediate,
    moeLayers,
  };
}

/** DeepSeek's multi-head latent attention. */
function readMla(t: Reader): MlaProfile {
  return {
    kvLoraRank: need(t, "kv_lora_rank"),
    qLoraRank: t.int("q_lora_rank", 1, INT_MAX) ?? 0,
    qkNopeHeadDim: need(t, "qk_nope_head_dim"),
    qkRopeHeadDim: need(t, "qk_rope_head_dim"),
    vHeadDim: need(t, "v_head_dim"),
  };
}

/** DeepSeek-V3.2's sparse-attention indexer (`index_n_heads`, `index_head_dim`, `index_topk`). */
function readDsa(t: Reader): DsaProfile {
  return {
    indexHeads: need(t, "index_n_heads"),
    indexHeadDim: need(t, "index_head_dim"),
    indexTopK: need(t, "index_topk"),
  };
}

/** Every shape of the decoder, checked. */
export function readDecoderShape(
  json: unknown,
  file: string,
): DecoderShape & { arch: string; maxModelLen: number; notes: string } {
  const { t, top, family, arch } = decoderBlock(json, file);
  const layers = need(t, "num_hidden_layers");
  const hidden = need(t, "hidden_size");
  const mla = family === "deepseek_v3" ? readMla(t) : undefined;
  const heads = readHeads(t, hidden);
  if (mla) heads.headDim = mla.qkNopeHeadDim + mla.qkRopeHeadDim;
  const dense = family === "llama4" ? "intermediate_size_mlp" : "intermediate_size";
  return {
    arch,
    family,
    layers,
    hidden,
    ...heads,
    intermediate: need(t, dense),
    vocabSize: need(t, "vocab_size"),
    // a multimodal config may keep it at the top level, beside text_config (Qwen3-VL)
    // Gemma 2/3 tie them by default (transformers' Gemma2Config / Gemma3TextConfig)
    tiedEmbeddings: t.bool("tie_word_embeddings") ?? top.bool("tie_word_embeddings") ??
      (family === "gemma2" || family === "gemma3"),
    attentionBias: t.bool("attention_bias") ?? false,
    mlpBias: t.bool("mlp_bias") ?? false,
    moe: readMoe(t, family, layers),
    mla,
    dsa: arch === "DeepseekV32ForCausalLM" ? readDsa(t) : undefined,
    routerScoreBias: family === "deepseek_v3" && t.value("topk_method") === "noaux_tc",
    maxModelLen: need(t, "max_position_embeddings"),
    notes: archNotes(arch, t.raw as Record<string, unknown>),
  };
}

/** `quantization_config` of a parsed config.json, if any. */
function quantConfig(json: unknown): Record<string, unknown> | undefined {
  return isMapping(json) && isMapping(json.quantization_config)
    ? json.quantization_config as Record<string, unknown>
    : undefined;
}

/**
 * The checkpoint's weight precision when the cost model has it (`quant_method: fp8`,
 * which vLLM loads as FP8 without `--quantization`); anything else counts as BF16.
 */
function checkpointDtype(json: unknown): "fp8" | undefined {
  return quantConfig(json)?.quant_method === "fp8" ? "fp8" : undefined;
}

/** What `quantization_config` says the weights ship as, for the profile's source. */
function nativeDtype(json: unknown): string {
  const q = quantConfig(json);
  if (!q) return "";
  const fmt = typeof q.fmt === "string" ? ` ${q.fmt}` : "";
  const counted = checkpointDtype(json)
    ? "FP8 weights, as vLLM loads them"
    : "this profile counts BF16 bytes: ASSUMED upper bound, the cost model has no 4-bit weights";
  return `; shipped as ${String(q.quant_method)}${fmt} (${counted})`;
}

/** `org/name` from a file named `org__name.json`. */
function hfNameOf(file: string): string[] {
  const m = /([^/\\]+)__([^/\\]+)\.json$/i.exec(file);
  return m ? [`${m[1]}/${m[2]}`] : [];
}

/**
 * A model profile from a parsed Hugging Face `config.json`; `file` is named in
 * errors (`Cannot use hidden_size in FILE as ...: current value is ...`).
 * `paramsB` counts every decoder weight (experts and embeddings included; the
 * LM head unless tied), `weightBytes` is that in BF16, and `kvBytesPerToken`
 * is BF16 K and V per layer (for MLA: the latent plus the rotary key).
 */
export function modelFromConfig(
  json: unknown,
  file: string,
  o: ModelConfigOptions = {},
): ModelProfile {
  const s = readDecoderShape(json, file);
  const { totalB } = paramCounts(s);
  const kvBytesPerToken = s.mla
    ? s.layers * (s.mla.kvLoraRank + s.mla.qkRopeHeadDim) * 2
    : 2 * s.layers * s.numKvHeads * s.headDim * 2;
  return {
    id: o.id ?? file,
    hfNames: o.hfNames ?? hfNameOf(file),
    paramsB: totalB,
    weightBytes: Math.round(totalB * 1e9 * 2),
    layers: s.layers,
    hidden: s.hidden,
    intermediate: s.intermediate,
    numHeads: s.numHeads,
    numKvHeads: s.numKvHeads,
    headDim: s.headDim,
    vocabSize: s.vocabSize,
    tiedEmbeddings: s.tiedEmbeddings,
    maxModelLen: s.maxModelLen,
    kvBytesPerToken,
    ...(s.moe ? { moe: s.moe } : {}),
    ...(s.mla ? { mla: s.mla } : {}),
    ...(s.dsa ? { dsa: s.dsa } : {}),
    ...(checkpointDtype(json) ? { checkpointDtype: checkpointDtype(json) } : {}),
    source: `${file} (${s.arch}; parameters derived from its shapes)${nativeDtype(json)}${s.notes}`,
  };
}
