import assert from "node:assert/strict";
import { chargedExpertImbalance, CostModel, expertImbalanceFor, StepShape } from "./cost_model.ts";
import { expertsTouched } from "./_moe_cost.ts";
import { type ModelProfile, resolveGpu, resolveModel } from "./profiles.ts";

const RTX = resolveGpu("rtx-pro-6000");
const H100 = resolveGpu("h100");

/** Qwen3-30B-A3B's shape (config.json: 48 layers, hidden 2048, 128 experts, top-8, 768 each). */
const MOE: ModelProfile = {
  id: "test-moe",
  hfNames: [],
  paramsB: 30.532122624,
  weightBytes: 30.532122624e9 * 2,
  layers: 48,
  hidden: 2048,
  intermediate: 6144,
  numHeads: 32,
  numKvHeads: 4,
  headDim: 128,
  vocabSize: 151936,
  tiedEmbeddings: false,
  maxModelLen: 262144,
  kvBytesPerToken: 2 * 48 * 4 * 128 * 2,
  moe: {
    experts: 128,
    expertsPerToken: 8,
    expertIntermediate: 768,
    sharedIntermediate: 0,
    moeLayers: 48,
  },
};

function decodes(n: number, ctx: number): StepShape {
  const s = new StepShape();
  s.addDecodes(n, n * ctx);
  return s;
}

Deno.test("moe: one decode touches its top-k experts; a large batch reads every expert once", () => {
  assert.ok(Math.abs(expertsTouched(128, 8, 1) - 8) < 1e-9);
  assert.ok(expertsTouched(128, 8, 256) > 127.9);
  const c = new CostModel({ gpu: RTX, model: MOE });
  // a dense model of the same size would read ~61 GB per step; the MoE reads its
  // dense part and the touched experts: a single decode is far cheaper than 32 of them
  const one = c.shapeMs(decodes(1, 100));
  const many = c.shapeMs(decodes(32, 100));
  assert.ok(one < many, `${one} < ${many}`);
  const dense = new CostModel({ gpu: RTX, model: { ...MOE, moe: undefined } });
  assert.ok(one < dense.shapeMs(decodes(1, 100)) / 4);
  // at 256 decodes every expert is read: 58 GB of expert weights / (1,792 x 0.8) GB/s = 40.4 ms
  const b = c.shapeBreakdown(decodes(256, 1000));
  const denseOnly = dense.shapeBreakdown(decodes(256, 1000)).computeMs;
  assert.ok(b.computeMs > 40.4 && b.computeMs < 40.5 + denseOnly, `${b.computeMs}`);
});

Deno.test("moe: expert parallel spreads the experts over dp x tp GPUs; a dense model refuses it", () => {
  const one = new CostModel({ gpu: H100, model: MOE });
  const dp2 = new CostModel({ gpu: H100, model: MOE, dp: 2, ep: true });
  // each GPU holds half the experts: more KV blocks per rank
  assert.ok(dp2.numGpuBlocks(0.9, 16) > one.numGpuBlocks(0.9, 16) * 1.5);
  assert.throws(
    () => new CostModel({ gpu: H100, model: resolveModel("llama-3.1-8b"), dp: 2, ep: true }),
    /Cannot use --enable-expert-parallel for llama-3\.1-8b on dp 2 x tp 1: current value is true; allowed: false \(a dense model has no experts\)/,
  );
  assert.throws(
    () => new CostModel({ gpu: H100, model: MOE, dp: 3, ep: true }),
    /allowed: a group whose 3 GPUs divide the 128 experts/,
  );
});

Deno.test("moe: a data-parallel step is the slowest rank plus the experts over the padded batch", () => {
  const c = new CostModel({ gpu: RTX, model: MOE, dp: 2, ep: true });
  const busy = decodes(128, 1000);
  const idle = decodes(1, 10);
  // the same work on both ranks, or one rank idle: the busy rank sets the pace
  const both = c.groupStepMs([busy, busy]);
  const lone = c.groupStepMs([busy, null]);
  assert.ok(Math.abs(both - lone) < 1e-9, "a lone rank is padded to the busy one's batch");
  assert.ok(c.groupStepMs([busy, idle]) >= lone - 1e-9);
  assert.equal(c.groupStepMs([null, null]), 0);
  // a prefill chunk on one rank pads the other: the experts see 2 x 2,048 tokens
  const chunk = new StepShape();
  chunk.add(2048, 0);
  const padded = c.groupStepMs([chunk, busy]);
  assert.ok(padded > c.groupStepMs([busy, busy]) + 5, `${padded}`);
  // token movement: a PCIe group pays for gathering and scattering hidden states
  const b = c.shapeBreakdown(busy);
  const single = new CostModel({ gpu: RTX, model: MOE }).shapeBreakdown(busy);
  assert.ok(b.commMs > single.commMs + 1, `${b.commMs} vs ${single.commMs}`);
});

Deno.test("collectives over PCIe cost more than over NVLink (fitted PCIe latency and share)", () => {
  const llama = resolveModel("llama-3.1-8b");
  const pcie = new CostModel({ gpu: RTX, model: llama, tp: 2 }).shapeBreakdown(decodes(128, 1000));
  const nvl = new CostModel({ gpu: H100, model: llama, tp: 2 }).shapeBreakdown(decodes(128, 1000));
  // 64 all-reduces of 0.5 MB: 80 us + 0.5 MB / 19.2 GB/s each on PCIe
  const perCall = 0.08 + 128 * 4096 * 2 / (64 * 0.3 * 1e6);
  assert.ok(Math.abs(pcie.commMs - 64 * perCall) < 1e-9, `${pcie.commMs}`);
  assert.ok(nvl.commMs < pcie.commMs / 5);
});

Deno.test("moe: the expert GEMMs last as long as the busiest expert GPU's; EPLB narrows it", () => {
  const chunk = new StepShape();
  chunk.add(2048, 0); // compute-bound: the expert term scales with the busiest GPU's tokens
  const expert = (dp: number, o: { eplb?: boolean; expertImbalance?: number } = {}) =>
    new CostModel({ gpu: RTX, model: MOE, dp, ep: true, ...o })
      .groupBreakdown(Array(dp).fill(chunk))!.terms.expertMs;
  // 16 expert GPUs: 1.069 / 1.012 over the calibrated 2-GPU run (vllm-project/vllm#50647, scaled)
  const ratio = expert(16) / expert(16, { expertImbalance: 1 });
  assert.ok(Math.abs(ratio - chargedExpertImbalance(16, false)) < 1e-9, `${ratio}`);
  assert.ok(Math.abs(ratio - 1.056) < 0.001, `${ratio}`);
  assert.equal(expert(16, { eplb: true }), expert(16, { expertImbalance: 1 }));
  assert.ok(expert(16, { expertImbalance: 1.5 }) > expert(16));
  // the calibrated DP2+EP run's group is charged nothing beyond what its fit holds
  assert.equal(expert(2), expert(2, { expertImbalance: 1 }));
  assert.ok(Math.abs(expertImbalanceFor(16, 1.069) - 1.069) < 1e-12);
  assert.ok(chargedExpertImbalance(64, false) > chargedExpertImbalance(32, false));
  // slices of every expert (no expert parallel) share the tokens evenly
  const sliced = (o: { expertImbalance?: number }) =>
    new CostModel({ gpu: RTX, model: MOE, dp: 2, ...o }).groupBreakdown([chunk, chunk])!.terms
      .expertMs;
  assert.equal(sliced({}), sliced({ expertImbalance: 1.5 }));
});
