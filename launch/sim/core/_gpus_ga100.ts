/**
 * GPU profiles of NVIDIA's A100 PCIe boards (Ampere GA100, compute capability
 * 8.0), each with its sources. The same die, clocks and tensor throughput as
 * the SXM4 parts of `profiles.ts` (312 TFLOPS BF16 dense), at a lower power
 * limit, with an NVLink bridge between two boards. No FP8 tensor cores. No
 * vLLM run on these boards was at hand: every efficiency is ASSUMED, carried
 * from the a100 profile, never fitted to a run. Each `aliases` list holds the
 * name torch reports (meta.json's `hardware.device_name`).
 *
 * @module
 */
import type { GpuProfile } from "./profiles.ts";
import { FROM_A100 } from "./_gpus_2025.ts";

// thundercompute.com/blog/nvidia-a100-specs-full-guide, "A100 Specifications" table:
// A100 PCIe 40GB / 80GB: 40GB HBM2 / 80GB HBM2e, 1,555 / 1,935 GB/s, TDP 250 W / 300 W,
// PCIe 4.0 x16, 432 tensor cores at 1,410 MHz boost (as the SXM parts: 312 TFLOPS BF16
// dense, glennklockwood.com/garden/processors/A100 from NVIDIA's A100 datasheet). NVLink
// bridge between two PCIe boards, 600 GB/s: llmperf.net/categories/gpu/Nvidia-A100-GPUs
// (citing Lenovo's A100 PCIe product guide: "PCIe versions can be bridged in pairs via
// NVLink"), docslib.org/doc/3015592/a100-40gb-pcie-product-brief (its "NVLink Bridge
// Support" section).

/** A100 80GB PCIe, A100 40GB PCIe. */
export const GA100_PCIE_GPUS: readonly GpuProfile[] = [
  {
    id: "a100-80gb-pcie",
    assumed: "its efficiencies (carried from a100) and its memory total (the SXM part's)",
    name: "NVIDIA A100 80GB PCIe",
    memGiB: 80, // ASSUMED: 81,920 MiB like the a100 (SXM4 80GB) profile, the same HBM2e
    memBwGBps: 1935,
    bf16Tflops: 312,
    fp8Tflops: 0,
    ...FROM_A100, // ASSUMED, carried from a100
    nvlinkGBps: 600,
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 300,
    aliases: ["a100-pcie-80gb", "NVIDIA A100 80GB PCIe"],
  },
  {
    id: "a100-40gb-pcie",
    assumed: "its efficiencies (carried from a100) and its memory total (the SXM part's)",
    name: "NVIDIA A100 40GB PCIe",
    memGiB: 40, // ASSUMED: 40,960 MiB like the a100-40gb (SXM4) profile
    memBwGBps: 1555,
    bf16Tflops: 312,
    fp8Tflops: 0,
    ...FROM_A100, // ASSUMED, carried from a100
    nvlinkGBps: 600,
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 250,
    aliases: ["a100-pcie-40gb", "NVIDIA A100-PCIE-40GB"],
  },
];
