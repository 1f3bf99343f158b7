/**
 * GPU profiles of NVIDIA's datacenter Ada Lovelace boards besides the L40S
 * (`profiles.ts`), each with its sources. Figures are per GPU and dense (no
 * 2:4 sparsity). No vLLM run on these boards was at hand: every efficiency is
 * ASSUMED, carried from the l40s profile (a datacenter Ada board with GDDR6 at
 * a fixed power limit), never fitted to a run. Each `aliases` list holds the
 * name torch reports (meta.json's `hardware.device_name`).
 *
 * @module
 */
import type { GpuProfile } from "./profiles.ts";

/** L4. */
export const ADA_GPUS: readonly GpuProfile[] = [
  // NVIDIA L4 (AD104, 72 W, single slot): yobitel.com/knowledge-base/nvidia-l4 ("24 GB GDDR6
  // at 300 GB/s, 121 TFLOPS BF16 (242 sparse), 242 TFLOPS FP8 (485 sparse)"); the datasheet's
  // 485 FP8/INT8 with sparsity, 242 FP16 with sparsity, 72 W: grokipedia.com/page/
  // NVIDIA_L4_vs_L40S; PCIe 4.0 x16: store.sourcecode.com (NVIDIA L4 listing). nvidia-smi
  // prints 23,034 MiB and a 72 W cap (public run logs found by the string "23034MiB").
  {
    id: "l4",
    assumed: "its efficiencies (carried from l40s)",
    name: "NVIDIA L4 24GB",
    memGiB: 22.49, // 23,034 MiB
    memBwGBps: 300,
    bf16Tflops: 121,
    fp8Tflops: 242,
    // ASSUMED, carried from l40s (its GEMM and attention shares are themselves ASSUMED; its
    // memory share 0.9 is MEASURED on the GDDR6 L40)
    gemmEfficiency: 0.7,
    attnEfficiency: 0.55,
    memEfficiency: 0.9,
    nvlinkGBps: 0,
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 72,
    aliases: ["nvidia-l4", "NVIDIA L4"],
  },
];
