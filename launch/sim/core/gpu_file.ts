/**
 * A {@linkcode GpuProfile} from a YAML file of datasheet figures. Pure: the
 * caller reads the file.
 *
 * ```yaml
 * name: NVIDIA B200              # required
 * memory_gib: 179                # required: total memory as nvidia-smi / torch report it
 * memory_gbps: 8000              # required: peak memory bandwidth, GB/s
 * bf16_tflops: 2250              # required: dense BF16 tensor throughput
 * fp8_tflops: 4500               # dense; 0 or absent: no FP8 tensor cores
 * fp4_tflops: 9000               # dense; absent: none
 * interconnect_gbps: 1800        # NVLink / Infinity Fabric per GPU, both directions; 0: none
 * pcie_gbps: 64                  # host PCIe per direction
 * p2p: true                      # optional: GPUs reach each other over PCIe (CUDA P2P); default true
 * nccl_p2p: true                 # optional: false = NCCL_P2P_DISABLE=1 (NCCL via host memory); default p2p
 * tdp_w: 1000
 * gemm_efficiency: 0.8           # optional, see EFFICIENCY_DEFAULTS
 * ```
 *
 * @module
 */
import { parse } from "yaml";
import { isMapping, Reader } from "../../../lib/schema.ts";
import type { GpuProfile } from "./profiles.ts";

/** Keys a GPU file may hold. */
export const GPU_KEYS = [
  "id",
  "name",
  "aliases",
  "source",
  "memory_gib",
  "memory_gbps",
  "bf16_tflops",
  "fp8_tflops",
  "fp4_tflops",
  "interconnect_gbps",
  "pcie_gbps",
  "p2p",
  "nccl_p2p",
  "tdp_w",
  "gemm_efficiency",
  "attn_efficiency",
  "mem_efficiency",
] as const;

/**
 * Efficiencies a file that gives none gets. ASSUMED, not measured: the middle
 * of the built-in profiles' (H100 0.82 / 0.75 / 0.8, A100 0.75 / 0.72 / 0.8,
 * L40S 0.7 / 0.55 / 0.8). Give the file's own when you have them.
 */
export const EFFICIENCY_DEFAULTS = {
  gemmEfficiency: 0.75,
  attnEfficiency: 0.7,
  memEfficiency: 0.8,
} as const;

/** Host link a file that gives none gets: PCIe 5.0 x16, 64 GB/s per direction (ASSUMED). */
export const PCIE_DEFAULT_GBPS = 64;

/** Parses GPU YAML text; `file` is named in errors and is the profile's id unless the file gives one. */
export function gpuFromYaml(text: string, file: string): GpuProfile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot parse ${file} as YAML: current value is ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (!isMapping(raw)) {
    throw new Reader(file).fail(
      "(top level)",
      raw,
      "a mapping of GPU figures (name, memory_gib, ...)",
      "type",
    );
  }
  const r = Reader.root(file, raw, GPU_KEYS);
  const must = (key: string, max: number) =>
    r.need(r.num(key, 0, max, true), key, `a number in (0, ${max}]`);
  const opt = (key: string, max: number) => r.num(key, 0, max);
  const eff = (key: string) => r.num(key, 0, 1, true);
  const aliases = r.args("aliases");
  const tdpW = opt("tdp_w", 1e5);
  const fp4Tflops = opt("fp4_tflops", 1e6);
  const source = r.str("source");
  const p2p = r.bool("p2p");
  const ncclP2p = r.bool("nccl_p2p");
  return {
    id: r.str("id") ?? file,
    name: r.need(r.str("name"), "name", "a non-empty string", "type"),
    memGiB: must("memory_gib", 1e5),
    memBwGBps: must("memory_gbps", 1e6),
    bf16Tflops: must("bf16_tflops", 1e6),
    fp8Tflops: opt("fp8_tflops", 1e6) ?? 0,
    gemmEfficiency: eff("gemm_efficiency") ?? EFFICIENCY_DEFAULTS.gemmEfficiency,
    attnEfficiency: eff("attn_efficiency") ?? EFFICIENCY_DEFAULTS.attnEfficiency,
    memEfficiency: eff("mem_efficiency") ?? EFFICIENCY_DEFAULTS.memEfficiency,
    nvlinkGBps: opt("interconnect_gbps", 1e6) ?? 0,
    pcieGBps: r.num("pcie_gbps", 0, 1e5, true) ?? PCIE_DEFAULT_GBPS,
    ...(p2p !== undefined ? { p2p } : {}),
    ...(ncclP2p !== undefined ? { ncclP2p } : {}),
    ...(aliases.length ? { aliases } : {}),
    ...(fp4Tflops !== undefined ? { fp4Tflops } : {}),
    ...(tdpW !== undefined ? { tdpW } : {}),
    source: source ?? file,
  };
}
