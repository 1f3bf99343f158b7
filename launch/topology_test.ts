import assert from "node:assert/strict";
import { planTopology } from "./_plan.ts";
import { loadTopology, parseTopology } from "./topology.ts";
import { simCommand } from "./vllm.ts";

const PD = `
name: pd-1p1d
engine: sim
model: meta-llama/Llama-3.1-8B-Instruct
kind: pd
connector: nixl
prefill: { count: 1, gpus: [[0]], port: 8100 }
decode:  { count: 1, gpus: [[1]], port: 8200 }
router:  { port: 10001, policy: round_robin }
`;

/** The error message of parsing `yaml`. */
function errorOf(yaml: string): Error {
  try {
    parseTopology(yaml, "t.yaml");
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

Deno.test("parseTopology: pd with defaults filled in", () => {
  const t = parseTopology(PD, "t.yaml");
  assert.equal(t.kind, "pd");
  assert.equal(t.connector, "nixl");
  assert.deepEqual(t.roles.map((r) => [r.role, r.count, r.tp, r.port]), [
    ["prefill", 1, [1], 8100],
    ["decode", 1, [1], 8200],
  ]);
  assert.equal(t.router.enabled, true);
  assert.equal(t.router.port, 10001);
  assert.equal(t.kv.sideChannelPort, 5600);
  assert.equal(t.sim.speed, 1);
});

Deno.test("parseTopology: errors name the file, the field, the value and what is allowed", () => {
  const cases: [string, RegExp, ErrorConstructor][] = [
    [
      PD.replace("kind: pd", "kind: xpd"),
      /kind in t\.yaml as one of agg, dp, pd, ppd, epd.*"xpd"/,
      RangeError,
    ],
    [
      PD.replace("engine: sim", "engine: sglang"),
      /engine in t\.yaml as one of sim, vllm, command/,
      RangeError,
    ],
    [
      PD.replace("connector: nixl", "connector: mooncake"),
      /connector .*one of nixl, p2pnccl, lmcache/,
      RangeError,
    ],
    [
      PD.replace("port: 8100", "port: 70000"),
      /prefill\.port in t\.yaml as an integer in \[1, 65535\]: current value is 70000/,
      RangeError,
    ],
    [
      PD.replace("gpus: [[0]]", "gpus: [[0, 0]]"),
      /prefill\.gpus\[0\] .*distinct GPU ids/,
      RangeError,
    ],
    [
      PD.replace("count: 1, gpus: [[0]]", "count: 2, gpus: [[0]]"),
      /prefill\.gpus .*2 GPU lists/,
      RangeError,
    ],
    [
      PD.replace("policy: round_robin", "policy: random"),
      /router\.policy .*round_robin, least_loaded, session, prefix/,
      RangeError,
    ],
    [
      PD.replace("router:  { port: 10001, policy: round_robin }", "router: { policy: session }"),
      /router\.port .*router\.enabled: false/,
      RangeError,
    ],
    [
      PD.replace("decode:  { count: 1, gpus: [[1]], port: 8200 }", ""),
      /decode in t\.yaml as a decode block \(kind pd needs prefill, decode\)/,
      RangeError,
    ],
    [PD + "replicas: { count: 2 }\n", /replicas .*absent/, RangeError],
    [PD + "prefil_typo: 1\n", /prefil_typo in t\.yaml as a known key/, RangeError],
    [PD.replace("name: pd-1p1d", "name: 'a b'"), /name in t\.yaml/, RangeError],
    [PD.replace("gpus: [[1]]", "gpus: [[0]]"), /decode\.gpus .*prefill-0 uses GPU 0/, RangeError],
    [
      PD.replace("port: 8200", "port: 10001"),
      /decode\.port in t\.yaml as a port not used by another process on local \(router uses 10001/,
      RangeError,
    ],
    [
      PD + "vllm: { extra_args: [] }\n",
      /vllm in t\.yaml as absent unless engine: vllm/,
      RangeError,
    ],
    ["kind: [", /Cannot parse t\.yaml as YAML/, SyntaxError],
  ];
  for (const [yaml, re, cls] of cases) {
    const e = (() => {
      try {
        planTopology(parseTopology(yaml, "t.yaml"));
      } catch (e) {
        return e as Error;
      }
      throw new Error(`expected an error for ${re}`);
    })();
    assert.ok(e instanceof cls, `${re}: ${e}`);
    assert.match(e.message, /^Cannot /);
    assert.match(e.message, re);
  }
});

Deno.test("parseTopology: engine vllm needs GPUs; agg is one engine; connectors only for pd/ppd/epd", () => {
  assert.match(
    errorOf(PD.replace("engine: sim", "engine: vllm").replace("gpus: [[0]], ", "")).message,
    /prefill\.gpus .*engine: vllm needs them/,
  );
  const agg =
    "name: a\nengine: sim\nmodel: m\nkind: agg\nserver: { count: 2 }\nrouter: { port: 9000 }\n";
  assert.match(errorOf(agg).message, /server\.count .*1 \(agg is one engine/);
  assert.match(
    errorOf(agg.replace("count: 2", "count: 1") + "connector: nixl\n").message,
    /connector .*absent for kind agg/,
  );
});

Deno.test("planTopology: ports, side-channel ports spaced by tp, names and URLs", () => {
  const t = parseTopology(
    PD.replace("gpus: [[0]]", "gpus: [[0, 1]]").replace("gpus: [[1]]", "gpus: [[2]]"),
  );
  const p = planTopology(t);
  assert.deepEqual(p.instances.map((i) => [i.name, i.port, i.tp, i.sideChannelPort, i.url]), [
    ["prefill-0", 8100, 2, 5600, "http://127.0.0.1:8100"],
    ["decode-0", 8200, 1, 5602, "http://127.0.0.1:8200"],
  ]);
  assert.equal(p.router?.url, "http://127.0.0.1:10001");
  // --port-base lays everything out contiguously from the base: router, engines, side channels.
  const q = planTopology(t, { portBase: 30000 });
  assert.deepEqual(q.ports.map((x) => x.port).sort(), [30000, 30001, 30002, 30003, 30004, 30005]);
  assert.equal(new Set(q.ports.map((x) => x.port)).size, q.ports.length);
});

Deno.test("fixtures: every topology file loads and plans without clashes", async () => {
  const kinds = new Map<string, Set<string>>();
  for await (const e of Deno.readDir(new URL("../fixtures/topologies", import.meta.url))) {
    const t = await loadTopology(
      new URL(`../fixtures/topologies/${e.name}`, import.meta.url).pathname,
    );
    const plan = planTopology(t);
    assert.ok(plan.instances.length > 0 || t.processes.length > 0, e.name);
    kinds.set(t.engine, (kinds.get(t.engine) ?? new Set()).add(t.kind));
  }
  for (const engine of ["sim", "vllm"]) {
    assert.deepEqual([...kinds.get(engine)!].sort(), ["agg", "dp", "epd", "pd", "ppd"], engine);
  }
});

Deno.test("parseTopology: kv.link and kv.link_gbps reach every simulated instance", () => {
  const t = parseTopology(PD + "kv: { link: tcp, link_gbps: 2.5 }\n", "t.yaml");
  assert.deepEqual([t.kv.link, t.kv.linkGBps], ["tcp", 2.5]);
  const plan = planTopology(t);
  for (const inst of plan.instances) {
    const args = simCommand(plan, inst).args;
    assert.deepEqual(args.slice(args.indexOf("--kv-link"), args.indexOf("--kv-link") + 2), [
      "--kv-link",
      "tcp",
    ]);
    assert.equal(args[args.indexOf("--kv-link-gbps") + 1], "2.5");
  }
  assert.match(
    errorOf(PD + "kv: { link: carrier-pigeon }\n").message,
    /Cannot use kv\.link in t\.yaml as one of nvlink, pcie, rdma, tcp: current value is "carrier-pigeon"/,
  );
});

Deno.test("parseTopology: an ssh host that ssh would read as an option is refused", () => {
  const withHost = (h: string) =>
    PD.replace(
      "prefill: { count: 1, gpus: [[0]], port: 8100 }",
      `prefill: { count: 1, gpus: [[0]], port: 8100, host: ${JSON.stringify(h)} }`,
    );
  assert.match(
    errorOf(withHost("-oProxyCommand=touch /tmp/x")).message,
    /Cannot use prefill\.host in t\.yaml as a host name or user@host .*current value is "-oProxyCommand=touch \/tmp\/x"/,
  );
  assert.match(errorOf(withHost("gpu1; rm -rf /")).message, /prefill\.host/);
  assert.deepEqual(parseTopology(withHost("ubuntu@gpu-1.lan"), "t.yaml").roles[0].hosts, [
    "ubuntu@gpu-1.lan",
  ]);
});

Deno.test("parseTopology: an empty role block or process entry is named, not a crash", () => {
  assert.equal(
    errorOf(PD.replace("decode:  { count: 1, gpus: [[1]], port: 8200 }", "decode:")).message,
    "Cannot use decode in t.yaml as a mapping with keys count, gpus, tp, port, host, gpu_memory_utilization, extra_args, env, nodes, dp, ep, eplb, all2all_backend, dp_lb: current value is null",
  );
  const cmd = "name: c\nengine: command\nprocesses:\n  -\nrouter: { enabled: false }\n";
  const e = errorOf(cmd);
  assert.ok(e instanceof TypeError);
  assert.match(e.message, /^Cannot use processes\[0\] in t\.yaml as a mapping with keys name, cmd/);
});
