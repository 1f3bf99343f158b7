import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { loadExperiment, ROOT } from "./_experiment.ts";
import { runPipeline } from "./pipeline.ts";
import { mergeRuns } from "./merge/merge.ts";
import { compare } from "./compare/compare.ts";
import { readExperiment } from "../plot/_runs.ts";
import { throughputVsConcurrency, ttftVsPromptLength } from "../plot/charts/grid_sweep.ts";

const fixture = (f: string) => join(ROOT, "fixtures/topologies", f);
const quiet = () => {};

async function write(dir: string, name: string, doc: Record<string, unknown>): Promise<string> {
  const p = join(dir, `${name}.yaml`);
  await Deno.writeTextFile(p, stringifyYaml({ name, plots: { formats: ["svg"] }, ...doc }));
  return p;
}

Deno.test({
  name:
    "identity: a 2 x 2 grid at 2 rates keeps 8 points through merge, compare and the grid figures",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_identity_" });
  try {
    const file = await write(dir, "grid", {
      topologies: [{ label: "agg", file: fixture("sim_agg.yaml") }],
      workload: { dataset: "random", "num-requests": 12, seed: 1 },
      sweep: { rates: [2, 8], grid: { "input-len": [64, 512], "output-len": [8, 32] } },
    });
    const res = await runPipeline(await loadExperiment(file), {
      outRoot: dir,
      plot: false,
      log: quiet,
    });
    assert.equal(res.points.agg.length, 8);
    const means = res.rows.filter((r) => r.run_index === "mean");
    assert.equal(means.length, 8, "no grid cells pooled");
    assert.equal(new Set(means.map((r) => r.workload)).size, 4);
    assert.ok(means.every((r) => r.n_runs === 1));
    const { rows, inputs } = await mergeRuns([res.expDir]);
    const cmp = compare(rows, inputs);
    assert.equal(cmp.json.topologies.length, 4, "one compared series per cell");
    const data = await readExperiment(res.expDir);
    assert.equal(data.rows.length, 8);
    const fromCsv = await readExperiment(join(res.expDir, "merged.csv")); // plot merged.csv
    assert.deepEqual([fromCsv.dir, fromCsv.rows.length, fromCsv.fromMerged], [res.expDir, 8, true]);
    const ctx = { model: "m", workload: "", topologies: ["agg"], gpu: "", simulated: true };
    assert.ok("spec" in ttftVsPromptLength(data.rows, ctx));
    // the rows of both prompt lengths are distinct x values
    const xs = new Set(data.rows.map((r) => Math.round(r.mean_input_tokens as number)));
    assert.ok(xs.size >= 2, `prompt lengths ${[...xs]}`);
    assert.ok("skip" in throughputVsConcurrency(data.rows, ctx)); // no concurrency in this grid
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name: "identity: W1 and W4 never pool; a changed setting reruns a finished point",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_identity_" });
  try {
    const exp = (preset: string, seed: number) =>
      write(dir, "mt", {
        topologies: [{ label: "agg", file: fixture("sim_agg.yaml") }],
        workload: {
          endpoint: "/v1/chat/completions",
          dataset: "multiturn",
          preset,
          turns: 2,
          "think-time": 100,
          "num-requests": 4,
          seed,
        },
        sweep: { rates: [1] },
      });
    const logs: string[] = [];
    const run = async (preset: string, seed: number, resume?: "strict") =>
      runPipeline(await loadExperiment(await exp(preset, seed)), {
        outRoot: dir,
        plot: false,
        resume,
        log: (l) => logs.push(l),
      });
    const a = await run("W1", 1);
    const again = await run("W1", 1);
    assert.ok(again.points.agg[0].resumed, "same settings: reused");
    const b = await run("W4", 1);
    assert.ok(!b.points.agg[0].resumed, "another preset: rerun");
    assert.ok(logs.some((l) => /settings changed .*preset.*W1.*W4/.test(l)), logs.join("\n"));
    await assert.rejects(() => run("W1", 2, "strict"), /Cannot resume .*seed/);
    // both runs sit in one folder now; merge keeps the presets apart
    const { rows } = await mergeRuns([a.expDir]);
    const means = rows.filter((r) => r.run_index === "mean");
    assert.deepEqual(means.map((r) => r.workload).sort(), ["multiturn W1 t2", "multiturn W4 t2"]);
    assert.ok(means.every((r) => r.n_runs === 1));
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test({
  name:
    "identity: sweep.topology runs every xPyD size, labelled by size, and --set changes every topology",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_sizes_" });
  try {
    const file = await write(dir, "sizes", {
      topologies: [{ label: "pd", file: fixture("sim_pd_1p1d.yaml") }],
      workload: {
        dataset: "random",
        "num-requests": 12,
        seed: 1,
        "input-len": 256,
        "output-len": 16,
      },
      sweep: { rates: [4], topology: { "prefill.count": [1, 2], "decode.count": [1, 2] } },
    });
    const exp = await loadExperiment(file);
    assert.deepEqual(exp.topologies.map((t) => t.label), [
      "pd-1P1D-tp1",
      "pd-1P2D-tp1",
      "pd-2P1D-tp1",
      "pd-2P2D-tp1",
    ]);
    const res = await runPipeline(exp, {
      outRoot: dir,
      plot: false,
      log: quiet,
      sets: [{ path: ["sim", "speed"], value: 1 }],
    });
    const means = res.rows.filter((r) => r.run_index === "mean");
    assert.deepEqual(means.map((r) => [r.topology, r.gpus]).sort(), [
      ["pd-1P1D-tp1", 2],
      ["pd-1P2D-tp1", 3],
      ["pd-2P1D-tp1", 3],
      ["pd-2P2D-tp1", 4],
    ]);
    // the changed topology each point ran is kept beside the results
    const gen = await Deno.readTextFile(join(res.expDir, ".topologies", "pd-2P2D-tp1.yaml"));
    assert.match(gen, /count: 2[\s\S]*count: 2/);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
