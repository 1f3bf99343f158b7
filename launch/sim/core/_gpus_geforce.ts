/**
 * GPU profiles of consumer (GeForce) cards that people serve LLMs on, each
 * with its sources. Figures are per GPU and dense (no 2:4 sparsity). GeForce
 * parts run FP32-accumulate tensor math at half the FP16-accumulate rate, so
 * the BF16 and FP8 figures here are the FP32-accumulate ones: BF16 has no
 * FP16-accumulate mode, and vLLM's BF16 and FP8 GEMMs accumulate in FP32.
 *
 * @module
 */
import type { GpuProfile } from "./profiles.ts";

/** RTX 4090, RTX 5090. */
export const GEFORCE_GPUS: readonly GpuProfile[] = [
  // NVIDIA GeForce RTX 4090 (AD102, 128 SMs, compute capability 8.9). NVIDIA Ada GPU
  // Architecture whitepaper v2.02, Appendix A, Table 2 (images.nvidia.com/aem-dam/Solutions/
  // Data-Center/l4/nvidia-ada-gpu-architecture-whitepaper-V2.02.pdf, linked from
  // azhirnov/cpu-gpu-arch gpu/NVidia-Ada.md @a09114b): 24 GB GDDR6X, 384-bit at 21 Gbps =
  // 1,008 GB/s; "Peak BF16 Tensor TFLOPS with FP32 Accumulate 165.2/330.4" (dense/sparse),
  // FP16 with FP16 accumulate 330.3 dense; FP8 with FP32 accumulate 330.3 dense (660.6 with
  // FP16 accumulate); TGP 450 W. BF16 165.2 dense as transcribed at gigagpu.com/?p=34220 and
  // waredb.com/processor/nvidia-geforce-rtx-4090 (which also gives FP8 330.30 dense). Host link PCIe 4.0 x16
  // (techpowerup.com/review/nvidia-geforce-rtx-4090-pci-express-scaling: "its native PCIe
  // setting of PCI-Express 4.0 x16"); no NVLink on any Ada GeForce (geekinco.com/2022/09/
  // nvlink-support-has-disappeared-on-rtx.html). Memory: torch reports 25,250,627,584 bytes
  // (23.52 GiB) in LLMServingSim's RTX 4090 vLLM run (casys-kaist/LLMServingSim
  // bench/examples/RTX4090/Llama-3.1-8B/vllm/meta.json @5daddb2, `hardware`), the total
  // vLLM budgets its gpu_memory_utilization against.
  {
    id: "rtx-4090",
    name: "NVIDIA GeForce RTX 4090",
    memGiB: 23.52,
    memBwGBps: 1008,
    // the FP32-accumulate figure (see the module note), half the 330.3 FP16-accumulate one.
    // Measured: torch.matmul in BF16 on an RTX 4090 (cuBLAS, FP32 accumulate) reaches
    // 164.8 / 151.5 / 160.2 / 158.5 TFLOPS at 2048 / 4096 / 8192 / 10240 squares
    // (zzc0721/torch-performance-test-data#78, torch 2.7 cu128), FP16 167.1 / 158.6 at
    // 2048 / 8192 (mli/transformers-benchmarks#4): at the 165.2 figure, never near 330.
    bf16Tflops: 165.2,
    fp8Tflops: 330.3,
    // MEASURED, those four BF16 sizes' mean 158.8 / 165.2 = 0.96 (boost clocks above the
    // datasheet's 2,520 MHz carry large GEMMs to the FP32-accumulate peak). Not fitted to
    // the RTX 4090 run in fixtures/validate/heldout (a held-out test set).
    gemmEfficiency: 0.96,
    // ASSUMED, carried from the l40s profile (the same AD102 die); no FlashAttention
    // figure for this card with vLLM's shapes was found.
    attnEfficiency: 0.55,
    // MEASURED: a 1 GB device-to-device copy kernel moves 921.9 GB/s (float4; 904-922 over
    // vector widths) on an RTX 4090: xytpai/nvbench README @017724f, "global_memory_bandwidth"
    // (standard/global_memory_bandwidth.cu: read + write counted). 921.9 / 1,008 = 0.915. The
    // same code gives 0.887 of an A100-40GB's 1,555 GB/s; te42kyfo/gpu-benches' stream kernels
    // give GDDR6 (L40, gpu-stream/l40.txt @0a45416) 0.90 / 0.93 of peak in scale / triad, and
    // HBM2(e) 0.84-0.90 (A100-40 gpu-stream/a100_40.txt @a7dc559, H100 PCIe cuda-stream/
    // h100_pcie.txt @cdcc732): GDDR cards stream a few points closer to their peak than HBM. A decode step's weight reads are such a stream (the step's fixed cost is
    // stepOverheadMs). Not fitted to the held-out RTX 4090 run.
    memEfficiency: 0.915,
    nvlinkGBps: 0,
    pcieGBps: 32, // PCIe 4.0 x16, per direction
    tdpW: 450,
    aliases: ["rtx4090", "geforce-rtx-4090", "RTX 4090"],
  },
  // NVIDIA GeForce RTX 5090 (GB202, 170 SMs, compute capability 12.0, 575 W): 32 GB GDDR7,
  // 512-bit at 28 Gbps = 1,792 GB/s, "838 FP16" and "3,352 FP8/4" TFLOPS with sparsity and
  // FP16 accumulate (pocketmags.com/linux-format-magazine/may-2025/articles/nvidia-geforce-
  // rtx-5090; spheron.network/blog/nvidia-rtx-5090-specs: FP16 838.4 and FP8 1,676.8 with
  // sparsity, PCIe Gen 5 x16, TDP 575 W). nvidia-smi prints 32,607 MiB (public run logs found
  // by the string "32607MiB"). No NVLink on GeForce Blackwell.
  {
    id: "rtx-5090",
    assumed:
      "its efficiencies (carried from rtx-pro-6000) and its dense BF16 and FP8 peaks (half the published sparse ones)",
    name: "NVIDIA GeForce RTX 5090",
    memGiB: 31.84, // 32,607 MiB
    memBwGBps: 1792,
    // derived, as for rtx-4090 (the module note): 838.4 sparse / 2 = 419.2 dense with FP16
    // accumulate, halved again for FP32 accumulate on GeForce = 209.6; FP8 1,676.8 / 2 / 2 =
    // 419.2. ASSUMED: the GeForce half rate for FP32 accumulate holds on Blackwell as on Ada.
    bf16Tflops: 209.6,
    fp8Tflops: 419.2,
    // ASSUMED, carried from rtx-pro-6000 (the same GB202 die and GDDR7; its GEMM and attention
    // shares are themselves ASSUMED and its memory share 0.8 is checked on real runs)
    gemmEfficiency: 0.7,
    attnEfficiency: 0.55,
    memEfficiency: 0.8,
    nvlinkGBps: 0,
    pcieGBps: 64, // PCIe 5.0 x16, per direction
    tdpW: 575,
    aliases: ["rtx5090", "geforce-rtx-5090", "RTX 5090"],
  },
];
