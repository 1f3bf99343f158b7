import assert from "node:assert/strict";
import { modelFromConfig, paramCounts, readDecoderShape } from "./model_config.ts";
import { listModels, resolveGpu, resolveModel } from "./profiles.ts";
import { CostModel } from "./cost_model.ts";

const DIR = "fixtures/model_configs";
const read = (name: string) => JSON.parse(Deno.readTextFileSync(`${DIR}/${name}.json`));
const counts = (name: string) => paramCounts(readDecoderShape(read(name), name));
const near = (got: number, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(got / want - 1) <= tol, `${what}: ${got} vs ${want} (tolerance ${tol})`);

Deno.test("every config.json fixture loads as a model profile with its own shapes", () => {
  const files = [...Deno.readDirSync(DIR)].filter((f) => f.name.endsWith(".json"));
  assert.ok(files.length >= 7, String(files.length));
  for (const f of files) {
    const file = `${DIR}/${f.name}`;
    const m = modelFromConfig(JSON.parse(Deno.readTextFileSync(file)), file);
    assert.equal(m.id, file);
    assert.deepEqual(m.hfNames, [f.name.replace(/\.json$/, "").replace("__", "/")]);
    assert.equal(m.weightBytes, Math.round(m.paramsB * 2e9), f.name);
    assert.equal(m.numHeads % m.numKvHeads, 0, f.name);
    assert.ok(m.source?.startsWith(file), m.source);
    if (!m.mla) assert.equal(m.kvBytesPerToken, 2 * m.layers * m.numKvHeads * m.headDim * 2);
  }
});

Deno.test("parameter totals are within 1% of the model cards' (fixtures/model_configs/README.md)", () => {
  // [file, stated total B, stated active B, the card counts the input embedding as active]
  const cards: [string, number, number, boolean][] = [
    ["Qwen__Qwen3-32B", 32.8, 32.8, true],
    ["Qwen__Qwen3-30B-A3B", 30.5, 3.3, true],
    ["Qwen__Qwen3-235B-A22B", 235, 22, true],
    ["deepseek-ai__DeepSeek-V3", 671, 37, false],
    ["openai__gpt-oss-120b", 116.8, 5.1, false],
    ["mistralai__Mixtral-8x7B-v0.1", 46.7, 12.9, true],
  ];
  for (const [name, total, active, withEmbedding] of cards) {
    const c = counts(name);
    near(c.totalB, total, 0.01, `${name} total`);
    // active figures are stated to two digits: within 2%
    near(c.activeB + (withEmbedding ? c.embeddingB : 0), active, 0.02, `${name} active`);
  }
  // Llama 4 Scout: the copy holds text_config only; the card's 109B includes the vision encoder
  const scout = counts("meta-llama__Llama-4-Scout-17B-16E-Instruct");
  near(scout.totalB, 109, 0.015, "Scout text decoder vs 109B with vision");
  assert.ok(scout.totalB < 109);
  near(scout.activeB + scout.embeddingB, 17, 0.02, "Scout active");
  // Llama 4 Maverick: 400B total, 17B active (the text decoder; vision_config not counted)
  const maverick = counts("meta-llama__Llama-4-Maverick-17B-128E-Instruct");
  near(maverick.totalB, 400, 0.01, "Maverick total");
  near(maverick.activeB + maverick.embeddingB, 17, 0.02, "Maverick active");
  // Llama-3.1-8B: exactly the built-in profile's count (from the safetensors)
  const llama = modelFromConfig(read("meta-llama__Llama-3.1-8B"), "l.json");
  assert.equal(llama.paramsB, resolveModel("llama-3.1-8b").paramsB);
  assert.equal(llama.kvBytesPerToken, resolveModel("llama-3.1-8b").kvBytesPerToken);
});

Deno.test("DeepSeek-V3: MLA KV bytes are layers x (kv_lora_rank + qk_rope_head_dim) x 2; MoE and FP8 noted", () => {
  const m = modelFromConfig(read("deepseek-ai__DeepSeek-V3"), "ds.json");
  assert.deepEqual(m.mla, {
    kvLoraRank: 512,
    qLoraRank: 1536,
    qkNopeHeadDim: 128,
    qkRopeHeadDim: 64,
    vHeadDim: 128,
  });
  assert.equal(m.kvBytesPerToken, 61 * (512 + 64) * 2);
  assert.equal(m.headDim, 192); // query/key head: nope + rope
  // 256 routed + 1 shared expert of 2,048; the first 3 of 61 layers dense (18,432)
  assert.deepEqual(m.moe, {
    experts: 256,
    expertsPerToken: 8,
    expertIntermediate: 2048,
    sharedIntermediate: 2048,
    moeLayers: 58,
  });
  assert.equal(m.intermediate, 18432);
  assert.match(m.source!, /shipped as fp8 e4m3/);
});

Deno.test("Qwen3: head_dim is read, not hidden / heads; Qwen3-MoE layers follow decoder_sparse_step and mlp_only_layers", () => {
  const dense = modelFromConfig(read("Qwen__Qwen3-32B"), "q.json");
  assert.equal(dense.headDim, 128); // 5,120 / 64 would be 80
  assert.equal(dense.kvBytesPerToken, 2 * 64 * 8 * 128 * 2);
  assert.equal(dense.moe, undefined);
  const moe = modelFromConfig(read("Qwen__Qwen3-30B-A3B"), "m.json").moe!;
  assert.deepEqual(moe, {
    experts: 128,
    expertsPerToken: 8,
    expertIntermediate: 768,
    sharedIntermediate: 0,
    moeLayers: 48,
  });
  const sparse = {
    ...read("Qwen__Qwen3-30B-A3B"),
    decoder_sparse_step: 2,
    mlp_only_layers: [1, 2],
  };
  // odd indices 1,3,...,47 are MoE (24), less layer 1
  assert.equal(modelFromConfig(sparse, "m.json").moe!.moeLayers, 23);
  const scout = modelFromConfig(read("meta-llama__Llama-4-Scout-17B-16E-Instruct"), "s.json");
  assert.equal(scout.moe?.sharedIntermediate, 8192);
  assert.equal(scout.intermediate, 16384); // intermediate_size_mlp
});

Deno.test("Mixtral: every layer a top-2 of 8 experts of intermediate_size; built-in for base and Instruct", () => {
  const m = modelFromConfig(read("mistralai__Mixtral-8x7B-v0.1"), "mixtral.json");
  assert.deepEqual(m.moe, {
    experts: 8,
    expertsPerToken: 2,
    expertIntermediate: 14336,
    sharedIntermediate: 0,
    moeLayers: 32,
  });
  assert.equal(m.kvBytesPerToken, 2 * 32 * 8 * 128 * 2);
  for (const name of ["mistralai/Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-Instruct-v0.1"]) {
    assert.equal(resolveModel(name).id, "mixtral-8x7b");
    assert.equal(resolveModel(name).paramsB, m.paramsB);
  }
});

Deno.test("Qwen3-VL: the Qwen3 decoder in text_config, tie_word_embeddings from the top level, vision noted", () => {
  const vl = modelFromConfig(read("Qwen__Qwen3-VL-8B-Instruct"), "vl.json");
  const text = modelFromConfig(read("Qwen__Qwen3-8B"), "qwen3-8b.json");
  // the same decoder shapes as Qwen3-8B
  for (
    const k of ["layers", "hidden", "intermediate", "numHeads", "numKvHeads", "headDim"] as const
  ) {
    assert.equal(vl[k], text[k], k);
  }
  assert.equal(vl.tiedEmbeddings, false);
  assert.match(vl.source!, /the vision encoder \(vision_config\) is NOT counted/);
  const tied = read("Qwen__Qwen3-VL-8B-Instruct");
  tied.tie_word_embeddings = true; // the 2B model's file ties them at the top level only
  assert.equal(modelFromConfig(tied, "vl.json").tiedEmbeddings, true);
  assert.equal(resolveModel("Qwen/Qwen3-8B").paramsB, text.paramsB);
});

Deno.test("a bad or missing field names the file and the field", () => {
  const file = "fixtures/model_configs/bad.json";
  const bad = (patch: Record<string, unknown>) => ({ ...read("Qwen__Qwen3-32B"), ...patch });
  assert.throws(() => modelFromConfig(bad({ hidden_size: "5120" }), file), {
    name: "TypeError",
    message:
      `Cannot use hidden_size in ${file} as an integer in [1, 2147483648]: current value is "5120"`,
  });
  assert.throws(
    () => modelFromConfig(bad({ architectures: ["MambaForCausalLM"] }), file),
    /^RangeError: Cannot use architectures in fixtures\/model_configs\/bad\.json as a list whose first item is one of LlamaForCausalLM, .*Qwen3MoeForCausalLM.*: current value is \["MambaForCausalLM"\]$/,
  );
  assert.throws(
    () => modelFromConfig({ ...read("Qwen__Qwen3-30B-A3B"), num_experts: undefined }, file),
    /Cannot use num_experts in .*bad\.json as an integer in \[1, \d+\]: current value is undefined/,
  );
  const scout = read("meta-llama__Llama-4-Scout-17B-16E-Instruct");
  delete scout.text_config.num_local_experts;
  assert.throws(() => modelFromConfig(scout, file), /Cannot use text_config\.num_local_experts in/);
  assert.throws(() => modelFromConfig([], file), /Cannot use \(top level\) in/);
});

Deno.test("built-in qwen3-32b and qwen3-30b-a3b are the fixture files' figures", () => {
  const q32 = resolveModel("Qwen/Qwen3-32B");
  assert.equal(q32.id, "qwen3-32b");
  assert.equal(q32.paramsB, counts("Qwen__Qwen3-32B").totalB);
  for (const n of ["Qwen/Qwen3-30B-A3B-Instruct-2507", "Qwen/Qwen3-30B-A3B", "qwen3-30b-a3b"]) {
    const m = resolveModel(n);
    assert.equal(m.id, "qwen3-30b-a3b", n);
    assert.equal(m.paramsB, counts("Qwen__Qwen3-30B-A3B").totalB);
    assert.equal(m.moe?.experts, 128);
  }
  // Qwen3-30B-A3B here, the others in _models_moe.ts
  assert.equal(listModels().filter((m) => m.moe).length, 8); // + mixtral-8x7b
});

Deno.test("DeepSeek-V3.2 (DeepseekV32ForCausalLM) loads as V3 MLA + MoE plus its sparse-attention indexer", () => {
  // the cut-down 16-layer, 64-expert model of the held-out run (fixtures/validate/heldout/README.md)
  const file =
    "fixtures/validate/heldout/RTXPRO6000_DeepSeek-V3.2-Exp-16L64E/deepseek-ai__DeepSeek-V3.2-Exp-16L64E.json";
  const m = modelFromConfig(JSON.parse(Deno.readTextFileSync(file)), file);
  assert.deepEqual(m.hfNames, ["deepseek-ai/DeepSeek-V3.2-Exp-16L64E"]);
  assert.equal(m.kvBytesPerToken, 16 * (512 + 64) * 2);
  // 64 routed + 1 shared expert of 2,048; the first 3 of 16 layers dense (18,432)
  assert.deepEqual(m.moe, {
    experts: 64,
    expertsPerToken: 8,
    expertIntermediate: 2048,
    sharedIntermediate: 2048,
    moeLayers: 13,
  });
  assert.deepEqual(m.dsa, { indexHeads: 64, indexHeadDim: 128, indexTopK: 2048 });
  // the indexer's weights per layer: wq_b 1,536 x 64 x 128, wk 7,168 x 128, k_norm 2 x 128,
  // weights_proj 7,168 x 64; the same file read as DeepSeek-V3 has none of them
  const indexer = 1536 * 64 * 128 + 7168 * 128 + 2 * 128 + 7168 * 64;
  const json = JSON.parse(Deno.readTextFileSync(file));
  const v3 = modelFromConfig({ ...json, architectures: ["DeepseekV3ForCausalLM"] }, file);
  assert.equal(v3.dsa, undefined);
  assert.equal(Math.round((m.paramsB - v3.paramsB) * 1e9), 16 * indexer);
  assert.match(m.source!, /DeepseekV32ForCausalLM/);
  assert.match(m.source!, /DeepSeek Sparse Attention modelled/);
  assert.match(m.source!, /top-k selection itself is NOT modelled/);
  assert.match(m.source!, /shipped as fp8 e4m3/);
  assert.throws(
    () => modelFromConfig({ ...json, index_topk: undefined }, file),
    /index_topk/,
  );
});

Deno.test("built-in MoE profiles: FP8 checkpoints run FP8 weights by default, BF16 ones BF16", () => {
  const fp8 = resolveModel("Qwen/Qwen3-235B-A22B-FP8");
  const bf16 = resolveModel("Qwen/Qwen3-235B-A22B");
  assert.equal(fp8.id, "qwen3-235b-a22b-fp8");
  assert.equal(fp8.checkpointDtype, "fp8");
  assert.equal(bf16.checkpointDtype, undefined);
  assert.equal(fp8.paramsB, bf16.paramsB);
  assert.equal(resolveModel("deepseek-ai/DeepSeek-R1").id, "deepseek-v3");
  assert.equal(resolveModel("deepseek-v3").checkpointDtype, "fp8");
  assert.equal(resolveModel("deepseek-v3").kvBytesPerToken, 61 * (512 + 64) * 2);
  assert.equal(resolveModel("openai/gpt-oss-120b").checkpointDtype, undefined); // MXFP4: BF16 bytes
  assert.match(resolveModel("openai/gpt-oss-120b").source!, /ASSUMED upper bound/);
  assert.equal(resolveModel("meta-llama/Llama-4-Maverick-17B-128E-Instruct").moe!.moeLayers, 24);
  assert.match(resolveModel("llama-4-scout").source!, /NOT modelled: chunked local attention/);
  // the cost model takes the checkpoint's precision unless told otherwise
  const gpu = resolveGpu("h200");
  assert.equal(new CostModel({ gpu, model: fp8, tp: 8 }).dtype, "fp8");
  assert.equal(new CostModel({ gpu, model: fp8, tp: 8, dtype: "bf16" }).dtype, "bf16");
  assert.equal(new CostModel({ gpu, model: bf16, tp: 8 }).dtype, "bf16");
});

Deno.test("Gemma 2 and Mistral (NeMo) load from real hub files; totals match their cards; sliding windows noted", () => {
  // google/gemma-2-9b-it: head_dim 256 given (16 x 256 != hidden 3,584), tie_word_embeddings
  // absent (Gemma2Config's default: tied), four norms a layer; card ~9.24B (README)
  const gemma = modelFromConfig(read("google__gemma-2-9b-it"), "g.json");
  assert.equal(gemma.headDim, 256);
  assert.equal(gemma.tiedEmbeddings, true);
  assert.equal(gemma.kvBytesPerToken, 2 * 42 * 8 * 256 * 2);
  assert.equal(Math.round(gemma.paramsB * 1e9), 9241705984);
  near(gemma.paramsB, 9.24, 0.005, "Gemma-2-9B total");
  assert.match(gemma.source!, /sliding-window attention \(sliding_window 4096\) NOT modelled/);
  // mistralai/Mistral-Nemo-Base-2407: head_dim 128 given (32 x 128 != hidden 5,120), untied,
  // sliding_window null (no note); card 12.2B (README)
  const nemo = modelFromConfig(read("mistralai__Mistral-Nemo-Base-2407"), "n.json");
  assert.equal(nemo.headDim, 128);
  assert.equal(nemo.tiedEmbeddings, false);
  near(nemo.paramsB, 12.2, 0.01, "Mistral-NeMo total");
  assert.doesNotMatch(nemo.source!, /sliding/);
  // a Mistral file is counted as Llama's weights: the same shapes read as Llama give the same count
  const asLlama = {
    ...read("mistralai__Mistral-Nemo-Base-2407"),
    architectures: ["LlamaForCausalLM"],
  };
  assert.equal(modelFromConfig(asLlama, "l.json").paramsB, nemo.paramsB);
});

Deno.test("Gemma 3, Phi-3 and DeepSeek-V2 architectures read their families' layouts (no real file for them here)", () => {
  // No Gemma 3, Phi-3 or DeepSeek-V2 config.json was found to copy (fixtures/model_configs/
  // README.md): these check the layout differences on the Gemma 2 and DeepSeek-V3 files.
  const g2 = read("google__gemma-2-9b-it");
  const gemma2 = modelFromConfig(g2, "g2.json");
  // Gemma 3 = Gemma 2's layout + q_norm and k_norm (head_dim each) per layer
  const gemma3 = modelFromConfig({ ...g2, architectures: ["Gemma3ForCausalLM"] }, "g3.json");
  assert.equal(Math.round((gemma3.paramsB - gemma2.paramsB) * 1e9), 42 * 2 * 256);
  // Gemma3ForConditionalGeneration: text_config nested, transformers' defaults for what it omits
  const nested = modelFromConfig({
    architectures: ["Gemma3ForConditionalGeneration"],
    text_config: { ...g2, architectures: undefined, vocab_size: undefined },
  }, "g3v.json");
  assert.equal(nested.vocabSize, 262208);
  assert.equal(nested.tiedEmbeddings, true);
  assert.match(nested.source!, /vision encoder \(vision_config\) is NOT counted/);
  // Phi-3's fused qkv_proj / gate_up_proj hold Llama's weights: counted as Llama
  const asPhi = {
    ...read("mistralai__Mistral-Nemo-Base-2407"),
    architectures: ["Phi3ForCausalLM"],
  };
  assert.equal(
    modelFromConfig(asPhi, "p.json").paramsB,
    counts("mistralai__Mistral-Nemo-Base-2407").totalB,
  );
  // DeepSeek-V2 reads V3's MLA and MoE fields; q_lora_rank null = uncompressed queries
  const v3 = read("deepseek-ai__DeepSeek-V3");
  const v2 = modelFromConfig(
    { ...v3, architectures: ["DeepseekV2ForCausalLM"], q_lora_rank: null },
    "v2.json",
  );
  assert.equal(v2.mla?.qLoraRank, 0);
  assert.deepEqual(v2.moe, modelFromConfig(v3, "v3.json").moe);
  assert.equal(v2.kvBytesPerToken, 61 * (512 + 64) * 2);
});
