import assert from "node:assert/strict";
import { join } from "node:path";
import { isPortFree } from "../lib/net.ts";
import { isGroupAlive } from "../lib/supervisor.ts";
import { ROOT, ROUTER_ENTRY } from "./_launch.ts";
import type { TopologyState } from "./_state.ts";

// The router is built alongside; without it these tests run the engines alone.
const ROUTER = await Deno.stat(join(ROOT, ROUTER_ENTRY)).then(() => true, () => false);
if (!ROUTER) {
  console.warn(`note: ${ROUTER_ENTRY} is missing; up tests run with router.enabled: false`);
}

/** A base port with `n` free ports after it. */
async function portBlock(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    // below Linux's ephemeral range (32768+), where every outgoing connection and
    // every port-0 listener of the tests running beside this one takes its port
    const base = 20000 + Math.floor(Math.random() * (32000 - n - 20000));
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await isPortFree(p, "0.0.0.0");
    if (ok) return base;
  }
  throw new Error("no free port block");
}

async function cli(script: string, args: string[], signalAfter?: () => Promise<boolean>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "launch", script), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (signalAfter) {
    while (!(await signalAfter())) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGINT");
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function setup(yaml: string, ports = 12) {
  const dir = await Deno.makeTempDir({ prefix: "topobench-up-" });
  const file = join(dir, "topo.yaml");
  await Deno.writeTextFile(file, yaml);
  const state = join(dir, "state");
  const base = await portBlock(ports);
  const flags = ["--state-dir", state, "--port-base", String(base), "--timeout", "30"];
  return { dir, file, state, base, flags };
}

const readState = async (state: string, name: string) =>
  JSON.parse(await Deno.readTextFile(join(state, `${name}.json`))) as TopologyState;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const router = ROUTER ? "router: { port: 1 }" : "router: { enabled: false }";

function pd(name: string, decodeArgs = "[]", engineArgs = "[]") {
  return `
name: ${name}
engine: sim
model: meta-llama/Llama-3.1-8B-Instruct
kind: pd
connector: nixl
prefill: { gpus: [[0]], port: 8100 }
decode: { gpus: [[1]], port: 8200, extra_args: ${decodeArgs} }
${router}
sim: { speed: 10, extra_args: ${engineArgs} }
`;
}

Deno.test("up/status/down: agg on the simulated engine leaves no process behind", async () => {
  const s = await setup(`
name: t-agg
engine: sim
model: meta-llama/Llama-3.1-8B-Instruct
kind: agg
server: { port: 8000 }
${router}
sim: { speed: 10 }
`);
  const up = await cli("up.ts", [s.file, ...s.flags]);
  assert.equal(up.code, 0, up.stderr);
  const st = await readState(s.state, "t-agg");
  assert.equal(st.status, "up");
  assert.deepEqual(st.processes.map((p) => p.name), ROUTER ? ["server-0", "router"] : ["server-0"]);
  for (const p of st.processes) assert.ok(isGroupAlive(p.pgid), p.name);
  const models = await fetch(`${st.endpoint}/v1/models`);
  assert.equal(models.status, 200);
  assert.equal((await models.json()).data[0].id, "meta-llama/Llama-3.1-8B-Instruct");

  const again = await cli("up.ts", [s.file, ...s.flags]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already up/);

  const status = await cli("status.ts", ["t-agg", "--json", "--state-dir", s.state]);
  assert.equal(status.code, 0, status.stderr);
  const [ts] = JSON.parse(status.stdout);
  assert.equal(ts.ok, true);
  assert.ok(ts.processes.every((p: { alive: boolean; healthy: boolean }) => p.alive && p.healthy));

  const down = await cli("down.ts", [s.file, "--state-dir", s.state]);
  assert.equal(down.code, 0, down.stderr);
  for (const p of st.processes) assert.equal(isGroupAlive(p.pgid), false, p.name);
  assert.equal(await exists(join(s.state, "t-agg.json")), false);
  const after = await cli("status.ts", ["t-agg", "--state-dir", s.state]);
  assert.equal(after.code, 1);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("up/status/down: pd-1p1d over nixl; side channels on the planned ports", async () => {
  const s = await setup(pd("t-pd"));
  const up = await cli("up.ts", [s.file, ...s.flags]);
  assert.equal(up.code, 0, up.stderr);
  const st = await readState(s.state, "t-pd");
  const engines = st.processes.filter((p) => p.role !== "router");
  assert.deepEqual(engines.map((p) => p.name), ["prefill-0", "decode-0"]);
  for (const p of engines) {
    assert.match(p.command, /VLLM_NIXL_SIDE_CHANNEL_PORT=\d+ .*"kv_role":"kv_both"/);
    // The engine took the side-channel port it was given.
    assert.equal(await isPortFree(p.ports[1], "127.0.0.1"), false, `${p.name} side channel`);
    const log = await Deno.readTextFile(p.logPath);
    assert.match(log, new RegExp(`side channel on 127\\.0\\.0\\.1:${p.ports[1]}`));
  }
  if (ROUTER) {
    const res = await fetch(`${st.endpoint}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "meta-llama/Llama-3.1-8B-Instruct",
        prompt: "Hello",
        max_tokens: 4,
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
  }
  const status = await cli("status.ts", ["--state-dir", s.state]);
  assert.equal(status.code, 0, status.stdout);
  assert.match(status.stdout, /t-pd \[up\] ok/);
  const down = await cli("down.ts", ["t-pd", "--state-dir", s.state]);
  assert.equal(down.code, 0, down.stderr);
  for (const p of st.processes) assert.equal(isGroupAlive(p.pgid), false, p.name);
  for (const p of engines) assert.ok(await isPortFree(p.ports[0], "127.0.0.1"));
  await Deno.remove(s.dir, { recursive: true });
});

const startedPids = (stderr: string) =>
  [...stderr.matchAll(/started (\S+) \(pid (\d+)\)/g)].map((m) => Number(m[2]));

Deno.test("up: an engine that exits fails fast with its log tail and stops the others", async () => {
  const s = await setup(pd("t-bad", "[--no-such-flag]"));
  const t0 = performance.now();
  const up = await cli("up.ts", [s.file, ...s.flags]);
  assert.equal(up.code, 1);
  assert.ok(performance.now() - t0 < 25_000, "failed fast, before the 30 s timeout");
  assert.match(up.stderr, /Cannot start decode-0 as a healthy process: .*process exited/);
  assert.match(up.stderr, /--- last lines of .*decode-0\.log ---\n.*--no-such-flag/);
  const pids = startedPids(up.stderr);
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(isGroupAlive(pid), false);
  assert.equal(await exists(join(s.state, "t-bad.json")), false);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("up: a taken port is reported before anything starts", async () => {
  const s = await setup(pd("t-clash"));
  const l = Deno.listen({ hostname: "127.0.0.1", port: s.base + (ROUTER ? 2 : 1) }); // decode-0
  try {
    const up = await cli("up.ts", [s.file, ...s.flags]);
    assert.equal(up.code, 1);
    assert.match(
      up.stderr,
      new RegExp(`Cannot use ports ${l.addr.port} \\(decode-0\\) as free ports`),
    );
    assert.equal(startedPids(up.stderr).length, 0);
    assert.equal(await exists(join(s.state, "t-clash.json")), false);
  } finally {
    l.close();
  }
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("up: Ctrl-C while waiting for health stops everything started", async () => {
  const s = await setup(pd("t-int", "[]", "[--startup-delay, '60']"));
  const stateFile = join(s.state, "t-int.json");
  const up = await cli("up.ts", [s.file, ...s.flags], async () => {
    if (!(await exists(stateFile))) return false;
    const st = await readState(s.state, "t-int").catch(() => undefined);
    return st?.processes.length === 2;
  });
  assert.equal(up.code, 130, up.stderr);
  assert.match(up.stderr, /interrupted by SIGINT/);
  const pids = startedPids(up.stderr);
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(isGroupAlive(pid), false);
  assert.equal(await exists(stateFile), false);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("up --dry-run: prints commands, ports, GPUs and env; starts nothing", async () => {
  const s = await setup(pd("t-dry"));
  const up = await cli("up.ts", [s.file, "--dry-run", ...s.flags]);
  assert.equal(up.code, 0, up.stderr);
  const side = s.base + (ROUTER ? 3 : 2);
  assert.match(up.stdout, /# prefill-0: role=prefill host=local gpus=0 tp=1/);
  assert.match(
    up.stdout,
    new RegExp(
      `CUDA_VISIBLE_DEVICES=1 VLLM_NIXL_SIDE_CHANNEL_PORT=${
        side + 1
      } deno run -A launch/sim/live/main\\.ts`,
    ),
  );
  assert.equal(await exists(s.state), false);
  assert.ok(await isPortFree(s.base + 1, "0.0.0.0"));
  const json = await cli("up.ts", [s.file, "--dry-run", "--json", ...s.flags]);
  const plan = JSON.parse(json.stdout);
  assert.deepEqual(plan.processes.map((p: { name: string }) => p.name).slice(0, 2), [
    "prefill-0",
    "decode-0",
  ]);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("up/down: engine command starts user-given processes and waits for their health URLs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "topobench-up-" });
  const port = await portBlock(1);
  const file = join(dir, "topo.yaml");
  await Deno.writeTextFile(
    file,
    `
name: t-cmd
engine: command
kind: custom
processes:
  - name: engine-a
    cmd: ${
      JSON.stringify([
        Deno.execPath(),
        "run",
        "-A",
        "launch/sim/live/main.ts",
        "--port",
        String(port),
      ])
    }
    health: http://127.0.0.1:${port}/health
    ports: [${port}]
`,
  );
  const state = join(dir, "state");
  const up = await cli("up.ts", [file, "--state-dir", state, "--timeout", "30"]);
  assert.equal(up.code, 0, up.stderr);
  const st = await readState(state, "t-cmd");
  assert.equal(st.endpoint, `http://127.0.0.1:${port}`);
  assert.equal((await fetch(`${st.endpoint}/health`)).status, 200);
  const down = await cli("down.ts", ["t-cmd", "--state-dir", state]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(isGroupAlive(st.processes[0].pgid), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("up: two ups of one name at once: one starts it, the other refuses naming it", async () => {
  const s = await setup(pd("t-twice"));
  const [a, b] = await Promise.all([
    cli("up.ts", [s.file, ...s.flags]),
    cli("up.ts", [s.file, ...s.flags]),
  ]);
  try {
    assert.deepEqual([a.code, b.code].sort(), [0, 1], `${a.stderr}\n---\n${b.stderr}`);
    const loser = a.code === 1 ? a : b;
    assert.match(loser.stderr, /Cannot start t-twice/);
    assert.match(loser.stderr, /t-twice\.(lock|json)|already up/);
    // the loser started nothing: only the winner's processes exist, and down stops them all
    assert.equal(startedPids(loser.stderr).length, 0, loser.stderr);
    const st = await readState(s.state, "t-twice");
    const down = await cli("down.ts", ["t-twice", "--state-dir", s.state]);
    assert.equal(down.code, 0, down.stderr);
    for (const p of st.processes) assert.equal(isGroupAlive(p.pgid), false, p.name);
    assert.equal(await exists(join(s.state, "t-twice.lock")), false);
  } finally {
    await Deno.remove(s.dir, { recursive: true });
  }
});

Deno.test("up/bench/down: a simulated DP2+EP instance runs live, its ranks in one process", async () => {
  const s = await setup(`
name: t-moe
engine: sim
model: Qwen/Qwen3-30B-A3B-Instruct-2507
kind: agg
server: { gpus: [[0, 1]], dp: 2, ep: true, port: 8000 }
${router}
sim: { gpu: rtx-pro-6000, speed: 20, extra_args: [--max-num-seqs, "128"] }
`);
  const up = await cli("up.ts", [s.file, ...s.flags]);
  assert.equal(up.code, 0, up.stderr);
  const st = await readState(s.state, "t-moe");
  try {
    // one engine process for the instance's two ranks
    assert.deepEqual(
      st.processes.map((p) => p.name),
      ROUTER ? ["server-0", "router"] : ["server-0"],
    );
    const out = join(s.dir, "runs", "r4");
    const bench = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(ROOT, "bench", "run.ts"),
        "--url",
        st.endpoint,
        "--endpoint",
        "/v1/completions",
        "--dataset",
        "random",
        "--input-len",
        "256",
        "--output-len",
        "16",
        "--rate",
        "12",
        "--num-requests",
        "12",
        "--topology",
        "t-moe",
        "--out",
        out,
      ],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(bench.code, 0, new TextDecoder().decode(bench.stderr));
    const runDir = join(s.dir, "runs", [...Deno.readDirSync(join(s.dir, "runs"))][0].name);
    const raw = JSON.parse(await Deno.readTextFile(join(runDir, "summary.json")));
    const sum = Array.isArray(raw) ? raw[0] : raw;
    assert.equal(sum.completed, 12);
    assert.equal(sum.failed, 0);
    const log = await Deno.readTextFile(st.processes[0].logPath);
    assert.match(log, /tp=1 dp=2 ep speed=20x/);
  } finally {
    const down = await cli("down.ts", [s.file, "--state-dir", s.state]);
    assert.equal(down.code, 0, down.stderr);
    for (const p of st.processes) assert.equal(isGroupAlive(p.pgid), false, p.name);
    await Deno.remove(s.dir, { recursive: true });
  }
});
