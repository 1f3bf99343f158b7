/**
 * `deno task up <topology.yaml> [--dry-run] [--timeout S]`: starts a topology's
 * engines (each detached, in its own process group, logging to a file), waits
 * until each answers /health, starts the router, writes the state file and
 * returns with everything still running. On any failure or Ctrl-C it stops
 * everything it started.
 *
 * @module
 */
import { InterruptedError, SIGNAL_EXIT, stopOnSignals } from "../lib/signals.ts";
import { resolve } from "node:path";
import { numberFlag, parseFlags, runMain, usage } from "../lib/args.ts";
import { errorMessage } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { isPortFree, waitForHealth } from "../lib/net.ts";
import {
  isGroupAlive,
  killGroup,
  type ManagedProcess,
  Supervisor,
  tailFile,
} from "../lib/supervisor.ts";
import { commandLine, formatPlan } from "./_format.ts";
import {
  DEFAULT_STATE_DIR,
  type LaunchProcess,
  launchProcesses,
  ROOT,
  ROUTER_ENTRY,
  routerConfig,
  routerConfigPath,
  shellQuote,
} from "./_launch.ts";
import { type Plan, planTopology } from "./_plan.ts";
import {
  lockTopology,
  readState,
  removeState,
  startingState,
  statePath,
  type TopologyState,
  writeState,
} from "./_state.ts";
import { clusterObjects, upKubernetes } from "./k8s/cluster.ts";
import { loadTopologyWith, parseSet, setArg, type TopologySet } from "./topology_set.ts";
import { manifestsYaml } from "./k8s/manifests.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";

const FLAGS = {
  "dry-run": { type: "boolean", default: false, help: "Print the plan; start nothing" },
  json: { type: "boolean", default: false, help: "Print the plan (dry run) or state as JSON" },
  timeout: { type: "string", default: "300", help: "Seconds to wait for each /health" },
  "port-base": { type: "string", help: "Lay all ports out from this one (router first)" },
  "state-dir": { type: "string", default: DEFAULT_STATE_DIR, help: "State and log folder" },
  set: {
    type: "string",
    multiple: true,
    help: "Change a topology field, e.g. --set prefill.count=2 --set decode.tp=2",
    placeholder: "field=value",
  },
} as const;

/** Thrown by {@linkcode up} on SIGINT/SIGTERM (after stopping what it started). */
export class Interrupted extends InterruptedError {}

/** Options of {@linkcode up}. */
export interface UpOptions {
  /** Topology YAML path. */
  file: string;
  /** Print the plan only. @default false */
  dryRun?: boolean;
  /** Seconds to wait for each process's /health. @default 300 */
  timeoutS?: number;
  /** See `PlanOptions.portBase`. */
  portBase?: number;
  /** `--set field=value` changes to the file's topology. @default [] */
  sets?: TopologySet[];
  /** @default results/.topobench */
  stateDir?: string;
  /** Progress lines. @default stderr logger */
  log?: (msg: string) => void;
  /** Aborting stops what was started and rejects. */
  signal?: AbortSignal;
}

/** Loads, validates and plans a topology, with its process list. */
export async function prepare(
  o: Pick<UpOptions, "file" | "portBase" | "stateDir" | "sets">,
): Promise<{ plan: Plan; procs: LaunchProcess[]; stateDir: string }> {
  const plan = planTopology(await loadTopologyWith(o.file, o.sets ?? []), { portBase: o.portBase });
  const stateDir = resolve(o.stateDir ?? DEFAULT_STATE_DIR);
  return { plan, procs: launchProcesses(plan, stateDir), stateDir };
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

async function failure(p: LaunchProcess, e: unknown): Promise<Error> {
  const tail = await tailFile(p.logPath, 20);
  return new Error(
    `Cannot start ${p.name} as a healthy process: ${
      errorMessage(e)
    }\n--- last lines of ${p.logPath} ---\n${tail || "(empty log)"}`,
  );
}

/** Starts the topology and returns its state once everything is healthy (or the plan on dry run). */
export async function up(o: UpOptions): Promise<TopologyState | string> {
  const { plan, procs, stateDir } = await prepare(o);
  const t = plan.topology;
  if (o.dryRun) return formatPlan(plan, procs, stateDir);
  const log = o.log ?? createLogger({ name: "up" }).info;
  // one `up` of a name at a time: the lock is held until it is up or cleaned up
  const unlock = await lockTopology(stateDir, t.name);
  try {
    if (t.platform === "kubernetes") {
      const old = await readState(stateDir, t.name);
      if (old) {
        throw new Error(
          `Cannot start ${t.name} as a new topology: current value is already up (state ${
            statePath(stateDir, t.name)
          }, ${old.platform ?? "local"}); run deno task down ${t.name} first`,
        );
      }
      return await upKubernetes(plan, {
        stateDir,
        timeoutS: o.timeoutS ?? 300,
        log,
        signal: o.signal,
        // with no state file, down finds the cluster's objects from the file and the same --set
        downCommand: [
          "deno task down",
          shellQuote(o.file),
          ...(o.sets ?? []).map((x) => `--set ${shellQuote(setArg(x))}`),
          ...(resolve(stateDir) !== resolve(DEFAULT_STATE_DIR)
            ? [`--state-dir ${shellQuote(stateDir)}`]
            : []),
        ].join(" "),
      });
    }
    return await upLocked(o, plan, procs, stateDir, log);
  } finally {
    await unlock();
  }
}

async function upLocked(
  o: UpOptions,
  plan: Plan,
  procs: LaunchProcess[],
  stateDir: string,
  log: (line: string) => void,
): Promise<TopologyState> {
  const t = plan.topology;
  const old = await readState(stateDir, t.name);
  if (old?.platform === "kubernetes") {
    throw new Error(
      `Cannot start ${t.name} here: current value is up on a cluster (namespace ${old.kubernetes?.namespace}); run deno task down ${t.name} first`,
    );
  }
  if (old) {
    const alive = old.processes.filter((p) => isGroupAlive(p.pgid));
    if (alive.length) {
      throw new Error(
        `Cannot start ${t.name} as a new topology: current value is already up (${
          alive.map((p) => `${p.name} pid ${p.pid}`).join(", ")
        }); run deno task down ${t.name} first`,
      );
    }
    await removeState(stateDir, t.name);
  }
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

  const sup = new Supervisor();
  const started: [LaunchProcess, ManagedProcess][] = [];
  // the first signal (and its duplicates) stops gracefully; a later one kills at once;
  // a caller that passes its own signal owns the signals
  const signals = stopOnSignals({
    signal: o.signal,
    message: (sig) => `Cannot finish up: interrupted by ${sig}; stopped what was started`,
    error: (m, code) => new Interrupted(m, code),
    onForce: (sig) => {
      for (const [, m] of started) killGroup(m.pgid, "SIGKILL");
      removeState(stateDir, t.name).catch(() => {}).finally(() => Deno.exit(SIGNAL_EXIT[sig]));
    },
  });
  const signal = signals.signal;
  const state: TopologyState = {
    ...startingState(t, plan.router?.url ?? procs[0].url, plan.router?.url),
    routerConfig: plan.router ? routerConfigPath(stateDir, t.name) : undefined,
  };
  await writeState(stateDir, state); // before the first process: every exit path finds it
  const start = async (p: LaunchProcess) => {
    signal.throwIfAborted();
    const m = sup.spawn({
      name: p.name,
      cmd: p.cmd === "deno" ? Deno.execPath() : p.cmd,
      args: p.args,
      env: p.env,
      cwd: p.cwd,
      logPath: p.logPath,
      detached: true,
    });
    started.push([p, m]);
    state.processes.push({
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
    await writeState(stateDir, state); // written as we go: `down` can clean up after a crash of up
    log(`started ${p.name} (pid ${m.pid}) on ${p.url}, log ${p.logPath}`);
    return m;
  };
  const healthy = async (group: LaunchProcess[]) => {
    const inner = new AbortController();
    const sig = AbortSignal.any([signal, inner.signal]);
    const ms: ManagedProcess[] = [];
    for (const p of group) ms.push(await start(p));
    try {
      await Promise.all(group.map((p, i) =>
        waitForHealth(p.healthUrl, {
          timeoutMs: (o.timeoutS ?? 300) * 1000,
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
  };
  try {
    const engines = procs.filter((p) => p.role !== "router");
    await healthy(engines);
    log(`${engines.length} process(es) healthy`);
    const router = procs.find((p) => p.role === "router");
    if (router) await healthy([router]);
    state.status = "up";
    await writeState(stateDir, state);
    log(`${t.name} is up: ${state.endpoint}`);
    return state;
  } catch (e) {
    log(`stopping ${started.length} process(es) after: ${errorMessage(e)}`);
    await sup.stopAll(5000);
    await removeState(stateDir, t.name);
    throw e;
  } finally {
    signals[Symbol.dispose]();
    sup.removeHandlers();
  }
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, { allowPositionals: true });
  if (values.help) {
    console.log(
      usage("deno task up <topology.yaml>", "Start a topology and wait until healthy.", FLAGS),
    );
    return 0;
  }
  if (positionals.length !== 1) {
    throw new TypeError(
      `Cannot use ${
        JSON.stringify(positionals)
      } as one topology file: current value has ${positionals.length} arguments`,
    );
  }
  const opts: UpOptions = {
    file: positionals[0],
    dryRun: values["dry-run"] === true,
    timeoutS: numberFlag(values, "timeout", { min: 0.1, default: 300 }),
    portBase: numberFlag(values, "port-base", { min: 1, max: 65000, integer: true }),
    stateDir: values["state-dir"] as string,
    sets: ((values.set as string[] | undefined) ?? []).map((x) => parseSet(x)),
  };
  {
    const { plan } = await prepare(opts);
    if (plan.topology.platform === "kubernetes" && opts.dryRun) {
      const objs = await clusterObjects(plan);
      // JSON as one List, which kubectl apply -f - takes like the YAML
      console.log(
        values.json
          ? JSON.stringify({ apiVersion: "v1", kind: "List", items: objs }, null, 2)
          : manifestsYaml(objs).trimEnd(),
      );
      return 0;
    }
  }
  if (opts.dryRun && values.json) {
    const { plan, procs } = await prepare(opts);
    console.log(JSON.stringify({ plan, processes: procs }, null, 2));
    return 0;
  }
  let res: TopologyState | string;
  try {
    res = await up(opts);
  } catch (e) {
    // The whole message: it carries the failing process's last log lines.
    console.error(`error: ${e instanceof Error ? e.message : errorMessage(e)}`);
    return e instanceof InterruptedError ? e.exitCode : 1;
  }
  if (typeof res === "string") {
    console.log(res.trimEnd());
  } else if (values.json) {
    console.log(JSON.stringify(res, null, 2));
  } else if (res.kubernetes) {
    const ks = res.kubernetes;
    console.log(
      `${res.name} is up in namespace ${ks.namespace}: ${res.endpoint} (inside the cluster)`,
    );
    for (const i of ks.instances) {
      console.log(`  ${i.name.padEnd(12)} ${i.object.padEnd(28)} ${i.url}`);
    }
    const r = ks.instances.find((i) => i.role === "router") ?? ks.instances[0];
    const port = new URL(r.url).port;
    console.log(
      `  from this machine: kubectl -n ${ks.namespace} port-forward svc/${r.object} ${port}:${port}`,
    );
  } else {
    console.log(`${res.name} is up: ${res.endpoint}`);
    for (const p of res.processes) {
      console.log(`  ${p.name.padEnd(12)} pid ${p.pid}  ${p.url}  ${p.logPath}`);
    }
  }
  return 0;
}

if (import.meta.main) await runMain(main);
