/**
 * Plan -> the processes `up` starts, in order (engines, then the router):
 * program, argv, env, host (ssh-wrapped), health URL, log path; and the
 * router's `router.json`.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type InstancePlan, type Plan, rankGpus, rankProcess } from "./_plan.ts";
import { type EngineCommand, simCommand, vllmCommand } from "./vllm.ts";
import { isSpare } from "./_spares.ts";
import type { BackendSpec, RouterConfigFile, RouterKind } from "../lib/contracts.ts";

/** The checkout this file is in; engines and the router run from here. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** Path of the router's entry point, relative to the checkout. */
export const ROUTER_ENTRY = "launch/router/http/main.ts";
/** Where state files go unless told otherwise. */
export const DEFAULT_STATE_DIR = "results/.topobench";

/** One process to start. */
export interface LaunchProcess {
  name: string;
  /** Role block, `router`, or `process` (engine: command). */
  role: string;
  /** What is run (after ssh wrapping when `host` is set). */
  cmd: string;
  args: string[];
  /** Environment added locally (empty when ssh-wrapped: it is in the remote line). */
  env: Record<string, string>;
  /** The command and env before ssh wrapping, for people. */
  inner: EngineCommand;
  cwd: string;
  host?: string;
  gpus?: number[];
  /** Tensor-parallel size (GPUs per data-parallel rank). @default the length of `gpus` */
  tp?: number;
  /** Data-parallel ranks of its instance, when more than 1. */
  dp?: number;
  /** The one rank it runs (external load balancing). */
  dpRank?: number;
  /** Nodes its instance spans (a Kubernetes LeaderWorkerSet; `gpus` are one node's). */
  nodes?: number;
  /** Base URL (OpenAI API). */
  url: string;
  healthUrl: string;
  ports: number[];
  logPath: string;
}

/** Quotes one word for `sh` when needed. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** `cd DIR && exec env K=V ... cmd args`, the line ssh runs remotely. */
export function remoteLine(dir: string, c: EngineCommand): string {
  const env = Object.entries(c.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [`cd ${shellQuote(dir)} &&`, "exec", ...(env.length ? ["env", ...env] : [])]
    .concat([c.cmd, ...c.args].map(shellQuote)).join(" ");
}

/** Folder of one topology's logs and router.json under `stateDir`. */
export function topologyDir(stateDir: string, name: string): string {
  return join(stateDir, name);
}

/** Path of `router.json`. */
export function routerConfigPath(stateDir: string, name: string): string {
  return join(stateDir, name, "router.json");
}

function wrap(
  plan: Plan,
  base: Omit<LaunchProcess, "cmd" | "args" | "env" | "inner" | "cwd">,
  c: EngineCommand,
  cwd?: string,
): LaunchProcess {
  const dir = cwd ?? plan.topology.workdir ?? ROOT;
  if (base.host === undefined) {
    return { ...base, cmd: c.cmd, args: c.args, env: c.env, inner: c, cwd: cwd ?? ROOT };
  }
  // -tt: closing the connection (down stops the local ssh) hangs up the remote command.
  return {
    ...base,
    cmd: "ssh",
    args: ["-tt", "-o", "BatchMode=yes", base.host, remoteLine(dir, c)],
    env: {},
    inner: c,
    cwd: ROOT,
  };
}

function engineProcess(plan: Plan, inst: InstancePlan, logs: string): LaunchProcess {
  const c = plan.topology.engine === "vllm" ? vllmCommand(plan, inst) : simCommand(plan, inst);
  // the simulated engine serves every rank of an external-LB instance in its one process
  const ports = inst.dpRank === undefined && inst.endpoints
    ? inst.endpoints.map((e) => e.port)
    : [inst.port];
  const rpc = inst.parallel?.rendezvous?.rpcPort;
  if (rpc !== undefined && !inst.dpRank) ports.push(rpc);
  // one rank's process (external load balancing) holds its rank's side-channel ports
  const first = (inst.dpRank ?? 0) * inst.tp;
  const n = inst.dpRank === undefined ? rankGpus(inst) : inst.tp;
  for (let r = 0; r < n; r++) {
    if (inst.sideChannelPort !== undefined) ports.push(inst.sideChannelPort + first + r);
    if (inst.kvPort !== undefined && r < inst.tp) ports.push(inst.kvPort + r);
  }
  const dp = inst.parallel?.dp ?? 1;
  return wrap(plan, {
    name: inst.name,
    role: inst.role,
    host: inst.host,
    gpus: inst.gpus,
    ...(dp > 1 ? { tp: inst.tp, dp } : {}),
    ...(inst.dpRank !== undefined ? { dpRank: inst.dpRank } : {}),
    ...(inst.nodes ? { nodes: inst.nodes } : {}),
    url: inst.url,
    healthUrl: `${inst.url}/health`,
    ports,
    logPath: join(logs, `${inst.name}.log`),
  }, c);
}

/**
 * An instance's processes: one, or for vLLM with external load balancing one
 * per rank (the simulated engine runs the ranks in one process, a port each).
 */
function engineProcesses(plan: Plan, inst: InstancePlan, logs: string): LaunchProcess[] {
  const perRank = inst.parallel?.lb === "external" && plan.topology.engine === "vllm";
  if (!perRank) return [engineProcess(plan, inst, logs)];
  return inst.endpoints!.map((_, r) => engineProcess(plan, rankProcess(inst, r), logs));
}

/** Every process of the plan in start order; the router (if any) is last. */
export function launchProcesses(plan: Plan, stateDir: string): LaunchProcess[] {
  const t = plan.topology;
  const logs = join(topologyDir(stateDir, t.name), "logs");
  const out: LaunchProcess[] = [];
  if (t.engine === "command") {
    for (const p of t.processes) {
      const c: EngineCommand = typeof p.cmd === "string"
        ? { cmd: "sh", args: ["-c", p.cmd], env: p.env }
        : { cmd: p.cmd[0], args: p.cmd.slice(1), env: p.env };
      out.push(wrap(
        plan,
        {
          name: p.name,
          role: "process",
          host: p.host,
          url: p.url,
          healthUrl: p.health,
          ports: p.ports,
          logPath: join(logs, `${p.name}.log`),
        },
        c,
        p.cwd,
      ));
    }
  } else {
    for (const inst of plan.instances) {
      if (!isSpare(plan, inst)) out.push(...engineProcesses(plan, inst, logs));
    }
  }
  if (plan.router) {
    const c: EngineCommand = {
      cmd: "deno",
      args: [
        "run",
        "-A",
        ROUTER_ENTRY,
        "--config",
        routerConfigPath(stateDir, t.name),
        "--port",
        String(plan.router.port),
        "--host",
        plan.router.bind,
        ...t.router.extraArgs,
      ],
      env: {},
    };
    out.push(wrap(plan, {
      name: "router",
      role: "router",
      url: plan.router.url,
      healthUrl: `${plan.router.url}/health`,
      ports: plan.router.discoveryPort !== undefined
        ? [plan.router.port, plan.router.discoveryPort]
        : [plan.router.port],
      logPath: join(logs, "router.log"),
    }, c));
  }
  return out;
}

/** The processes of the plan's spares (`_spares.ts`), which `up` does not start. */
export function spareProcesses(plan: Plan, stateDir: string): LaunchProcess[] {
  const logs = join(topologyDir(stateDir, plan.topology.name), "logs");
  return plan.instances.filter((i) => isSpare(plan, i)).map((i) => engineProcess(plan, i, logs));
}

/**
 * The router's config: backends per role (an instance, or each of its
 * endpoints with external or hybrid load balancing), with the KV address
 * prefill/decode use.
 */
export function routerConfig(plan: Plan): RouterConfigFile {
  const t = plan.topology;
  const discovers = plan.router?.discoveryPort !== undefined;
  const entry = (i: InstancePlan): BackendSpec[] => {
    const kvPort = i.kvPort ?? i.sideChannelPort;
    const kv = kvPort === undefined ? {} : { kvAddr: `${i.address}:${kvPort}` };
    if (i.endpoints) return i.endpoints.map((e) => ({ name: e.name, url: e.url, ...kv }));
    // a spare joins by registering where the router discovers, else it waits in the list
    if (isSpare(plan, i)) {
      return discovers ? [] : [{ name: i.name, url: i.url, ...kv, spare: true }];
    }
    return [{ name: i.name, url: i.url, ...kv }];
  };
  const of = (role: string) => plan.instances.filter((i) => i.role === role).flatMap(entry);
  // kind custom comes only with engine: command; an agg engine with an endpoint
  // per rank (external load balancing) is balanced over like dp replicas
  const many = t.kind === "agg" && plan.instances.some((i) => i.endpoints);
  const cfg: RouterConfigFile = {
    name: t.name,
    kind: t.engine === "command" || many ? "dp" : t.kind as RouterKind,
    policy: t.router.policy,
  };
  if (t.connector) cfg.connector = t.connector;
  if (t.router.prefillPolicy) cfg.prefillPolicy = t.router.prefillPolicy;
  if (t.router.decodePolicy) cfg.decodePolicy = t.router.decodePolicy;
  if (t.router.retries) cfg.retries = t.router.retries;
  if (t.engine === "command") cfg.backends = t.processes.map((p) => ({ name: p.name, url: p.url }));
  else if (t.kind === "agg" || t.kind === "dp") cfg.backends = plan.instances.flatMap(entry);
  else {
    if (t.kind === "epd") cfg.encode = of("encode");
    cfg.prefill = of("prefill");
    cfg.decode = of("decode");
  }
  if (plan.router?.discoveryPort !== undefined) {
    cfg.discovery = { kind: "zmq", host: plan.router.bind, port: plan.router.discoveryPort };
    // a spare is admitted by its exact addresses, as the topology's own instances are
    const spares = plan.instances.filter((i) => isSpare(plan, i)).flatMap((i) => [
      `${i.address}:${i.port}`,
      ...(i.kvPort !== undefined ? [`${i.address}:${i.kvPort}`] : []),
    ]);
    const allow = [...t.router.discoveryAllow, ...spares];
    if (allow.length) cfg.discovery.allow = allow;
  }
  return cfg;
}
