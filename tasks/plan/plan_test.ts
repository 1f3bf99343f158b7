import assert from "node:assert/strict";
import { join } from "node:path";
import { runDeno } from "../_run_deno.ts";
import { loadTopology } from "../../launch/topology.ts";
import type { PlanAnswer } from "./answer.ts";
import { planCandidates } from "./candidates.ts";

const WORKLOAD = [
  "--dataset",
  "random",
  "--input-len",
  "512",
  "--output-len",
  "64",
  "--duration",
  "20",
  "--seed",
  "0",
];
const START = ["--start-time", "2026-12-01T00:00:00Z"];

/** `plan` of one GPU, one aggregated engine of TP 1, the workload with points of `seconds`. */
const oneGpuPlan = (seconds: number) => [
  "tasks/plan.ts",
  ...["--gpus", "1", "--kinds", "agg", "--tp", "1"],
  ...WORKLOAD.map((x) => x === "20" ? String(seconds) : x),
  ...START,
];

/** `deno run -A ARGS` from the checkout. */
const deno = (args: string[]) => runDeno(["run", "-A", ...args]);

/** SLO attainment of the recommended topology predicted at `rate`. */
async function attainmentAt(topology: string, rate: number, dir: string): Promise<number> {
  const r = await deno([
    "tasks/predict.ts",
    "--topology",
    topology,
    ...WORKLOAD,
    ...START,
    "--rate",
    String(rate),
    "--slo",
    "ttft:500,tpot:50",
    "--out",
    join(dir, `check-${rate}`),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const runDir = r.stdout.trim().split("\n").at(-1)!;
  const s = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
  return (Array.isArray(s) ? s[0] : s).slo_attainment;
}

Deno.test("plan: candidates of a budget, sized and pruned when an instance cannot hold the model", () => {
  const q = { model: "meta-llama/Llama-3.1-70B-Instruct", gpu: "h100", gpus: 4, tps: [1, 2] };
  const { candidates, pruned } = planCandidates({ ...q, kinds: ["dp", "pd"] });
  // 70B in BF16 (141 GB) fits no H100 alone, two of them (80 GB each) hold it
  assert.deepEqual(candidates.map((c) => c.label), ["dp-2-tp2", "pd-1P1D-tp2"]);
  assert.ok(candidates.every((c) => c.gpus === 4));
  assert.match(pruned.find((p) => p.label === "dp-4")!.why, /one instance of TP 1 cannot hold/);
  // a GPU file given relative to where the user stands is passed on absolute (a topology would
  // resolve it against its own folder); one replica is the aggregated engine: listed once
  const rel = planCandidates({
    model: "meta-llama/Llama-3.1-8B-Instruct",
    gpu: "fixtures/gpus/b200.yaml",
    gpus: 2,
    tps: [1, 2],
    kinds: ["agg", "dp"],
  });
  assert.deepEqual(rel.candidates.map((c) => c.label), ["agg-tp2", "dp-2"]);
  assert.equal(rel.candidates[0].set["sim.gpu"], join(Deno.cwd(), "fixtures/gpus/b200.yaml"));
});

Deno.test("plan: at most N GPUs, fewer idle than one more instance needs; policies and connectors", () => {
  const q = { model: "meta-llama/Llama-3.1-8B-Instruct", gpu: "h100", gpus: 7, tps: [2] };
  const { candidates } = planCandidates({ ...q, kinds: ["dp", "pd"] });
  // 7 GPUs in instances of 2: 6 used, one idle (too few for another instance)
  assert.deepEqual(candidates.map((c) => `${c.label}:${c.gpus}`), [
    "dp-3-tp2:6",
    "pd-1P2D-tp2:6",
    "pd-2P1D-tp2:6",
  ]);
  const mixed = planCandidates({ ...q, gpus: 5, tps: [1, 2], kinds: ["pd"] });
  // every split leaves fewer GPUs idle than its smaller instance needs
  for (const c of mixed.candidates) {
    const tps = [c.set["prefill.tp"], c.set["decode.tp"]].map(Number);
    assert.ok(5 - c.gpus < Math.min(...tps), c.label);
  }
  assert.deepEqual(
    mixed.candidates.filter((c) => c.gpus < 5).map((c) => c.label),
    ["pd-1P1D-tp2"],
  );
  const v = planCandidates({
    ...q,
    gpus: 2,
    tps: [1],
    kinds: ["dp", "ppd"],
    policies: ["session", "least_loaded"],
    connectors: ["nixl", "p2pnccl"],
  });
  assert.deepEqual(v.candidates.map((c) => c.label), [
    "dp-2-session",
    "dp-2-leastloaded",
    "ppd-1P1D",
    "ppd-1P1D-p2pnccl",
  ]);
  assert.equal(v.candidates[1].set["router.policy"], "least_loaded");
  assert.equal(v.candidates[3].set.connector, "p2pnccl");
  // EPD: encoders of TP 1 before every P+D split; 4 GPUs of TP 1 and 2
  const epd = planCandidates({
    model: "Qwen/Qwen2.5-VL-3B-Instruct",
    gpu: "h100",
    gpus: 4,
    tps: [1, 2],
    kinds: ["epd"],
  });
  assert.deepEqual(epd.candidates.map((c) => c.label), [
    "epd-1E1P2D",
    "epd-1E2P1D",
    "epd-2E1P1D",
    "epd-1E1P1D-tp1_2",
    "epd-1E1P1D-tp2_1",
  ]);
  assert.ok(epd.candidates.every((c) => c.gpus === 4 && c.set["encode.tp"] === 1));
});

Deno.test("plan: one command answers; the recommendation holds the SLO below its capacity, not above", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_plan_" });
  try {
    const out = join(dir, "p2");
    const r = await deno([
      "tasks/plan.ts",
      "--gpus",
      "2",
      "--kinds",
      "dp,pd",
      ...WORKLOAD,
      ...START,
      "--slo",
      "ttft:500,tpot:50",
      "--price-per-gpu-hour",
      "2",
      "--target-rate",
      "1000",
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Use \S+: [\d.]+ req\/s \([\d.]+ per GPU\) at TTFT p90 .* \(SIMULATED/m,
    );
    const plan = JSON.parse(await Deno.readTextFile(join(out, "plan.json"))) as PlanAnswer;
    assert.deepEqual(plan.candidates.map((c) => c.label).sort(), ["dp-1-tp2", "dp-2", "pd-1P1D"]);
    const best = plan.candidates[0];
    assert.equal(plan.recommended, best.label);
    assert.equal(best.status, "ranked");
    // cost and energy per output token at capacity: $2 per GPU-hour, the H100's 700 W TDP
    const tok = best.output_tok_s_per_gpu!;
    assert.ok(best.output_tok_s_per_user! > 10 && best.output_tok_s_per_user! < 1000);
    assert.ok(Math.abs(best.usd_per_m_output_tokens! - 2 / 3600 * 1e6 / tok) < 1e-9);
    assert.ok(Math.abs(best.joules_per_output_token! - 700 / tok) < 1e-9);
    // the GPUs for 1,000 req/s: whole copies of the recommendation at its capacity
    assert.deepEqual(plan.target, {
      rate: 1000,
      gpus: Math.ceil(1000 / best.slo_capacity) * best.gpus,
    });
    assert.match(r.stdout, /^For 1000 req\/s: \d+ GPUs as copies of /m);
    // ranked by capacity per GPU
    for (let i = 1; i < plan.candidates.length; i++) {
      assert.ok(best.goodput_per_gpu! >= plan.candidates[i].goodput_per_gpu!);
    }
    // plan.md holds the answer, and opens report.html before the findings
    const md = await Deno.readTextFile(join(out, "plan.md"));
    assert.ok(md.startsWith("## Plan: meta-llama/Llama-3.1-8B-Instruct on 2 × h100"), md);
    assert.ok(md.includes(plan.answer));
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.ok(
      html.indexOf('id="plan"') > 0 && html.indexOf('id="plan"') < html.indexOf('id="findings"'),
    );
    // recommended.yaml is a topology file predict takes as it is
    const rec = join(out, "recommended.yaml");
    assert.equal((await loadTopology(rec)).kind, best.kind);
    // and its real-vLLM twin: same kind and sizes, engine vllm
    const real = await loadTopology(join(out, "recommended_vllm.yaml"));
    assert.deepEqual([real.engine, real.kind], ["vllm", best.kind]);
    assert.ok(!real.name.startsWith("sim-"), `a real-vLLM twin named ${real.name}`);
    // its Kubernetes objects, and the commands that deploy and measure it (plan.md shows them)
    const k8s = await Deno.readTextFile(join(out, "recommended_k8s.yaml"));
    assert.match(k8s, /kind: Deployment/);
    assert.match(k8s, /vllm\/vllm-openai/);
    const cmds = plan.deploy!;
    assert.ok(cmds.gpu_host[1].includes(`--topology ${real.name} `), cmds.gpu_host[1]);
    assert.equal(cmds.gpu_host[0], `deno task up ${join(out, "recommended_vllm.yaml")}`);
    assert.match(
      cmds.gpu_host[2],
      /^deno task bench --url http:\/\/127\.0\.0\.1:\d+ .*--rate [\d.]+ --slo ttft:500,tpot:50/,
    );
    assert.match(cmds.kubernetes[1], /svc\.cluster\.local:\d+ --platform kubernetes --replicas 2 /);
    assert.ok(md.includes(cmds.kubernetes[0]));
    const cap = best.slo_capacity;
    assert.ok(await attainmentAt(rec, Number((0.9 * cap).toFixed(2)), dir) >= 0.9);
    assert.ok(await attainmentAt(rec, Number((1.15 * cap).toFixed(2)), dir) < 0.9);
    // no other candidate meets the SLO at the recommended load per GPU
    for (const other of plan.candidates.slice(1)) {
      const rate = Number((best.goodput_per_gpu! * other.gpus).toFixed(2));
      assert.ok(await attainmentAt(other.topology, rate, dir) < 0.9, `${other.label} at ${rate}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A stand-in for vLLM's `vllm` binary: `vllm serve MODEL FLAGS` runs the
 * simulated engine with the same flags, so a topology with `engine: vllm`
 * comes up here as it would on a GPU host.
 */
async function standInVllm(dir: string): Promise<string> {
  const bin = join(dir, "vllm");
  const sim = join(Deno.cwd(), "launch/sim/live/main.ts");
  await Deno.writeTextFile(
    bin,
    `#!/bin/sh\n[ "$1" = serve ] || exit 2\nmodel=$2; shift 2\nexec '${Deno.execPath()}' run -A '${sim}' --model "$model" --gpu h100 --speed 1 "$@"\n`,
  );
  await Deno.chmod(bin, 0o755);
  return bin;
}

Deno.test("plan --validate live: the recommendation runs on engine: vllm at 80% and 100% of its capacity", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_plan_live_" });
  try {
    const out = join(dir, "p1");
    const vllm = await standInVllm(dir);
    const r = await deno([
      ...oneGpuPlan(4), // 4 s points
      "--slo",
      "ttft:500,tpot:50",
      "--no-plot",
      "--validate",
      "live",
      "--check-engine",
      "vllm",
      "--check-set",
      `vllm.bin=${vllm}`,
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(await Deno.readTextFile(join(out, "plan.json"))) as PlanAnswer;
    const checks = plan.live_check!;
    assert.deepEqual(checks.map((c) => [c.label, c.share]), [["agg", 0.8], ["agg", 1]]);
    for (const c of checks) {
      // both clocks measured the point: the live one with engine, router and bench processes
      assert.ok(c.live.slo_attainment! > 0 && c.virtual.slo_attainment! > 0, JSON.stringify(c));
      assert.ok(c.live.p90_ttft_ms! > 0 && c.virtual.p90_ttft_ms! > 0);
    }
    assert.equal(plan.live_check_engine, "vllm");
    // the live points ran the real-vLLM twin of the recommendation
    const twin = await loadTopology(join(out, "live-check", "agg_vllm.yaml"));
    assert.deepEqual([twin.engine, twin.kind], ["vllm", "agg"]);
    assert.match(r.stdout, /live check \(real processes, vLLM\):\n.*\nagg +[\d.]+ \(80%\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plan: an SLO no deployment meets is said so, with the best latency reached, exit 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench_plan_none_" });
  try {
    const r = await deno([
      ...oneGpuPlan(5),
      "--slo",
      "ttft:1",
      "--no-plot",
      "--out",
      join(dir, "none"),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stdout,
      /^No deployment of 1 GPUs meets the SLO at any load tried; the best any reached was TTFT p90 [\d.]+ ms/m,
    );
    const plan = JSON.parse(await Deno.readTextFile(join(dir, "none", "plan.json"))) as PlanAnswer;
    assert.equal(plan.recommended, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
