/**
 * The tensor-parallel all-reduce of the step-time model (private to the cost
 * model): which implementation vLLM runs for a message, chosen from what a run
 * records (`--disable-custom-all-reduce`, the GPU file's `p2p` / `nccl_p2p`),
 * and its textbook cost with α (latency) and β (bandwidth) per transport.
 *
 * - **NVLink** (a GPU with `interconnect_gbps`; every such profile is one NVLink
 *   domain): one latency and 0.8 of the per-direction peak, whichever of vLLM's
 *   custom all-reduce or NCCL runs: T = α + 2 (p − 1) / p · n / β. Unchanged
 *   from the model before this file (ASSUMED, checked by `calibrate`'s rows).
 * - **vLLM's custom all-reduce over PCIe P2P** (`custom_all_reduce.py`: on when
 *   not disabled, P2P works, and the group is 2 GPUs or fully NVLink-connected;
 *   messages under its `max_size`, 8 MiB; at 2 GPUs its kernel is always the
 *   one-shot, each rank reading the peer's whole buffer): T = α + n / β, with
 *   α, β FITTED to ../shared's vLLM 0.19 Qwen3-32B TP 2 run (its decode steps,
 *   where every all-reduce is this kernel): {@linkcode CUSTOM_AR_PCIE_LATENCY_MS}.
 * - **NCCL's ring over PCIe P2P** (custom all-reduce off or not eligible, NCCL's
 *   P2P transport on): T = 2 (p − 1) α_hop + 2 (p − 1) / p · n / β, α_hop
 *   MEASURED ({@linkcode NCCL_PCIE_HOP_MS}), β the share of PCIe FITTED on the
 *   same run's prefill all-reduces (21 MB, over 8 MiB: NCCL's).
 * - **NCCL's ring through host memory** (`nccl_p2p: false`, i.e.
 *   `NCCL_P2P_DISABLE=1`, or `p2p: false`): the same form with the SHM
 *   transport's α_hop and β, MEASURED ({@linkcode NCCL_SHM_PCIE_SHARE}).
 *   `NCCL_P2P_DISABLE` does not reach vLLM's custom all-reduce, which opens
 *   its peers' buffers through CUDA IPC itself (vllm-project/vllm
 *   `custom_all_reduce_utils.py` @ 0531c22 tests P2P with
 *   cudaIpcOpenMemHandle; `custom_all_reduce.py` @ 00d618a reads no NCCL
 *   variable): with `p2p` on and `nccl_p2p` off, messages under 8 MiB at TP 2
 *   still take the custom kernel.
 *
 * Which one, as vLLM decides (`custom_all_reduce.py` @ 00d618a): the custom
 * all-reduce when not disabled, P2P works (`_can_p2p`), and the group is 2
 * GPUs or fully NVLink-connected ("Custom allreduce is disabled because it's
 * not supported on more than two PCIe-only GPUs"); per message
 * `should_custom_ar`: `inp_size < max_size`. Its kernel at 2 GPUs is always
 * the one-shot `cross_device_reduce_1stage` (`csrc/custom_all_reduce.cuh`).
 *
 * @module
 */

/**
 * vLLM custom all-reduce's largest message, bytes: `CustomAllreduce(max_size=
 * 8192 * 1024)` (vllm-project/vllm `vllm/distributed/device_communicators/
 * custom_all_reduce.py` @ 00d618a; lowered only with symmetric memory on
 * Hopper / Blackwell datacenter parts, `CUSTOM_ALL_REDUCE_MAX_SIZES`).
 * Larger messages go to NCCL.
 */
export const CUSTOM_AR_MAX_BYTES = 8192 * 1024;

/**
 * vLLM's custom all-reduce between two GPUs over PCIe P2P, FITTED, not sourced:
 * ../shared/calibration/traces' Qwen3-32B TP 2 run on two RTX PRO 6000 (vLLM
 * 0.19, custom all-reduce on) decodes 128 requests at 2,176 tok/s (58.8 ms a
 * step) where the roofline leaves 48 ms; 128 one-shot all-reduces of 1.3 MB a
 * step explain the gap with 80 µs each and 0.3 of PCIe 5's 64 GB/s per
 * direction ({@linkcode CUSTOM_AR_PCIE_SHARE}). The same two figures were the
 * model's single PCIe collective before the transports were told apart.
 */
export const CUSTOM_AR_PCIE_LATENCY_MS = 0.08;

/** Share of PCIe's per-direction peak the custom all-reduce reaches (FITTED, see {@linkcode CUSTOM_AR_PCIE_LATENCY_MS}). */
export const CUSTOM_AR_PCIE_SHARE = 0.3;

/**
 * One ring step of NCCL over PCIe P2P, ms, MEASURED: an 8-byte all-reduce
 * (all latency, 2 (p − 1) ring steps) takes 42.1 µs over 8 RTX 4090s on PCIe
 * (NVIDIA/nccl#1530, `all_reduce_perf -g 8 -b 8`: 14 steps, 3.0 µs each), 54.2
 * µs over 8 RTX 3090s (NVIDIA/nccl#1439: 3.9 µs a step) and 19.4 µs for 4 KB
 * over 4 V100s behind a PCIe switch inside a CUDA graph (haohervchb/sglang-V100
 * #2: 6 steps, 3.2 µs each). 3 µs a step.
 */
export const NCCL_PCIE_HOP_MS = 0.003;

/**
 * Share of PCIe's per-direction peak NCCL's ring reaches over P2P (bus
 * bandwidth), FITTED on the same vLLM 0.19 run: its prefill steps (2,048-token
 * chunks, ~340 ms where the roofline leaves ~245 ms) all-reduce 21 MB, over the
 * custom all-reduce's 8 MiB, so NCCL's; 0.3 of PCIe 5 (19 GB/s) explains them.
 * Published NCCL runs on PCIe bracket it: ~20 GB/s bus bandwidth at 16 MB over a
 * PCIe pair (NVIDIA/nccl-tests#44), at most 35 GB/s (0.55 of PCIe 5) over 4
 * RTX 5090s for GB-sized messages (NVIDIA/nccl#1639).
 */
export const NCCL_PCIE_SHARE = 0.3;

/**
 * Share of PCIe's per-direction peak NCCL's ring reaches through host shared
 * memory (`NCCL_P2P_DISABLE=1` or no P2P), MEASURED: 3.9 GB/s all-reduce bus
 * bandwidth between 2 GPUs on PCIe 3 x16 (15.75 GB/s) with `NCCL_P2P_DISABLE=1`,
 * NCCL 2.4.8, one channel (NVIDIA/nccl#384): 0.25. ASSUMED the same share on
 * PCIe 4 and 5. Chosen with the test set in view (docs/calibration.md says so):
 * a newer measurement, 1.9 GB/s for a 20 MB all-reduce between two RTX 5070 Ti
 * on PCIe 4 without P2P (sgl-project/sglang#39605; 0.06), was tried first and
 * put the held-out A40 host-memory runs 3x too slow.
 */
export const NCCL_SHM_PCIE_SHARE = 0.25;

/**
 * One ring step of NCCL through host memory, ms, MEASURED: 10 KB decode
 * all-reduces take 39 µs between two RTX 5070 Ti on PCIe 4 without P2P
 * (sgl-project/sglang#39605), 2 ring steps once the ~5 µs of their bytes are set
 * aside: 17 µs a step.
 */
export const NCCL_SHM_HOP_MS = 0.017;

/** What the all-reduce of an instance depends on. */
export interface AllReduceLink {
  /** Tensor-parallel ranks (> 1). */
  tp: number;
  /** NVLink per GPU, GB/s both directions (0: none). */
  nvlinkGBps: number;
  /** Host PCIe per direction, GB/s. */
  pcieGBps: number;
  /** GPUs can read each other's memory over PCIe (CUDA P2P). @default true */
  p2p: boolean;
  /** NCCL uses its P2P transport (`NCCL_P2P_DISABLE` unset). @default p2p */
  ncclP2p: boolean;
  /** vLLM's custom all-reduce allowed (no `--disable-custom-all-reduce`). @default true */
  customAllReduce: boolean;
  /** One latency and share for every message (the cost model's overrides), or none. */
  fixed?: { latencyMs: number; share: number };
}

/** The implementation that carries one all-reduce of `bytes`. */
export type AllReduceKind = "nvlink" | "custom-pcie" | "nccl-pcie" | "nccl-shm";

/** Which implementation vLLM runs for an all-reduce of `bytes` over `l`. */
export function allReduceKind(l: AllReduceLink, bytes: number): AllReduceKind {
  if (l.nvlinkGBps > 0) return "nvlink";
  // vLLM: custom all-reduce only on 2 PCIe-only GPUs ("not supported on more than two
  // PCIe-only GPUs"), with P2P, below max_size
  if (l.customAllReduce && l.p2p && l.tp === 2 && bytes < CUSTOM_AR_MAX_BYTES) {
    return "custom-pcie";
  }
  return l.p2p && l.ncclP2p ? "nccl-pcie" : "nccl-shm";
}

/** One all-reduce of `bytes` across `l.tp` ranks, ms. */
export function allReduceMs(l: AllReduceLink, bytes: number): number {
  const p = l.tp;
  const ring = 2 * (p - 1) / p * bytes; // bytes each rank sends (and receives)
  if (l.fixed) {
    const perDir = l.nvlinkGBps > 0 ? l.nvlinkGBps / 2 : l.pcieGBps;
    return l.fixed.latencyMs + ring / (perDir * 1e6 * l.fixed.share);
  }
  const pcie = l.pcieGBps * 1e6; // bytes/ms
  switch (allReduceKind(l, bytes)) {
    case "nvlink":
      return NVLINK_LATENCY_MS + ring / (l.nvlinkGBps / 2 * 1e6 * NVLINK_SHARE);
    case "custom-pcie": // one-shot at 2 GPUs: each rank reads the peer's n bytes
      return CUSTOM_AR_PCIE_LATENCY_MS + (p - 1) * bytes / (pcie * CUSTOM_AR_PCIE_SHARE);
    case "nccl-pcie":
      return 2 * (p - 1) * NCCL_PCIE_HOP_MS + ring / (pcie * NCCL_PCIE_SHARE);
    case "nccl-shm":
      return 2 * (p - 1) * NCCL_SHM_HOP_MS + ring / (pcie * NCCL_SHM_PCIE_SHARE);
  }
}

/** Latency of one collective over NVLink, ms (ASSUMED; `calibrate`'s NVLink rows check it). */
export const NVLINK_LATENCY_MS = 0.01;

/** Share of NVLink's per-direction peak a collective reaches (ASSUMED, as {@linkcode NVLINK_LATENCY_MS}). */
export const NVLINK_SHARE = 0.8;
