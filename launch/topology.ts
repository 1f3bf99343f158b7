/**
 * Topology YAML -> validated {@linkcode Topology} (every default filled in).
 * {@linkcode planTopology} (in `_plan.ts`) turns it into instances with ports.
 *
 * @module
 */
import { parseAllowRule } from "../lib/allow_list.ts";
import { parse } from "yaml";
import { readConfigText } from "../lib/read_config.ts";
import { Reader } from "./_schema.ts";
import { readProcesses, readRole } from "./_blocks.ts";
import {
  type Connector,
  CONNECTORS,
  POLICIES,
  type Policy,
  ROUTER_KINDS,
} from "../lib/contracts.ts";

/** How processes are started. */
import { LINK_KINDS, type LinkKind } from "./sim/cost_model.ts";

export const ENGINES = ["sim", "vllm", "command"] as const;
/** Engine kind. */
export type EngineKind = typeof ENGINES[number];
/** Serving topologies (`custom` only with `engine: command`). */
export const KINDS = [...ROUTER_KINDS, "custom"] as const;
/** Topology kind. */
export type Kind = typeof KINDS[number];
/** Role blocks of engine instances, in start order. */
export const ROLES = ["server", "replicas", "encode", "prefill", "decode"] as const;
/** Role block name (the router's engine roles are `Role` in `lib/contracts.ts`). */
export type RoleBlock = typeof ROLES[number];

/** Role blocks each kind needs. */
export const KIND_ROLES: Record<Kind, readonly RoleBlock[]> = {
  agg: ["server"],
  dp: ["replicas"],
  pd: ["prefill", "decode"],
  ppd: ["prefill", "decode"],
  epd: ["encode", "prefill", "decode"],
  custom: [],
};

/** One role block, e.g. `prefill: { count: 2, gpus: [[0], [1]], port: 8100 }`. */
export interface RoleSpec {
  role: RoleBlock;
  count: number;
  /** GPU ids per instance; tensor parallel size is each list's length. */
  gpus?: number[][];
  /** Tensor parallel size per instance. */
  tp: number[];
  /** Port of the first instance; the next ones count up. */
  port: number;
  /** ssh destination per instance; undefined = local. */
  hosts: (string | undefined)[];
  gpuMemoryUtilization: number;
  extraArgs: string[];
  env: Record<string, string>;
  /**
   * Nodes per instance (`platform: kubernetes`, `engine: vllm`): a LeaderWorkerSet
   * of this many pods, `tp` GPUs each, pipeline parallel across them. @default 1
   */
  nodes: number;
}

/** KV/EC connector settings (`kv:` block). */
export interface KvSpec {
  /**
   * Link KV moves over between instances, as the simulated engine models it
   * (`--kv-link`): nvlink, pcie, rdma or tcp. @default nvlink
   */
  link?: LinkKind;
  /** KV transfer bandwidth per rank, GB/s (`--kv-link-gbps`). @default the link's */
  linkGBps?: number;
  /** First `VLLM_NIXL_SIDE_CHANNEL_PORT`; instances get base + sum of earlier tp. @default 5600 */
  sideChannelPort: number;
  /** First P2pNccl `kv_port`, allotted like the side-channel ports. @default 21001 */
  kvPort: number;
  /** P2pNccl `proxy_port` (the router's registration port). @default 30001 */
  proxyPort: number;
  /** P2pNccl `kv_buffer_size` of producers, bytes. @default 1e9 */
  producerBufferSize: number;
  /** P2pNccl `kv_buffer_size` of consumers, bytes. @default 8e9 */
  consumerBufferSize: number;
  /** LMCache shared store. @default /tmp/topobench/NAME/lmcache */
  sharedStoragePath: string;
  /** EPD encoder cache store. @default /tmp/topobench/NAME/ec_cache */
  ecStoragePath: string;
}

/** `router:` block. */
export interface RouterSpec {
  enabled: boolean;
  port?: number;
  /** Address the router listens on. @default 127.0.0.1 */
  host: string;
  policy: Policy;
  prefillPolicy?: Policy;
  decodePolicy?: Policy;
  /**
   * `zmq`: prefill and decode instances also register themselves over ZMQ on
   * `kv.proxy_port` (vLLM's P2P-NCCL discovery), so instances can be added and
   * removed while the router runs. @default "static"
   */
  discovery: "static" | "zmq";
  /**
   * `discovery_allow`: who else may register besides the topology's own
   * instances (hosts, CIDRs, port ranges, e.g. a pod network
   * `10.244.0.0/16:8000-8999`); the router config's `discovery.allow`. On
   * Kubernetes, where instances register with their pod IPs, it defaults to the
   * private ranges on the instances' own ports. @default []
   */
  discoveryAllow: string[];
  extraArgs: string[];
}

/** One `processes:` entry of `engine: command`. */
export interface CommandSpec {
  name: string;
  /** A shell line (run by `sh -c`) or an argv list. */
  cmd: string | string[];
  /** Polled until it answers 200. */
  health: string;
  /** OpenAI base URL (router backend); defaults to the health URL's origin. */
  url: string;
  host?: string;
  cwd?: string;
  env: Record<string, string>;
  /** Ports it listens on, checked free before launch. */
  ports: number[];
}

/** A validated topology. */
export interface Topology {
  file: string;
  name: string;
  engine: EngineKind;
  model: string;
  kind: Kind;
  connector?: Connector;
  roles: RoleSpec[];
  processes: CommandSpec[];
  router: RouterSpec;
  kv: KvSpec;
  sim: {
    speed: number;
    gpu: string;
    modelProfile?: string;
    extraArgs: string[];
    env: Record<string, string>;
  };
  vllm: { bin: string; extraArgs: string[]; env: Record<string, string> };
  /** Folder that remote (`host:`) commands `cd` into. @default this checkout */
  workdir?: string;
  /** Where the processes run: this host (and ssh hosts), or a Kubernetes cluster. @default "local" */
  platform: "local" | "kubernetes";
  /** Cluster settings (`platform: kubernetes`). */
  kubernetes: KubernetesSpec;
}

/** The `kubernetes:` block. */
export interface KubernetesSpec {
  /** @default "default" */
  namespace: string;
  /** Engine image (`engine: vllm`). @default "vllm/vllm-openai:latest" */
  image: string;
  /** Image with Deno and the bundled sim/router (`deno task bundle`). @default "denoland/deno:2.9.6" */
  denoImage: string;
  nodeSelector: Record<string, string>;
  tolerations: Record<string, unknown>[];
  /** @default "nvidia.com/gpu" */
  gpuResource: string;
  /** Type of the router's Service. @default "ClusterIP" */
  serviceType: "ClusterIP" | "NodePort" | "LoadBalancer";
  /** kubeconfig context for up/down/status. @default the current context */
  context?: string;
  /** Size of the engines' `/dev/shm` (a memory emptyDir; NCCL and TP need more than 64 MiB), e.g. `16Gi`. */
  shm?: string;
  /** RDMA devices per engine pod (NIXL/UCX over InfiniBand or RoCE), with IPC_LOCK. */
  rdma?: { resource: string; count: number };
  /** Secrets whose keys become the engines' environment (`envFrom`), e.g. one holding HF_TOKEN. @default [] */
  envFromSecrets: string[];
  /** A PersistentVolumeClaim mounted as the engines' Hugging Face cache (`/root/.cache/huggingface`). */
  modelCachePvc?: string;
}

const TOP_KEYS = [
  "name",
  "description",
  "engine",
  "model",
  "kind",
  "connector",
  "kv",
  ...ROLES,
  "processes",
  "router",
  "sim",
  "vllm",
  "workdir",
  "platform",
  "kubernetes",
];

const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;

function readTolerations(r: Reader, v: unknown): Record<string, unknown>[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((t) => typeof t !== "object" || t === null || Array.isArray(t))) {
    throw r.fail(
      "kubernetes.tolerations",
      v,
      "a list of toleration objects ({key, operator, effect})",
      "type",
    );
  }
  return v as Record<string, unknown>[];
}

function readQuantity(r: Reader, v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(v)) {
    throw r.fail(field, v, "a Kubernetes quantity such as 16Gi or 512Mi");
  }
  return v;
}

/** A topology file's text; throws naming the path when it does not exist. */
export async function readTopologyFile(path: string): Promise<string> {
  try {
    return await readConfigText(path, "a topology file");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TypeError(
        `Cannot read ${path} as a topology file: current value is ${
          JSON.stringify(path)
        } (no such file)`,
      );
    }
    throw e;
  }
}

/** YAML text as an object (not yet validated); `file` is named in errors. */
export function parseTopologyYaml(text: string, file = "<topology>"): unknown {
  try {
    return parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot parse ${file} as YAML: current value is ${(e as Error).message.split("\n")[0]}`,
    );
  }
}

/** Reads and validates a topology file. */
export async function loadTopology(path: string): Promise<Topology> {
  return parseTopology(await readTopologyFile(path), path);
}

/** Parses YAML text and validates it; `file` is named in errors. */
export function parseTopology(text: string, file = "<topology>"): Topology {
  return validateTopology(parseTopologyYaml(text, file), file);
}

/** Validates a parsed topology object and fills in defaults. */
export function validateTopology(raw: unknown, file = "<topology>"): Topology {
  const r = new Reader(file);
  const o = r.obj(raw, "", TOP_KEYS);
  if (!o) throw r.fail("(top level)", raw, "a mapping (name, engine, kind, ...)", "type");
  const req = <T>(v: T | undefined, field: string, expected: string): T => {
    if (v === undefined) throw r.fail(field, undefined, expected);
    return v;
  };
  const name = req(
    r.pattern(o.name, "name", /^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a name of letters, digits, . _ -"),
    "name",
    "a name of letters, digits, . _ -",
  );
  const engine = req(r.oneOf(o.engine, "engine", ENGINES), "engine", ENGINES.join(" | "));
  const kind = r.oneOf(o.kind, "kind", KINDS) ?? (engine === "command" ? "custom" : undefined);
  if (kind === undefined) throw r.fail("kind", o.kind, `one of ${KINDS.slice(0, 5).join(", ")}`);
  if (kind === "custom" && engine !== "command") {
    throw r.fail("kind", kind, "one of agg, dp, pd, ppd, epd (custom needs engine: command)");
  }
  const model = r.str(o.model, "model") ?? "";
  if (engine !== "command" && !model) throw r.fail("model", o.model, "a model name (HF id)");

  const disagg = ["pd", "ppd", "epd"].includes(kind) && engine !== "command";
  let connector = r.oneOf(o.connector, "connector", CONNECTORS);
  if (disagg) connector ??= "nixl";
  else if (connector !== undefined && engine !== "command") {
    throw r.fail("connector", connector, `absent for kind ${kind} (only pd, ppd, epd use one)`);
  }

  const roles: RoleSpec[] = [];
  const wanted = engine === "command" ? [] : KIND_ROLES[kind];
  for (const role of ROLES) {
    if (o[role] === undefined) {
      if (wanted.includes(role)) {
        throw r.fail(role, undefined, `a ${role} block (kind ${kind} needs ${wanted.join(", ")})`);
      }
      continue;
    }
    if (!wanted.includes(role)) {
      throw r.fail(
        role,
        o[role],
        `absent (engine ${engine}, kind ${kind} uses ${
          wanted.length ? wanted.join(", ") : "processes"
        })`,
      );
    }
    roles.push(readRole(r, role, o[role], engine));
  }
  if (kind === "agg" && roles[0]?.count !== 1) {
    throw r.fail("server.count", roles[0]?.count, "1 (agg is one engine; use kind dp for more)");
  }

  const processes = engine === "command" ? readProcesses(r, o.processes) : [];
  if (engine !== "command" && o.processes !== undefined) {
    throw r.fail("processes", o.processes, "absent (only engine: command uses processes)");
  }

  const rt = r.obj(o.router, "router", [
    "enabled",
    "port",
    "host",
    "policy",
    "prefill_policy",
    "decode_policy",
    "discovery",
    "discovery_allow",
    "extra_args",
  ]) ?? {};
  const router: RouterSpec = {
    enabled: r.bool(rt.enabled, "router.enabled") ?? engine !== "command",
    port: r.port(rt.port, "router.port"),
    host: r.str(rt.host, "router.host") ?? "127.0.0.1",
    policy: r.oneOf(rt.policy, "router.policy", POLICIES) ?? "round_robin",
    prefillPolicy: r.oneOf(rt.prefill_policy, "router.prefill_policy", POLICIES),
    decodePolicy: r.oneOf(rt.decode_policy, "router.decode_policy", POLICIES),
    discovery: r.oneOf(rt.discovery, "router.discovery", ["static", "zmq"] as const) ?? "static",
    discoveryAllow: r.args(rt.discovery_allow, "router.discovery_allow").map((a, i) => {
      try {
        return parseAllowRule(a).text;
      } catch {
        throw r.fail(
          `router.discovery_allow[${i}]`,
          a,
          "an allow rule (host, IPv4/N or [IPv6/N], optional :port, :lo-hi or a comma list)",
          "type",
        );
      }
    }),
    extraArgs: r.args(rt.extra_args, "router.extra_args"),
  };
  if (router.discoveryAllow.length && router.discovery !== "zmq") {
    throw r.fail(
      "router.discovery_allow",
      rt.discovery_allow,
      "absent unless router.discovery: zmq",
    );
  }
  if (router.discovery === "zmq" && connector !== "p2pnccl") {
    // vLLM's engines register only with P2pNcclConnector (P2pNcclEngine.ping)
    throw r.fail("router.discovery", "zmq", "static unless connector: p2pnccl");
  }
  if (router.enabled && router.port === undefined) {
    throw r.fail("router.port", rt.port, "a port in [1, 65535] (or router.enabled: false)");
  }
  if (router.enabled && engine === "command" && !["dp", "agg", "custom"].includes(kind)) {
    throw r.fail("router.enabled", true, `false for engine: command of kind ${kind}`);
  }

  const k = r.obj(o.kv, "kv", [
    "link",
    "link_gbps",
    "side_channel_port",
    "kv_port",
    "proxy_port",
    "producer_buffer_size",
    "consumer_buffer_size",
    "shared_storage_path",
    "ec_storage_path",
  ]) ?? {};
  const kv: KvSpec = {
    link: r.oneOf(k.link, "kv.link", LINK_KINDS),
    linkGBps: r.num(k.link_gbps, "kv.link_gbps", 1e-3, 1e6, true),
    sideChannelPort: r.port(k.side_channel_port, "kv.side_channel_port") ?? 5600,
    kvPort: r.port(k.kv_port, "kv.kv_port") ?? 21001,
    proxyPort: r.port(k.proxy_port, "kv.proxy_port") ?? 30001,
    producerBufferSize: r.num(k.producer_buffer_size, "kv.producer_buffer_size", 0, 1e15, true) ??
      1e9,
    consumerBufferSize: r.num(k.consumer_buffer_size, "kv.consumer_buffer_size", 0, 1e15, true) ??
      8e9,
    sharedStoragePath: r.str(k.shared_storage_path, "kv.shared_storage_path") ??
      `/tmp/topobench/${name}/lmcache`,
    ecStoragePath: r.str(k.ec_storage_path, "kv.ec_storage_path") ??
      `/tmp/topobench/${name}/ec_cache`,
  };

  if (engine === "vllm" && (kv.link !== undefined || kv.linkGBps !== undefined)) {
    // the link model is the simulated engine's; `vllm serve` has no such flag
    throw r.fail(
      kv.link !== undefined ? "kv.link" : "kv.link_gbps",
      kv.link ?? kv.linkGBps,
      "absent for engine: vllm (the KV link model is the simulated engine's)",
    );
  }
  if (connector === "p2pnccl" && engine !== "command") {
    // vLLM's P2pNcclConnector supports symmetric TP only (p2p_nccl_connector.py
    // check_tensors_except_dim: "only symmetric TP is supported")
    const tps = roles.filter((x) => x.role === "prefill" || x.role === "decode").flatMap((x) =>
      x.tp.map((tp, i) => ({ at: `${x.role}[${i}]`, tp }))
    );
    const odd = tps.find((x) => x.tp !== tps[0].tp);
    if (odd) {
      throw r.fail(
        `${odd.at.replace(/\[.*/, "")}.gpus`,
        odd.tp,
        `tensor-parallel size ${tps[0].tp} like ${
          tps[0].at
        } (P2pNcclConnector needs the same TP on every prefill and decode instance)`,
      );
    }
  }

  const s = r.obj(o.sim, "sim", ["speed", "gpu", "model_profile", "extra_args", "env"]) ?? {};
  const v = r.obj(o.vllm, "vllm", ["bin", "extra_args", "env"]) ?? {};
  if (engine !== "sim" && o.sim !== undefined) {
    throw r.fail("sim", o.sim, "absent unless engine: sim");
  }
  if (engine !== "vllm" && o.vllm !== undefined) {
    throw r.fail("vllm", o.vllm, "absent unless engine: vllm");
  }
  const vllmEnv = r.env(v.env, "vllm.env");
  const platform = r.oneOf(o.platform, "platform", ["local", "kubernetes"] as const) ?? "local";
  const k8s = r.obj(o.kubernetes, "kubernetes", [
    "namespace",
    "image",
    "deno_image",
    "node_selector",
    "tolerations",
    "gpu_resource",
    "service_type",
    "context",
    "shm",
    "rdma",
    "env_from_secrets",
    "model_cache_pvc",
  ]) ?? {};
  const rdma = r.obj(k8s.rdma, "kubernetes.rdma", ["resource", "count"]);
  if (platform !== "kubernetes" && o.kubernetes !== undefined) {
    throw r.fail("kubernetes", o.kubernetes, "absent unless platform: kubernetes");
  }
  const multi = roles.find((x) => x.nodes > 1);
  if (multi && (platform !== "kubernetes" || engine !== "vllm")) {
    throw r.fail(
      `${multi.role}.nodes`,
      multi.nodes,
      "1 unless platform: kubernetes and engine: vllm (a multi-node instance runs as a LeaderWorkerSet)",
    );
  }
  if (platform === "kubernetes") {
    if (engine === "command") throw r.fail("platform", platform, "local for engine: command");
    if (engine === "sim" && k8s.deno_image === undefined) {
      throw r.fail(
        "kubernetes.deno_image",
        "denoland/deno:2.9.6 (the default: Deno without the sim)",
        "an image with the bundled sim at /topobench/sim.js for engine: sim (deno task bundle, then build launch/k8s/Dockerfile)",
      );
    }
    const remote = roles.find((x) => x.hosts.some((h) => h !== undefined));
    if (remote) {
      throw r.fail(
        `${remote.role}.host`,
        remote.hosts.find(Boolean),
        "absent with platform: kubernetes (the scheduler places pods)",
      );
    }
  }
  if (engine === "vllm" && connector === "lmcache") {
    // LMCacheConnectorV1 reads its PD settings from LMCACHE_CONFIG_FILE (or LMCACHE_* vars),
    // never from kv_connector_extra_config (vLLM's lmcache_integration/utils.py)
    for (const x of roles.filter((x) => x.role === "prefill" || x.role === "decode")) {
      const env = { ...vllmEnv, ...x.env };
      if (!env.LMCACHE_CONFIG_FILE && !Object.keys(env).some((k) => k.startsWith("LMCACHE_"))) {
        throw r.fail(
          `${x.role}.env.LMCACHE_CONFIG_FILE`,
          undefined,
          "an LMCache config file (enable_pd, transfer_channel, pd_role, ... as in vLLM's examples/disaggregated/lmcache) or LMCACHE_* variables: LMCache reads nothing from the kv-transfer config",
        );
      }
    }
  }
  return {
    file,
    name,
    engine,
    model,
    kind,
    connector,
    roles,
    processes,
    router,
    kv,
    sim: {
      speed: r.num(s.speed, "sim.speed", 0, 1e6, true) ?? 1,
      gpu: r.str(s.gpu, "sim.gpu") ?? "h100",
      modelProfile: r.str(s.model_profile, "sim.model_profile"),
      extraArgs: r.args(s.extra_args, "sim.extra_args"),
      env: r.env(s.env, "sim.env"),
    },
    vllm: {
      bin: r.str(v.bin, "vllm.bin") ?? "vllm",
      extraArgs: r.args(v.extra_args, "vllm.extra_args"),
      env: vllmEnv,
    },
    workdir: r.str(o.workdir, "workdir"),
    platform,
    kubernetes: {
      namespace: r.str(k8s.namespace, "kubernetes.namespace") ?? "default",
      image: r.str(k8s.image, "kubernetes.image") ?? "vllm/vllm-openai:latest",
      denoImage: r.str(k8s.deno_image, "kubernetes.deno_image") ?? "denoland/deno:2.9.6",
      nodeSelector: r.env(k8s.node_selector, "kubernetes.node_selector"),
      tolerations: readTolerations(r, k8s.tolerations),
      gpuResource: r.str(k8s.gpu_resource, "kubernetes.gpu_resource") ?? "nvidia.com/gpu",
      serviceType: r.oneOf(k8s.service_type, "kubernetes.service_type", SERVICE_TYPES) ??
        "ClusterIP",
      context: r.str(k8s.context, "kubernetes.context"),
      shm: readQuantity(r, k8s.shm, "kubernetes.shm"),
      envFromSecrets: r.args(k8s.env_from_secrets, "kubernetes.env_from_secrets"),
      modelCachePvc: r.str(k8s.model_cache_pvc, "kubernetes.model_cache_pvc"),
      rdma: rdma && {
        resource: r.str(rdma.resource, "kubernetes.rdma.resource") ?? "rdma/hca",
        count: r.int(rdma.count, "kubernetes.rdma.count", 1, 64) ?? 1,
      },
    },
  };
}
