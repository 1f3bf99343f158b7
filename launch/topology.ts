/**
 * Topology YAML -> validated {@linkcode Topology} (every default filled in).
 * {@linkcode planTopology} (in `_plan.ts`) turns it into instances with ports.
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { readConfigText } from "../lib/read_config.ts";
import { Reader } from "../lib/schema.ts";
import { type Connector, CONNECTORS, type Policy, ROUTER_KINDS } from "../lib/contracts.ts";
import {
  K8S_KEYS,
  readKubernetes,
  readKv,
  readProcesses,
  readRole,
  readRouter,
} from "./_blocks.ts";
import { checkLmcache, checkPlatform, checkTransfer } from "./_topology_rules.ts";
import { checkParallel, type ParallelSpec } from "./_parallel.ts";
import type { LinkKind } from "./sim/core/cost_model.ts";
import { isGpuFile, isModelFile, loadGpu, loadModel } from "./sim/core/profile_files.ts";

/** How processes are started. */
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

/**
 * One role block, e.g. `prefill: { count: 2, gpus: [[0], [1]], port: 8100 }`;
 * its MoE keys (`dp`, `ep`, `eplb`, `all2all_backend`, `dp_lb`) are
 * {@linkcode ParallelSpec}'s.
 */
export interface RoleSpec extends ParallelSpec {
  role: RoleBlock;
  count: number;
  /**
   * GPU ids per instance, of one node: tp of them, or (dp / nodes) × tp with
   * data parallelism (rank by rank); tensor parallel size follows.
   */
  gpus?: number[][];
  /** Tensor parallel size per instance (GPUs per data-parallel rank). */
  tp: number[];
  /**
   * Port of the first instance; the next ones count up (with `dp_lb:
   * external`, rank by rank: instance i's rank r at port + i·dp + r).
   */
  port: number;
  /** ssh destination per instance; undefined = local. */
  hosts: (string | undefined)[];
  gpuMemoryUtilization: number;
  extraArgs: string[];
  env: Record<string, string>;
  /**
   * Nodes per instance (`platform: kubernetes`, `engine: vllm`): a LeaderWorkerSet
   * of this many pods; with dp 1, `tp` GPUs each, pipeline parallel across them;
   * with dp > 1, dp / nodes ranks of `tp` GPUs each (no pipeline parallelism). @default 1
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
  /**
   * Times the router sends a request again (prefill and decode, on instances
   * other than the one that failed) when its prefill or decode leg failed
   * before any token reached the client; 0 or absent: never. @default 0
   */
  retries?: number;
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
  /** The file, as errors name it (with `--set` changes: `PATH (with --set ...)`). */
  file: string;
  /**
   * How a command line names it: `PATH`, or `PATH --set 'field=value' ...`
   * with the changes applied (shell-quoted where needed). @default file
   */
  cliArgs?: string;
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
const SIM_KEYS = ["speed", "gpu", "model_profile", "extra_args", "env"];
const VLLM_KEYS = ["bin", "extra_args", "env"];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

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
  if (raw === undefined || raw === null) {
    throw new Reader(file).fail("(top level)", raw, "a mapping (name, engine, kind, ...)", "type");
  }
  const r = Reader.root(file, raw, TOP_KEYS);
  const { name, engine, model, kind, connector } = readHead(r);
  const roles = readRoles(r, engine, kind);
  const processes = engine === "command" ? readProcesses(r) : [];
  if (engine !== "command" && r.value("processes") !== undefined) {
    throw r.fail("processes", r.value("processes"), "absent (only engine: command uses processes)");
  }
  const router = readRouter(r, engine, kind, connector);
  const kv = readKv(r, name);
  checkTransfer(r, engine, connector, roles, kv);
  const s = r.obj("sim", SIM_KEYS);
  const v = r.obj("vllm", VLLM_KEYS);
  if (engine !== "sim" && r.value("sim") != null) {
    throw r.fail("sim", r.value("sim"), "absent unless engine: sim");
  }
  if (engine !== "vllm" && r.value("vllm") !== undefined) {
    throw r.fail("vllm", r.value("vllm"), "absent unless engine: vllm");
  }
  const vllmEnv = v.env("env");
  const platform = r.oneOf("platform", ["local", "kubernetes"] as const) ?? "local";
  const k8s = r.obj("kubernetes", K8S_KEYS);
  const rdma = k8s.obj("rdma", ["resource", "count"]);
  checkPlatform(r, engine, platform, roles, k8s);
  checkParallel(r, engine, connector, platform, roles);
  if (engine === "vllm" && connector === "lmcache") checkLmcache(r, roles, vllmEnv);
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
      speed: s.num("speed", 0, 1e6, true) ?? 1,
      gpu: simProfile(s, "gpu", file) ?? "h100",
      modelProfile: simProfile(s, "model_profile", file),
      extraArgs: s.args("extra_args"),
      env: s.env("env"),
    },
    vllm: { bin: v.str("bin") ?? "vllm", extraArgs: v.args("extra_args"), env: vllmEnv },
    workdir: r.str("workdir"),
    platform,
    kubernetes: readKubernetes(k8s, rdma),
  };
}

/**
 * `sim.gpu` / `sim.model_profile`: a built-in profile's id as written, or a
 * profile file (`.yaml`/`.yml` GPU, `.json` config.json) resolved against the
 * topology file's folder and loaded once here, so a bad file fails at parse
 * time naming its own path and field.
 */
function simProfile(s: Reader, key: "gpu" | "model_profile", file: string): string | undefined {
  const v = s.str(key);
  const gpu = key === "gpu";
  if (v === undefined || !(gpu ? isGpuFile(v) : isModelFile(v))) return v;
  const path = file.startsWith("<") ? v.trim() : resolve(dirname(file), v.trim());
  if (gpu) loadGpu(path);
  else loadModel(path);
  return path;
}

/** name, engine, kind, model and connector, with the rules between them. */
function readHead(r: Reader) {
  const nameRule = "a name of letters, digits, . _ -";
  const name = r.need(r.pattern("name", NAME, nameRule), "name", nameRule);
  const engine = r.need(r.oneOf("engine", ENGINES), "engine", ENGINES.join(" | "));
  const kind = r.oneOf("kind", KINDS) ?? (engine === "command" ? "custom" : undefined);
  if (kind === undefined) {
    throw r.fail("kind", r.value("kind"), `one of ${KINDS.slice(0, 5).join(", ")}`);
  }
  if (kind === "custom" && engine !== "command") {
    throw r.fail("kind", kind, "one of agg, dp, pd, ppd, epd (custom needs engine: command)");
  }
  const model = r.str("model") ?? "";
  if (engine !== "command" && !model) {
    throw r.fail("model", r.value("model"), "a model name (HF id)");
  }
  const disagg = ["pd", "ppd", "epd"].includes(kind) && engine !== "command";
  let connector = r.oneOf("connector", CONNECTORS);
  if (disagg) connector ??= "nixl";
  else if (connector !== undefined && engine !== "command") {
    throw r.fail("connector", connector, `absent for kind ${kind} (only pd, ppd, epd use one)`);
  }
  return { name, engine, model, kind, connector };
}

/** The role blocks `kind` needs, each present; the others absent. */
function readRoles(r: Reader, engine: EngineKind, kind: Kind): RoleSpec[] {
  const roles: RoleSpec[] = [];
  const wanted = engine === "command" ? [] : KIND_ROLES[kind];
  for (const role of ROLES) {
    if (r.value(role) === undefined) {
      if (wanted.includes(role)) {
        throw r.fail(role, undefined, `a ${role} block (kind ${kind} needs ${wanted.join(", ")})`);
      }
      continue;
    }
    if (!wanted.includes(role)) {
      const uses = wanted.length ? wanted.join(", ") : "processes";
      throw r.fail(role, r.value(role), `absent (engine ${engine}, kind ${kind} uses ${uses})`);
    }
    roles.push(readRole(r, role, engine));
  }
  if (kind === "agg" && roles[0]?.count !== 1) {
    throw r.fail("server.count", roles[0]?.count, "1 (agg is one engine; use kind dp for more)");
  }
  return roles;
}
