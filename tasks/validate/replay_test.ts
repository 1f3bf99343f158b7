import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { readRecordedRun, type RecordedRun } from "../../lib/recorded_run.ts";
import { resolveGpu } from "../../launch/sim/core/profiles.ts";
import { parseTopology } from "../../launch/topology.ts";
import { checkReplayable, topologyText, traceText } from "./replay.ts";

const FIXTURE = join(ROOT, "fixtures/validate/RTXPRO6000_Llama-3.1-8B_first40");

const withMeta = (run: RecordedRun, m: Partial<RecordedRun["meta"]>): RecordedRun => ({
  ...run,
  meta: { ...run.meta, ...m },
});

Deno.test("checkReplayable: a model without a profile is refused naming the file and the profiles", async () => {
  const run = await readRecordedRun(FIXTURE);
  assert.equal(checkReplayable(run).id, "llama-3.1-8b");
  assert.throws(
    () => checkReplayable(withMeta(run, { model: "mistralai/Mistral-7B-Instruct-v0.3" })),
    {
      name: "RangeError",
      message: new RegExp(
        `^Cannot use model in ${
          join(FIXTURE, "meta.json").replace(/[.]/g, "\\.")
        } as a model with a profile: current value is "mistralai/Mistral-7B-Instruct-v0\\.3"; allowed: llama-3\\.1-8b, `,
      ),
    },
  );
});

Deno.test("replay inputs: the trace keeps engine arrivals (ms) and lengths; the topology the engine settings", async () => {
  const run = await readRecordedRun(FIXTURE);
  const lines = traceText(run).trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 40);
  assert.deepEqual(lines.slice(0, 2), [
    { timestamp: 0, input_length: 2358, output_length: 531 },
    { timestamp: 285, input_length: 1034, output_length: 769 },
  ]);
  const tp2 = withMeta(run, { tensorParallelSize: 2 });
  const t = parseTopology(topologyText(tp2, resolveGpu("a100"), checkReplayable(run)), "t.yaml");
  assert.deepEqual(t.roles[0].gpus, [[0, 1]]);
  const settings = [
    "--max-num-seqs",
    "128",
    "--max-num-batched-tokens",
    "2048",
    "--enable-prefix-caching",
    "--async-scheduling",
    "--request-floor-ms",
    "0",
  ];
  assert.deepEqual(t.roles[0].extraArgs, settings);
  // data-parallel ranks with expert parallel: one instance, the ranks in its flags
  const dpEp = withMeta(run, { dataParallelSize: 2, expertParallel: true });
  const t2 = parseTopology(topologyText(dpEp, resolveGpu("a100"), checkReplayable(run)), "t.yaml");
  assert.deepEqual(t2.roles[0].gpus, [[0]]);
  assert.deepEqual(t2.roles[0].extraArgs, [
    "--data-parallel-size",
    "2",
    "--enable-expert-parallel",
    ...settings,
  ]);
  assert.deepEqual([t.sim.gpu, t.sim.modelProfile, t.router.enabled], [
    "a100",
    "llama-3.1-8b",
    false,
  ]);
});

Deno.test("a recorded disable_custom_all_reduce reaches the replay as vLLM's flag", async () => {
  const held = join(ROOT, "fixtures/validate/heldout/RTXPRO6000_Qwen3-32B-vllm0.28");
  const run = await readRecordedRun(held);
  assert.equal(run.meta.disableCustomAllReduce, true);
  assert.ok(run.notes.some((n) => /custom all-reduce off as recorded/.test(n)));
  const model = checkReplayable(run, "qwen3-32b");
  const t = parseTopology(topologyText(run, resolveGpu("rtx-pro-6000"), model), "t.yaml");
  assert.ok(t.roles[0].extraArgs.includes("--disable-custom-all-reduce"));
  // not recorded (../shared's vLLM 0.19 runs): vLLM's default, on
  const base = await readRecordedRun(FIXTURE);
  assert.equal(base.meta.disableCustomAllReduce, undefined);
});
