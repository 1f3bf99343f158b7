import assert from "node:assert/strict";
import { CostModel, type SeqWork } from "./cost_model.ts";
import { indexKeyBytes } from "./_dsa_cost.ts";
import { modelFromConfig } from "./model_config.ts";
import { resolveGpu } from "./profiles.ts";

/** The held-out run's cut-down DeepSeek-V3.2-Exp (fixtures/validate/heldout/README.md). */
const FILE =
  "fixtures/validate/heldout/RTXPRO6000_DeepSeek-V3.2-Exp-16L64E/deepseek-ai__DeepSeek-V3.2-Exp-16L64E.json";
const JSON_V32 = JSON.parse(Deno.readTextFileSync(FILE));
const V32 = modelFromConfig(JSON_V32, FILE);
/** The same file read as DeepSeek-V3: dense MLA, no indexer. */
const V3 = modelFromConfig({ ...JSON_V32, architectures: ["DeepseekV3ForCausalLM"] }, FILE);
const RTX = resolveGpu("rtx-pro-6000");

const decodes = (n: number, ctx: number): SeqWork[] =>
  Array.from({ length: n }, () => ({ newTokens: 1, contextTokens: ctx }));

Deno.test("DSA: the indexer's FP8 key cache (132 bytes a layer at head dim 128) beside the latent, in any KV dtype", () => {
  assert.equal(indexKeyBytes(V32.dsa!), 128 + 4);
  const bf = new CostModel({ gpu: RTX, model: V32, dtype: "fp8" });
  assert.equal(bf.kvBytesPerToken, 16 * (576 * 2 + 132));
  const f8 = new CostModel({ gpu: RTX, model: V32, dtype: "fp8", kvDtype: "fp8" });
  assert.equal(f8.kvBytesPerToken, 16 * (576 + 132));
  // the latent and the indexer keys are the same on every tensor-parallel rank
  const tp2 = new CostModel({ gpu: RTX, model: V32, tp: 2 });
  assert.equal(tp2.kvBytesPerTokenPerRank, tp2.kvBytesPerToken);
});

Deno.test("DSA: attention stops growing at index_topk keys a query, the indexer's scores and key reads keep growing", () => {
  const c = new CostModel({ gpu: RTX, model: V32, dtype: "fp8" });
  const dense = new CostModel({ gpu: RTX, model: V3, dtype: "fp8" });
  const at = (m: CostModel, ctx: number) => m.breakdown(decodes(64, ctx));
  // below top-k every key is attended: the sparse model pays the indexer on top
  assert.ok(at(c, 1000).computeMs > at(dense, 1000).computeMs);
  // past top-k: the latent read stops at 2,048 tokens, the indexer keys (132 B) go on
  const kv = (ctx: number) => at(c, ctx).kvReadMs;
  const perToken = 64 * 16 * 132 / (RTX.memBwGBps * 1e6 * RTX.memEfficiency);
  assert.ok(Math.abs(kv(64_000) - kv(32_000) - 32_000 * perToken) < 1e-9);
  assert.ok(kv(64_000) < at(dense, 64_000).kvReadMs / 3);
  // the indexer's FLOPs grow linearly in the context: 2 x 64 heads x 128 x 16 layers a pair
  const indexMs = (ctx: number) => at(c, ctx).computeMs;
  const peak = RTX.fp8Tflops * 1e9 * RTX.attnEfficiency;
  const slope = 2 * 64 * 128 * 16 * 64 / peak;
  assert.ok(Math.abs(indexMs(64_000) - indexMs(32_000) - 32_000 * slope) < 1e-6);
});

Deno.test("DSA: a prefill chunk's sparse attention is MLA's absorbed form over at most top-k keys", () => {
  const c = new CostModel({ gpu: RTX, model: V32, dtype: "fp8" });
  const chunk = (ctx: number) => c.breakdown([{ newTokens: 2048, contextTokens: ctx }]).computeMs;
  // past top-k every query attends 2,048 keys: only the indexer grows with the context
  const indexSlope = 2 * 64 * 128 * 16 * 2048 / (RTX.fp8Tflops * 1e9 * RTX.attnEfficiency);
  assert.ok(Math.abs(chunk(40_000) - chunk(20_000) - 20_000 * indexSlope) < 1e-6);
  // from an empty cache (2048 x 2049 / 2 pairs, all under top-k): 128 heads x 2 x (2 x 512 + 64)
  // FLOPs a pair in BF16 (the KV's dtype) plus the indexer's, above the dense V3 reading
  const pairs = 2048 * 1024;
  const attn = 2 * (2 * 512 + 64) * 128 * 16 * pairs / (RTX.bf16Tflops * 1e9 * RTX.attnEfficiency);
  const index = 2 * 64 * 128 * 16 * pairs / (RTX.fp8Tflops * 1e9 * RTX.attnEfficiency);
  const dense = new CostModel({ gpu: RTX, model: V3, dtype: "fp8" });
  const denseAttn = 4 * 128 * 192 * 16 * pairs / (RTX.bf16Tflops * 1e9 * RTX.attnEfficiency);
  const linear = dense.breakdown([{ newTokens: 2048, contextTokens: 0 }]).computeMs - denseAttn;
  // the V3.2 linear part has the indexer's projections on top of V3's
  const extra = 2 * 2048 * 16 * (1536 * 64 * 128 + 7168 * 128 + 256 + 7168 * 64) /
    (RTX.fp8Tflops * 1e9 * RTX.gemmEfficiency);
  assert.ok(Math.abs(chunk(0) - (linear + extra + attn + index)) < 1e-6);
});
