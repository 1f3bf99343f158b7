import assert from "node:assert/strict";
import { budgetSizes, shortSizeLabel, topologyGpus } from "./topology_budget.ts";
import { loadTopology } from "./topology.ts";
import { loadTopologyWith, type TopologySet } from "./topology_set.ts";

const fixture = (f: string) => new URL(`../fixtures/topologies/${f}`, import.meta.url).pathname;
const counts = (sizes: TopologySet[][]) =>
  sizes.map((s) => s.map((x) => `${x.path.join(".")}=${x.value}`).join(" "));

Deno.test("budget: pd and ppd get every P + D split of the budget, each role >= 1", async () => {
  for (const f of ["sim_pd_1p1d.yaml", "sim_ppd_1p1d.yaml"]) {
    const t = await loadTopology(fixture(f));
    const sizes = budgetSizes(t, 4);
    assert.deepEqual(counts(sizes), [
      "prefill.count=1 decode.count=3",
      "prefill.count=2 decode.count=2",
      "prefill.count=3 decode.count=1",
    ]);
    for (const s of sizes) assert.equal(topologyGpus(await loadTopologyWith(t.file, s)), 4);
  }
});

Deno.test("budget: tensor parallel sizes count (P·tp_p + D·tp_d = budget)", async () => {
  const t = await loadTopologyWith(fixture("sim_pd_1p1d.yaml"), [
    { path: ["decode", "tp"], value: 2 },
  ]);
  assert.deepEqual(counts(budgetSizes(t, 8)), [
    "prefill.count=2 decode.count=3",
    "prefill.count=4 decode.count=2",
    "prefill.count=6 decode.count=1",
  ]);
  const sized = await loadTopologyWith(fixture("sim_pd_1p1d.yaml"), [
    { path: ["decode", "tp"], value: 2 },
    ...budgetSizes(t, 8)[0],
  ]);
  assert.equal(shortSizeLabel(sized), "2P3D-tp1_2");
  assert.throws(() => budgetSizes(t, 2), /Cannot size .*budget of 2 GPUs.*tp 1\/2/);
});

Deno.test("budget: dp gets budget / tp replicas; agg stays only at its own size", async () => {
  const dp = await loadTopology(fixture("sim_dp.yaml"));
  assert.deepEqual(counts(budgetSizes(dp, 8)), ["replicas.count=8"]);
  const dp8 = await loadTopologyWith(dp.file, budgetSizes(dp, 8)[0]);
  assert.equal(shortSizeLabel(dp8), "8");
  assert.equal(topologyGpus(dp8), 8);
  const dpTp2 = await loadTopologyWith(fixture("sim_dp.yaml"), [{
    path: ["replicas", "tp"],
    value: 2,
  }]);
  assert.deepEqual(counts(budgetSizes(dpTp2, 8)), ["replicas.count=4"]);
  assert.throws(() => budgetSizes(dpTp2, 7), /budget of 7 GPUs.*tp 2 for replicas/);
  const agg = await loadTopology(fixture("sim_agg.yaml"));
  assert.deepEqual(budgetSizes(agg, 1), [[]]);
  assert.throws(
    () => budgetSizes(agg, 8, "x.yaml (agg)"),
    /Cannot size x\.yaml \(agg\) to a budget of 8 GPUs: current value is 1 GPUs.*sweep\.topology\.kinds/,
  );
  assert.throws(() => budgetSizes(dp, 0), /whole number >= 1/);
});

Deno.test("budget: epd gets every E + P + D split", async () => {
  const t = await loadTopology(fixture("sim_epd.yaml"));
  assert.deepEqual(counts(budgetSizes(t, 4)), [
    "encode.count=1 prefill.count=1 decode.count=2",
    "encode.count=1 prefill.count=2 decode.count=1",
    "encode.count=2 prefill.count=1 decode.count=1",
  ]);
  assert.throws(() => budgetSizes(t, 2), /kind epd.*budget of 2 GPUs/);
});
