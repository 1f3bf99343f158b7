import assert from "node:assert/strict";
import { folderGpuOf, gpuToSimulate, recordedGpuOf } from "./gpu.ts";

/** The profile a recording with these names gets, or the error's message. */
function picked(dir: string, gpuName?: string, realGpu?: string): string {
  const { gpu } = recordedGpuOf(
    { dir, format: "trace-folder", ...(gpuName ? { gpuName } : {}) },
    realGpu,
  );
  try {
    return gpuToSimulate(undefined, gpu, dir);
  } catch (e) {
    return (e as Error).message;
  }
}

Deno.test("gpu: torch's device names (meta.json hardware.device_name) pick their profiles", () => {
  // the names torch.cuda.get_device_name() / nvidia-smi print for these parts
  const cases: [string, string][] = [
    ["NVIDIA H100 80GB HBM3", "h100"],
    ["NVIDIA H200", "h200"],
    ["NVIDIA B200", "b200"],
    ["NVIDIA A100-SXM4-80GB", "a100"],
    ["NVIDIA A100-SXM4-40GB", "a100-40gb"],
    ["NVIDIA L40S", "l40s"],
    ["NVIDIA GeForce RTX 4090", "rtx-4090"],
    ["NVIDIA A40", "a40"],
    ["NVIDIA RTX PRO 6000 Blackwell Server Edition", "rtx-pro-6000"],
    ["AMD Instinct MI300X", "mi300x"],
    // GB200 as torch prints it (sgl-project/sglang#11208's environment dump: "GPU 0,1,2,3:
    // NVIDIA GB200")
    ["NVIDIA GB200", "gb200"],
    // launch/sim/core/_gpus_hopper.ts, _gpus_ga100.ts, _gpus_ga102.ts, _gpus_ada.ts, _gpus_geforce.ts
    ["NVIDIA H100 PCIe", "h100-pcie"],
    ["NVIDIA H100 NVL", "h100-nvl"],
    ["NVIDIA H200 NVL", "h200-nvl"],
    ["NVIDIA H800", "h800"],
    ["NVIDIA A100 80GB PCIe", "a100-80gb-pcie"],
    ["NVIDIA A100-PCIE-40GB", "a100-40gb-pcie"],
    ["NVIDIA RTX A6000", "rtx-a6000"],
    ["NVIDIA A10G", "a10g"],
    ["NVIDIA L4", "l4"],
    ["NVIDIA GeForce RTX 5090", "rtx-5090"],
  ];
  for (const [name, id] of cases) assert.equal(picked("/runs/vllm", name), id, name);
});

Deno.test("gpu: a part without a profile is refused naming --gpu, the ids and the YAML fields, never a neighbour", () => {
  // other parts of the same families have other figures: none may fall back to a profile
  for (
    const name of [
      "NVIDIA H800 PCIe",
      "NVIDIA A10",
      "NVIDIA GeForce RTX 3090",
      "Tesla V100-SXM2-32GB",
      "NVIDIA RTX 6000 Ada Generation",
      "NVIDIA GeForce RTX 5080",
      "NVIDIA L40",
    ]
  ) {
    const m = picked("/runs/RTX4090_x", name);
    assert.match(
      m,
      /^Cannot use the recorded GPU of \/runs\/RTX4090_x \(meta\.json hardware\.device_name\) as a GPU profile: current value is "[^"]+", which no profile names; allowed: --gpu <id> with one of h100 \(NVIDIA H100 SXM5 80GB HBM3\), /,
      name,
    );
    assert.match(
      m,
      /or --gpu <file\.yaml> with the GPU's datasheet figures \(required: name, memory_gib, memory_gbps, bf16_tflops; .*example: fixtures\/gpus\/b200\.yaml\)$/,
    );
  }
});

Deno.test("gpu: the folder name counts only when it names a profile; --real-gpu and --gpu win", () => {
  assert.equal(folderGpuOf("/x/RTXPRO6000_Llama-3.1-8B/"), "RTXPRO6000");
  assert.equal(folderGpuOf("/x/vllm"), null);
  assert.equal(picked("/x/RTXPRO6000_Llama-3.1-8B"), "rtx-pro-6000");
  assert.equal(picked("/x/H100-SXM_Llama"), "h100"); // punctuation and case ignored
  assert.equal(picked("/x/A10G_Llama-3.1-8B"), "a10g");
  assert.match(
    picked("/x/T4_Llama-3.1-8B"),
    /^Cannot tell which GPU \/x\/T4_Llama-3\.1-8B was recorded on: current value is no GPU name \(no --real-gpu; no meta\.json hardware\.device_name; the folder name's part before '_', "T4", names no GPU profile\); allowed: --gpu <id>/,
  );
  assert.match(picked("/x/vllm"), /no GPU profile before '_' in the folder's name/);
  // LLMServingSim's own layout: bench/examples/<GPU>/<model>/vllm/
  assert.equal(picked("/b/examples/RTXPRO6000/Qwen3-32B/vllm"), "rtx-pro-6000");
  assert.equal(picked("/b/examples/RTX4090/Llama-3.1-8B/vllm"), "rtx-4090");
  assert.throws(() => gpuToSimulate(undefined, null, "/x/H100_b.json", false), {
    message:
      /^Cannot tell which GPU \/x\/H100_b\.json was recorded on: current value is no GPU name \(no --real-gpu; the file records none\); allowed: --gpu <id>/,
  });
  assert.equal(picked("/x/vllm", undefined, "H200"), "h200");
  assert.equal(
    gpuToSimulate("fixtures/gpus/b200.yaml", null, "/x/vllm"),
    "fixtures/gpus/b200.yaml",
  );
  // client-side files carry no GPU: only --real-gpu names one
  const file = recordedGpuOf({ dir: "/x/H100_run.json", format: "vllm-bench-json" }, undefined);
  assert.equal(file.gpu, null);
});

Deno.test("gpu: meta.json's device name wins over the folder name, with a note when they differ", () => {
  const torch = "NVIDIA H100 80GB HBM3";
  const r = recordedGpuOf({ dir: "/x/RTXPRO6000_run", format: "trace-folder", gpuName: torch }, "");
  assert.deepEqual(r.gpu, { name: torch, from: "meta.json hardware.device_name" });
  assert.deepEqual(r.notes, [
    "the folder name's part before its first '_' says RTXPRO6000, meta.json hardware.device_name says NVIDIA H100 80GB HBM3: the latter (torch's) is taken",
  ]);
  const same = recordedGpuOf(
    { dir: "/x/RTX4090_run", format: "trace-folder", gpuName: "NVIDIA GeForce RTX 4090" },
    undefined,
  );
  assert.deepEqual(same.notes, []);
});
