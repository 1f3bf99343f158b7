import assert from "node:assert/strict";
import { join } from "node:path";
import { stringify as stringifyYaml } from "yaml";
import { loadExperiment, ROOT } from "./_experiment.ts";
import { runPipeline } from "./pipeline.ts";
import { parseSet } from "../launch/topology_set.ts";
import { workloadHasSessions } from "./_topology_sweep.ts";

/** A one-point dp experiment on `workload`, written to `dir`. */
async function dpExperiment(dir: string, workload: Record<string, unknown>): Promise<string> {
  const file = join(dir, "dp.yaml");
  await Deno.writeTextFile(
    file,
    stringifyYaml({
      name: "routing",
      topologies: [{ label: "dp", file: join(ROOT, "fixtures/topologies/sim_dp.yaml") }],
      workload: { "num-requests": 4, seed: 1, ...workload },
      sweep: { rates: [2] },
      plots: { formats: ["svg"] },
    }),
  );
  return file;
}

/** Runs `file` in virtual time; returns the log and the router policy of the topology that ran. */
async function run(dir: string, file: string, set: string[] = []) {
  const logs: string[] = [];
  const res = await runPipeline(await loadExperiment(file), {
    outRoot: join(dir, String(set.length)),
    plot: false,
    clock: "virtual",
    log: (l) => logs.push(l),
    sets: set.map((s) => parseSet(s)),
  });
  const cfg = JSON.parse(await Deno.readTextFile(join(res.points.dp[0].runDir, "config.json")));
  return { logs: logs.join("\n"), policy: JSON.stringify(cfg).match(/"policy":"(\w+)"/)?.[1] };
}

Deno.test("routing: a replica baseline on multi-turn chat routes by session unless told otherwise", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_routing_" });
  try {
    const chat = await dpExperiment(dir, {
      endpoint: "/v1/chat/completions",
      dataset: "multiturn",
      preset: "W1",
      turns: 2,
      "think-time": 100,
    });
    const exp = await loadExperiment(chat);
    assert.equal(exp.topologies[0].routerPolicy, "session");
    assert.equal(exp.topologies[0].routerPolicyDefaulted, true);
    const byDefault = await run(dir, chat);
    assert.match(
      byDefault.logs,
      /dp: router\.policy session \(session affinity: a replica baseline on a multi-turn workload/,
    );
    assert.equal(byDefault.policy, "session");
    // the command line's --set wins, and no default is announced
    const told = await run(dir, chat, ["router.policy=least_loaded"]);
    assert.doesNotMatch(told.logs, /session affinity/);
    assert.equal(told.policy, "least_loaded");
    // single requests: the file's own policy
    const single = await dpExperiment(dir, { dataset: "random", "input-len": 64, "output-len": 8 });
    const e2 = await loadExperiment(single);
    assert.equal(e2.topologies[0].routerPolicy, "least_loaded");
    assert.equal(e2.topologies[0].routerPolicyDefaulted, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("routing: a trace counts as sessions only when its records carry session_id", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_trace_sessions_" });
  try {
    const rec = (s?: string) =>
      JSON.stringify({ timestamp: 0, input_length: 8, output_length: 2, session_id: s });
    await Deno.writeTextFile(join(dir, "with.jsonl"), `${rec("a")}\n${rec("a")}\n`);
    await Deno.writeTextFile(join(dir, "without.jsonl"), `${rec()}\n`);
    assert.equal(
      await workloadHasSessions({ dataset: "trace", "dataset-path": join(dir, "with.jsonl") }),
      true,
    );
    assert.equal(
      await workloadHasSessions({ dataset: "trace", "dataset-path": join(dir, "without.jsonl") }),
      false,
    );
    assert.equal(await workloadHasSessions({ dataset: "sharegpt-multiturn" }), true);
    assert.equal(await workloadHasSessions({ dataset: "random" }), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
