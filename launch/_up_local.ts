/**
 * `up` on this host (and its ssh hosts): refuses a topology that is already
 * running, readies the host (free ports, fresh shared KV storage, the router's
 * config), starts the engines detached, waits until each answers /health, then
 * the router; stops everything it started on failure or a signal.
 *
 * @module
 */
import { resolve } from "node:path";
import { errorMessage } from "../lib/errors.ts";
import { isPortFree, waitForHealth } from "../lib/net.ts";
import { InterruptedError, SIGNAL_EXIT, stopOnSignals } from "../lib/signals.ts";
import {
  isGroupAlive,
  killGroup,
  type ManagedProcess,
  Supervisor,
  tailFile,
} from "../lib/supervisor.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import { commandLine } from "./_format.ts";
import {
  type LaunchProcess,
  ROOT,
  ROUTER_ENTRY,
  routerConfig,
  routerConfigPath,
} from "./_launch.ts";
import type { Plan } from "./_plan.ts";
import {
  readState,
  removeState,
  startingState,
  type StateSpare,
  type TopologyState,
  writeState,
} from "./_state.ts";

/** Thrown by `up` on SIGINT/SIGTERM (after stopping what it started). */
export class Interrupted extends InterruptedError {}

/** Options of {@linkcode upLocal}. */
export interface LocalUpOptions {
  /** Seconds to wait for each process's /health. */
  timeoutS: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** Aborting stops what was started and rejects. */
  signal?: AbortSignal;
  /** Planned processes not to start, recorded in the state file (`_spares.ts`). @default none */
  spares?: LaunchProcess[];
}

/** Starts the planned processes here (the caller holds the topology's lock). */
export async function upLocal(
  plan: Plan,
  procs: LaunchProcess[],
  stateDir: string,
  o: LocalUpOptions,
): Promise<TopologyState> {
  const t = plan.topology;
  await refuseRunning(stateDir, t.name);
  await readyHost(plan, procs, stateDir);
  const run = new LocalStart(plan, procs, stateDir, o);
  await writeState(stateDir, run.state); // before the first process: every exit path finds it
  try {
    const engines = procs.filter((p) => p.role !== "router");
    await run.healthy(engines);
    o.log(`${engines.length} process(es) healthy`);
    const router = procs.find((p) => p.role === "router");
    if (router) await run.healthy([router]);
    run.state.status = "up";
    await writeState(stateDir, run.state);
    o.log(`${t.name} is up: ${run.state.endpoint}`);
    return run.state;
  } catch (e) {
    o.log(`stopping ${run.started.length} process(es) after: ${errorMessage(e)}`);
    await run.sup.stopAll(5000);
    await removeState(stateDir, t.name);
    throw e;
  } finally {
    run.dispose();
  }
}

/** Throws when the topology is up (here or on a cluster); removes a stale state file. */
async function refuseRunning(stateDir: string, name: string): Promise<void> {
  const old = await readState(stateDir, name);
  if (old?.platform === "kubernetes") {
    throw new Error(
      `Cannot start ${name} here: current value is up on a cluster (namespace ${old.kubernetes?.namespace}); run deno task down ${name} first`,
    );
  }
  if (!old) return;
  const alive = old.processes.filter((p) => isGroupAlive(p.pgid));
  if (alive.length) {
    throw new Error(
      `Cannot start ${name} as a new topology: current value is already up (${
        alive.map((p) => `${p.name} pid ${p.pid}`).join(", ")
      }); run deno task down ${name} first`,
    );
  }
  await removeState(stateDir, name);
}

/** Checks the router's entry and the ports, empties our shared KV folders, writes the router config. */
async function readyHost(plan: Plan, procs: LaunchProcess[], stateDir: string): Promise<void> {
  const t = plan.topology;
  if (plan.router) {
    await Deno.stat(resolve(ROOT, ROUTER_ENTRY)).catch(() => {
      throw new Error(
        `Cannot start the router as ${ROUTER_ENTRY}: current value is missing (set router.enabled: false)`,
      );
    });
  }
  await checkPortsFree(procs);
  for (const dir of [t.kv.sharedStoragePath, t.kv.ecStoragePath]) {
    if (dir.startsWith(`/tmp/topobench/${t.name}/`)) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }
  if (plan.router) {
    const path = routerConfigPath(stateDir, t.name);
    await Deno.mkdir(resolve(path, ".."), { recursive: true });
    await writeJsonAtomic(path, routerConfig(plan));
  }
}

/** Throws one error listing every local port of the plan that is taken now. */
export async function checkPortsFree(procs: LaunchProcess[]): Promise<void> {
  const taken: string[] = [];
  for (const p of procs) {
    if (p.host !== undefined) continue;
    for (const port of p.ports) {
      if (!(await isPortFree(port, "0.0.0.0"))) taken.push(`${port} (${p.name})`);
    }
  }
  if (taken.length) {
    throw new RangeError(
      `Cannot use ports ${
        taken.join(", ")
      } as free ports on this host: current value is in use (stop what holds them, edit the ports, or use --port-base)`,
    );
  }
}

/**
 * The processes of one `up`: their supervisor, the state file as it grows,
 * and the signals that stop them (the first signal, and its duplicates, stops
 * gracefully; a later one kills at once; a caller that passes its own signal
 * owns the signals).
 */
class LocalStart {
  readonly sup = new Supervisor();
  readonly started: [LaunchProcess, ManagedProcess][] = [];
  readonly state: TopologyState;
  readonly #signals: { signal: AbortSignal; [Symbol.dispose](): void };

  constructor(
    plan: Plan,
    procs: LaunchProcess[],
    readonly stateDir: string,
    readonly o: LocalUpOptions,
  ) {
    const t = plan.topology;
    this.#signals = stopOnSignals({
      signal: o.signal,
      message: (sig) => `Cannot finish up: interrupted by ${sig}; stopped what was started`,
      error: (m, code) => new Interrupted(m, code),
      onForce: (sig) => {
        for (const [, m] of this.started) killGroup(m.pgid, "SIGKILL");
        removeState(stateDir, t.name).catch(() => {}).finally(() => Deno.exit(SIGNAL_EXIT[sig]));
      },
    });
    this.state = {
      ...startingState(t, plan.router?.url ?? procs[0].url, plan.router?.url),
      routerConfig: plan.router ? routerConfigPath(stateDir, t.name) : undefined,
      ...(o.spares?.length ? { spares: o.spares.map(spareState) } : {}),
    };
  }

  /** Starts `group` and waits until each answers /health (its log's tail on failure). */
  async healthy(group: LaunchProcess[]): Promise<void> {
    const signal = this.#signals.signal;
    const inner = new AbortController();
    const sig = AbortSignal.any([signal, inner.signal]);
    const ms: ManagedProcess[] = [];
    for (const p of group) ms.push(await this.#start(p));
    try {
      await Promise.all(group.map((p, i) =>
        waitForHealth(p.healthUrl, {
          timeoutMs: this.o.timeoutS * 1000,
          alive: () => !ms[i].exited,
          signal: sig,
        }).catch(async (e) => {
          if (signal.aborted) throw signal.reason;
          throw await failure(p, e);
        })
      ));
    } finally {
      inner.abort();
    }
  }

  /** Stops listening for signals and the supervisor's handlers. */
  dispose(): void {
    this.#signals[Symbol.dispose]();
    this.sup.removeHandlers();
  }

  async #start(p: LaunchProcess): Promise<ManagedProcess> {
    this.#signals.signal.throwIfAborted();
    const m = this.sup.spawn({
      name: p.name,
      cmd: p.cmd === "deno" ? Deno.execPath() : p.cmd,
      args: p.args,
      env: p.env,
      cwd: p.cwd,
      logPath: p.logPath,
      detached: true,
    });
    this.started.push([p, m]);
    this.state.processes.push({
      name: p.name,
      role: p.role,
      pid: m.pid,
      pgid: m.pgid,
      host: p.host,
      url: p.url,
      healthUrl: p.healthUrl,
      ports: p.ports,
      logPath: p.logPath,
      command: commandLine(p.inner),
    });
    // written as we go: `down` can clean up after a crash of up
    await writeState(this.stateDir, this.state);
    this.o.log(`started ${p.name} (pid ${m.pid}) on ${p.url}, log ${p.logPath}`);
    return m;
  }
}

/** A spare as the state file keeps it: what starts it, and where it will listen. */
function spareState(p: LaunchProcess): StateSpare {
  return {
    name: p.name,
    role: p.role,
    cmd: p.cmd === "deno" ? Deno.execPath() : p.cmd,
    args: p.args,
    env: p.env,
    cwd: p.cwd,
    url: p.url,
    healthUrl: p.healthUrl,
    ports: p.ports,
    logPath: p.logPath,
    command: commandLine(p.inner),
  };
}

async function failure(p: LaunchProcess, e: unknown): Promise<Error> {
  const tail = await tailFile(p.logPath, 20);
  return new Error(
    `Cannot start ${p.name} as a healthy process: ${
      errorMessage(e)
    }\n--- last lines of ${p.logPath} ---\n${tail || "(empty log)"}`,
  );
}
