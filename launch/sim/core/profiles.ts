/**
 * GPU and model profiles for the simulated engine's roofline cost model, and
 * their lookup by short id or Hugging Face name.
 *
 * GPU figures are datasheet peaks (dense BF16, no sparsity); `memGiB` is what
 * `nvidia-smi` reports as total memory, which is what vLLM budgets against.
 * Model figures are the `config.json` values of the named Hugging Face repos;
 * parameter counts are derived from those configs (they match the model cards).
 *
 * @module
 */
import { DATACENTER_GPUS_2025 } from "./_gpus_2025.ts";
import { GEFORCE_GPUS } from "./_gpus_geforce.ts";
import { GA102_GPUS } from "./_gpus_ga102.ts";
import { GA100_PCIE_GPUS } from "./_gpus_ga100.ts";
import { HOPPER_GPUS } from "./_gpus_hopper.ts";
import { ADA_GPUS } from "./_gpus_ada.ts";
import { MOE_MODELS } from "./_models_moe.ts";
import { modelFromConfig } from "./model_config.ts";
import qwen3_32b from "../../../fixtures/model_configs/Qwen__Qwen3-32B.json" with { type: "json" };
import qwen3_8b from "../../../fixtures/model_configs/Qwen__Qwen3-8B.json" with { type: "json" };
import qwen3_30b_a3b from "../../../fixtures/model_configs/Qwen__Qwen3-30B-A3B.json" with {
  type: "json",
};

/** One GPU model. */
export interface GpuProfile {
  /** Short id used on the command line (`--gpu h100`). */
  id: string;
  /** Marketing name. */
  name: string;
  /** Total device memory in GiB as `nvidia-smi` reports it. */
  memGiB: number;
  /** Peak memory bandwidth in GB/s (10^9 bytes/s). */
  memBwGBps: number;
  /** Peak dense BF16 tensor-core throughput in TFLOPS. */
  bf16Tflops: number;
  /** Peak dense FP8 tensor-core throughput in TFLOPS (0: no FP8 tensor cores). */
  fp8Tflops: number;
  /** Share of the tensor-core peak large GEMMs reach (cuBLAS, prefill-sized M). */
  gemmEfficiency: number;
  /** Share of the tensor-core peak attention kernels reach (FlashAttention in vLLM). */
  attnEfficiency: number;
  /** Share of peak memory bandwidth a decode step's weight and KV reads reach. */
  memEfficiency: number;
  /** Peak NVLink bandwidth per GPU in GB/s, both directions summed (0: none). */
  nvlinkGBps: number;
  /** Peak host PCIe bandwidth per direction in GB/s (x16 link). */
  pcieGBps: number;
  /**
   * GPUs of a box can read each other's memory over PCIe (CUDA P2P): vLLM's custom
   * all-reduce and NCCL's P2P transport need it. @default true
   */
  p2p?: boolean;
  /**
   * NCCL uses its P2P transport (false: `NCCL_P2P_DISABLE=1`, NCCL through host
   * shared memory; vLLM's custom all-reduce still uses P2P). @default true
   */
  ncclP2p?: boolean;
  /** Other accepted names, e.g. the `nvidia-smi` product name. */
  aliases?: string[];
  /** Peak dense FP4 tensor-core throughput in TFLOPS (absent: no FP4 tensor cores or not given). */
  fp4Tflops?: number;
  /** Thermal design (board) power in W. */
  tdpW?: number;
  /** Where the figures come from (a GPU YAML file), for reports. */
  source?: string;
  /**
   * Which of its figures are assumed rather than read from a source (e.g.
   * efficiencies carried from another part); `validate` prints it beside its
   * error table.
   */
  assumed?: string;
}

/** Vision encoder of a multimodal model. */
export interface VisionProfile {
  /** Encoder parameters (ViT + patch merger) in billions. */
  paramsB: number;
  /** ViT patch edge in pixels. */
  patchSize: number;
  /** Patches merged per token along each axis. */
  mergeSize: number;
  /** ViT hidden size. */
  hidden: number;
  /** ViT blocks. */
  layers: number;
  /** Blocks with full attention over the image; the rest attend within a window. */
  fullAttnLayers: number;
  /** Patches per attention window in the windowed blocks. */
  windowPatches: number;
  /** Placeholder tokens the language model sees for one image of this size. */
  tokensPerImage(widthPx: number, heightPx: number): number;
}

/**
 * Mixture-of-experts MLPs (Hugging Face `num_experts` / `n_routed_experts`,
 * `num_experts_per_tok`, `moe_intermediate_size`, shared experts). Expert weights
 * count in {@linkcode ModelProfile.paramsB}; a token computes only its top-k.
 */
export interface MoeProfile {
  /** Routed experts in each MoE layer. */
  experts: number;
  /** Routed experts each token is sent to (top-k). */
  expertsPerToken: number;
  /** Intermediate size of one routed expert (gate, up and down projections). */
  expertIntermediate: number;
  /** Intermediate size of the shared experts together, which every token runs (0: none). */
  sharedIntermediate: number;
  /** Decoder layers with an MoE MLP; the other layers are dense with `intermediate`. */
  moeLayers: number;
}

/**
 * Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds one
 * compressed latent of `kvLoraRank` plus a `qkRopeHeadDim` rotary key per token
 * and layer, the same on every tensor-parallel rank.
 */
export interface MlaProfile {
  /** `kv_lora_rank`. */
  kvLoraRank: number;
  /** `q_lora_rank` (0: queries are not compressed). */
  qLoraRank: number;
  /** `qk_nope_head_dim`. */
  qkNopeHeadDim: number;
  /** `qk_rope_head_dim`. */
  qkRopeHeadDim: number;
  /** `v_head_dim`. */
  vHeadDim: number;
}

/**
 * DeepSeek Sparse Attention (DeepSeek-V3.2): a "lightning indexer" scores
 * every cached token for each query token, and attention runs over the
 * `indexTopK` best; the indexer keeps its own FP8 key cache.
 */
export interface DsaProfile {
  /** `index_n_heads`. */
  indexHeads: number;
  /** `index_head_dim`. */
  indexHeadDim: number;
  /** `index_topk`: tokens each query attends to. */
  indexTopK: number;
}

/** One model, as the cost model needs it. */
export interface ModelProfile {
  /** Short id (`llama-3.1-8b`). */
  id: string;
  /** Hugging Face repo names it answers to (matched case-insensitively). */
  hfNames: string[];
  /** Language-model (decoder) parameters in billions, vision encoder excluded. */
  paramsB: number;
  /** Bytes of all weights in BF16, vision encoder included. */
  weightBytes: number;
  /** Decoder layers. */
  layers: number;
  /** Hidden size. */
  hidden: number;
  /** MLP intermediate size. */
  intermediate: number;
  /** Attention (query) heads. */
  numHeads: number;
  /** Key/value heads (GQA). */
  numKvHeads: number;
  /** Head dimension. */
  headDim: number;
  /** Vocabulary size. */
  vocabSize: number;
  /** Whether the LM head shares the embedding matrix. */
  tiedEmbeddings: boolean;
  /** Default `--max-model-len` (`max_position_embeddings`). */
  maxModelLen: number;
  /** BF16 KV bytes per token over all layers: 2 (K,V) * layers * kvHeads * headDim * 2. */
  kvBytesPerToken: number;
  /** Vision encoder, for multimodal models. */
  vision?: VisionProfile;
  /** Mixture-of-experts MLPs; absent for dense models. */
  moe?: MoeProfile;
  /** Multi-head latent attention; absent for GQA/MHA models. */
  mla?: MlaProfile;
  /** DeepSeek Sparse Attention over the MLA latent; absent: dense attention. */
  dsa?: DsaProfile;
  /**
   * Weight precision the checkpoint ships in when not BF16 (`quantization_config.quant_method`
   * fp8): vLLM loads it so without `--quantization`, and so does the cost model. @default BF16
   */
  checkpointDtype?: "fp8";
  /** Where the figures come from (a `config.json` copy, a model card), for reports. */
  source?: string;
}

const GPUS: readonly GpuProfile[] = [
  // NVIDIA H100 Tensor Core GPU datasheet, SXM5 80GB HBM3: 3.35 TB/s, 989 TFLOPS
  // BF16 dense (1,979 with sparsity), NVLink 900 GB/s, PCIe Gen5 (64 GB/s per direction).
  // nvidia-smi reports 81559 MiB.
  {
    id: "h100",
    name: "NVIDIA H100 SXM5 80GB HBM3",
    memGiB: 79.65,
    memBwGBps: 3350,
    bf16Tflops: 989,
    // datasheet: 1,979 TFLOPS FP8 dense (3,958 with sparsity)
    fp8Tflops: 1979,
    // ../shared/calibration PPD-floor (vLLM 0.13, H100): TTFT rises 19.6 us per prompt
    // token from 4,116 to 8,212 tokens; with attention at 0.75 that leaves the GEMMs
    // (14 GFLOP per token) at ~810 TFLOPS = 0.82 of peak (cuBLAS BF16 on H100 SXM is
    // commonly measured at 750-800 TFLOPS for large shapes).
    gemmEfficiency: 0.82,
    // FlashAttention-3 paper (Shah et al., 2024): 740 TFLOPS BF16 forward at long
    // sequences (75% of peak), where attention's share of a prefill matters.
    attnEfficiency: 0.75,
    // ../shared/calibration L-H100: median TPOT 7.56 ms at batch 10 = 16 GB of weights
    // read at ~0.8 of 3.35 TB/s plus the step overhead.
    memEfficiency: 0.8,
    nvlinkGBps: 900,
    pcieGBps: 64,
    tdpW: 700, // H100 SXM5 datasheet: max TDP up to 700 W
    aliases: ["h100-sxm", "h100-80gb", "NVIDIA H100 80GB HBM3"],
  },
  // NVIDIA A100 datasheet, SXM4 80GB HBM2e: 2,039 GB/s, 312 TFLOPS BF16 dense,
  // NVLink 600 GB/s, PCIe Gen4 (32 GB/s per direction). nvidia-smi reports 81920 MiB.
  {
    id: "a100",
    name: "NVIDIA A100 SXM4 80GB",
    memGiB: 80,
    memBwGBps: 2039,
    bf16Tflops: 312,
    fp8Tflops: 0, // Ampere has no FP8 tensor cores
    // ../shared/calibration L-A100 vs L-H100: the same prefill takes 2.03x as long with
    // 3.17x less peak, so A100 reaches a larger share of its peak; cuBLAS BF16 on A100 is
    // commonly measured at 230-250 of 312 TFLOPS.
    gemmEfficiency: 0.75,
    // FlashAttention-2 paper (Dao, 2023): up to 73% of A100 peak in the forward pass.
    attnEfficiency: 0.72,
    // ../shared/calibration L-A100: median TPOT 12.01 ms = 16 GB read at ~0.8 of 2.04 TB/s + overhead.
    memEfficiency: 0.8,
    nvlinkGBps: 600,
    pcieGBps: 32,
    tdpW: 400, // A100 SXM4 datasheet: max TDP 400 W
    aliases: ["a100-80gb", "a100-sxm4-80gb", "NVIDIA A100-SXM4-80GB"],
  },
  // Same datasheet, SXM4 40GB HBM2: 1,555 GB/s. nvidia-smi reports 40960 MiB.
  {
    id: "a100-40gb",
    name: "NVIDIA A100 SXM4 40GB",
    memGiB: 40,
    memBwGBps: 1555,
    bf16Tflops: 312,
    fp8Tflops: 0,
    gemmEfficiency: 0.75, // the same chip as the 80GB part
    attnEfficiency: 0.72,
    // ../shared/calibration JM-A100: ~75 tok/s at concurrency 1 (13.3 ms TPOT) = 16 GB
    // read at ~0.8 of 1.56 TB/s + overhead.
    memEfficiency: 0.8,
    nvlinkGBps: 600,
    pcieGBps: 32,
    tdpW: 400, // A100 SXM4 datasheet: max TDP 400 W
    aliases: ["a100-sxm4-40gb", "NVIDIA A100-SXM4-40GB"],
  },
  // NVIDIA H200 datasheet, SXM 141GB HBM3e: 4.8 TB/s, 989 TFLOPS BF16 dense,
  // NVLink 900 GB/s, PCIe Gen5. nvidia-smi reports 143771 MiB.
  {
    id: "h200",
    name: "NVIDIA H200 SXM 141GB HBM3e",
    memGiB: 140.4,
    memBwGBps: 4800,
    bf16Tflops: 989,
    fp8Tflops: 1979,
    // the H100's compute die with faster memory: H100's compute shares
    gemmEfficiency: 0.82,
    attnEfficiency: 0.75,
    memEfficiency: 0.8, // assumed like H100's HBM3 (not measured here)
    nvlinkGBps: 900,
    pcieGBps: 64,
    tdpW: 700, // H200 SXM datasheet: max TDP up to 700 W
    aliases: ["h200-sxm", "NVIDIA H200"],
  },
  // NVIDIA L40S datasheet: 48GB GDDR6 864 GB/s, 362 TFLOPS BF16 dense (733 with
  // sparsity), no NVLink, PCIe Gen4 x16. nvidia-smi reports 46068 MiB.
  {
    id: "l40s",
    name: "NVIDIA L40S 48GB",
    memGiB: 45,
    memBwGBps: 864,
    bf16Tflops: 362,
    fp8Tflops: 733, // datasheet: 733 TFLOPS FP8 dense (1,466 with sparsity)
    // no published vLLM prefill figure here: assumed like A100 (a PCIe card at a
    // lower power limit reaches no more of its peak)
    gemmEfficiency: 0.7,
    attnEfficiency: 0.55,
    // MEASURED on its sibling L40 (the same AD102 with 48 GB of 864 GB/s GDDR6): te42kyfo/
    // gpu-benches gpu-stream/l40.txt @0a45416, the scale kernel (one read and one write
    // stream, as in the RTX 4090's copy figure) at its median over occupancies of 25-100%:
    // 777 GB/s = 0.90 of 864 (triad 0.93, read-only 0.98).
    memEfficiency: 0.9,
    nvlinkGBps: 0,
    pcieGBps: 32,
    tdpW: 350, // L40S datasheet: max power consumption 350 W
    aliases: ["NVIDIA L40S"],
  },
  // NVIDIA RTX PRO 6000 Blackwell (GB202, compute capability 12.0, 96GB GDDR7 ECC):
  // the GPU of ../shared/calibration/traces. Figures from NVIDIA's RTX PRO 6000 Blackwell
  // Workstation Edition datasheet (nvidia.com .../workstation-blackwell-rtx-pro-6000-
  // workstation-edition-nvidia-us-3519208-web.pdf, as transcribed in
  // atineoSE/coding-model-seeks-gpu pipeline/pipeline/sources/rtxpro6000_specs.md @ff05294):
  // 96 GB GDDR7, 512-bit, 1,792 GB/s, 4,000 AI TOPS (FP4 with sparsity), PCIe 5.0 x16,
  // no NVLink. The Server Edition's own datasheet was not found in the searchable sources;
  // NVIDIA's MIG user guide (docs.nvidia.com/datacenter/tesla/mig-user-guide/supported-gpus)
  // lists Server, Workstation and Max-Q editions alike as GB202, CC 12.0, 96GB, and the
  // editions share the 188-SM die and the 28 Gbps x 512-bit memory (= 1,792 GB/s) per the
  // GTC 2025 launch coverage. torch reports 101,976,440,832 bytes (= 94.97 GiB).
  {
    id: "rtx-pro-6000",
    name: "NVIDIA RTX PRO 6000 Blackwell Server Edition",
    memGiB: 94.97,
    memBwGBps: 1792,
    // derived, not printed: the datasheet gives only 4,000 FP4 TOPS with 2:4 sparsity;
    // dense FP4 is half (2,000), and Blackwell tensor cores halve throughput for each
    // doubling of operand width: FP8 1,000, BF16 500 dense (FP32 accumulate, which the
    // RTX PRO parts run at full rate, unlike GeForce).
    bf16Tflops: 500,
    fp8Tflops: 1000,
    // ASSUMED, carried over from the L40S profile (itself assumed): the nearest profile
    // in kind (a PCIe professional card with GDDR memory at a fixed power limit; no NVLink).
    // No published vLLM prefill or GEMM figure for this GPU was at hand; not fitted to
    // ../shared/calibration/traces (those runs are the test set).
    gemmEfficiency: 0.7,
    attnEfficiency: 0.55,
    // ASSUMED 0.8 like the HBM profiles: no published streaming measurement of GDDR7 (RTX
    // PRO 6000 or RTX 5090) was found, so the GDDR6/6X figures (l40s 0.9, rtx-4090 0.915)
    // are not carried over; ../shared/calibration/traces (vLLM 0.19 on this GPU) check 0.8.
    memEfficiency: 0.8,
    nvlinkGBps: 0,
    pcieGBps: 64, // PCIe 5.0 x16, per direction
    tdpW: 600, // RTX PRO 6000 Blackwell datasheet: max power consumption 600 W
    aliases: [
      "rtxpro6000",
      "rtx-pro-6000-blackwell",
      "RTX PRO 6000",
      "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
    ],
  },
  ...DATACENTER_GPUS_2025,
  ...GEFORCE_GPUS,
  ...GA102_GPUS,
  ...HOPPER_GPUS,
  ...GA100_PCIE_GPUS,
  ...ADA_GPUS,
];

/** Python's `round()`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Qwen2-VL / Qwen2.5-VL `smart_resize`: rounds both sides to a multiple of
 * `factor` (patch * merge), then rescales to stay within [minPx, maxPx]; the
 * image becomes (h / factor) * (w / factor) tokens.
 */
function qwenVlTokens(widthPx: number, heightPx: number, factor: number): number {
  const minPx = 56 * 56; // preprocessor_config.json min_pixels 3136
  const maxPx = 28 * 28 * 16384; // max_pixels 12845056
  if (!(widthPx > 0) || !(heightPx > 0) || !Number.isFinite(widthPx * heightPx)) {
    throw new RangeError(
      `Cannot use image size as positive pixels: current value is ${widthPx}x${heightPx}`,
    );
  }
  let h = Math.max(factor, roundHalfEven(heightPx / factor) * factor);
  let w = Math.max(factor, roundHalfEven(widthPx / factor) * factor);
  if (h * w > maxPx) {
    const beta = Math.sqrt((heightPx * widthPx) / maxPx);
    h = Math.max(factor, Math.floor(heightPx / beta / factor) * factor);
    w = Math.max(factor, Math.floor(widthPx / beta / factor) * factor);
  } else if (h * w < minPx) {
    const beta = Math.sqrt(minPx / (heightPx * widthPx));
    h = Math.ceil((heightPx * beta) / factor) * factor;
    w = Math.ceil((widthPx * beta) / factor) * factor;
  }
  return (h / factor) * (w / factor);
}

type ModelSpec = Omit<ModelProfile, "kvBytesPerToken" | "weightBytes">;

function model(spec: ModelSpec): ModelProfile {
  const visionB = spec.vision?.paramsB ?? 0;
  return {
    ...spec,
    weightBytes: Math.round((spec.paramsB + visionB) * 1e9 * 2),
    kvBytesPerToken: 2 * spec.layers * spec.numKvHeads * spec.headDim * 2,
  };
}

/**
 * A Llama 3.1 model of `size` (`8B`, `70B`): its four Hugging Face names and
 * what every size shares (8 KV heads of 128, the 128,256-token vocabulary,
 * untied embeddings, a 131,072-token context); `shape` gives the rest.
 */
function llama31(
  size: string,
  shape: Pick<ModelSpec, "paramsB" | "layers" | "hidden" | "intermediate" | "numHeads">,
): ModelProfile {
  return model({
    id: `llama-3.1-${size.toLowerCase()}`,
    hfNames: [
      `meta-llama/Llama-3.1-${size}-Instruct`,
      `meta-llama/Meta-Llama-3.1-${size}-Instruct`,
      `meta-llama/Llama-3.1-${size}`,
      `meta-llama/Meta-Llama-3.1-${size}`,
    ],
    ...shape,
    numKvHeads: 8,
    headDim: 128,
    vocabSize: 128256,
    tiedEmbeddings: false,
    maxModelLen: 131072,
  });
}

const MODELS: readonly ModelProfile[] = [
  // meta-llama/Llama-3.1-8B-Instruct config.json; 8,030,261,248 parameters.
  llama31("8B", {
    paramsB: 8.030261248,
    layers: 32,
    hidden: 4096,
    intermediate: 14336,
    numHeads: 32,
  }),
  // meta-llama/Llama-3.1-70B-Instruct config.json; 70,553,706,496 parameters.
  llama31("70B", {
    paramsB: 70.553706496,
    layers: 80,
    hidden: 8192,
    intermediate: 28672,
    numHeads: 64,
  }),
  // Qwen/Qwen2.5-7B-Instruct config.json; 7,615,616,512 parameters.
  model({
    id: "qwen2.5-7b",
    hfNames: ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-7B"],
    paramsB: 7.615616512,
    layers: 28,
    hidden: 3584,
    intermediate: 18944,
    numHeads: 28,
    numKvHeads: 4,
    headDim: 128,
    vocabSize: 152064,
    tiedEmbeddings: false,
    maxModelLen: 32768,
  }),
  // Qwen/Qwen2.5-VL-3B-Instruct config.json: decoder 3,085,794,688 parameters; vision
  // tower (depth 32, hidden 1280, patch 14, spatial_merge_size 2, window_size 112 px,
  // fullatt_block_indexes [7, 15, 23, 31]) 668,684,288 parameters; 3.75B in all.
  model({
    id: "qwen2.5-vl-3b",
    hfNames: ["Qwen/Qwen2.5-VL-3B-Instruct"],
    paramsB: 3.085794688,
    layers: 36,
    hidden: 2048,
    intermediate: 11008,
    numHeads: 16,
    numKvHeads: 2,
    headDim: 128,
    vocabSize: 151936,
    tiedEmbeddings: true,
    maxModelLen: 128000,
    vision: {
      paramsB: 0.668684288,
      patchSize: 14,
      mergeSize: 2,
      hidden: 1280,
      layers: 32,
      fullAttnLayers: 4,
      windowPatches: 64, // 112 px window = 8 x 8 patches
      tokensPerImage: (widthPx, heightPx) => qwenVlTokens(widthPx, heightPx, 28),
    },
  }),
  // TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json; 1,100,048,384 parameters.
  model({
    id: "tinyllama-1.1b",
    hfNames: ["TinyLlama/TinyLlama-1.1B-Chat-v1.0", "TinyLlama/TinyLlama_v1.1"],
    paramsB: 1.100048384,
    layers: 22,
    hidden: 2048,
    intermediate: 5632,
    numHeads: 32,
    numKvHeads: 4,
    headDim: 64,
    vocabSize: 32000,
    tiedEmbeddings: false,
    maxModelLen: 2048,
  }),
  // Qwen/Qwen3-32B config.json as copied in fixtures/model_configs (see its README):
  // 32,762,123,264 parameters (model card: 32.8B); head_dim 128 x 64 heads != hidden 5,120.
  modelFromConfig(qwen3_32b, "fixtures/model_configs/Qwen__Qwen3-32B.json", {
    id: "qwen3-32b",
    hfNames: ["Qwen/Qwen3-32B"],
  }),
  // Qwen/Qwen3-8B config.json (fixtures/model_configs): 8,190,735,360 parameters (card: 8.2B);
  // head_dim 128, 36 layers, 8 KV heads, untied embeddings.
  modelFromConfig(qwen3_8b, "fixtures/model_configs/Qwen__Qwen3-8B.json", {
    id: "qwen3-8b",
    hfNames: ["Qwen/Qwen3-8B"],
  }),
  // Qwen/Qwen3-30B-A3B config.json (fixtures/model_configs): 128 experts, top-8, 48 MoE
  // layers; 30,532,122,624 parameters (card: 30.5B total, 3.3B activated). The Instruct-2507
  // model has the same shapes (its max_position_embeddings is 262,144, not this file's 40,960).
  modelFromConfig(qwen3_30b_a3b, "fixtures/model_configs/Qwen__Qwen3-30B-A3B.json", {
    id: "qwen3-30b-a3b",
    hfNames: ["Qwen/Qwen3-30B-A3B-Instruct-2507", "Qwen/Qwen3-30B-A3B"],
  }),
  // Qwen3-235B-A22B (BF16 and FP8), DeepSeek-V3/R1, gpt-oss-120b, Llama 4 Scout and Maverick
  ...MOE_MODELS,
];

/** All GPU profiles. */
export function listGpus(): GpuProfile[] {
  return [...GPUS];
}

/** All model profiles. */
export function listModels(): ModelProfile[] {
  return [...MODELS];
}

/** Last path segment, lower-cased (`/models/Llama-3.1-8B-Instruct` -> `llama-3.1-8b-instruct`). */
function baseName(name: string): string {
  return name.trim().replace(/\/+$/, "").split("/").pop()!.toLowerCase();
}

/** Finds a GPU by id, name or alias (case-insensitive); throws a RangeError listing ids. */
export function resolveGpu(name: string): GpuProfile {
  const key = String(name).trim().toLowerCase();
  const hit = GPUS.find((g) =>
    [g.id, g.name, ...(g.aliases ?? [])].some((n) => n.toLowerCase() === key)
  );
  if (hit) return hit;
  throw new RangeError(
    `Cannot use "${name}" as --gpu: current value is "${name}"; allowed: ${
      GPUS.map((g) => g.id).join(", ")
    }`,
  );
}

/**
 * Finds a model by id or Hugging Face name (case-insensitive); a local path or
 * other org matches by its last segment (`/models/Llama-3.1-8B-Instruct`).
 * Throws a RangeError listing ids for anything else.
 */
export function resolveModel(name: string): ModelProfile {
  const key = String(name).trim().toLowerCase();
  const exact = MODELS.find((m) => m.id === key || m.hfNames.some((n) => n.toLowerCase() === key));
  if (exact) return exact;
  const base = baseName(key);
  const byBase = MODELS.find((m) => m.hfNames.some((n) => baseName(n) === base));
  if (byBase) return byBase;
  throw new RangeError(
    `Cannot use "${name}" as --model: current value is "${name}"; allowed: ${
      MODELS.map((m) => m.id).join(", ")
    } or their Hugging Face names, or --model-profile <id | a Hugging Face config.json> for another model`,
  );
}
