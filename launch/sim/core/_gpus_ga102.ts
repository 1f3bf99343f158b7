/**
 * GPU profiles of NVIDIA's professional GA102 (Ampere, compute capability 8.6)
 * boards, each with its sources. Figures are per GPU and dense (no 2:4
 * sparsity). These boards run FP16/BF16 tensor math with FP32 accumulate at the
 * full rate (unlike the GeForce parts of `_gpus_geforce.ts`), and have no FP8
 * tensor cores.
 *
 * @module
 */
import type { GpuProfile } from "./profiles.ts";

// The a40 profile's efficiencies, carried (ASSUMED) to the other GA102 boards below: GEMM
// 0.74 and memory 0.94 MEASURED on an A40, attention 0.55 ASSUMED (see the a40 profile).
const FROM_A40 = { gemmEfficiency: 0.74, attnEfficiency: 0.55, memEfficiency: 0.94 };

/** A40, RTX A6000, A10G. */
export const GA102_GPUS: readonly GpuProfile[] = [
  // NVIDIA A40 (GA102, 84 SMs, 48 GB GDDR6 with ECC, 384-bit at 14.5 Gbps = 696 GB/s,
  // passive, 300 W). Datasheet figures as transcribed at hmc-tech.com/gpu/nvidia-a100-vs-
  // nvidia-a40: BF16 tensor 149.67 TFLOPS dense (299.34 sparse), FP16 tensor with FP32
  // accumulate 149.67 dense (the full rate); and at relationship-nepal.org/900-2g133-0000-
  // 000.html (the datasheet table of part 900-2G133-0000-000): 696 GB/s, "NVIDIA NVLink
  // 112.5 GB/s (bidirectional)" (a bridge between two boards), PCI Express 4.0 x16, 300 W.
  {
    id: "a40",
    name: "NVIDIA A40",
    // ASSUMED: 46,068 MiB, what nvidia-smi reports for the 48 GB GDDR6 ECC boards of this
    // class (the l40s profile's figure); no torch or nvidia-smi total of an A40 was at hand.
    memGiB: 44.99,
    memBwGBps: 696,
    bf16Tflops: 149.7,
    fp8Tflops: 0,
    // MEASURED: torch.matmul in BF16 on an A40 (cuBLAS, torch 2.11 cu128) reaches 95.47 /
    // 115.16 / 110.64 / 122.29 TFLOPS at 2048 / 4096 / 8192 / 10240 squares
    // (zzc0721/torch-performance-test-data#185, the rtx-4090 profile's source and sizes):
    // mean 110.9 / 149.7 = 0.74 (the 300 W board holds clocks below its 1,740 MHz boost).
    // Not fitted to the A40 runs in fixtures/validate/heldout (a held-out test set).
    gemmEfficiency: 0.74,
    // ASSUMED 0.55 like l40s and rtx-4090: GA102 has the 100 KB of shared memory per SM of
    // those parts (sm_86 / sm_89), not the 164 KB of the A100's sm_80 FlashAttention tiles.
    attnEfficiency: 0.55,
    // MEASURED: te42kyfo/gpu-benches gpu-stream/a40.txt @0a45416, the scale kernel (one
    // read, one write stream, as for l40s) at its median over occupancies of 25-100%:
    // 654 GB/s = 0.94 of 696 (triad 0.94, read-only 679 = 0.98).
    memEfficiency: 0.94,
    nvlinkGBps: 112.5, // the two-board bridge; a box of more boards joins the pairs over PCIe
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 300,
    aliases: ["a40-48gb", "NVIDIA A40"],
  },
  // NVIDIA RTX A6000 (GA102, 84 SMs, 48 GB GDDR6 with ECC, 384-bit, 300 W, active cooling):
  // servethehome.com/nvidia-rtx-a6000-48gb-gpu-drops-quadro-designation (NVIDIA's spec table:
  // "Memory Bandwidth 768 GB/s", "Max Power Consumption 300W", "PCI Express 4.0 x16",
  // "NVLink Interconnect 112.5 GB/s (bidirectional)", 2 boards); BF16/FP16 tensor 154.8 TFLOPS
  // dense, 309.7 with sparsity: llmperf.net/categories/gpu/Nvidia-A6000-GPUs (citing Microway's
  // Ampere comparison). nvidia-smi prints 49,140 MiB (public run logs found by "49140MiB").
  {
    id: "rtx-a6000",
    assumed: "its efficiencies (carried from a40)",
    name: "NVIDIA RTX A6000",
    memGiB: 47.99, // 49,140 MiB
    memBwGBps: 768,
    bf16Tflops: 154.8,
    fp8Tflops: 0,
    ...FROM_A40, // ASSUMED, carried from a40 (the same GA102 at the same 300 W)
    nvlinkGBps: 112.5, // the two-board bridge
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 300,
    aliases: ["rtxa6000", "a6000", "NVIDIA RTX A6000"],
  },
  // NVIDIA A10G (GA102, AWS G5 instances only): 24 GB GDDR6 at 600 GB/s, the A10's memory
  // (baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference: "The A10 and A10G share the
  // same GPU memory stats: 24 gigabytes of GDDR6 VRAM with a memory bandwidth of 600
  // gigabytes per second"; "the A10 prioritizes tensor compute"). NVIDIA and AWS publish no
  // A10G tensor figure in the searchable sources. nvidia-smi prints 23,028 MiB and a 300 W
  // cap on G5 instances (public run logs found by the string "23028MiB").
  {
    id: "a10g",
    assumed:
      "its efficiencies (carried from a40) and its compute peak (the A10's datasheet figure: an upper bound)",
    name: "NVIDIA A10G",
    memGiB: 22.49, // 23,028 MiB
    memBwGBps: 600,
    // ASSUMED: the A10 datasheet's 125 TFLOPS BF16 dense (250 with sparsity; 72 SMs at 1,695
    // MHz, sysrqmts.com's A10 PCIe table), an upper bound: the A10G's tensor rate is lower
    // per baseten's comparison and no figure for it was found.
    bf16Tflops: 125,
    fp8Tflops: 0,
    ...FROM_A40, // ASSUMED, carried from a40
    nvlinkGBps: 0,
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 300, // the power cap nvidia-smi prints on G5 instances (the A10 board is 150 W)
    aliases: ["nvidia-a10g", "NVIDIA A10G"],
  },
];
