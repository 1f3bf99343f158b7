/**
 * GPU profiles of the 2025 datacenter generation (NVIDIA Blackwell B200 and
 * GB200, AMD CDNA 3/4 MI300X and MI355X), each with its sources. Figures are
 * per GPU and dense (no 2:4 sparsity). No vLLM run on these GPUs was at hand:
 * every efficiency is ASSUMED, carried from the named existing profile.
 *
 * @module
 */
import type { GpuProfile } from "./profiles.ts";

// Carried efficiencies. NVIDIA datacenter parts: the H100 profile's (cuBLAS on a
// tensor-core part with HBM). AMD parts: the A100 profile's lower GEMM and attention
// shares (hipBLASLt and ROCm attention kernels are commonly reported further from
// peak than cuBLAS; not measured here).
export const FROM_H100 = { gemmEfficiency: 0.82, attnEfficiency: 0.75, memEfficiency: 0.8 };
export const FROM_A100 = { gemmEfficiency: 0.75, attnEfficiency: 0.72, memEfficiency: 0.8 };

/** B200, GB200 (per GPU), MI300X, MI355X. */
export const DATACENTER_GPUS_2025: readonly GpuProfile[] = [
  // NVIDIA HGX B200, per GPU at 1,000 W. Dense BF16 2,250 / FP8 4,500 / FP4 9,000 TFLOPS:
  // glennklockwood.com/garden/processors/B200 (the HGX table) and verda.com/blog/
  // gb300-nvl72-architecture (per-GPU table, sparse / 2). 8 TB/s HBM3e, NVLink 5
  // 1.8 TB/s per GPU, 1,000 W, and 179 GB as verified with nvidia-smi on an HGX B200:
  // docs.vultr.com/inference-cookbook/cuda/getting-started/hardware-overview.
  {
    id: "b200",
    name: "NVIDIA B200",
    memGiB: 179,
    memBwGBps: 8000,
    bf16Tflops: 2250,
    fp8Tflops: 4500,
    fp4Tflops: 9000,
    ...FROM_H100, // ASSUMED, carried from h100
    nvlinkGBps: 1800,
    pcieGBps: 64, // ASSUMED: PCIe 5.0 x16 to the host, per direction
    tdpW: 1000,
    aliases: ["b200-sxm", "hgx-b200", "NVIDIA B200 180GB HBM3e"],
  },
  // NVIDIA GB200 NVL72, per Blackwell GPU (the rack's figures / 72): 13.4 TB HBM3e
  // (186 GB), 576 TB/s (8 TB/s), NVLink 130 TB/s (1.8 TB/s), FP8 720 PF sparse
  // (5,000 dense): aiwiki.ai/wiki/nvidia_gb200_nvl72, datacrunch.io/blog/
  // nvidia-gb200-nvl72-for-ai-training-and-inference. Dense BF16 2,500 / FP8 5,000 /
  // FP4 10,000 TFLOPS at 1,200 W: glennklockwood.com/garden/processors/B200 (GB200 table).
  {
    id: "gb200",
    name: "NVIDIA GB200 (per Blackwell GPU)",
    // 186 GB as NVIDIA states it; what nvidia-smi reports was not found, so usable
    // memory may be a few percent lower (B200: 192 GB of HBM, 179 GB reported)
    memGiB: 186,
    memBwGBps: 8000,
    bf16Tflops: 2500,
    fp8Tflops: 5000,
    fp4Tflops: 10000,
    ...FROM_H100, // ASSUMED, carried from h100
    nvlinkGBps: 1800,
    // ASSUMED like b200: the Grace host link (NVLink-C2C) is faster; not modelled
    pcieGBps: 64,
    tdpW: 1200,
    aliases: ["gb200-nvl72", "NVIDIA GB200"],
  },
  // AMD Instinct MI300X (OAM, 750 W): 192 GB HBM3, 5.3 TB/s, dense BF16 1,307.4 /
  // FP8 2,614.9 TFLOPS: alpharomercoma/MI300X-vs-H200 METHODOLOGY.md @6077fdc (AMD's
  // datasheet figures). Infinity Fabric 896 GB/s (7 links x 128 GB/s, both directions):
  // gpu.blog/gpus/instinct-mi300x-mi300x, wheelersnetwork.com/2024/01. PCIe Gen5 x16:
  // mlcommons/inference_results_v4.1 closed/AMD/systems/8xMI300X_2xEPYC-9374F.json.
  {
    id: "mi300x",
    name: "AMD Instinct MI300X",
    memGiB: 192,
    memBwGBps: 5300,
    bf16Tflops: 1307.4,
    fp8Tflops: 2614.9,
    ...FROM_A100, // ASSUMED, carried from a100
    nvlinkGBps: 896,
    pcieGBps: 64,
    tdpW: 750,
    aliases: ["mi300x-oam", "AMD Instinct MI300X OAM"],
  },
  // AMD Instinct MI355X (CDNA 4, 1,400 W, liquid-cooled): 288 GB HBM3E, 8 TB/s, 20.1 PF
  // FP4/FP6 with sparsity: tomshardware.com/pc-components/gpus/amds-instinct-mi355x-
  // accelerator-will-consume-1-400-watts; 10 PF dense FP4: theregister.com/2025/06/12/
  // amd_mi355x; 5 PF FP8: AMD's ISSCC 2026 talk as reported at world-today-news.com/?p=7253162.
  // BF16 derived, not printed: half of FP8 (2,500), as on every CDNA 3/4 part. Infinity
  // Fabric: 153.6 GB/s links to each of the 7 peers (1,075.2 GB/s), PCIe 5.0 x16:
  // techaiapp.com/.../amd-instinct-mi350x-series-ai-gpu-silicon-detailed.
  {
    id: "mi355x",
    name: "AMD Instinct MI355X",
    memGiB: 288,
    memBwGBps: 8000,
    bf16Tflops: 2500,
    fp8Tflops: 5000,
    fp4Tflops: 10000,
    ...FROM_A100, // ASSUMED, carried from a100
    nvlinkGBps: 1075.2,
    pcieGBps: 64,
    tdpW: 1400,
    aliases: ["AMD Instinct MI355X OAM"],
  },
];
