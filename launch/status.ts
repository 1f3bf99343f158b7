/**
 * `deno task status [<name>] [--json]`: for each topology that is up (or the
 * one named), whether each process group is alive and its /health answers,
 * plus the router's per-backend in-flight counts from its /status. On a
 * cluster: each instance's pod (phase, Ready, restarts, node), the Ready
 * addresses behind its Service and /health through the API server.
 * Exits 1 when anything is down or unhealthy.
 *
 * @module
 */
import { resolve } from "node:path";
import { type CommandHelp, parseCommand, runMain } from "../lib/args.ts";
import { errorMessage } from "../lib/errors.ts";
import { isGroupAlive } from "../lib/supervisor.ts";
import { DEFAULT_STATE_DIR } from "./_launch.ts";
import { listStates, readState, statePath, type TopologyState } from "./_state.ts";
import { topologyName } from "./down.ts";
import { clusterStatus } from "./k8s/cluster_status.ts";

const FLAGS = {
  json: { type: "boolean", default: false, help: "Print JSON" },
  "state-dir": { type: "string", default: DEFAULT_STATE_DIR, help: "State and log folder" },
} as const;
const HELP: CommandHelp = {
  cmd: "deno task status [<name|topology.yaml>]",
  summary: "Health of running topologies.",
};

/** Status of one process. */
export interface ProcessStatus {
  name: string;
  role: string;
  /** Local process id (absent on a cluster). */
  pid?: number;
  /** Its pod, node, restarts and Ready addresses behind its Service (on a cluster). */
  pod?: string;
  node?: string;
  restarts?: number;
  endpoints?: number;
  /** A multi-node instance's group of pods, Ready and all. */
  group?: { ready: number; size: number };
  url: string;
  /** Its process group has a running member. */
  alive: boolean;
  /** /health answered 200. */
  healthy: boolean;
  /** HTTP status or error of /health. */
  health: string;
  /** In-flight requests per the router's /status, when it reports them. */
  inFlight?: number;
}

/** Status of one topology. */
export interface TopologyStatus {
  name: string;
  status: TopologyState["status"];
  endpoint: string;
  processes: ProcessStatus[];
  /** The router's /status body, when there is a router and it answered. */
  router?: unknown;
  ok: boolean;
}

async function probe(url: string): Promise<[boolean, string, unknown]> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch { /* not JSON */ }
    return [res.status === 200, `HTTP ${res.status}`, body];
  } catch (e) {
    return [false, errorMessage(e), undefined];
  }
}

/** `name -> in-flight` from any objects in the router's /status with a name and an in-flight count. */
export function inFlightCounts(body: unknown): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== "object" || v === null) return;
    const o = v as Record<string, unknown>;
    const n = o.inFlight ?? o.in_flight ?? o.inflight;
    if (typeof o.name === "string" && typeof n === "number") out.set(o.name, n);
    Object.values(o).forEach(walk);
  };
  walk(body);
  return out;
}

/** Checks one topology's processes from its state file. */
export async function topologyStatus(state: TopologyState): Promise<TopologyStatus> {
  if (state.platform === "kubernetes") {
    const c = await clusterStatus(state);
    const procs = c.instances.map((i): ProcessStatus => ({
      name: i.name,
      role: i.role,
      pod: i.pod,
      node: i.node,
      restarts: i.restarts,
      endpoints: i.endpoints,
      ...(i.group ? { group: i.group } : {}),
      url: i.url,
      alive: i.phase === "Running" && i.ready,
      healthy: i.healthy,
      health: i.pod ? i.health : "no pod",
    }));
    return withRouter(state, procs, c.router);
  }
  const procs = await Promise.all(state.processes.map(async (p): Promise<ProcessStatus> => {
    const alive = isGroupAlive(p.pgid);
    const [healthy, health] = await probe(p.healthUrl);
    return { name: p.name, role: p.role, pid: p.pid, url: p.url, alive, healthy, health };
  }));
  let router: unknown;
  if (state.routerUrl) {
    const [ok, , body] = await probe(`${state.routerUrl}/status`);
    if (ok) router = body;
  }
  return withRouter(state, procs, router);
}

/** The status of a topology from its processes and the router's /status body (in-flight counts). */
function withRouter(
  state: TopologyState,
  procs: ProcessStatus[],
  router: unknown,
): TopologyStatus {
  const counts = inFlightCounts(router);
  for (const p of procs) if (counts.has(p.name)) p.inFlight = counts.get(p.name);
  return {
    name: state.name,
    status: state.status,
    endpoint: state.endpoint,
    processes: procs,
    router,
    ok: state.status === "up" && procs.every((p) => p.alive && p.healthy),
  };
}

/** Status of the named topology, or of every one with a state file. */
export async function status(
  target?: string,
  stateDir = DEFAULT_STATE_DIR,
): Promise<TopologyStatus[]> {
  const dir = resolve(stateDir);
  const names = target ? [await topologyName(target)] : await listStates(dir);
  const out: TopologyStatus[] = [];
  for (const n of names) {
    const s = await readState(dir, n);
    if (!s) {
      throw new RangeError(
        `Cannot find ${n} as a topology that is up: current value is missing (${
          statePath(dir, n)
        })`,
      );
    }
    out.push(await topologyStatus(s));
  }
  return out;
}

/** Human table of {@linkcode status}. */
export function formatStatus(all: TopologyStatus[]): string {
  if (all.length === 0) return "no topology is up";
  return all.map((t) => {
    const podW = Math.max(0, ...t.processes.map((p) => (p.pod ?? "(no pod)").length));
    const rows = t.processes.map((p) => {
      // a local process by pid; a pod by name, node, restarts, endpoints (and its group)
      const where = p.pid !== undefined
        ? String(p.pid).padEnd(8)
        : `${(p.pod ?? "(no pod)").padEnd(podW)} on ${p.node ?? "-"}, ${
          p.restarts ?? 0
        } restarts, ${p.endpoints ?? 0} endpoint(s)${
          p.group ? `, group ${p.group.ready}/${p.group.size} Ready` : ""
        } `;
      return `  ${p.name.padEnd(12)} ${where} ${(p.alive ? "alive" : "DEAD").padEnd(6)} ${
        (p.healthy ? "healthy" : `UNHEALTHY (${p.health})`).padEnd(10)
      } ${p.inFlight === undefined ? "" : `in-flight ${p.inFlight}  `}${p.url}`;
    });
    return [`${t.name} [${t.status}] ${t.ok ? "ok" : "NOT OK"} ${t.endpoint}`, ...rows].join("\n");
  }).join("\n\n");
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new TypeError(
      `Cannot use ${
        JSON.stringify(positionals)
      } as at most one topology: current value has ${positionals.length}`,
    );
  }
  const all = await status(positionals[0], values["state-dir"] as string);
  console.log(values.json ? JSON.stringify(all, null, 2) : formatStatus(all));
  return all.every((t) => t.ok) ? 0 : 1;
}

if (import.meta.main) await runMain(main);
