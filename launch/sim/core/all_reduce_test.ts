import assert from "node:assert/strict";
import {
  allReduceKind,
  type AllReduceLink,
  allReduceMs,
  CUSTOM_AR_MAX_BYTES,
  CUSTOM_AR_PCIE_LATENCY_MS,
  CUSTOM_AR_PCIE_SHARE,
  NCCL_PCIE_HOP_MS,
  NCCL_PCIE_SHARE,
  NCCL_SHM_HOP_MS,
  NCCL_SHM_PCIE_SHARE,
} from "./_all_reduce.ts";
import { CostModel } from "./cost_model.ts";
import { gpuFromYaml } from "./gpu_file.ts";
import { resolveGpu, resolveModel } from "./profiles.ts";

const PCIE5: AllReduceLink = {
  tp: 2,
  nvlinkGBps: 0,
  pcieGBps: 64,
  p2p: true,
  ncclP2p: true,
  customAllReduce: true,
};
const MB = 1e6;

Deno.test("vLLM's choice: custom all-reduce at 2 PCIe GPUs below 8 MiB, else NCCL by transport", () => {
  assert.equal(allReduceKind(PCIE5, 1.3 * MB), "custom-pcie");
  assert.equal(allReduceKind(PCIE5, CUSTOM_AR_MAX_BYTES), "nccl-pcie");
  assert.equal(allReduceKind({ ...PCIE5, customAllReduce: false }, 1.3 * MB), "nccl-pcie");
  // more than two PCIe-only GPUs: vLLM turns the custom all-reduce off
  assert.equal(allReduceKind({ ...PCIE5, tp: 4 }, 1.3 * MB), "nccl-pcie");
  // NCCL_P2P_DISABLE leaves the custom kernel (CUDA IPC) alone, moves NCCL to host memory
  const shm = { ...PCIE5, ncclP2p: false };
  assert.equal(allReduceKind(shm, 1.3 * MB), "custom-pcie");
  assert.equal(allReduceKind(shm, 16 * MB), "nccl-shm");
  assert.equal(allReduceKind({ ...PCIE5, p2p: false }, 1.3 * MB), "nccl-shm");
  assert.equal(allReduceKind({ ...PCIE5, nvlinkGBps: 900, tp: 8 }, 1.3 * MB), "nvlink");
});

Deno.test("each transport follows its textbook form with its own α and β", () => {
  const n = 2 * MB;
  const pcie = 64 * 1e6; // bytes/ms
  assert.equal(
    allReduceMs(PCIE5, n),
    CUSTOM_AR_PCIE_LATENCY_MS + n / (pcie * CUSTOM_AR_PCIE_SHARE),
  );
  // ring: 2 (p − 1) hops of latency, 2 (p − 1) / p of the message each way
  const tp4 = { ...PCIE5, tp: 4 };
  assert.equal(allReduceMs(tp4, n), 6 * NCCL_PCIE_HOP_MS + 1.5 * n / (pcie * NCCL_PCIE_SHARE));
  const shm4 = { ...tp4, ncclP2p: false };
  assert.equal(allReduceMs(shm4, n), 6 * NCCL_SHM_HOP_MS + 1.5 * n / (pcie * NCCL_SHM_PCIE_SHARE));
  // the ring's latency grows with the ranks; host memory is slower than P2P
  const tiny = 8;
  assert.ok(allReduceMs({ ...tp4, tp: 8 }, tiny) > allReduceMs(tp4, tiny));
  assert.ok(allReduceMs(shm4, n) > allReduceMs(tp4, n));
  // NCCL over PCIe 5 at TP 2 costs less than the custom one-shot for decode-sized messages
  assert.ok(
    allReduceMs({ ...PCIE5, customAllReduce: false }, 1.3 * MB) < allReduceMs(PCIE5, 1.3 * MB),
  );
});

Deno.test("the cost model charges NCCL when the custom all-reduce is disabled", () => {
  const gpu = resolveGpu("rtx-pro-6000");
  const model = resolveModel("qwen3-32b");
  const decode = Array.from({ length: 128 }, () => ({ newTokens: 1, contextTokens: 700 }));
  const custom = new CostModel({ gpu, model, tp: 2 }).breakdown(decode).commMs;
  const nccl =
    new CostModel({ gpu, model, tp: 2, customAllReduce: false }).breakdown(decode).commMs;
  // 2 all-reduces a layer of 128 x 5,120 BF16 values
  const bytes = 128 * model.hidden * 2;
  const perLayer = 2 * model.layers;
  assert.ok(Math.abs(custom - perLayer * allReduceMs(PCIE5, bytes)) < 1e-9);
  assert.ok(
    Math.abs(nccl - perLayer * allReduceMs({ ...PCIE5, customAllReduce: false }, bytes)) < 1e-9,
  );
  // NVLink GPUs keep one figure whichever implementation runs
  const h100 = resolveGpu("h100");
  const a = new CostModel({ gpu: h100, model, tp: 2 }).breakdown(decode).commMs;
  const b = new CostModel({ gpu: h100, model, tp: 2, customAllReduce: false }).breakdown(decode);
  assert.equal(a, b.commMs);
});

Deno.test("a GPU file's p2p and nccl_p2p reach the all-reduce; bad values are refused", () => {
  const base = "name: G\nmemory_gib: 48\nmemory_gbps: 696\nbf16_tflops: 150\npcie_gbps: 32\n";
  const g = gpuFromYaml(base + "nccl_p2p: false\n", "g.yaml");
  assert.equal(g.ncclP2p, false);
  assert.equal(g.p2p, undefined);
  assert.equal(gpuFromYaml(base, "g.yaml").ncclP2p, undefined);
  assert.throws(() => gpuFromYaml(base + "p2p: maybe\n", "g.yaml"), /p2p.*true or false/s);
  const model = resolveModel("llama-3.1-8b");
  const prefill = [{ newTokens: 2048, contextTokens: 0 }];
  const p2p = new CostModel({ gpu: gpuFromYaml(base, "a.yaml"), model, tp: 2 });
  const shm = new CostModel({ gpu: g, model, tp: 2 });
  // 16 MiB chunks: NCCL's, through host memory when nccl_p2p is false
  assert.ok(shm.breakdown(prefill).commMs > p2p.breakdown(prefill).commMs);
});
