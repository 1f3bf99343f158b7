import assert from "node:assert/strict";
import { CostModel, StepShape } from "./cost_model.ts";
import { STEP_TERM_KEYS, type StepTerms, StepTermTotals } from "./step_terms.ts";
import { resolveGpu, resolveModel } from "./profiles.ts";

const sum = (t: StepTerms) => STEP_TERM_KEYS.reduce((a, k) => a + t[k], 0);
const shape = (prefill: number[], decodes: number, ctx: number) => {
  const s = new StepShape();
  for (const n of prefill) s.add(n, 0);
  if (decodes) s.addDecodes(decodes, decodes * ctx);
  return s;
};

Deno.test("step terms add up to the step time: dense and MoE, prefill, decode, mixed, DP groups", () => {
  const h200 = resolveGpu("h200");
  const models = [
    new CostModel({ gpu: h200, model: resolveModel("llama-3.1-70b"), tp: 4 }),
    new CostModel({ gpu: h200, model: resolveModel("qwen3-235b-a22b"), tp: 8 }),
    new CostModel({ gpu: h200, model: resolveModel("qwen3-235b-a22b"), dp: 8, ep: true }),
    new CostModel({ gpu: h200, model: resolveModel("deepseek-v3"), dp: 16, ep: true }),
  ];
  const shapes = [
    shape([4096], 0, 0),
    shape([], 64, 8000),
    shape([2048], 32, 8000),
    shape([], 1, 10),
  ];
  for (const c of models) {
    for (const s of shapes) {
      const b = c.shapeBreakdown(s);
      assert.ok(Math.abs(sum(b.terms) - b.totalMs) < 1e-9 * b.totalMs, `${c.model.id}`);
    }
    const g = c.groupBreakdown([shapes[1], null, shapes[2]]);
    assert.equal(g.totalMs, c.groupStepMs([shapes[1], null, shapes[2]]));
    assert.ok(Math.abs(sum(g.terms) - g.totalMs) < 1e-9 * g.totalMs);
  }
  // a lone decode is bound by reading the weights; a long prefill by its FLOPs
  const tp8 = models[1];
  assert.ok(tp8.shapeBreakdown(shapes[3]).terms.weightReadMs > 0);
  const pre = tp8.shapeBreakdown(shapes[0]).terms;
  assert.equal(pre.weightReadMs, 0);
  assert.ok(pre.attentionMs > 0 && pre.denseGemmMs > 0 && pre.expertMs > 0);
  // only a data-parallel MoE group moves tokens to its experts; only TP all-reduces
  assert.equal(pre.all2allMs, 0);
  assert.ok(pre.tpCommMs > 0);
  const dep = models[2].groupBreakdown([shapes[1], shapes[1]]).terms;
  assert.ok(dep.all2allMs > 0);
  assert.equal(dep.tpCommMs, 0);
  const totals = new StepTermTotals();
  totals.add(tp8.shapeBreakdown(shapes[0]));
  totals.add(tp8.shapeBreakdown(new StepShape()));
  assert.equal(totals.steps, 1);
  assert.ok(Math.abs(sum(totals.ms) - totals.busyMs) < 1e-6);
});
