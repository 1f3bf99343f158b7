/**
 * GPU profiles of NVIDIA's other Hopper (GH100) boards: H100 PCIe, H100 NVL,
 * H200 NVL and H800, each with its sources. Figures are per GPU and dense (no
 * 2:4 sparsity; NVIDIA's datasheets print the sparse figure, twice the dense
 * one). No vLLM run on these boards was at hand: every efficiency is ASSUMED,
 * carried from the h100 profile (the same GH100 die, cuBLAS and
 * FlashAttention-3 kernels, HBM), never fitted to a run. Each `aliases` list
 * holds the name torch reports (`torch.cuda.get_device_name()`, which is
 * meta.json's `hardware.device_name`).
 *
 * @module
 */
import type { GpuProfile } from "./profiles.ts";
import { FROM_H100 } from "./_gpus_2025.ts";

/** H100 PCIe, H100 NVL, H200 NVL, H800. */
export const HOPPER_GPUS: readonly GpuProfile[] = [
  // NVIDIA H100 PCIe (114 SMs, 80 GB HBM2e, 350 W): NVIDIA H100 PCIe product brief
  // PB-11133-001_v02 as published at manuals.plus/m/56b0c3ef7d0a1c470c0af8f05a0bd1f29a77800747
  // 2ba941201fbbb185c9bccd ("maximum thermal design power (TDP) level of 350 W", "memory
  // bandwidth greater than 2,000 gigabytes per second", "PCI Express Gen5 card"; also
  // thundercompute.com/blog/nvidia-h100-specs-full-guide).
  {
    id: "h100-pcie",
    assumed:
      "its efficiencies (carried from h100), its memory total (the SXM part's), its compute peaks and NVLink (NVIDIA's datasheet as recalled, not re-read)",
    name: "NVIDIA H100 PCIe 80GB",
    // ASSUMED: 81,559 MiB like the SXM5 part's 80 GB of HBM (nvidia-smi's total of a PCIe
    // board was not found in the searchable sources).
    memGiB: 79.65,
    memBwGBps: 2000,
    // UNVERIFIED: the H100 datasheet's PCIe column (BF16 1,513 / FP8 3,026 TFLOPS with
    // sparsity, halved here) as recalled; the datasheet page itself was not found in the
    // searchable sources. 114 of the SXM's 132 SMs at a lower clock: 0.76 of its 989.
    bf16Tflops: 756,
    fp8Tflops: 1513,
    ...FROM_H100, // ASSUMED, carried from h100
    nvlinkGBps: 600, // NVLink bridge between two boards (datasheet; UNVERIFIED, as above)
    pcieGBps: 64, // PCIe 5.0 x16, per direction
    tdpW: 350,
    aliases: ["h100pcie", "NVIDIA H100 PCIe"],
  },
  // NVIDIA H100 NVL (per GPU of the NVLink-bridged pair, 94 GB HBM3 at 3.9 TB/s):
  // thundercompute.com/blog/nvidia-h100-specs-full-guide ("94 GB HBM3 per GPU at 3.9 TB/s");
  // 350-400 W configurable: gpu.blog/gpus/nvidia-h100-nvl; nvidia-smi prints a 400 W cap and
  // 95,830 MiB on these boards (public run logs found by the string "95830MiB").
  {
    id: "h100-nvl",
    assumed:
      "its efficiencies (carried from h100), its compute peaks and NVLink (NVIDIA's datasheet as recalled, not re-read)",
    name: "NVIDIA H100 NVL 94GB",
    memGiB: 93.58, // 95,830 MiB as nvidia-smi prints it
    memBwGBps: 3900,
    // UNVERIFIED: the H100 datasheet's NVL column (BF16 1,671 / FP8 3,341 TFLOPS with
    // sparsity, halved here) as recalled; the page was not found in the searchable sources.
    bf16Tflops: 835,
    fp8Tflops: 1671,
    ...FROM_H100, // ASSUMED, carried from h100
    nvlinkGBps: 600, // the NVLink bridge of the pair (datasheet; UNVERIFIED, as above)
    pcieGBps: 64, // PCIe 5.0 x16, per direction
    tdpW: 400,
    aliases: ["h100nvl", "NVIDIA H100 NVL"],
  },
  // NVIDIA H200 NVL (PCIe board, 141 GB HBM3e at 4.8 TB/s, up to 600 W):
  // saulelectric.com/nvidia-h200.html ("141GB HBM3e", "4.8 TB/s", "600W (PCIe version)",
  // "PCIe Gen5: 128GB/s"); NVLink bridges of 2 or 4 boards at 900 GB/s per GPU:
  // uvation.com/articles/category/datacenter (H200 "4-way NVLink domain").
  {
    id: "h200-nvl",
    assumed:
      "its efficiencies (carried from h100), its memory total (the SXM part's), its compute peaks (NVIDIA's datasheet as recalled, not re-read)",
    name: "NVIDIA H200 NVL 141GB",
    // ASSUMED: 143,771 MiB like the h200 (SXM) profile: the same 141 GB of HBM3e
    memGiB: 140.4,
    memBwGBps: 4800,
    // UNVERIFIED: the H200 datasheet's NVL column (BF16 1,671 / FP8 3,341 TFLOPS with
    // sparsity, halved here; the H100 NVL's clocks) as recalled; page not found here.
    bf16Tflops: 835,
    fp8Tflops: 1671,
    ...FROM_H100, // ASSUMED, carried from h100
    nvlinkGBps: 900,
    pcieGBps: 64, // PCIe 5.0 x16, per direction
    tdpW: 600,
    aliases: ["h200nvl", "NVIDIA H200 NVL"],
  },
  // NVIDIA H800 (SXM5, the export variant of the H100 SXM5): the same GH100 die, HBM3 and
  // tensor throughput, NVLink cut to 400 GB/s (900 on the H100) and FP64 cut:
  // philisun.com/technical-analysis/nvidia-h800-vs-h100-a-technical-deep-dive-into-
  // politically-defined-ai-chips ("3.35 TB/s ... largely consistent", "NVLink bandwidth is
  // severely reduced to only 400 GB/s"); aiwiki.ai/wiki/nvidia_h800 (the same GH100 silicon).
  {
    id: "h800",
    assumed: "its efficiencies (carried from h100), its memory total and power (the H100 SXM's)",
    name: "NVIDIA H800 SXM5 80GB",
    memGiB: 79.65, // ASSUMED: the H100 SXM5's 81,559 MiB (the same 80 GB of HBM3)
    memBwGBps: 3350,
    bf16Tflops: 989, // the H100 SXM5's (same die and tensor throughput)
    fp8Tflops: 1979,
    ...FROM_H100, // ASSUMED, carried from h100
    nvlinkGBps: 400,
    pcieGBps: 64, // PCIe 5.0 x16, per direction
    tdpW: 700, // ASSUMED: the H100 SXM5's; no vendor figure for the H800 was found
    aliases: ["h800-sxm", "NVIDIA H800"],
  },
];
