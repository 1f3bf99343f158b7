/**
 * `platform: kubernetes`: a planned topology as Kubernetes objects. Every
 * engine instance becomes a Deployment (one pod; its GPUs as the
 * `gpu_resource` limit, TP = that limit), or a LeaderWorkerSet when it spans
 * `nodes > 1` (`_lws.ts`), and a Service (HTTP, NIXL side-channel or P2P-NCCL
 * KV ports); the router a ConfigMap (router.json and the bundled router.js), a
 * Deployment in the stock Deno image and a Service. All carry `app.kubernetes.io/part-of: topobench` and
 * `topobench.io/topology: NAME`. The engines' argv and env come from the same
 * generator as the local launcher (`vllm.ts`), with Service DNS names where
 * peers reach each other and the pod IP (downward API) where vLLM binds.
 *
 * @module
 */
import { stringify } from "yaml";
import type { IConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IEnvVar } from "kubernetes-models/v1/EnvVar";
import type { IVolume } from "kubernetes-models/v1/Volume";
import type { IVolumeMount } from "kubernetes-models/v1/VolumeMount";
import { LABELS } from "../../lib/kubectl.ts";
import { shortHash } from "../../lib/rng.ts";
import { leaderWorkerSet } from "./_lws.ts";
import { deployment, type Labels, podSpec, service } from "./_objects.ts";
import { routerConfig } from "../_launch.ts";
import { type InstancePlan, type Plan, rankGpus } from "../_plan.ts";
import type { KubernetesSpec } from "../topology.ts";
import { engineEnv, simCommand, vllmCommand } from "../vllm.ts";

/** An object of the manifests (Deployment, Service, ConfigMap, LeaderWorkerSet), typed by its kind. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Labels };
}

/**
 * A DNS-1035 label: lower case, digits and `-`, starting with a letter, at
 * most 63 characters. A name that had to change (case, other characters,
 * length) gets a short hash of the original, so `vllm_pd` and `vllm-pd`, or
 * two long names cut to one prefix, stay apart.
 */
export function dnsLabel(s: string, max = 63): string {
  const x = s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").replace(
    /-+$/,
    "",
  ) || "t";
  if (x === s && x.length <= max) return x;
  return `${x.slice(0, max - 6).replace(/-+$/, "")}-${shortHash(s)}`;
}

/**
 * The LeaderWorkerSet of an instance's object: its own name (the controller
 * makes a headless Service of it) and at most 45 characters, since the
 * controller names a group's worker StatefulSet, pods and revision labels
 * after it with suffixes of their own.
 */
export function lwsName(object: string): string {
  return dnsLabel(`${object}-lws`, 45);
}

/**
 * The plan as the cluster sees it: every instance bound to 0.0.0.0, reached by
 * its Service; a multi-node data-parallel instance meets its leader at
 * `LWS_LEADER_ADDRESS` (expanded by Kubernetes), and with hybrid balancing
 * each node is an endpoint, node k > 0 behind a Service of its own ({@linkcode nodeServiceName}).
 */
export function kubernetesPlan(plan: Plan): Plan {
  const t = plan.topology;
  const ns = t.kubernetes.namespace;
  const svc = (n: string) => `${objectName(t.name, n)}.${ns}.svc.cluster.local`;
  const instances = plan.instances.map((i): InstancePlan => {
    const p = i.parallel;
    const out: InstancePlan = {
      ...i,
      bind: "0.0.0.0",
      address: svc(i.name),
      url: `http://${svc(i.name)}:${i.port}`,
    };
    if (p?.rendezvous && i.nodes) {
      out.parallel = { ...p, rendezvous: { ...p.rendezvous, address: "$(LWS_LEADER_ADDRESS)" } };
    }
    if (p?.lb === "hybrid" && i.nodes) {
      out.endpoints = Array.from({ length: i.nodes }, (_, k) => ({
        name: `${i.name}-node${k}`,
        url: k === 0 ? out.url : `http://${svc(`${i.name}-node${k}`)}:${i.port}`,
        port: i.port,
      }));
    }
    return out;
  });
  const router = plan.router && {
    ...plan.router,
    bind: "0.0.0.0",
    url: `http://${svc("router")}:${plan.router.port}`,
  };
  return { ...plan, instances, ...(router ? { router } : {}) };
}

/** The Service of node `k` (> 0) of a hybrid-balanced instance: `<topology>-<instance>-node<k>`. */
export function nodeServiceName(topology: string, instance: string, k: number): string {
  return objectName(topology, `${instance}-node${k}`);
}

/**
 * The router config on a cluster: instances register with their pod IPs
 * (vLLM's `get_ip()`), not the Service names the config lists, so unless the
 * topology says `router.discovery_allow`, discovery admits the private ranges
 * (RFC 1918, fd00::/8) on the instances' own HTTP and KV ports.
 */
export function clusterRouterConfig(plan: Plan): ReturnType<typeof routerConfig> {
  const cfg = routerConfig(plan);
  if (!cfg.discovery || cfg.discovery.allow) return cfg;
  // each instance's HTTP port and its `tp` KV ports (one per rank)
  const ranges = plan.instances.flatMap((i) => [
    `${i.port}`,
    ...(i.kvPort !== undefined
      ? [i.tp > 1 ? `${i.kvPort}-${i.kvPort + i.tp - 1}` : `${i.kvPort}`]
      : []),
  ]);
  const ports = [...new Set(ranges)].join(",");
  const nets = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "[fd00::/8]"];
  cfg.discovery.allow = nets.map((n) => `${n}:${ports}`);
  return cfg;
}

const labels = (plan: Plan, component: string) => ({
  [LABELS.partOf]: "topobench",
  [LABELS.component]: component,
  [LABELS.topology]: dnsLabel(plan.topology.name),
});

/** The label selector of every object of a topology. */
export function topologySelector(name: string): string {
  return `${LABELS.partOf}=topobench,${LABELS.topology}=${dnsLabel(name)}`;
}

/** Name of an instance's (or the router's) Deployment and Service. */
export function objectName(topology: string, instance: string): string {
  return dnsLabel(`${topology}-${instance}`);
}

/** GPUs of one engine pod: tp, times the data-parallel ranks a node runs. */
export function podGpus(i: InstancePlan): number {
  return i.tp * (i.parallel?.dpLocal ?? 1);
}

/** Ports of an instance: HTTP, then side-channel ports (one per GPU of its ranks) or KV ports (one per TP rank). */
function ports(i: InstancePlan): { name: string; port: number }[] {
  const out = [{ name: "http", port: i.port }];
  for (let r = 0; r < rankGpus(i); r++) {
    if (i.sideChannelPort !== undefined) {
      out.push({ name: `side-${r}`, port: i.sideChannelPort + r });
    }
    if (i.kvPort !== undefined && r < i.tp) out.push({ name: `kv-${r}`, port: i.kvPort + r });
  }
  return out;
}

/** Env of an engine container: no CUDA_VISIBLE_DEVICES (the device plugin picks GPUs); pod IP where vLLM binds. */
function containerEnv(plan: Plan, i: InstancePlan): IEnvVar[] {
  const env = engineEnv(i, plan);
  delete env.CUDA_VISIBLE_DEVICES;
  const podIp = { valueFrom: { fieldRef: { fieldPath: "status.podIP" } } };
  const out: IEnvVar[] = [];
  for (const [name, value] of Object.entries(env)) {
    out.push(name === "VLLM_HOST_IP" ? { name, ...podIp } : { name, value });
  }
  if (i.sideChannelPort !== undefined && env.VLLM_NIXL_SIDE_CHANNEL_HOST === undefined) {
    out.push({ name: "VLLM_NIXL_SIDE_CHANNEL_HOST", ...podIp });
  }
  return out;
}

/** What stands in for the router's code where none was bundled (goldens, unit tests). */
export const ROUTER_JS_PLACEHOLDER =
  "// the bundled router: deno task bundle --only router --minify (up puts it here)\n";

/** Options of {@linkcode kubernetesObjects}. */
export interface KubernetesObjectsOptions {
  /** The bundled router, shipped in its ConfigMap. @default ROUTER_JS_PLACEHOLDER */
  routerJs?: string;
}

/**
 * The objects of a planned topology (planned as for a local `up`). The
 * router's code rides in its ConfigMap beside router.json, so the router runs
 * in the stock Deno image.
 */
export function kubernetesObjects(local: Plan, o: KubernetesObjectsOptions = {}): KubeObject[] {
  const plan = kubernetesPlan(local);
  const out: KubeObject[] = [];
  for (const i of plan.instances) out.push(...engineObjects(plan, i));
  if (plan.router) {
    out.push(...routerObjects(plan, plan.router, o.routerJs ?? ROUTER_JS_PLACEHOLDER));
  }
  return out;
}

/**
 * An engine instance: its Deployment (a LeaderWorkerSet when it spans nodes)
 * and Service; with hybrid balancing a Service per further node, selecting
 * that pod by the labels LWS gives it (kubernetes-sigs/lws
 * `api/leaderworkerset/v1/leaderworkerset_types.go`: `SetNameLabelKey`,
 * `WorkerIndexLabelKey`).
 */
function engineObjects(plan: Plan, i: InstancePlan): KubeObject[] {
  const t = plan.topology;
  const k = t.kubernetes;
  const name = objectName(t.name, i.name);
  const lbl = { ...labels(plan, i.role), [LABELS.instance]: i.name };
  const { mounts, volumes } = engineVolumes(k, t.engine === "sim");
  const container = engineContainer(plan, i, mounts);
  const p = i.parallel;
  const dp = p && p.dp > 1;
  const workload = i.nodes
    ? leaderWorkerSet({
      // not the Service's name: the LWS controller makes a headless Service of its own name
      // (the pods' DNS, LWS_LEADER_ADDRESS)
      name: lwsName(name),
      namespace: k.namespace,
      labels: lbl,
      workerLabels: labels(plan, i.role),
      size: i.nodes,
      container,
      podSpec: (cs) => podSpec(k, cs, volumes),
      start: dp ? { kind: "dp", ranksPerNode: p.dpLocal, hybrid: p.lb === "hybrid" } : undefined,
    })
    : deployment(k, name, lbl, container, volumes);
  const nodes = (i.endpoints ?? []).slice(1).map((_, n) =>
    service(k.namespace, nodeServiceName(t.name, i.name, n + 1), labels(plan, i.role), ports(i), {
      selector: {
        "leaderworkerset.sigs.k8s.io/name": lwsName(name),
        "leaderworkerset.sigs.k8s.io/worker-index": String(n + 1),
      },
    })
  );
  return [workload, service(k.namespace, name, lbl, ports(i)), ...nodes];
}

/** An engine's volumes: a memory `/dev/shm`, and (vLLM) the model cache claim. */
function engineVolumes(
  k: KubernetesSpec,
  sim: boolean,
): { mounts: IVolumeMount[]; volumes: IVolume[] } {
  const mounts: IVolumeMount[] = [];
  const volumes: IVolume[] = [];
  if (k.shm) {
    mounts.push({ name: "shm", mountPath: "/dev/shm" });
    volumes.push({ name: "shm", emptyDir: { medium: "Memory", sizeLimit: k.shm } });
  }
  if (k.modelCachePvc && !sim) {
    mounts.push({ name: "model-cache", mountPath: "/root/.cache/huggingface" });
    volumes.push({ name: "model-cache", persistentVolumeClaim: { claimName: k.modelCachePvc } });
  }
  return { mounts, volumes };
}

/** An engine's container: vLLM's argv and env (GPUs, RDMA, secrets), or the bundled sim in Deno. */
function engineContainer(plan: Plan, i: InstancePlan, mounts: IVolumeMount[]): IContainer {
  const t = plan.topology;
  const k = t.kubernetes;
  const c = t.engine === "vllm" ? vllmCommand(plan, i) : simCommand(plan, i);
  const sim = t.engine === "sim";
  const args = sim ? ["run", "-A", "/topobench/sim.js", ...c.args.slice(3)] : c.args;
  return {
    name: "engine",
    image: sim ? k.denoImage : k.image,
    command: [sim ? "deno" : c.cmd],
    args,
    env: containerEnv(plan, i),
    ports: ports(i).map((p) => ({ name: p.name, containerPort: p.port })),
    readinessProbe: { httpGet: { path: "/health", port: i.port }, periodSeconds: 5 },
    ...(sim ? {} : {
      resources: {
        limits: {
          [k.gpuResource]: podGpus(i),
          ...(k.rdma ? { [k.rdma.resource]: k.rdma.count } : {}),
        },
      },
    }),
    ...(k.rdma && !sim ? { securityContext: { capabilities: { add: ["IPC_LOCK"] } } } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...(k.envFromSecrets.length && !sim
      ? { envFrom: k.envFromSecrets.map((n) => ({ secretRef: { name: n } })) }
      : {}),
  };
}

/** The router: a ConfigMap (router.json and its code), a Deployment in the Deno image, a Service. */
function routerObjects(
  plan: Plan,
  router: NonNullable<Plan["router"]>,
  routerJs: string,
): KubeObject[] {
  const t = plan.topology;
  const k = t.kubernetes;
  const name = objectName(t.name, "router");
  const lbl = labels(plan, "router");
  const ps = [{ name: "http", port: router.port }];
  if (router.discoveryPort !== undefined) ps.push({ name: "zmq", port: router.discoveryPort });
  const cm: IConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: k.namespace, labels: lbl },
    data: {
      "router.json": JSON.stringify(clusterRouterConfig(plan), null, 2),
      "router.js": routerJs,
    },
  };
  const container: IContainer = {
    name: "router",
    image: k.denoImage,
    command: ["deno"],
    args: [
      ...["run", "-A", "/config/router.js", "--config", "/config/router.json"],
      ...["--host", "0.0.0.0", "--port", String(router.port)],
    ],
    ports: ps.map((p) => ({ name: p.name, containerPort: p.port })),
    readinessProbe: { httpGet: { path: "/health", port: router.port }, periodSeconds: 5 },
    volumeMounts: [{ name: "config", mountPath: "/config" }],
  };
  return [
    cm,
    deployment(k, name, lbl, container, [{ name: "config", configMap: { name } }]),
    service(k.namespace, name, lbl, ps, { type: k.serviceType }),
  ];
}

/** The objects as one multi-document YAML text. */
export function manifestsYaml(objs: readonly object[]): string {
  return objs.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join(
    "---\n",
  );
}
