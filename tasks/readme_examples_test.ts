/**
 * Every `deno task …` example of README.md and docs/*.md runs as written:
 * each page's examples in order, in a fresh folder of its own (the checkout
 * linked in, no results/), small through the size caps of
 * bench/size_caps.ts, against a simulated engine this test starts where an
 * example names a loopback `--url`, and an `up` at free ports (`--port-base`). An example that cannot run here is in
 * SKIP with its reason, so a new example is either run or listed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DocExample, docExamples, shellCommands } from "./_doc_examples.ts";
import { type ReadyProcess, startReady } from "../lib/ready_process.ts";
import { MAX_DURATION_ENV, MAX_REQUESTS_ENV, MAX_THINK_ENV } from "../bench/size_caps.ts";
import { freePortBase } from "../lib/net.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PAGES = [
  "README.md",
  ...[...Deno.readDirSync(join(ROOT, "docs"))].map((e) => `docs/${e.name}`)
    .filter((n) => n.endsWith(".md")).sort(),
];

/** Examples that cannot run in a test, each with why (keyed by the example's words). */
const SKIP: Record<string, string> = {
  "deno task demo":
    "the whole demo (about 75 s with its live cross-check); demo_test runs it small",
  "deno task test": "the test suite itself",
  "deno task predict example_21.yaml --no-plot":
    "docs/experiments.md's whole file: 15 topologies of 8 GPUs, minutes even capped; experiment_schema_test expands it, tasks/experiments/h100x8.yaml asks the same question",
  "deno task demo --clock live --speed 2 --rates 2,4,8 --num-requests 32":
    "four live topologies of processes (minutes); demo_test runs the live demo small",
  "deno task bench:pd --clock live":
    "live processes for five rates (minutes); pipeline_test runs a live pipeline",
  "deno task bench:pd --engine vllm --model meta-llama/Llama-3.1-8B-Instruct": "needs vLLM on GPUs",
  "deno task bundle": "about 10 s of bundling; tasks/dev/bundle_test.ts runs it",
  "deno task bundle && for h in load1 load2 ; do scp dist/bench.js $h: ; done":
    "copies to the hosts load1 and load2 over ssh",
  "deno task bench --url http://gpu-host:8000 --workers load1,load2 --rate 400 --duration 60":
    "needs the hosts gpu-host, load1 and load2",
  [
    "deno task bench --url http://127.0.0.1:8080 --endpoint /v1/generate --rate 5 --duration 60 " +
    '--request-body-template {"input": "{prompt}", "max_new_tokens": {max_tokens}} ' +
    "--response-text-path generated_text --response-tokens-path details.generated_tokens"
  ]: "needs a TGI-style /v1/generate server; bench/run_workloads_test.ts covers templates",
  "deno task up my_pd_p2pnccl.yaml": "the reader's own topology file (its router line is shown)",
  [
    "deno task sim --port 8130 --kv-transfer-config " +
    '{"kv_connector":"P2pNcclConnector","kv_role":"kv_producer","kv_port":21010,\n' +
    '      "kv_connector_extra_config":{"proxy_ip":"127.0.0.1","proxy_port":"30001"}}'
  ]: "joins the running p2pnccl topology above",
  [
    "deno task up fixtures/topologies/vllm_pd.yaml --set platform=kubernetes --set " +
    "kubernetes.namespace=llm --set kubernetes.env_from_secrets=[hf-token] --timeout 1800"
  ]: "needs kubectl and a GPU cluster",
  "deno task status vllm-pd-4p4d": "needs the cluster above",
  [
    "deno task plan --gpus 8 --gpu h100 --model meta-llama/Llama-3.1-8B-Instruct --endpoint " +
    "/v1/chat/completions --dataset multiturn --preset W1 --turns 3 --slo ttft:500,tpot:50"
  ]: "the same question as docs/plan.md's first example",
  [
    "deno task plan --model meta-llama/Llama-3.1-8B-Instruct --gpu h100 --gpus 8 --endpoint " +
    "/v1/chat/completions --dataset multiturn --preset W1 --turns 3 --slo ttft:500,tpot:50 " +
    "--attainment 90 --out results/plan-8xh100"
  ]: "34 candidates' searches: over a minute of both cores even size-capped (capped, every rate passes and the search climbs to its ceiling); `deno task perf --only plan` runs this question, plan_test.ts runs plan end to end",
  "deno task up results/plan-8xh100/recommended_vllm.yaml": "needs vLLM on 8 GPUs",
  [
    "deno task bench --url http://127.0.0.1:10010 --topology vllm-dp --gpus 8 --endpoint " +
    "/v1/chat/completions --dataset multiturn --preset W1 --turns 3 --duration 60 --rate 88 " +
    "--slo ttft:500,tpot:50 --out results/plan-8xh100/gpu-r88"
  ]: "needs the vLLM deployment above",
  "deno task validate results/plan-8xh100/*-gpu-r88": "the bench run above",
  "deno task down results/plan-8xh100/recommended_vllm.yaml": "the vLLM deployment above",
  [
    "deno task bench --platform kubernetes --replicas 4 --namespace llm --url " +
    "http://vllm-pd-4p4d-router.llm.svc.cluster.local:10000 --rate 40 --duration 300 " +
    "--input-len 1024 --output-len 256 --out results/k8s/pd-4p4d"
  ]: "needs the cluster above",
  "deno task down vllm-pd-4p4d": "needs the cluster above",
  [
    "deno task plan --model Qwen/Qwen3-235B-A22B --gpu h200 --gpus 16 --kinds agg,dp,pd --tp 1,8 " +
    "--dp 1,8,16 --dataset random --input-len 8000 --output-len 500 --endpoint /v1/completions " +
    "--slo ttft:2000,tpot:50"
  ]: "seven 16-GPU candidates (about a minute); tasks/plan/plan_moe_test.ts runs a DP+EP plan small",
};

/** Examples whose documented exit code is not 0. */
const EXIT: Record<string, number> = {
  [
    "deno task parse fixtures/logs/vllm_server_v1.log fixtures/logs/vllm_bench_sweep.log " +
    "--out parsed.csv"
  ]: 2,
};

/** Small sizes for every load point (bench/size_caps.ts). */
const ENV = {
  [MAX_DURATION_ENV]: "1",
  [MAX_REQUESTS_ENV]: "12",
  [MAX_THINK_ENV]: "20",
  NO_COLOR: "1",
};
const TASKS: Record<string, string> = JSON.parse(
  Deno.readTextFileSync(join(ROOT, "deno.json")),
).tasks;
const LOOPBACK = /^http:\/\/(127\.0\.0\.1|localhost):\d+/;

/** A fresh folder with the checkout's entries linked in, but no results/ or dist/. */
async function sandbox(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "topobench-doc-" });
  for await (const e of Deno.readDir(ROOT)) {
    if (!["results", "dist", ".git"].includes(e.name)) {
      await Deno.symlink(join(ROOT, e.name), join(dir, e.name));
    }
  }
  return dir;
}

/** `deno task NAME args` as the command the task runs, loopback URLs pointed at `simUrl`. */
function commandOf(ex: DocExample, simUrl: string): string[] {
  const task = TASKS[ex.argv[2]];
  assert.ok(task, `${ex.file}:${ex.line}: no task ${ex.argv[2]} in deno.json`);
  // a task's leading NAME=value words set its environment (the predict tasks' malloc tunable:
  // speed, not results): the example runs without them
  const argv = shellCommands(task)[0].argv;
  const [cmd, ...pre] = argv.slice(argv.findIndex((a) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(a)));
  assert.equal(cmd, "deno", `${ex.file}:${ex.line}: task ${ex.argv[2]} is not a deno command`);
  const args = ex.argv.slice(3).map((a) => a.replace(LOOPBACK, simUrl));
  return [...pre, ...args];
}

/** Runs one example in `cwd`; returns a failure message, or null. */
async function runExample(ex: DocExample, cwd: string, simUrl: string): Promise<string | null> {
  const args = commandOf(ex, simUrl);
  if (ex.argv[2] === "sim") return await serves(ex, args, cwd);
  if (ex.yaml !== undefined) await Deno.writeTextFile(join(cwd, ex.argv[3]), ex.yaml);
  // an `up` on its file's fixed ports (8000…, router 10000) starts at free ones instead: another
  // test may hold those at that moment (the page's `down` and `status` find it by its name)
  if (ex.argv[2] === "up" && !args.includes("--dry-run") && !args.includes("--port-base")) {
    args.push("--port-base", String(await freePortBase()));
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: ENV,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const want = EXIT[ex.text] ?? 0;
  if (out.code === want) return null;
  const tail = new TextDecoder().decode(out.stderr).split("\n").slice(-15).join("\n");
  return `${ex.file}:${ex.line}: ${ex.text}\n  exit ${out.code} (want ${want})\n${tail}`;
}

/** A server example: started with its flags on a free port, ready, then stopped. */
async function serves(ex: DocExample, args: string[], cwd: string): Promise<string | null> {
  const i = args.indexOf("--port");
  if (i >= 0) args[i + 1] = "0";
  try {
    const p = await startReady({
      cmd: Deno.execPath(),
      args,
      cwd,
      ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
      timeoutMs: 30_000,
    });
    await p.stop();
    return null;
  } catch (e) {
    return `${ex.file}:${ex.line}: ${ex.text}\n  ${(e as Error).message}`;
  }
}

/** Runs one page's examples in order in one fresh folder; stops what `up` left running. */
async function runPage(examples: DocExample[], simUrl: string): Promise<string[]> {
  const cwd = await sandbox();
  const failures: string[] = [];
  try {
    for (const ex of examples) {
      const f = await runExample(ex, cwd, simUrl);
      if (f) failures.push(f);
    }
  } finally {
    await stopLeftovers(cwd);
    await Deno.remove(cwd, { recursive: true });
  }
  return failures;
}

/** `down` for every topology a page's `up` left in its state folder. */
async function stopLeftovers(cwd: string): Promise<void> {
  const state = join(cwd, "results/.topobench");
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(state)].filter((e) => e.name.endsWith(".json"))
      .map((e) => e.name.slice(0, -".json".length));
  } catch { /* no topology was started */ }
  for (const n of names) {
    await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "launch/down.ts"), n, "--grace", "2"],
      cwd,
      stdout: "null",
      stderr: "null",
    }).output();
  }
}

function examplesByPage(): DocExample[][] {
  return PAGES.map((p) => docExamples(Deno.readTextFileSync(join(ROOT, p)), p))
    .filter((xs) => xs.length);
}

Deno.test("every skip-listed example is in the docs (the list names no stale example)", () => {
  const texts = new Set(examplesByPage().flat().map((e) => e.text));
  for (const k of Object.keys({ ...SKIP, ...EXIT })) assert.ok(texts.has(k), `not in docs: ${k}`);
});

Deno.test("every deno task example of README.md and docs/ runs as written", async () => {
  let sim: ReadyProcess | undefined;
  try {
    sim = await startReady({
      cmd: Deno.execPath(),
      args: ["run", "-A", join(ROOT, "launch/sim/live/main.ts"), "--port", "0", "--speed", "20"],
      ready: /Starting vLLM API server 0 on (http:\/\/\S+)/,
    });
    const url = sim.match[1];
    // a command shown on two pages (predict demo.yaml, bench:pd) runs once
    const seen = new Set<string>();
    const once = (x: DocExample) =>
      x.yaml !== undefined || (!seen.has(x.text) && !!seen.add(x.text));
    const pages = examplesByPage().map((xs) => xs.filter((x) => !(x.text in SKIP) && once(x)));
    const failures: string[] = [];
    const queue = [...pages].sort((a, b) => b.length - a.length); // the longest pages first
    const lane = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) failures.push(...await runPage(p, url));
    };
    await Promise.all([lane(), lane(), lane()]);
    assert.deepEqual(failures, [], failures.join("\n\n"));
  } finally {
    await sim?.stop();
  }
});
