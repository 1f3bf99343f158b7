/**
 * An experiment sweeping a MoE role's `dp` under a GPU budget: each instance
 * counts dp × tp GPUs, and every size is labelled with its ranks.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadExperiment } from "./_experiment.ts";

const TOPOLOGY = `
name: moe-pd
engine: sim
model: Qwen/Qwen3-30B-A3B-Instruct-2507
kind: pd
prefill: { gpus: [[0, 1]], dp: 2, ep: true, port: 8100 }
decode: { gpus: [[2, 3]], dp: 2, ep: true, port: 8200 }
router: { port: 10000 }
sim: { gpu: h100 }
`;

Deno.test("experiment: sweep.topology decode.dp [2, 4] under a budget of 8 GPUs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_moe_sweep_" });
  try {
    await Deno.writeTextFile(join(dir, "moe.yaml"), TOPOLOGY);
    const file = join(dir, "e.yaml");
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "moe",
        topologies: [{ label: "moe", file: join(dir, "moe.yaml") }],
        workload: { dataset: "random", "input-len": 128, "output-len": 8 },
        sweep: { rates: [1], topology: { "decode.dp": [2, 4], budget: 8 } },
      }),
    );
    const exp = await loadExperiment(file);
    // P·2 + D·2 = 8, then P·2 + D·4 = 8
    assert.deepEqual(exp.topologies.map((t) => t.label), [
      "moe-1P3D-dep2",
      "moe-2P2D-dep2",
      "moe-3P1D-dep2",
      "moe-2P1D-dep2_dep4",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
