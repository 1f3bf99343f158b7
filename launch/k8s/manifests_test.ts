/**
 * `platform: kubernetes`: the manifests of every vLLM fixture (as `up
 * --dry-run --set platform=kubernetes` prints them) validate against the
 * Kubernetes schemas offline (`kubernetes-models`) and equal their goldens
 * (`UPDATE_GOLDEN=1` rewrites them).
 */
import { validateRouterConfig } from "../router/core/config.ts";
import { discoveryAllowList } from "../router/http/_discovery.ts";
import assert from "node:assert/strict";
import { basename } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { PodTemplate } from "kubernetes-models/v1/PodTemplate";
import { planTopology } from "../_plan.ts";
import { loadTopologyWith, parseSet } from "../topology_set.ts";
import { dnsLabel, type KubeObject, kubernetesObjects, manifestsYaml } from "./manifests.ts";

const FIXTURES = new URL("../../fixtures/topologies/", import.meta.url);
const GOLDEN = new URL("../../fixtures/golden/k8s/", import.meta.url);

// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  Deployment,
  Service,
  ConfigMap,
};

/**
 * Validates `o` against the Kubernetes schemas: a LeaderWorkerSet (a custom
 * resource without one) by its two pod templates.
 */
function validate(o: KubeObject, f: string): void {
  if (o.kind === "LeaderWorkerSet") {
    const t = (o as unknown as { spec: { leaderWorkerTemplate: Record<string, unknown> } }).spec
      .leaderWorkerTemplate;
    for (const k of ["leaderTemplate", "workerTemplate"]) {
      // deno-lint-ignore no-explicit-any
      new PodTemplate({ metadata: { name: `${o.metadata!.name}-${k}` }, template: t[k] as any })
        .validate();
    }
    return;
  }
  const Model = MODELS[String(o.kind)];
  assert.ok(Model, `${f}: no schema for kind ${o.kind}`);
  new Model(o).validate(); // throws on a schema error
}

Deno.test("kubernetes: every vllm fixture's manifests validate and equal their goldens", async () => {
  const files = [...Deno.readDirSync(FIXTURES)].map((e) => e.name)
    .filter((n) => n.startsWith("vllm_") && n.endsWith(".yaml")).sort();
  assert.ok(files.length >= 7);
  for (const f of files) {
    const sets = [parseSet("platform=kubernetes")];
    if (f.includes("p2pnccl")) sets.push(parseSet("router.discovery=zmq"));
    const plan = planTopology(await loadTopologyWith(new URL(f, FIXTURES).pathname, sets));
    const objs = kubernetesObjects(plan);
    for (const o of objs) {
      validate(o, f);
      const labels = (o.metadata as { labels: Record<string, string> }).labels;
      assert.equal(labels["app.kubernetes.io/part-of"], "topobench");
    }
    // the router.json is one the router accepts; with discovery it admits pod IPs on the instances' ports
    const cm = objs.find((o) => o.kind === "ConfigMap") as unknown as {
      data: Record<string, string>;
    };
    const rc = validateRouterConfig(JSON.parse(cm.data["router.json"]), `${f} router.json`);
    if (rc.discovery) {
      const list = discoveryAllowList(rc);
      const i = plan.instances[0];
      assert.equal(list.refusal(`10.244.1.7:${i.port}`), null, f);
      assert.match(list.refusal(`10.244.1.7:1`)!, /not in the allow-list/);
    }
    // one Deployment (a LeaderWorkerSet across nodes) and one Service per instance, the router's three
    const kinds = objs.map((o) => o.kind);
    const workloads = kinds.filter((k) => k === "Deployment" || k === "LeaderWorkerSet");
    assert.equal(workloads.length, plan.instances.length + 1);
    assert.equal(kinds.filter((k) => k === "ConfigMap").length, 1);
    const text = manifestsYaml(objs);
    const golden = new URL(basename(f), GOLDEN);
    if (Deno.env.get("UPDATE_GOLDEN") === "1") {
      await Deno.mkdir(GOLDEN, { recursive: true });
      await Deno.writeTextFile(golden, text);
    }
    assert.equal(text, await Deno.readTextFile(golden), `golden ${basename(f)}`);
  }
});

Deno.test("kubernetes: GPUs as limits, engines bind the pod IP, peers meet at Service names", async () => {
  const plan = planTopology(
    await loadTopologyWith(new URL("vllm_pd.yaml", FIXTURES).pathname, [
      parseSet("platform=kubernetes"),
      parseSet("kubernetes.namespace=llm"),
    ]),
  );
  const objs = kubernetesObjects(plan);
  const dep = objs.find((o) => o.kind === "Deployment") as unknown as {
    spec: {
      template: {
        spec: { containers: { env: { name: string }[]; resources: unknown; args: string[] }[] };
      };
    };
  };
  const c = dep.spec.template.spec.containers[0];
  assert.deepEqual(c.resources, { limits: { "nvidia.com/gpu": 1 } });
  assert.ok(!c.env.some((e) => e.name === "CUDA_VISIBLE_DEVICES"));
  assert.ok(c.env.some((e) => e.name === "VLLM_NIXL_SIDE_CHANNEL_HOST"));
  assert.equal(c.args[c.args.indexOf("--host") + 1], "0.0.0.0");
  const cm = objs.find((o) => o.kind === "ConfigMap") as unknown as {
    data: Record<string, string>;
  };
  const router = JSON.parse(cm.data["router.json"]);
  assert.match(
    router.prefill[0].url,
    /^http:\/\/vllm-pd-4p4d-prefill-0\.llm\.svc\.cluster\.local:8100$/,
  );
  // a host: entry has no place on a cluster
  await assert.rejects(
    () =>
      loadTopologyWith(new URL("vllm_pd.yaml", FIXTURES).pathname, [
        parseSet("platform=kubernetes"),
        parseSet("prefill.host=gpu1"),
      ]),
    /prefill\.host.*absent with platform: kubernetes/,
  );
});

Deno.test("kubernetes: nodes > 1 makes a LeaderWorkerSet (Ray, TP in a node, PP across nodes); refused elsewhere", async () => {
  const file = new URL("vllm_pd.yaml", FIXTURES).pathname;
  const plan = planTopology(
    await loadTopologyWith(file, [
      parseSet("platform=kubernetes"),
      parseSet("decode.nodes=2"),
      parseSet("kubernetes.shm=16Gi"),
      parseSet("kubernetes.env_from_secrets=[hf-token]"),
      parseSet("kubernetes.model_cache_pvc=hf-cache"),
    ]),
  );
  const objs = kubernetesObjects(plan);
  const lws = objs.filter((o) => o.kind === "LeaderWorkerSet") as unknown as {
    metadata: { name: string; labels: Record<string, string> };
    spec: {
      replicas: number;
      leaderWorkerTemplate: {
        size: number;
        restartPolicy: string;
        leaderTemplate: { metadata: { labels: Record<string, string> }; spec: unknown };
        workerTemplate: { metadata: { labels: Record<string, string> }; spec: unknown };
      };
    };
  }[];
  assert.equal(lws.length, 4, "one per decode instance");
  assert.equal(objs.filter((o) => o.kind === "Deployment").length, 4 + 1, "prefill and router");
  const l = lws[0];
  assert.equal(l.spec.replicas, 1);
  assert.equal(l.spec.leaderWorkerTemplate.size, 2);
  assert.equal(l.spec.leaderWorkerTemplate.restartPolicy, "RecreateGroupOnPodRestart");
  // both pod templates are valid pod templates
  for (const t of ["leaderTemplate", "workerTemplate"] as const) {
    new PodTemplate({
      metadata: { name: `${l.metadata.name}-${t}` },
      // deno-lint-ignore no-explicit-any
      template: l.spec.leaderWorkerTemplate[t] as any,
    }).validate();
  }
  // deno-lint-ignore no-explicit-any
  const leader = (l.spec.leaderWorkerTemplate.leaderTemplate.spec as any).containers[0];
  // deno-lint-ignore no-explicit-any
  const worker = (l.spec.leaderWorkerTemplate.workerTemplate.spec as any).containers[0];
  assert.match(
    leader.command[2],
    /multi-node-serving\.sh leader --ray_cluster_size=\$\(LWS_GROUP_SIZE\) --ray_init_timeout=1800 && exec "\$0" "\$@"/,
  );
  const at = (k: string) => leader.args[leader.args.indexOf(k) + 1];
  assert.equal(leader.args[0], "vllm");
  assert.equal(at("--tensor-parallel-size"), "1");
  assert.equal(at("--pipeline-parallel-size"), "2");
  assert.equal(at("--distributed-executor-backend"), "ray");
  assert.match(worker.command[2], /worker --ray_address=\$\(LWS_LEADER_ADDRESS\)/);
  assert.equal(worker.readinessProbe, undefined);
  assert.deepEqual(worker.resources, leader.resources);
  assert.deepEqual(worker.volumeMounts, [
    { name: "shm", mountPath: "/dev/shm" },
    { name: "model-cache", mountPath: "/root/.cache/huggingface" },
  ]);
  assert.deepEqual(leader.envFrom, [{ secretRef: { name: "hf-token" } }]);
  assert.deepEqual(
    // deno-lint-ignore no-explicit-any
    (l.spec.leaderWorkerTemplate.leaderTemplate.spec as any).volumes[1],
    { name: "model-cache", persistentVolumeClaim: { claimName: "hf-cache" } },
  );
  // the instance's Service (its own name: the LWS controller makes a headless Service named
  // after the LWS) reaches the leader only
  assert.equal(l.metadata.name, "vllm-pd-4p4d-decode-0-lws");
  assert.ok(!objs.some((o) => o.kind === "Service" && o.metadata?.name === l.metadata.name));
  const svc = objs.find((o) =>
    o.kind === "Service" && o.metadata?.name === "vllm-pd-4p4d-decode-0"
  ) as unknown as { spec: { selector: Record<string, string> } };
  const match = (labels: Record<string, string>) =>
    Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v);
  assert.ok(match(l.spec.leaderWorkerTemplate.leaderTemplate.metadata.labels));
  assert.ok(!match(l.spec.leaderWorkerTemplate.workerTemplate.metadata.labels));
  await assert.rejects(
    () => loadTopologyWith(file, [parseSet("decode.nodes=2")]),
    /decode\.nodes.*1 unless platform: kubernetes and engine: vllm/,
  );
  // the simulated engine needs an image that holds it
  const sim = new URL("sim_pd_1p1d.yaml", FIXTURES).pathname;
  await assert.rejects(
    () => loadTopologyWith(sim, [parseSet("platform=kubernetes")]),
    /kubernetes\.deno_image.*bundled sim at \/topobench\/sim\.js/,
  );
  const simPlan = planTopology(
    await loadTopologyWith(sim, [
      parseSet("platform=kubernetes"),
      parseSet("kubernetes.deno_image=registry.example/topobench:1"),
    ]),
  );
  const engine = kubernetesObjects(simPlan).find((o) => o.kind === "Deployment") as unknown as {
    spec: { template: { spec: { containers: { image: string; args: string[] }[] } } };
  };
  const c = engine.spec.template.spec.containers[0];
  assert.equal(c.image, "registry.example/topobench:1");
  assert.deepEqual(c.args.slice(0, 3), ["run", "-A", "/topobench/sim.js"]);
});

Deno.test("kubernetes: a multi-node DP instance is a LeaderWorkerSet of vLLM ranks (no Ray); hybrid adds a Service per node", async () => {
  const plan = planTopology(
    await loadTopologyWith(new URL("vllm_pd_wide_ep.yaml", FIXTURES).pathname, []),
  );
  const objs = kubernetesObjects(plan);
  type Lws = {
    metadata: { name: string };
    spec: { leaderWorkerTemplate: Record<string, { spec: { containers: IContainerLike[] } }> };
  };
  type IContainerLike = {
    command: string[];
    args: string[];
    resources: { limits: Record<string, number> };
    readinessProbe?: unknown;
    ports?: unknown[];
  };
  const lws = objs.filter((o) => o.kind === "LeaderWorkerSet") as unknown as Lws[];
  assert.deepEqual(lws.map((l) => l.metadata.name), [
    "vllm-pd-wide-ep-prefill-0-lws",
    "vllm-pd-wide-ep-decode-0-lws",
  ]);
  const pods = (l: Lws) =>
    ["leaderTemplate", "workerTemplate"].map((k) =>
      l.spec.leaderWorkerTemplate[k].spec.containers[0]
    );
  const [pLeader, pWorker] = pods(lws[0]);
  const at = (c: IContainerLike, k: string) => c.args[c.args.indexOf(k) + 1];
  // internal balancing: the leader serves all 16 ranks' requests, 8 of them on its node
  assert.deepEqual(pLeader.command, ["vllm"]);
  assert.deepEqual(
    ["--data-parallel-size", "--data-parallel-size-local", "--data-parallel-address"].map((k) =>
      at(pLeader, k)
    ),
    ["16", "8", "$(LWS_LEADER_ADDRESS)"],
  );
  assert.ok(!pLeader.args.includes("--pipeline-parallel-size"));
  assert.ok(!pLeader.args.includes("--distributed-executor-backend"));
  assert.deepEqual(pLeader.resources.limits, { "nvidia.com/gpu": 8, "rdma/ib": 1 });
  // the worker: the same argv through sh, headless, from rank LWS_WORKER_INDEX x 8
  assert.deepEqual(pWorker.command, [
    "sh",
    "-c",
    'exec "$0" "$@" --headless --data-parallel-start-rank $$((LWS_WORKER_INDEX * 8))',
  ]);
  assert.deepEqual(pWorker.args, [...pLeader.command, ...pLeader.args]);
  assert.equal(pWorker.readinessProbe, undefined);
  // hybrid balancing: every pod serves HTTP and says where its ranks start
  const [dLeader, dWorker] = pods(lws[1]);
  assert.ok(dLeader.args.includes("--data-parallel-hybrid-lb"));
  assert.deepEqual(dLeader.args.slice(-2), ["--data-parallel-start-rank", "0"]);
  assert.match(
    dWorker.command[2],
    /^exec "\$0" "\$@" --data-parallel-start-rank \$\$\(\(LWS_WORKER/,
  );
  assert.ok(dWorker.readinessProbe && dWorker.ports?.length);
  assert.equal(
    at(dLeader, "--eplb-config"),
    '{"window_size":1000,"step_interval":3000,"num_redundant_experts":32}',
  );
  // node 1's Service selects that pod by the labels LWS gives it; the router has both nodes
  const svc = objs.find((o) =>
    o.metadata?.name === "vllm-pd-wide-ep-decode-0-node1"
  ) as unknown as {
    spec: { selector: Record<string, string> };
  };
  assert.deepEqual(svc.spec.selector, {
    "leaderworkerset.sigs.k8s.io/name": "vllm-pd-wide-ep-decode-0-lws",
    "leaderworkerset.sigs.k8s.io/worker-index": "1",
  });
  const cm = objs.find((o) => o.kind === "ConfigMap") as unknown as {
    data: Record<string, string>;
  };
  const rc = JSON.parse(cm.data["router.json"]);
  assert.deepEqual(rc.decode.map((b: { url: string }) => b.url), [
    "http://vllm-pd-wide-ep-decode-0.default.svc.cluster.local:8200",
    "http://vllm-pd-wide-ep-decode-0-node1.default.svc.cluster.local:8200",
  ]);
  assert.equal(rc.prefill.length, 1);
  // on one node, DP is one Deployment holding dp x tp GPUs
  const one = planTopology(
    await loadTopologyWith(new URL("vllm_moe_dp_ep.yaml", FIXTURES).pathname, [
      parseSet("platform=kubernetes"),
    ]),
  );
  const dep = kubernetesObjects(one).find((o) => o.kind === "Deployment") as unknown as {
    spec: { template: { spec: { containers: IContainerLike[] } } };
  };
  assert.deepEqual(dep.spec.template.spec.containers[0].resources.limits, { "nvidia.com/gpu": 2 });
});

Deno.test("dnsLabel: names kept when valid; changed or cut ones get a hash of the original", () => {
  assert.equal(dnsLabel("vllm-pd-4p4d-prefill-0"), "vllm-pd-4p4d-prefill-0");
  const a = dnsLabel("vllm_pd");
  const b = dnsLabel("vllm.pd");
  assert.match(a, /^vllm-pd-[a-z0-9]{5}$/);
  assert.notEqual(a, b);
  assert.notEqual(dnsLabel("vllm-pd"), a);
  const long = "x".repeat(70);
  const c = dnsLabel(`${long}-prefill-0`);
  const d = dnsLabel(`${long}-prefill-1`);
  assert.ok(c.length <= 63 && d.length <= 63);
  assert.notEqual(c, d);
  for (const x of [a, b, c, d, dnsLabel("9Lives"), dnsLabel("--")]) {
    assert.match(x, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
  }
});
