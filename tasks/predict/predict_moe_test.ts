/**
 * `deno task predict --topology` of a simulated MoE topology with `dp` and
 * `ep`: the instance's ranks run in virtual time (the run counts dp × tp GPUs).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../_experiment.ts";
import { readSummaries } from "../_bench_cmd.ts";
import { main } from "../predict.ts";
import { readStepTerms } from "./step_terms_file.ts";
import { readCsv } from "../../lib/csv.ts";

const FIXTURE = join(ROOT, "fixtures/topologies/sim_moe_dp_ep.yaml");

/** The summary of `deno task predict --topology FIXTURE ...args` written under `dir`. */
async function predict(dir: string, args: string[]) {
  const out = join(dir, `p${[...Deno.readDirSync(dir)].length}`);
  const flags = ["--endpoint", "/v1/completions", "--dataset", "random", "--seed", "1"];
  assert.equal(await main(["--topology", FIXTURE, ...flags, ...args, "--out", out]), 0);
  const run = [...Deno.readDirSync(dir)].find((e) => e.name.endsWith(`-${out.split("/").pop()}`));
  assert.ok(run, `a run folder under ${dir}`);
  const [s] = await readSummaries(join(dir, run.name));
  const rows = await readCsv(join(dir, run.name, "requests.csv"));
  return Object.assign(s, { terms: readStepTerms(join(dir, run.name)), rows });
}

Deno.test("predict --topology: a DP2 + EP instance runs its ranks in virtual time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_moe_" });
  try {
    const load = [
      "--num-requests",
      "24",
      "--rate",
      "8",
      "--input-len",
      "512",
      "--output-len",
      "32",
    ];
    const s = await predict(dir, load);
    assert.equal(s.completed, 24);
    assert.equal(s.failed, 0);
    assert.equal(s.gpus, 2, "dp 2 × tp 1");
    // step_terms.json: the group's lockstep steps by term, the experts and their all-to-all among them
    const [inst] = s.terms!.instances;
    assert.equal(inst.dp, 2);
    assert.ok(inst.terms_ms.expertMs > 0 && inst.terms_ms.all2allMs > 0);
    const sum = Object.values(inst.terms_ms).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - inst.busy_ms) < 1e-6 * inst.busy_ms);
    // the same instance with one rank: one GPU
    const one = await predict(dir, [...load, "--set", "server.dp=1"]);
    assert.equal(one.gpus, 1);
    assert.equal(one.completed, 24);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("predict --topology: dp_lb external routes to ranks; session stickiness raises prefix hits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_predict_moe_lb_" });
  try {
    const chat = ["--dataset", "multiturn", "--turns", "4", "--think-time", "200"];
    const load = [...chat, "--num-requests", "12", "--rate", "4", "--input-len", "512"];
    const out = ["--output-len", "16"];
    const internal = await predict(dir, [...load, ...out, "--set", "router.policy=session"]);
    const external = await predict(dir, [
      ...load,
      ...out,
      "--set",
      "server.dp_lb=external",
      "--set",
      "router.policy=session",
    ]);
    for (const s of [internal, external]) assert.equal(s.completed, 48);
    // one backend (vLLM's balancer picks the rank), or one per rank picked by the router
    assert.deepEqual([...new Set(internal.rows.map((r) => r.backend))], ["server-0"]);
    assert.deepEqual(
      [...new Set(external.rows.map((r) => r.backend))].sort(),
      ["server-0-rank0", "server-0-rank1"],
    );
    assert.equal(external.gpus, 2);
    const cached = (rows: Record<string, string>[]) =>
      rows.reduce((a, r) => a + Number(r.cached_tokens || 0), 0);
    assert.ok(
      cached(external.rows) > cached(internal.rows),
      `prefix hits: external ${cached(external.rows)} > internal ${cached(internal.rows)}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
