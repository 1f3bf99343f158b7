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

/** A40. */
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
];
