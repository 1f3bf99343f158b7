/**
 * MoE topologies: `dp`, `ep`, `eplb`, `all2all_backend` and `dp_lb` of a role
 * block, read, refused where vLLM (or this launcher) would refuse them, and
 * turned into GPU counts, sizes, `vllm serve` and sim command lines.
 */
import assert from "node:assert/strict";
import { launchProcesses, routerConfig } from "./_launch.ts";
import { planTopology } from "./_plan.ts";
import { parseTopology } from "./topology.ts";
import { budgetSizes, shortSizeLabel, topologyGpus } from "./topology_budget.ts";
import { applySets, parseSet, sizeLabelOf } from "./topology_set.ts";
import { validateTopology } from "./topology.ts";
import { simCommand, vllmCommand } from "./vllm.ts";
import { up } from "./up.ts";
import { parse } from "yaml";

const AGG = `
name: moe
engine: vllm
model: Qwen/Qwen3-30B-A3B-Instruct-2507
kind: agg
server: { gpus: [[0, 1, 2, 3]], dp: 2, ep: true, port: 8000 }
router: { port: 10000 }
`;

const PD = `
name: moe-pd
engine: vllm
model: deepseek-ai/DeepSeek-V3
kind: pd
prefill: { gpus: [[0, 1]], dp: 2, ep: true, port: 8100 }
decode: { gpus: [[2, 3, 4, 5]], dp: 4, ep: true, port: 8200 }
router: { port: 10000 }
`;

/** `yaml` with `sets` applied (as --set does), validated. */
const topo = (yaml: string, ...sets: string[]) =>
  validateTopology(applySets(parse(yaml), sets.map((s) => parseSet(s))), "t.yaml");

/** The message of what validating `yaml` with `sets` throws. */
function refusal(yaml: string, ...sets: string[]): string {
  try {
    topo(yaml, ...sets);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected ${sets.join(" ")} to be refused`);
}

Deno.test("moe topology: a GPU list holds dp ranks of tp GPUs; defaults dp 1, no ep, internal", () => {
  const t = topo(AGG);
  const s = t.roles[0];
  assert.deepEqual([s.dp, s.ep, s.tp, s.dpLb, s.eplb, s.all2allBackend], [
    2,
    true,
    [2],
    "internal",
    undefined,
    undefined,
  ]);
  assert.equal(topologyGpus(t), 4);
  const dense = parseTopology(AGG.replace(", dp: 2, ep: true", ""), "t.yaml").roles[0];
  assert.deepEqual([dense.dp, dense.ep, dense.tp, dense.dpLb], [1, false, [4], "internal"]);
  // --set dp keeps tp and lays the GPU lists out again
  assert.deepEqual(topo(AGG, "server.dp=4").roles[0].gpus, [[0, 1, 2, 3, 4, 5, 6, 7]]);
  assert.deepEqual(topo(AGG, "server.dp=4", "server.tp=1").roles[0].gpus, [[0, 1, 2, 3]]);
  const eplb = topo(AGG, "server.eplb={num_redundant_experts: 32, window_size: 1000}").roles[0];
  assert.deepEqual(eplb.eplb, { numRedundantExperts: 32, windowSize: 1000 });
  assert.deepEqual(topo(AGG, "server.eplb=true").roles[0].eplb, {});
});

Deno.test("moe topology: bad combinations are refused naming the field, the value and what is allowed", () => {
  const cases: [string[], RegExp][] = [
    [["server.gpus=[[0, 1, 2]]"], /server\.gpus .*as lists of 2 ranks × tp GPUs each/],
    [
      ["server.gpus=[[0, 1, 2, 3]]", "server.tp=1"],
      /server\.tp .*as the length of each server\.gpus list \/ 2 ranks \(2\)/,
    ],
    [["server.ep=false", "server.eplb=true"], /server\.eplb .*absent unless ep: true/],
    [
      ["server.dp=1", "server.tp=1", "server.gpus=[[0]]", "server.eplb=true"],
      /server\.eplb .*absent on a one-GPU instance.*tp × dp > 1/,
    ],
    [
      ["server.dp=1", "server.ep=false", "server.all2all_backend=deepep_low_latency"],
      /server\.all2all_backend .*absent unless dp > 1 or ep: true/,
    ],
    [["server.all2all_backend=pplx"], /server\.all2all_backend .*one of allgather_reducescatter/],
    [["server.dp=1", "server.dp_lb=external"], /server\.dp_lb .*internal unless dp > 1/],
    [["server.dp_lb=hybrid"], /server\.dp_lb .*hybrid balances over nodes \(nodes >= 2/],
    [["server.dp_lb=balanced"], /server\.dp_lb .*one of internal, hybrid, external/],
    [["server.eplb=3"], /server\.eplb .*true, or a mapping of num_redundant_experts/],
    [["server.eplb={window_size: 0}"], /server\.eplb\.window_size .*\[1, 1000000000\]/],
  ];
  for (const [sets, re] of cases) assert.match(refusal(AGG, ...sets), re, sets.join(" "));
  // nodes share the ranks (a Kubernetes LeaderWorkerSet): they must divide dp
  const k8s = ["platform=kubernetes", "server.dp=3", "server.nodes=2"];
  assert.match(refusal(AGG, ...k8s), /server\.nodes .*a divisor of dp 3/);
  assert.match(
    refusal(AGG, "platform=kubernetes", "server.dp_lb=external"),
    /server\.dp_lb .*internal or hybrid with platform: kubernetes/,
  );
  assert.match(
    refusal(AGG, "platform=kubernetes", "server.nodes=2", "server.dp=4", "server.dp_lb=external"),
    /server\.nodes .*1 with dp_lb: external/,
  );
  // only NIXL is audited for DP instances; encoders take no dp
  assert.match(refusal(PD, "connector=p2pnccl"), /prefill\.dp .*1 with connector p2pnccl/);
  const epd = PD.replace("kind: pd", "kind: epd") + "encode: { gpus: [[6]], dp: 1, port: 8300 }\n";
  assert.match(refusal(epd), /encode\.dp .*absent for the encode role/);
});

Deno.test("moe topology: the simulated engine takes dp and ep, balanced internally or by the router, without EPLB", () => {
  const sim = AGG.replace("engine: vllm", "engine: sim");
  const plan = planTopology(topo(sim));
  const args = simCommand(plan, plan.instances[0]).args;
  const at = (k: string) => args[args.indexOf(k) + 1];
  assert.equal(at("--tensor-parallel-size"), "2");
  assert.equal(at("--data-parallel-size"), "2");
  assert.ok(args.includes("--enable-expert-parallel"));
  const eplb = planTopology(topo(sim, "server.eplb={num_redundant_experts: 2}"));
  const eplbArgs = simCommand(eplb, eplb.instances[0]).args;
  assert.deepEqual(
    eplbArgs.slice(eplbArgs.indexOf("--enable-eplb"), eplbArgs.indexOf("--enable-eplb") + 3),
    [
      "--enable-eplb",
      "--eplb-config",
      '{"num_redundant_experts":2}',
    ],
  );
  assert.match(
    refusal(sim, "server.all2all_backend=deepep_low_latency"),
    /server\.all2all_backend .*absent for engine: sim/,
  );
  // external load balancing: one process, a port per rank, each rank a router backend
  const ext = planTopology(topo(sim, "server.dp_lb=external"));
  assert.ok(simCommand(ext, ext.instances[0]).args.includes("--data-parallel-external-lb"));
  const procs = launchProcesses(ext, "/tmp/topobench-state").filter((p) => p.role === "server");
  assert.equal(procs.length, 1);
  assert.deepEqual(procs[0].ports.slice(0, 2), [ext.instances[0].port, ext.instances[0].port + 1]);
  assert.deepEqual(routerConfig(ext).backends!.map((b) => b.name), [
    "server-0-rank0",
    "server-0-rank1",
  ]);
  assert.match(
    refusal(sim, "server.dp_lb=hybrid"),
    /server\.dp_lb .*internal or external/,
  );
  const dense = planTopology(topo(sim, "server.dp=1", "server.ep=false"));
  assert.ok(!simCommand(dense, dense.instances[0]).args.includes("--data-parallel-size"));
});

Deno.test("moe sizes: an instance counts tp × dp GPUs in budgets and labels", () => {
  const pd = topo(PD);
  assert.equal(topologyGpus(pd), 2 + 4);
  assert.equal(sizeLabelOf(pd), "1P1D-tp1-dep2/dep4");
  assert.equal(shortSizeLabel(pd), "1P1D-dep2_dep4");
  // P·2 + D·4 = 10
  assert.deepEqual(
    budgetSizes(pd, 10).map((s) => s.map((x) => `${x.path.join(".")}=${x.value}`).join(" ")),
    ["prefill.count=1 decode.count=2", "prefill.count=3 decode.count=1"],
  );
  assert.throws(() => budgetSizes(pd, 5), /current value is 2\/4 GPUs per instance \(tp × dp/);
  assert.equal(sizeLabelOf(topo(AGG)), "agg-tp2-dep2");
  assert.equal(sizeLabelOf(topo(AGG, "server.ep=false")), "agg-tp2-dp2");
  assert.equal(sizeLabelOf(topo(PD, "prefill.dp=1", "prefill.ep=false")), "1P1D-tp1-dp1/dep4");
  const dp = AGG.replace("kind: agg", "kind: dp").replace("server:", "replicas:");
  const t = topo(dp, "replicas.count=2");
  assert.equal(topologyGpus(t), 8);
  assert.equal(shortSizeLabel(t), "2-tp2-dep2");
  assert.deepEqual(budgetSizes(t, 16).map((s) => s[0].value), [4]);
});

Deno.test("vllm moe: internal balancing is one vllm serve of dp × tp GPUs, EPLB and all2all on it", () => {
  const plan = planTopology(
    topo(
      AGG,
      "server.eplb={num_redundant_experts: 32}",
      "server.all2all_backend=deepep_high_throughput",
    ),
  );
  const c = vllmCommand(plan, plan.instances[0]);
  assert.deepEqual(c.args.slice(2, 20), [
    ...["--host", "127.0.0.1", "--port", "8000", "--tensor-parallel-size", "2"],
    ...["--data-parallel-size", "2", "--enable-expert-parallel", "--enable-eplb"],
    ...["--eplb-config", '{"num_redundant_experts":32}'],
    ...["--all2all-backend", "deepep_high_throughput"],
    ...["--gpu-memory-utilization", "0.9"],
  ]);
  assert.equal(c.env.CUDA_VISIBLE_DEVICES, "0,1,2,3");
  // one process, no RPC port (the ranks talk over local IPC)
  assert.equal(launchProcesses(plan, "s").length, 2);
  assert.ok(!c.args.includes("--data-parallel-rpc-port"));
});

Deno.test("vllm moe: external balancing is one vllm serve per rank, ports rank by rank, one RPC port per instance", () => {
  const dp = AGG.replace("kind: agg", "kind: dp").replace("server:", "replicas:");
  const plan = planTopology(
    topo(dp, "replicas.count=2", "replicas.dp_lb=external"),
  );
  const procs = launchProcesses(plan, "s").filter((p) => p.role !== "router");
  assert.deepEqual(
    procs.map((p) => [p.name, p.gpus!.join(","), p.ports.join(",")]),
    [
      ["replica-0-rank0", "0,1", "8000,29550"],
      ["replica-0-rank1", "2,3", "8001"],
      ["replica-1-rank0", "4,5", "8002,29551"],
      ["replica-1-rank1", "6,7", "8003"],
    ],
  );
  const args = procs[3].inner.args;
  const at = (k: string) => args[args.indexOf(k) + 1];
  assert.deepEqual(
    ["--port", "--data-parallel-size", "--data-parallel-rank", "--data-parallel-address"].map(at),
    ["8003", "2", "1", "127.0.0.1"],
  );
  assert.equal(at("--data-parallel-rpc-port"), "29551");
  // vLLM requires data_parallel_size_local 1 (or unset) with an explicit rank
  assert.ok(!args.includes("--data-parallel-size-local"));
  assert.deepEqual(routerConfig(plan).backends!.map((b) => b.url), [
    "http://127.0.0.1:8000",
    "http://127.0.0.1:8001",
    "http://127.0.0.1:8002",
    "http://127.0.0.1:8003",
  ]);
  // an agg engine with an endpoint per rank is balanced over like replicas
  const agg = planTopology(topo(AGG, "server.dp_lb=external"));
  assert.equal(routerConfig(agg).kind, "dp");
  assert.equal(routerConfig(agg).backends!.length, 2);
  // --port-base lays every rank's port out too
  const based = planTopology(topo(AGG, "server.dp_lb=external"), { portBase: 20000 });
  assert.deepEqual(based.ports.map((p) => p.port), [20000, 20001, 20002, 20003]);
});

Deno.test("vllm moe: NIXL side-channel ports are dp × tp per instance, each rank process its share", () => {
  const plan = planTopology(topo(PD, "decode.dp_lb=external", "prefill.tp=2"));
  const [pre, dec] = plan.instances;
  assert.deepEqual([pre.sideChannelPort, dec.sideChannelPort], [5600, 5604]);
  const procs = launchProcesses(plan, "s");
  assert.deepEqual(procs[0].ports, [8100, 5600, 5601, 5602, 5603]);
  assert.deepEqual(procs.slice(1, 5).map((p) => p.ports), [
    [8200, 29550, 5604],
    [8201, 5605],
    [8202, 5606],
    [8203, 5607],
  ]);
  // every rank reads the instance's base (vLLM adds the rank)
  assert.deepEqual(
    procs.slice(1, 5).map((p) => p.inner.env.VLLM_NIXL_SIDE_CHANNEL_PORT),
    ["5604", "5604", "5604", "5604"],
  );
});

Deno.test("up: simulated DP prefill/decode roles are refused on the live clock, naming the limitation and predict", async () => {
  const file = new URL("../fixtures/topologies/sim_pd_1p1d.yaml", import.meta.url).pathname;
  const sets = ["model=Qwen/Qwen3-30B-A3B", "decode.dp=2", "decode.ep=true"].map((x) =>
    parseSet(x)
  );
  const stateDir = await Deno.makeTempDir({ prefix: "topobench_moe_up_" });
  try {
    await assert.rejects(
      () => up({ file, sets, stateDir, log: () => {} }),
      /Cannot start .*sim_pd_1p1d\.yaml.* on the live clock as a simulated topology with data-parallel decode instances: current value is decode\.dp 2; allowed: dp 1 on prefill\/decode roles .*deno task predict --topology/,
    );
    // the suggested command is runnable: the file, then its changes as --set flags
    const err = await up({ file, sets, stateDir, log: () => {} }).catch((e) => String(e));
    assert.ok(
      String(err).includes(
        `deno task predict --topology ${file} --set model=Qwen/Qwen3-30B-A3B --set decode.dp=2 --set decode.ep=true)`,
      ),
      String(err),
    );
    // nothing was started or written
    assert.deepEqual([...Deno.readDirSync(stateDir)], []);
    // the dry run still prints the command the virtual clock reads
    const plan = await up({ file, sets, stateDir, dryRun: true });
    assert.match(String(plan), /--data-parallel-size 2 --enable-expert-parallel/);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});
