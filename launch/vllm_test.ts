import assert from "node:assert/strict";
import { basename } from "node:path";
import { formatPlan } from "./_format.ts";
import { launchProcesses, remoteLine, routerConfig } from "./_launch.ts";
import { planTopology } from "./_plan.ts";
import { loadTopology, parseTopology, validateTopology } from "./topology.ts";
import { ecTransferConfig, kvTransferConfig, vllmCommand } from "./vllm.ts";

const FIXTURES = new URL("../fixtures/topologies/", import.meta.url);
const GOLDEN = new URL("../fixtures/golden/", import.meta.url);
const STATE = "results/.topobench";

async function fixtures(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(FIXTURES)) if (e.name.endsWith(".yaml")) out.push(e.name);
  return out.sort();
}

Deno.test("golden: the dry-run plan of every fixture (UPDATE_GOLDEN=1 rewrites)", async () => {
  const names = await fixtures();
  assert.ok(names.length >= 10);
  for (const f of names) {
    const text0 = await Deno.readTextFile(new URL(f, FIXTURES));
    const t = parseTopology(text0, `fixtures/topologies/${f}`);
    const plan = planTopology(t);
    const text = formatPlan(plan, launchProcesses(plan, STATE), STATE);
    const golden = new URL(`${basename(f, ".yaml")}.txt`, GOLDEN);
    if (Deno.env.get("UPDATE_GOLDEN") === "1") await Deno.writeTextFile(golden, text);
    assert.equal(
      text,
      await Deno.readTextFile(golden),
      `fixtures/golden/${basename(golden.pathname)}`,
    );
  }
});

Deno.test("vllm: exact argv and env of a NIXL prefill instance", async () => {
  const plan = planTopology(await loadTopology(new URL("vllm_pd.yaml", FIXTURES).pathname));
  const c = vllmCommand(plan, plan.instances[1]);
  assert.equal(c.cmd, "vllm");
  assert.deepEqual(c.args, [
    "serve",
    "meta-llama/Llama-3.1-8B-Instruct",
    "--host",
    "127.0.0.1",
    "--port",
    "8101",
    "--tensor-parallel-size",
    "1",
    "--gpu-memory-utilization",
    "0.9",
    "--kv-transfer-config",
    '{"kv_connector":"NixlConnector","kv_role":"kv_both"}',
    "--max-model-len",
    "16384",
  ]);
  assert.deepEqual(c.env, {
    CUDA_VISIBLE_DEVICES: "1",
    VLLM_NIXL_SIDE_CHANNEL_PORT: "5601",
    UCX_TLS: "cuda_ipc,cuda_copy,tcp",
  });
  // Every instance has its own side-channel port and its own GPU.
  const sides = plan.instances.map((i) => vllmCommand(plan, i).env.VLLM_NIXL_SIDE_CHANNEL_PORT);
  assert.equal(new Set(sides).size, 8);
  const gpus = plan.instances.map((i) => vllmCommand(plan, i).env.CUDA_VISIBLE_DEVICES);
  assert.deepEqual(gpus, ["0", "1", "2", "3", "4", "5", "6", "7"]);
});

Deno.test("vllm: P2pNccl producer/consumer with kv_port per instance, spaced by tp", async () => {
  const plan = planTopology(await loadTopology(new URL("vllm_pd_p2pnccl.yaml", FIXTURES).pathname));
  const cfgs = plan.instances.map((i) => kvTransferConfig(plan, i)!);
  assert.deepEqual(cfgs.map((c) => [c.kv_role, c.kv_port, c.kv_buffer_size]), [
    ["kv_producer", 21001, 1e9], // every instance is tp 2: it holds kv_port and kv_port + 1
    ["kv_producer", 21003, 1e9],
    ["kv_consumer", 21005, 8e9],
    ["kv_consumer", 21007, 8e9],
  ]);
  // vLLM concatenates proxy_ip + ":" + proxy_port: strings, as its own examples write them
  assert.deepEqual(cfgs[2].kv_connector_extra_config, {
    proxy_ip: "127.0.0.1",
    proxy_port: "30001",
    http_port: "8200",
    send_type: "PUT_ASYNC",
  });
  const env = vllmCommand(plan, plan.instances[2]).env;
  assert.equal(env.VLLM_NIXL_SIDE_CHANNEL_PORT, undefined);
  assert.equal(env.VLLM_HOST_IP, "127.0.0.1");
  assert.equal(env.VLLM_DISABLE_REQUEST_ID_RANDOMIZATION, "1");
  assert.deepEqual(routerConfig(plan).decode?.map((d) => d.kvAddr), [
    "127.0.0.1:21005",
    "127.0.0.1:21007",
  ]);
});

Deno.test("vllm: what vLLM would refuse is refused here, naming the field", () => {
  const base = {
    name: "x",
    engine: "vllm",
    model: "m",
    kind: "pd",
    prefill: { gpus: [[0]], port: 8100 },
    decode: { gpus: [[1, 2]], port: 8200 },
    router: { port: 10000 },
  };
  assert.throws(
    () => validateTopology({ ...base, connector: "p2pnccl" }, "t.yaml"),
    /decode\.gpus.*same TP on every prefill and decode/,
  );
  assert.throws(
    () =>
      validateTopology({
        ...base,
        decode: { gpus: [[1]], port: 8200 },
        connector: "lmcache",
      }, "t.yaml"),
    /prefill\.env\.LMCACHE_CONFIG_FILE/,
  );
  assert.throws(
    () =>
      validateTopology({
        ...base,
        decode: { gpus: [[1]], port: 8200 },
        connector: "nixl",
        kv: { link: "tcp" },
      }, "t.yaml"),
    /kv\.link.*absent for engine: vllm/,
  );
});

Deno.test("vllm: LMCache roles and the EPD encoder-cache configs", async () => {
  const lm = planTopology(await loadTopology(new URL("vllm_pd_lmcache.yaml", FIXTURES).pathname));
  // LMCache reads no shared_storage_path (that is the simulated engine's own key)
  assert.deepEqual(lm.instances.map((i) => kvTransferConfig(lm, i)), [
    {
      kv_connector: "LMCacheConnectorV1",
      kv_role: "kv_producer",
      kv_connector_extra_config: { discard_partial_chunks: false, lmcache_rpc_port: "producer1" },
    },
    {
      kv_connector: "LMCacheConnectorV1",
      kv_role: "kv_consumer",
      kv_connector_extra_config: { discard_partial_chunks: false, lmcache_rpc_port: "consumer1" },
    },
  ]);
  assert.deepEqual(kvTransferConfig(lm, lm.instances[0], "sim")?.kv_connector_extra_config, {
    shared_storage_path: "/tmp/topobench/vllm-pd-lmcache/lmcache",
  });
  assert.deepEqual(
    lm.instances.map((i) => vllmCommand(lm, i).env.PYTHONHASHSEED),
    ["0", "0"],
  );
  const epd = planTopology(await loadTopology(new URL("vllm_epd.yaml", FIXTURES).pathname));
  const roles = epd.instances.map((
    i,
  ) => [i.name, ecTransferConfig(epd, i)?.ec_role, kvTransferConfig(epd, i)?.kv_role]);
  assert.deepEqual(roles.slice(0, 2), [["encode-0", "ec_producer", undefined], [
    "prefill-0",
    "ec_consumer",
    "kv_both",
  ]]);
  assert.deepEqual(roles.at(-1), ["decode-3", undefined, "kv_both"]);
  const enc = vllmCommand(epd, epd.instances[0]).args;
  assert.deepEqual(
    enc.slice(enc.indexOf("--ec-transfer-config"), enc.indexOf("--ec-transfer-config") + 2),
    [
      "--ec-transfer-config",
      '{"ec_connector":"ECExampleConnector","ec_role":"ec_producer","ec_connector_extra_config":{"shared_storage_path":"/tmp/topobench/vllm-epd/ec_cache"}}',
    ],
  );
  assert.ok(enc.includes("--enforce-eager") && !enc.includes("--disable-log-requests"));
});

Deno.test("ssh placement: remote instances run the same line over ssh, bound to 0.0.0.0", () => {
  const t = parseTopology(`
name: two-hosts
engine: vllm
model: meta-llama/Llama-3.1-8B-Instruct
kind: pd
prefill: { gpus: [[0]], port: 8100 }
decode: { gpus: [[0]], port: 8200, host: "me@gpu-b" }
router: { port: 10000, host: 0.0.0.0 }
workdir: /srv/topobench
`);
  const plan = planTopology(t);
  const [pre, dec] = launchProcesses(plan, STATE);
  assert.equal(pre.cmd, "vllm");
  assert.equal(dec.cmd, "ssh");
  assert.deepEqual(dec.args.slice(0, 4), ["-tt", "-o", "BatchMode=yes", "me@gpu-b"]);
  assert.equal(dec.args[4], remoteLine("/srv/topobench", dec.inner));
  assert.match(
    dec.args[4],
    /^cd \/srv\/topobench && exec env CUDA_VISIBLE_DEVICES=0 VLLM_NIXL_SIDE_CHANNEL_PORT=5601 VLLM_NIXL_SIDE_CHANNEL_HOST=gpu-b vllm serve .* --host 0\.0\.0\.0 --port 8200 /,
  );
  assert.equal(dec.url, "http://gpu-b:8200");
  // GPU 0 on two hosts is fine; on one host it is a clash (see topology_test).
  assert.deepEqual(plan.instances.map((i) => i.gpus), [[0], [0]]);
});

Deno.test("router.discovery: zmq: the router takes registrations on the engines' proxy_port", async () => {
  const text = (await Deno.readTextFile(new URL("sim_pd_2p2d_p2pnccl.yaml", FIXTURES)))
    .replace(/router: \{[^}]*\}/, "router: { port: 10002, discovery: zmq }");
  const plan = planTopology(parseTopology(text, "disc.yaml"));
  const cfg = routerConfig(plan);
  assert.deepEqual(cfg.discovery, { kind: "zmq", host: "127.0.0.1", port: 30001 });
  assert.equal(cfg.prefill?.length, 2); // the launched instances stay as static backends
  for (const i of plan.instances) {
    const x = kvTransferConfig(plan, i)!.kv_connector_extra_config!;
    assert.deepEqual([x.proxy_ip, x.proxy_port], ["127.0.0.1", "30001"]);
  }
  assert.ok(plan.ports.some((p) => p.port === 30001 && p.owner === "router discovery"));
  assert.throws(
    () =>
      parseTopology(
        text.replace("connector: p2pnccl", "connector: nixl").replace(/\nkv: .*\n/, "\n"),
        "disc.yaml",
      ),
    /router\.discovery.*static unless connector: p2pnccl/,
  );
  // router.discovery_allow: who else may register, carried to the router's discovery.allow
  const allowed = text.replace(
    "discovery: zmq }",
    'discovery: zmq, discovery_allow: ["10.244.0.0/16:8000-8999"] }',
  );
  const withAllow = routerConfig(planTopology(parseTopology(allowed, "disc.yaml")));
  assert.deepEqual(withAllow.discovery?.allow, ["10.244.0.0/16:8000-8999"]);
  assert.throws(
    () => parseTopology(allowed.replace("10.244.0.0/16", "a@b"), "disc.yaml"),
    /Cannot use router\.discovery_allow\[0\] in disc\.yaml as an allow rule .*current value is "a@b:8000-8999"/,
  );
});

Deno.test("up --dry-run --set: sizes change the launched processes, GPU lists laid out again", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", new URL("./up.ts", import.meta.url).pathname],
      ...[new URL("vllm_pd.yaml", FIXTURES).pathname, "--dry-run", "--json"],
      ...["--set", "prefill.count=1", "--set", "decode.count=2", "--set", "decode.tp=2"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const { processes } = JSON.parse(new TextDecoder().decode(out.stdout));
  const engines = processes.filter((p: { role: string }) => p.role !== "router");
  assert.deepEqual(
    engines.map((p: { name: string; gpus: number[] }) => [p.name, p.gpus.join(",")]),
    [["prefill-0", "0"], ["decode-0", "1,2"], ["decode-1", "3,4"]],
  );
  const tp = (p: { args: string[] }) => p.args[p.args.indexOf("--tensor-parallel-size") + 1];
  assert.deepEqual(engines.map(tp), ["1", "2", "2"]);
});
