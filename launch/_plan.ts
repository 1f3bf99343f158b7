/**
 * Validated topology -> plan: one entry per engine instance with its name,
 * host, port, URL, GPUs and connector ports, the router's address, and every
 * port that will be listened on (checked for clashes here and, for local
 * ones, checked free by `up`).
 *
 * @module
 */
import { fieldError } from "../lib/errors.ts";
import type { RoleBlock as Role, RoleSpec, Topology } from "./topology.ts";
import {
  assignRpcPorts,
  type Endpoint,
  type InstanceParallel,
  parallelOf,
  rankGpus,
} from "./_plan_parallel.ts";

export {
  DP_RPC_PORT,
  type Endpoint,
  type InstanceParallel,
  rankGpus,
  rankProcess,
} from "./_plan_parallel.ts";

/** One engine instance. */
export interface InstancePlan {
  /** e.g. `prefill-1`. */
  name: string;
  role: Role;
  index: number;
  /** ssh destination; undefined = local. */
  host?: string;
  /** Address others use to reach it (`127.0.0.1` when local). */
  address: string;
  /** Address it listens on. */
  bind: string;
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:8100`. */
  url: string;
  gpus?: number[];
  tp: number;
  gpuMemoryUtilization: number;
  /** `VLLM_NIXL_SIDE_CHANNEL_PORT` (nixl): first of `tp` ports. */
  sideChannelPort?: number;
  /** P2pNccl `kv_port`: first of `tp` ports. */
  kvPort?: number;
  extraArgs: string[];
  env: Record<string, string>;
  /** Nodes of a multi-node instance (pipeline parallel size, or the nodes its DP ranks share); absent = 1. */
  nodes?: number;
  /** Data and expert parallelism; absent = dp 1, no ep. */
  parallel?: InstanceParallel;
  /** Its HTTP entry points when more than the instance's own `url` (external or hybrid load balancing). */
  endpoints?: Endpoint[];
  /** Set on {@linkcode rankProcess}'s view: the one rank this process runs (`--data-parallel-rank`). */
  dpRank?: number;
}

/** A port some process will listen on. */
export interface PortUse {
  /** `local` or the ssh host. */
  host: string;
  port: number;
  /** e.g. `prefill-0 side channel`. */
  owner: string;
  /** Topology field it comes from, for errors. */
  field: string;
}

/** Everything `up` starts, before commands are built. */
export interface Plan {
  topology: Topology;
  instances: InstancePlan[];
  /** `discoveryPort`: where the router takes registrations (`router.discovery: zmq`). */
  router?: { port: number; bind: string; url: string; discoveryPort?: number };
  ports: PortUse[];
  /** Instances `up` plans but does not start (`_spares.ts`: a scenario's `start` events). @default none */
  spares?: string[];
}

/** Options of {@linkcode planTopology}. */
export interface PlanOptions {
  /**
   * Lay all ports out from here instead of the file's: router, then instance
   * HTTP ports, then side-channel/KV ports (tests, side-by-side runs).
   */
  portBase?: number;
}

/** Address part of an ssh destination (`user@gpu-2` -> `gpu-2`). */
export function hostAddress(host: string | undefined): string {
  return host === undefined ? "127.0.0.1" : host.slice(host.lastIndexOf("@") + 1);
}

/** Builds the plan; throws when two processes would listen on one port of one host. */
export function planTopology(t: Topology, opts: PlanOptions = {}): Plan {
  const ports = new PortLayout(t, opts.portBase);
  const routerPort = t.router.enabled ? ports.take(t.router.port!) : undefined;
  const discoveryPort = routerPort !== undefined && t.router.discovery === "zmq"
    ? ports.take(t.kv.proxyPort)
    : undefined;
  const instances: InstancePlan[] = [];
  for (const spec of t.roles) {
    // external load balancing: dp HTTP ports per instance, one per rank
    const per = spec.dpLb === "external" ? spec.dp : 1;
    for (let i = 0; i < spec.count; i++) {
      instances.push(instance(t, spec, i, ports.take(spec.port + i * per, per)));
    }
  }
  assignConnectorPorts(t, instances, ports);
  assignRpcPorts(instances, (p) => ports.take(p));
  const uses = portUses(t, instances, routerPort, discoveryPort);
  checkClashes(t, uses);
  checkGpus(t, instances);
  const router = routerPort === undefined ? undefined : {
    port: routerPort,
    bind: t.router.host,
    url: `http://${t.router.host === "0.0.0.0" ? "127.0.0.1" : t.router.host}:${routerPort}`,
    ...(discoveryPort !== undefined ? { discoveryPort } : {}),
  };
  return { topology: t, instances, router, ports: uses };
}

/** Hands out ports: the file's, or consecutive ones from `--port-base`. */
class PortLayout {
  #next: number | undefined;

  constructor(t: Topology, portBase: number | undefined) {
    if (portBase !== undefined) {
      if (t.engine === "command") {
        throw fieldError({
          field: "--port-base",
          value: portBase,
          expected: "absent for engine: command (its ports are in its commands)",
          file: t.file,
        });
      }
      if (!Number.isInteger(portBase) || portBase < 1 || portBase > 65000) {
        throw fieldError({
          field: "--port-base",
          value: portBase,
          expected: "an integer in [1, 65000]",
        });
      }
    }
    this.#next = portBase;
  }

  /** The first of `n` ports: `fallback` (the file's) unless laid out from a base. */
  take(fallback: number, n = 1): number {
    if (this.#next === undefined) return fallback;
    const p = this.#next;
    this.#next += n;
    return p;
  }
}

/**
 * NIXL side-channel ports: tp × dp per instance (vLLM listens at the base plus
 * the DP rank, older releases at base + rank × tp + TP rank: the range holds
 * both); P2P-NCCL KV ports: `tp` per instance. Encoders have none.
 */
function assignConnectorPorts(t: Topology, instances: InstancePlan[], ports: PortLayout): void {
  let side = t.kv.sideChannelPort;
  let kvp = t.kv.kvPort;
  for (const inst of instances) {
    if (t.connector === "nixl" && inst.role !== "encode") {
      inst.sideChannelPort = ports.take(side, rankGpus(inst));
      side += rankGpus(inst);
    }
    if (t.connector === "p2pnccl" && inst.role !== "encode") {
      inst.kvPort = ports.take(kvp, inst.tp);
      kvp += inst.tp;
    }
  }
}

/** Every port the topology listens on: router, discovery, instances' HTTP and KV ports, processes'. */
function portUses(
  t: Topology,
  instances: InstancePlan[],
  routerPort: number | undefined,
  discoveryPort: number | undefined,
): PortUse[] {
  const ports: PortUse[] = [];
  if (routerPort !== undefined) {
    ports.push({ host: "local", port: routerPort, owner: "router", field: "router.port" });
  }
  if (discoveryPort !== undefined) {
    ports.push({
      host: "local",
      port: discoveryPort,
      owner: "router discovery",
      field: "kv.proxy_port",
    });
  }
  for (const inst of instances) ports.push(...instancePorts(inst));
  t.processes.forEach((p, i) =>
    p.ports.forEach((port) =>
      ports.push({ host: p.host ?? "local", port, owner: p.name, field: `processes[${i}].ports` })
    )
  );
  return ports;
}

/** An instance's HTTP port(s), its DP RPC port, then per GPU its side-channel or per TP rank its KV port. */
function instancePorts(inst: InstancePlan): PortUse[] {
  const host = inst.host ?? "local";
  const http = inst.endpoints ?? [{ name: inst.name, port: inst.port }];
  const ports: PortUse[] = http.map((e) => ({
    host,
    port: e.port,
    owner: e.name,
    field: `${inst.role}.port`,
  }));
  const rpc = inst.parallel?.rendezvous?.rpcPort;
  if (rpc !== undefined) {
    ports.push({ host, port: rpc, owner: `${inst.name} DP RPC`, field: `${inst.role}.dp` });
  }
  for (let r = 0; r < rankGpus(inst); r++) {
    if (inst.sideChannelPort !== undefined) {
      ports.push({
        host,
        port: inst.sideChannelPort + r,
        owner: `${inst.name} NIXL side channel`,
        field: "kv.side_channel_port",
      });
    }
    if (inst.kvPort !== undefined && r < inst.tp) {
      ports.push({
        host,
        port: inst.kvPort + r,
        owner: `${inst.name} P2pNccl kv_port`,
        field: "kv.kv_port",
      });
    }
  }
  return ports;
}

function instance(t: Topology, spec: RoleSpec, i: number, port: number): InstancePlan {
  const host = spec.hosts[i];
  const address = hostAddress(host);
  const prefix = spec.role === "replicas" ? "replica" : spec.role;
  return {
    name: `${prefix}-${i}`,
    role: spec.role,
    index: i,
    host,
    address,
    bind: host === undefined ? "127.0.0.1" : "0.0.0.0",
    port,
    url: `http://${address}:${port}`,
    gpus: spec.gpus?.[i],
    tp: spec.tp[i],
    gpuMemoryUtilization: spec.gpuMemoryUtilization,
    extraArgs: [...(t.engine === "vllm" ? t.vllm.extraArgs : t.sim.extraArgs), ...spec.extraArgs],
    env: { ...(t.engine === "vllm" ? t.vllm.env : t.sim.env), ...spec.env },
    ...(spec.nodes > 1 ? { nodes: spec.nodes } : {}),
    ...parallelOf(spec, `${prefix}-${i}`, address, port),
  };
}

function checkClashes(t: Topology, ports: PortUse[]): void {
  const seen = new Map<string, PortUse>();
  for (const p of ports) {
    const key = `${p.host}:${p.port}`;
    const other = seen.get(key);
    if (other) {
      throw fieldError({
        field: p.field,
        value: p.port,
        file: t.file,
        expected:
          `a port not used by another process on ${p.host} (${other.owner} uses ${other.port}, from ${other.field}; ${p.owner} wants it too)`,
      });
    }
    seen.set(key, p);
  }
}

function checkGpus(t: Topology, instances: InstancePlan[]): void {
  const seen = new Map<string, string>();
  for (const inst of instances) {
    for (const g of inst.gpus ?? []) {
      const key = `${inst.host ?? "local"}:${g}`;
      const other = seen.get(key);
      if (other) {
        throw fieldError({
          field: `${inst.role}.gpus`,
          value: inst.gpus,
          file: t.file,
          expected: `GPUs not used by another instance on ${
            inst.host ?? "local"
          } (${other} uses GPU ${g})`,
        });
      }
      seen.set(key, inst.name);
    }
  }
}
