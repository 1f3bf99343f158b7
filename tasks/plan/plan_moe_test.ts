/**
 * `plan` on a mixture-of-experts model: data-parallel + expert-parallel
 * instances among the candidates (`--dp`), and each candidate's step time by
 * cost at its capacity (`step_costs`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runDeno } from "../_run_deno.ts";
import type { PlanAnswer } from "./answer.ts";
import { candidateShapes, planCandidates, smallestHolding } from "./candidates.ts";

Deno.test("plan candidates: TP replicas, DP+EP instances and PD with DP+EP roles of one budget", () => {
  const { candidates, pruned } = planCandidates({
    model: "Qwen/Qwen3-235B-A22B",
    gpu: "h200",
    gpus: 16,
    kinds: ["agg", "dp", "pd"],
    tps: [1, 8],
    dps: [1, 8, 16],
    ep: true,
  });
  assert.deepEqual(candidates.map((c) => `${c.label}:${c.gpus}`), [
    "agg-dep16:16",
    "dp-2-tp8:16",
    "dp-2-dep8:16",
    "pd-1P1D-tp8:16",
    "pd-1P1D-tp8_dep8:16",
    "pd-1P1D-dep8_tp8:16",
    "pd-1P1D-dep8:16",
  ]);
  const pd = candidates.find((c) => c.label === "pd-1P1D-dep8")!;
  assert.deepEqual(pd.set["prefill.dp"], 8);
  assert.deepEqual(pd.set["decode.ep"], true);
  assert.deepEqual(candidateShapes(pd), [{ tp: 1, dp: 8, ep: true }, { tp: 1, dp: 8, ep: true }]);
  // one H200 cannot hold 235B; a dense model gets no DP sizes (its ranks would be replicas)
  assert.match(pruned.find((p) => p.label === "dp-16")!.why, /one instance of TP 1 cannot hold/);
  // what plan prints instead of one line per candidate that cannot hold the model
  const q = {
    model: "Qwen/Qwen3-235B-A22B",
    gpu: "h200",
    gpus: 16,
    kinds: ["agg" as const],
    tps: [1],
  };
  assert.equal(smallestHolding(q), "TP 4 (--tp 4)");
  assert.equal(smallestHolding({ ...q, gpus: 2 }), null);
  const dense = planCandidates({
    model: "meta-llama/Llama-3.1-8B-Instruct",
    gpu: "h100",
    gpus: 2,
    kinds: ["agg"],
    tps: [1],
    dps: [1, 2],
  });
  assert.deepEqual(dense.candidates.map((c) => c.label), ["agg"]);
});

Deno.test("plan --dp: a DP2+EP candidate is searched and its step time explained by cost", async () => {
  const out = await Deno.makeTempDir({ prefix: "topobench_plan_moe_" });
  try {
    const r = await runDeno([
      "run",
      "-A",
      "tasks/plan.ts",
      ...["--model", "Qwen/Qwen3-30B-A3B", "--gpu", "h100", "--gpus", "2"],
      ...["--kinds", "agg", "--tp", "1", "--dp", "2"],
      ...["--dataset", "random", "--input-len", "1024", "--output-len", "64", "--duration", "8"],
      ...["--endpoint", "/v1/completions", "--slo", "ttft:1000,tpot:50", "--no-plot"],
      ...["--start-time", "2026-12-01T00:00:00Z", "--out", out],
    ]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(await Deno.readTextFile(join(out, "plan.json"))) as PlanAnswer;
    const dep = plan.candidates.find((c) => c.label === "agg-dep2")!;
    assert.equal(dep.gpus, 2);
    const [backend] = dep.step_costs!;
    assert.equal(backend.role, "backend");
    const total = Object.values(backend.shares).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-9, String(total));
    assert.ok(backend.shares.experts > 0 && backend.shares.all2all > 0);
    assert.equal(backend.shares.tp_comm, 0);
    assert.match(r.stdout, /agg-dep2: backend bound by /);
    assert.match(await Deno.readTextFile(join(out, "plan.md")), /\| agg-dep2 \| backend \| 2 \|/);
  } finally {
    await Deno.remove(out, { recursive: true }).catch(() => {});
  }
});
