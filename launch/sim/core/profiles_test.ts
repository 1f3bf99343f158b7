import assert from "node:assert/strict";
import { listGpus, listModels, resolveGpu, resolveModel } from "./profiles.ts";

Deno.test("resolveGpu accepts ids, names and aliases in any case", () => {
  for (const g of listGpus()) {
    assert.equal(resolveGpu(g.id), g);
    assert.equal(resolveGpu(g.id.toUpperCase()), g);
    assert.equal(resolveGpu(g.name.toLowerCase()), g);
    for (const a of g.aliases ?? []) assert.equal(resolveGpu(` ${a} `), g);
  }
  assert.equal(resolveGpu("NVIDIA H100 80GB HBM3").id, "h100");
});

Deno.test("resolveGpu rejects unknown names with the allowed ids", () => {
  assert.throws(() => resolveGpu("tpu-v5e"), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(
      e.message,
      /^Cannot use "tpu-v5e" as --gpu: current value is "tpu-v5e"; allowed: /,
    );
    for (const g of listGpus()) assert.ok(e.message.includes(g.id), g.id);
    return true;
  });
});

Deno.test("resolveModel accepts ids, HF names in any case and local paths", () => {
  for (const m of listModels()) {
    assert.equal(resolveModel(m.id), m);
    for (const n of m.hfNames) {
      assert.equal(resolveModel(n), m);
      assert.equal(resolveModel(n.toUpperCase()), m);
      assert.equal(resolveModel(`/models/${n.split("/")[1]}/`), m);
    }
  }
  assert.equal(resolveModel("meta-llama/Meta-Llama-3.1-8B-Instruct").id, "llama-3.1-8b");
  assert.equal(resolveModel("meta-llama/llama-3.1-8b-instruct").id, "llama-3.1-8b");
});

Deno.test("resolveModel rejects unknown names with the allowed ids", () => {
  for (const bad of ["mistralai/Mistral-7B-Instruct-v0.3", "", "llama"]) {
    assert.throws(() => resolveModel(bad), (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.ok(e.message.startsWith(`Cannot use "${bad}" as --model: current value is`));
      for (const m of listModels()) assert.ok(e.message.includes(m.id), m.id);
      return true;
    });
  }
});

Deno.test("ids and HF names are unique", () => {
  const names = [...listGpus().map((g) => g.id), ...listModels().map((m) => m.id)];
  assert.equal(new Set(names).size, names.length);
  const hf = listModels().flatMap((m) => m.hfNames.map((n) => n.toLowerCase()));
  assert.equal(new Set(hf).size, hf.length);
});

Deno.test("model profiles agree with their own config values", () => {
  for (const m of listModels()) {
    // MLA (DeepSeek): the latent and the rotary key, model_config_test.ts
    if (!m.mla) assert.equal(m.kvBytesPerToken, 2 * m.layers * m.numKvHeads * m.headDim * 2, m.id);
    assert.equal(m.numHeads % m.numKvHeads, 0, m.id);
    const visionB = m.vision?.paramsB ?? 0;
    assert.ok(Math.abs(m.weightBytes - (m.paramsB + visionB) * 2e9) < 2, m.id);
    // Decoder parameters from the config (no biases/norms): within 0.5% of the stated count.
    const kvDim = m.numKvHeads * m.headDim;
    const attn = m.hidden * (m.numHeads * m.headDim) * 2 + m.hidden * kvDim * 2;
    if (m.moe) continue; // MoE counts: model_config_test.ts
    const mlp = 3 * m.hidden * m.intermediate;
    const embed = m.vocabSize * m.hidden * (m.tiedEmbeddings ? 1 : 2);
    const estB = (m.layers * (attn + mlp) + embed) / 1e9;
    assert.ok(Math.abs(estB / m.paramsB - 1) < 0.005, `${m.id}: ${estB} vs ${m.paramsB}`);
  }
  assert.equal(resolveModel("llama-3.1-8b").kvBytesPerToken, 128 * 1024);
});

Deno.test("GPU profiles are ordered as their datasheets say", () => {
  const h100 = resolveGpu("h100");
  const a100 = resolveGpu("a100");
  const h200 = resolveGpu("h200");
  assert.ok(h100.memBwGBps > a100.memBwGBps && h100.bf16Tflops > a100.bf16Tflops);
  assert.ok(h200.memBwGBps > h100.memBwGBps && h200.memGiB > h100.memGiB);
  assert.ok(resolveGpu("a100-40gb").memGiB < a100.memGiB);
  for (const g of listGpus()) {
    for (const v of [g.memGiB, g.memBwGBps, g.bf16Tflops, g.pcieGBps]) assert.ok(v > 0, g.id);
  }
});

Deno.test("the 2025 datacenter GPUs resolve and rank as their datasheets say", () => {
  const [b200, gb200, mi300x, mi355x] = ["b200", "gb200", "mi300x", "mi355x"].map(resolveGpu);
  const h200 = resolveGpu("h200");
  assert.equal(resolveGpu("NVIDIA B200"), b200);
  assert.equal(resolveGpu("AMD Instinct MI300X"), mi300x);
  for (const g of [b200, gb200, mi355x]) {
    assert.ok(g.memBwGBps > h200.memBwGBps && g.bf16Tflops > 2 * h200.bf16Tflops, g.id);
    assert.equal(g.fp4Tflops, 2 * g.fp8Tflops, g.id); // dense FP4 = 2x FP8 = 4x BF16
    assert.equal(g.fp8Tflops, 2 * g.bf16Tflops, g.id);
  }
  assert.ok(gb200.bf16Tflops > b200.bf16Tflops && gb200.tdpW! > b200.tdpW!); // 1,200 vs 1,000 W
  assert.ok(mi300x.memGiB > h200.memGiB && mi355x.memGiB > mi300x.memGiB);
  assert.equal(mi300x.fp4Tflops, undefined); // CDNA 3 has no FP4
});

Deno.test("Qwen2.5-VL image tokens follow smart_resize", () => {
  const v = resolveModel("Qwen/Qwen2.5-VL-3B-Instruct").vision;
  assert.ok(v);
  const f = v.patchSize * v.mergeSize;
  for (const [w, h] of [[448, 448], [1120, 840], [28 * 37, 28 * 21]]) {
    assert.equal(v.tokensPerImage(w, h), (w / f) * (h / f));
  }
  // Sides round to the nearest multiple of 28, halves to even as Python's round().
  assert.equal(v.tokensPerImage(1000, 700), Math.round(1000 / f) * Math.round(700 / f));
  assert.equal(v.tokensPerImage(70, 70), 2 * 2);
  // Tiny images are scaled up to min_pixels (3136 = 4 tokens), huge ones down to max_pixels.
  assert.ok(v.tokensPerImage(10, 10) >= 4);
  const huge = v.tokensPerImage(20000, 15000);
  assert.ok(huge <= 16384 && huge > 16384 * 0.9, String(huge));
  assert.ok(v.tokensPerImage(1024, 1024) > v.tokensPerImage(512, 512));
  assert.throws(() => v.tokensPerImage(0, 100), RangeError);
  assert.equal(resolveModel("llama-3.1-8b").vision, undefined);
});

Deno.test("the RTX PRO 6000 Blackwell resolves by id, nvidia-smi name and trace folder name", () => {
  const g = resolveGpu("rtx-pro-6000");
  for (const n of ["NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTXPRO6000", "rtx pro 6000"]) {
    assert.equal(resolveGpu(n), g, n);
  }
  // 101,976,440,832 bytes as torch reports (../shared/calibration/traces/README.md)
  assert.ok(Math.abs(g.memGiB - 101976440832 / 2 ** 30) < 0.01, String(g.memGiB));
  // GDDR7 on PCIe: less bandwidth than the A100's HBM2e, more memory; no NVLink
  const a100 = resolveGpu("a100");
  assert.ok(g.memBwGBps < a100.memBwGBps && g.memGiB > a100.memGiB);
  assert.ok(g.bf16Tflops > a100.bf16Tflops && g.fp8Tflops === 2 * g.bf16Tflops);
  assert.equal(g.nvlinkGBps, 0);
  assert.equal(g.pcieGBps, resolveGpu("h100").pcieGBps); // PCIe Gen5 x16
  for (const e of [g.gemmEfficiency, g.attnEfficiency, g.memEfficiency]) {
    assert.ok(e > 0 && e <= 1, String(e));
  }
});

Deno.test("the PCIe/NVL Hopper, A100 PCIe, GA102, L4 and RTX 5090 profiles carry their architecture's efficiencies", () => {
  const eff = (id: string) => {
    const g = resolveGpu(id);
    return [g.gemmEfficiency, g.attnEfficiency, g.memEfficiency];
  };
  // ASSUMED, carried (never fitted): Hopper from h100, GA100 from a100, GA102 from a40, Ada
  // from l40s, Blackwell GB202 from rtx-pro-6000
  const carried: [string[], string][] = [
    [["h100-pcie", "h100-nvl", "h200-nvl", "h800"], "h100"],
    [["a100-80gb-pcie", "a100-40gb-pcie"], "a100"],
    [["rtx-a6000", "a10g"], "a40"],
    [["l4"], "l40s"],
    [["rtx-5090"], "rtx-pro-6000"],
  ];
  for (const [ids, from] of carried) {
    for (const id of ids) {
      assert.deepEqual(eff(id), eff(from), `${id} from ${from}`);
      // said beside every answer the profile gives (validate prints it as a note)
      assert.ok(resolveGpu(id).assumed?.includes(`carried from ${from}`), `${id} says so`);
    }
  }
  const h100 = resolveGpu("h100");
  for (const id of ["h100-pcie", "h100-nvl", "h200-nvl"]) {
    const g = resolveGpu(id);
    assert.ok(g.bf16Tflops < h100.bf16Tflops && g.tdpW! < h100.tdpW!, id); // lower clocks and power
    assert.ok(Math.abs(g.fp8Tflops - 2 * g.bf16Tflops) <= 1, id); // FP8 2x BF16, datasheet rounding
  }
  assert.ok(resolveGpu("h800").nvlinkGBps < h100.nvlinkGBps); // 400 vs 900 GB/s
  assert.equal(resolveGpu("h800").bf16Tflops, h100.bf16Tflops);
  assert.equal(resolveGpu("a100-80gb-pcie").bf16Tflops, resolveGpu("a100").bf16Tflops);
  assert.ok(resolveGpu("a100-80gb-pcie").memBwGBps < resolveGpu("a100").memBwGBps);
  for (const id of ["a100-80gb-pcie", "a100-40gb-pcie", "rtx-a6000", "a10g"]) {
    assert.equal(resolveGpu(id).fp8Tflops, 0, id); // Ampere: no FP8 tensor cores
  }
  assert.equal(resolveGpu("NVIDIA L4").id, "l4");
  assert.equal(resolveGpu("NVIDIA GeForce RTX 5090").id, "rtx-5090");
});
