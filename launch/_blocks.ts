/**
 * Readers of the topology's blocks, with their keys and defaults: role blocks
 * (`prefill: {count, gpus, port, ...}`), `processes:` (engine: command),
 * `router:`, `kv:` and `kubernetes:`.
 *
 * @module
 */
import { parseAllowRule } from "../lib/allow_list.ts";
import { type Connector, POLICIES } from "../lib/contracts.ts";
import type { Key, Reader } from "../lib/schema.ts";
import { LINK_KINDS } from "./sim/core/cost_model.ts";
import { checkNodes, checkRoleParallel, PARALLEL_KEYS, readParallel, readTp } from "./_parallel.ts";
import type {
  CommandSpec,
  EngineKind,
  Kind,
  KubernetesSpec,
  KvSpec,
  RoleBlock,
  RoleSpec,
  RouterSpec,
} from "./topology.ts";

const DEFAULT_PORT: Record<RoleBlock, number> = {
  server: 8000,
  replicas: 8000,
  encode: 8300,
  prefill: 8100,
  decode: 8200,
};

const ROLE_KEYS = [
  "count",
  "gpus",
  "tp",
  "port",
  "host",
  "gpu_memory_utilization",
  "extra_args",
  "env",
  "nodes",
  ...PARALLEL_KEYS,
];
const PROCESS_KEYS = ["name", "cmd", "health", "url", "host", "cwd", "env", "ports"];
const ROUTER_KEYS = [
  "retries",
  "enabled",
  "port",
  "host",
  "policy",
  "prefill_policy",
  "decode_policy",
  "discovery",
  "discovery_allow",
  "extra_args",
];
const KV_KEYS = [
  "link",
  "link_gbps",
  "side_channel_port",
  "kv_port",
  "proxy_port",
  "producer_buffer_size",
  "consumer_buffer_size",
  "shared_storage_path",
  "ec_storage_path",
];
/** Keys of `kubernetes:`. */
export const K8S_KEYS = [
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
];
const SERVICE_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"] as const;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The mapping at `key` (present: null is refused like any other non-mapping). */
function block(r: Reader, key: Key, keys: readonly string[]): Reader {
  if (r.value(key) === null) throw r.fail(key, null, r.style.mapping(keys), "type");
  return r.obj(key, keys);
}

function readGpus(b: Reader): number[][] | undefined {
  if (b.absent("gpus")) return undefined;
  const expected = "a list of GPU id lists, one per instance, e.g. [[0], [1]] or [[0, 1]]";
  const list = b.list("gpus", expected);
  return list.indices().map((i) => {
    const g = list.value(i);
    const ids = typeof g === "number" ? [g] : g;
    if (!Array.isArray(ids) || ids.length === 0) throw list.fail(i, g, expected, "type");
    const row = list.child(ids, i);
    ids.forEach((_, j) => row.int(j, 0, 1023));
    if (new Set(ids).size !== ids.length) throw list.fail(i, g, "distinct GPU ids");
    return ids as number[];
  });
}

/** Reads the role block `role` of the top-level reader `r`. */
export function readRole(r: Reader, role: RoleBlock, engine: EngineKind): RoleSpec {
  const b = block(r, role, ROLE_KEYS);
  const gpus = readGpus(b);
  if (engine === "vllm" && !gpus) {
    throw b.fail("gpus", undefined, "a list of GPU id lists (engine: vllm needs them)");
  }
  const hostList = Array.isArray(b.value("host")) ? b.value("host") as unknown[] : undefined;
  let count = b.int("count", 1, 1024);
  count ??= gpus?.length ?? hostList?.length ?? 1;
  if (gpus && gpus.length !== count) {
    throw b.fail("gpus", b.value("gpus"), `${count} GPU lists (one per instance, count ${count})`);
  }
  const parallel = readParallel(b);
  const nodes = b.int("nodes", 1, 64) ?? 1;
  checkNodes(b, parallel.dp, nodes);
  const tp = readTp(b, role, gpus, count, parallel.dp > 1 ? parallel.dp / nodes : 1);
  const hosts = readHosts(b, hostList, count);
  const port = b.port("port") ?? DEFAULT_PORT[role];
  // external load balancing: every rank its own port (instance i's rank r at port + i·dp + r)
  const perInstance = parallel.dpLb === "external" ? parallel.dp : 1;
  if (port + count * perInstance - 1 > 65535) {
    throw b.fail("port", port, `a port <= ${65536 - count * perInstance}`);
  }
  const spec: RoleSpec = {
    role,
    count,
    gpus,
    tp,
    port,
    hosts,
    gpuMemoryUtilization: b.num("gpu_memory_utilization", 0, 1, true) ?? 0.9,
    extraArgs: b.args("extra_args"),
    env: b.env("env"),
    nodes,
    ...parallel,
  };
  checkRoleParallel(b, role, spec);
  return spec;
}

/** `host:` of a role block: one host for every instance, or one per instance. */
function readHosts(b: Reader, hostList: unknown[] | undefined, count: number) {
  if (!hostList) return Array(count).fill(localOrHost(sshHost(b, "host")));
  if (hostList.length !== count) {
    throw b.fail("host", hostList, `one host or a list of ${count} hosts`);
  }
  const list = b.child(hostList, "host");
  return hostList.map((_, i) => localOrHost(sshHost(list, i)));
}

/**
 * A host ssh may be given: `[user@]name[:port]` of letters, digits, `.`, `-`, `_`,
 * `@`, `:`, `[]`, never starting with `-` (ssh would read it as an option).
 */
function sshHost(r: Reader, key: Key): string | undefined {
  const h = r.str(key);
  if (h === undefined) return h;
  if (!/^[A-Za-z0-9_.@:[\]-]+$/.test(h) || h.startsWith("-")) {
    throw r.fail(
      key,
      h,
      "a host name or user@host (letters, digits, . - _ @ : [ ]; not starting with -)",
    );
  }
  return h;
}

/** `localhost`, `127.0.0.1` and absent all mean "start it here". */
function localOrHost(h: string | undefined): string | undefined {
  return h === undefined || h === "localhost" || h === "127.0.0.1" ? undefined : h;
}

/** Reads `processes:` of engine: command. */
export function readProcesses(r: Reader): CommandSpec[] {
  const list = r.list("processes", "a list of {name, cmd, health} (engine: command)");
  const names = new Set<string>();
  return list.indices().map((i) => {
    const p = block(list, i, PROCESS_KEYS);
    const name = p.pattern("name", NAME, "a name") ?? `process-${i}`;
    if (names.has(name)) throw p.fail("name", name, "a name not used by another process");
    names.add(name);
    const cmd = typeof p.value("cmd") === "string" ? p.str("cmd")! : p.args("cmd");
    if (cmd.length === 0) throw p.fail("cmd", p.value("cmd"), "a shell line or an argv list");
    const health = p.str("health");
    if (!health || !URL.canParse(health)) {
      throw p.fail("health", p.value("health"), "a health URL answering 200 when ready");
    }
    const url = p.str("url") ?? new URL(health).origin;
    if (!URL.canParse(url)) throw p.fail("url", url, "an http URL");
    const ports = readPorts(p);
    return {
      name,
      cmd,
      health,
      url,
      host: localOrHost(p.str("host")),
      cwd: p.str("cwd"),
      env: p.env("env"),
      ports,
    };
  });
}

/** `ports:` of a process: one port or a list. */
function readPorts(p: Reader): number[] {
  const v = p.value("ports");
  if (v === undefined) return [];
  if (!Array.isArray(v)) return [p.port("ports")!];
  const list = p.child(v, "ports");
  return v.map((_, j) => list.port(j)!);
}

/** Reads `router:`, with the rules on its fields' combinations. */
export function readRouter(
  r: Reader,
  engine: EngineKind,
  kind: Kind,
  connector: Connector | undefined,
): RouterSpec {
  const rt = r.obj("router", ROUTER_KEYS);
  const router: RouterSpec = {
    enabled: rt.bool("enabled") ?? engine !== "command",
    port: rt.port("port"),
    host: rt.str("host") ?? "127.0.0.1",
    policy: rt.oneOf("policy", POLICIES) ?? "round_robin",
    prefillPolicy: rt.oneOf("prefill_policy", POLICIES),
    decodePolicy: rt.oneOf("decode_policy", POLICIES),
    discovery: rt.oneOf("discovery", ["static", "zmq"] as const) ?? "static",
    discoveryAllow: readAllow(rt),
    extraArgs: rt.args("extra_args"),
  };
  // absent when not given: resolved topologies (config.json, its hash) stay as they were
  const retries = rt.int("retries", 0, 10);
  if (retries) router.retries = retries;
  if (router.discoveryAllow.length && router.discovery !== "zmq") {
    throw rt.fail(
      "discovery_allow",
      rt.value("discovery_allow"),
      "absent unless router.discovery: zmq",
    );
  }
  if (router.discovery === "zmq" && connector !== "p2pnccl") {
    // vLLM's engines register only with P2pNcclConnector (P2pNcclEngine.ping)
    throw rt.fail("discovery", "zmq", "static unless connector: p2pnccl");
  }
  if (router.enabled && router.port === undefined) {
    throw rt.fail("port", rt.value("port"), "a port in [1, 65535] (or router.enabled: false)");
  }
  if (router.enabled && engine === "command" && !["dp", "agg", "custom"].includes(kind)) {
    throw rt.fail("enabled", true, `false for engine: command of kind ${kind}`);
  }
  return router;
}

function readAllow(rt: Reader): string[] {
  return rt.args("discovery_allow").map((a, i) => {
    try {
      return parseAllowRule(a).text;
    } catch {
      throw rt.fail(
        `discovery_allow[${i}]`,
        a,
        "an allow rule (host, IPv4/N or [IPv6/N], optional :port, :lo-hi or a comma list)",
        "type",
      );
    }
  });
}

/** Reads `kv:`; the shared stores default to folders named after the topology. */
export function readKv(r: Reader, name: string): KvSpec {
  const k = r.obj("kv", KV_KEYS);
  return {
    link: k.oneOf("link", LINK_KINDS),
    linkGBps: k.num("link_gbps", 1e-3, 1e6, true),
    sideChannelPort: k.port("side_channel_port") ?? 5600,
    kvPort: k.port("kv_port") ?? 21001,
    proxyPort: k.port("proxy_port") ?? 30001,
    producerBufferSize: k.num("producer_buffer_size", 0, 1e15, true) ?? 1e9,
    consumerBufferSize: k.num("consumer_buffer_size", 0, 1e15, true) ?? 8e9,
    sharedStoragePath: k.str("shared_storage_path") ?? `/tmp/topobench/${name}/lmcache`,
    ecStoragePath: k.str("ec_storage_path") ?? `/tmp/topobench/${name}/ec_cache`,
  };
}

/** Reads the `kubernetes:` block `k8s` and its `rdma:` (their keys already checked). */
export function readKubernetes(k8s: Reader, rdma: Reader): KubernetesSpec {
  return {
    namespace: k8s.str("namespace") ?? "default",
    image: k8s.str("image") ?? "vllm/vllm-openai:latest",
    denoImage: k8s.str("deno_image") ?? "denoland/deno:2.9.6",
    nodeSelector: k8s.env("node_selector"),
    tolerations: readTolerations(k8s),
    gpuResource: k8s.str("gpu_resource") ?? "nvidia.com/gpu",
    serviceType: k8s.oneOf("service_type", SERVICE_TYPES) ?? "ClusterIP",
    context: k8s.str("context"),
    shm: k8s.value("shm") === undefined ? undefined : k8s.check<string>(
      "shm",
      (v) => typeof v === "string" && /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/.test(v),
      "a Kubernetes quantity such as 16Gi or 512Mi",
    ),
    envFromSecrets: k8s.args("env_from_secrets"),
    modelCachePvc: k8s.str("model_cache_pvc"),
    rdma: k8s.absent("rdma") ? undefined : {
      resource: rdma.str("resource") ?? "rdma/hca",
      count: rdma.int("count", 1, 64) ?? 1,
    },
  };
}

function readTolerations(k8s: Reader): Record<string, unknown>[] {
  if (k8s.value("tolerations") === undefined) return [];
  return k8s.check(
    "tolerations",
    (v) =>
      Array.isArray(v) &&
      v.every((t) => typeof t === "object" && t !== null && !Array.isArray(t)),
    "a list of toleration objects ({key, operator, effect})",
    "type",
  );
}
