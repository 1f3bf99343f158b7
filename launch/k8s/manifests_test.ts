/**
 * `platform: kubernetes`: the manifests of every vLLM fixture (as `up
 * --dry-run --set platform=kubernetes` prints them) validate against the
 * Kubernetes schemas offline (`kubernetes-models`) and equal their goldens
 * (`UPDATE_GOLDEN=1` rewrites them).
 */
import assert from "node:assert/strict";
import { basename } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { planTopology } from "../_plan.ts";
import { loadTopologyWith, parseSet } from "../topology_set.ts";
import { kubernetesObjects, manifestsYaml } from "./manifests.ts";

const FIXTURES = new URL("../../fixtures/topologies/", import.meta.url);
const GOLDEN = new URL("../../fixtures/golden/k8s/", import.meta.url);

// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  Deployment,
  Service,
  ConfigMap,
};

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
      const Model = MODELS[String(o.kind)];
      assert.ok(Model, `${f}: no schema for kind ${o.kind}`);
      new Model(o).validate(); // throws on a schema error
      const labels = (o.metadata as { labels: Record<string, string> }).labels;
      assert.equal(labels["app.kubernetes.io/part-of"], "topobench");
    }
    // one Deployment and one Service per instance, the router's three
    const kinds = objs.map((o) => o.kind);
    assert.equal(kinds.filter((k) => k === "Deployment").length, plan.instances.length + 1);
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
  const dep = objs.find((o) => o.kind === "Deployment") as {
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
  const cm = objs.find((o) => o.kind === "ConfigMap") as { data: Record<string, string> };
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
