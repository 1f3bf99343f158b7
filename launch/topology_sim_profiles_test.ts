import assert from "node:assert/strict";
import { resolve } from "node:path";
import { parseTopology } from "./topology.ts";
import { startSim } from "./sim/live/start_sim.ts";

const topo = (sim: string) =>
  `name: files\nengine: sim\nmodel: Qwen/Qwen3-30B-A3B\nkind: agg\n` +
  `server: { gpus: [[0]], port: 8000 }\nrouter: { enabled: false }\nsim: ${sim}\n`;

Deno.test("topology sim.gpu / sim.model_profile take files, relative to the topology file", () => {
  const file = "fixtures/topologies/some_topology.yaml";
  const t = parseTopology(
    topo(
      "{ gpu: ../gpus/b200.yaml, model_profile: ../model_configs/Qwen__Qwen3-30B-A3B.json }",
    ),
    file,
  );
  assert.equal(t.sim.gpu, resolve("fixtures/gpus/b200.yaml"));
  assert.equal(t.sim.modelProfile, resolve("fixtures/model_configs/Qwen__Qwen3-30B-A3B.json"));
  // ids and Hugging Face names stay as written
  const ids = parseTopology(topo("{ gpu: b200, model_profile: Qwen/Qwen3-32B }"), file);
  assert.equal(ids.sim.gpu, "b200");
  assert.equal(ids.sim.modelProfile, "Qwen/Qwen3-32B");
  // a missing file fails at parse time, naming the resolved path
  assert.throws(
    () => parseTopology(topo("{ gpu: ../gpus/none.yaml }"), file),
    new RegExp(`Cannot read ${resolve("fixtures/gpus/none.yaml")} as --gpu`),
  );
});

Deno.test("deno task sim --model-profile <config.json> --gpu <gpu.yaml> serves with those profiles", async () => {
  const sim = await startSim([
    "--model",
    "Qwen/Qwen3-30B-A3B",
    "--model-profile",
    "fixtures/model_configs/Qwen__Qwen3-30B-A3B.json",
    "--gpu",
    "fixtures/gpus/b200.yaml",
  ]);
  try {
    assert.ok(
      sim.lines.some((l) =>
        l.includes("profile=fixtures/model_configs/Qwen__Qwen3-30B-A3B.json gpu=b200-file")
      ),
      sim.lines.join("\n"),
    );
    const models = await (await fetch(`${sim.url}/v1/models`)).json();
    assert.equal(models.data[0].max_model_len, 40960); // the file's max_position_embeddings
  } finally {
    await sim.stop();
  }
});
