/**
 * `deno task up <topology.yaml> [--dry-run] [--timeout S]`: starts a topology's
 * engines (each detached, in its own process group, logging to a file), waits
 * until each answers /health, starts the router, writes the state file and
 * returns with everything still running. On any failure or Ctrl-C it stops
 * everything it started.
 *
 * @module
 */
import { InterruptedError } from "../lib/signals.ts";
import { resolve } from "node:path";
import {
  type CommandHelp,
  type FlagValues,
  numberFlag,
  onePositional,
  parseCommand,
  runMain,
} from "../lib/args.ts";
import { errorMessage } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { formatPlan } from "./_format.ts";
import {
  DEFAULT_STATE_DIR,
  type LaunchProcess,
  launchProcesses,
  shellQuote,
  spareProcesses,
} from "./_launch.ts";
import { placeSpares, type SpareCounts, spareSets } from "./_spares.ts";
import { type Plan, planTopology } from "./_plan.ts";
import { lockTopology, readState, statePath, type TopologyState } from "./_state.ts";
import { clusterObjects, upKubernetes } from "./k8s/cluster.ts";
import { loadTopologyWith, parseSet, setArg, type TopologySet } from "./topology_set.ts";
import { manifestsYaml } from "./k8s/manifests.ts";
import { upLocal } from "./_up_local.ts";
import { checkLiveClock } from "./_parallel.ts";

export { checkPortsFree, Interrupted } from "./_up_local.ts";

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

const HELP: CommandHelp = {
  cmd: "deno task up <topology.yaml>",
  summary: "Start a topology and wait until healthy.",
};

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
  /**
   * Instances per role to plan but not start, for a scenario's `start` events
   * (`_spares.ts`; recorded in the state file, local topologies only). @default none
   */
  spares?: SpareCounts;
}

/** Loads, validates and plans a topology, with its process list. */
export async function prepare(
  o: Pick<UpOptions, "file" | "portBase" | "stateDir" | "sets" | "spares">,
): Promise<{ plan: Plan; procs: LaunchProcess[]; stateDir: string; spares: LaunchProcess[] }> {
  let t = await loadTopologyWith(o.file, o.sets ?? []);
  const more = o.spares ? spareSets(t, o.spares) : [];
  if (more.length) t = await loadTopologyWith(o.file, [...(o.sets ?? []), ...more]);
  const plan = planTopology(t, { portBase: o.portBase });
  if (more.length) await placeSpares(plan, o.spares!);
  const stateDir = resolve(o.stateDir ?? DEFAULT_STATE_DIR);
  return {
    plan,
    procs: launchProcesses(plan, stateDir),
    stateDir,
    spares: spareProcesses(plan, stateDir),
  };
}

/** Starts the topology and returns its state once everything is healthy (or the plan on dry run). */
export async function up(o: UpOptions): Promise<TopologyState | string> {
  const { plan, procs, stateDir, spares } = await prepare(o);
  const t = plan.topology;
  if (o.dryRun) return formatPlan(plan, procs, stateDir);
  checkLiveClock(t);
  const log = o.log ?? createLogger({ name: "up" }).info;
  // one `up` of a name at a time: the lock is held until it is up or cleaned up
  const unlock = await lockTopology(stateDir, t.name);
  try {
    if (t.platform === "kubernetes") return await upCluster(o, plan, stateDir, log);
    return await upLocal(plan, procs, stateDir, {
      timeoutS: o.timeoutS ?? 300,
      log,
      signal: o.signal,
      spares,
    });
  } finally {
    await unlock();
  }
}

/** `platform: kubernetes`: refuses a topology with a state file, then applies it. */
async function upCluster(
  o: UpOptions,
  plan: Plan,
  stateDir: string,
  log: (line: string) => void,
): Promise<TopologyState> {
  const t = plan.topology;
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
    downCommand: downCommand(o, stateDir),
  });
}

/** The `down` that finds the cluster's objects with no state file: from the file and the same --set. */
function downCommand(o: UpOptions, stateDir: string): string {
  return [
    "deno task down",
    shellQuote(o.file),
    ...(o.sets ?? []).map((x) => `--set ${shellQuote(setArg(x))}`),
    ...(resolve(stateDir) !== resolve(DEFAULT_STATE_DIR)
      ? [`--state-dir ${shellQuote(stateDir)}`]
      : []),
  ].join(" ");
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const opts = upOptions(values, positionals);
  {
    const { plan } = await prepare(opts);
    if (plan.topology.platform === "kubernetes" && opts.dryRun) {
      console.log(await clusterDryRun(plan, values.json === true));
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
  if (typeof res === "string") console.log(res.trimEnd());
  else if (values.json) console.log(JSON.stringify(res, null, 2));
  else console.log(upSummary(res));
  return 0;
}

/** The options of the command line's flags and its one topology file. */
function upOptions(values: FlagValues, positionals: string[]): UpOptions {
  return {
    file: onePositional(positionals, "one topology file"),
    dryRun: values["dry-run"] === true,
    timeoutS: numberFlag(values, "timeout", { min: 0.1, default: 300 }),
    portBase: numberFlag(values, "port-base", { min: 1, max: 65000, integer: true }),
    stateDir: values["state-dir"] as string,
    sets: ((values.set as string[] | undefined) ?? []).map((x) => parseSet(x)),
  };
}

/** A cluster topology's dry run: its objects as YAML, or (`json`) as one List, which kubectl apply -f - takes alike. */
async function clusterDryRun(plan: Plan, json: boolean): Promise<string> {
  const objs = await clusterObjects(plan);
  return json
    ? JSON.stringify({ apiVersion: "v1", kind: "List", items: objs }, null, 2)
    : manifestsYaml(objs).trimEnd();
}

/** What `up` prints once a topology is up: its endpoint and each process or pod. */
function upSummary(res: TopologyState): string {
  const lines: string[] = [];
  if (res.kubernetes) {
    const ks = res.kubernetes;
    lines.push(
      `${res.name} is up in namespace ${ks.namespace}: ${res.endpoint} (inside the cluster)`,
    );
    for (const i of ks.instances) {
      lines.push(`  ${i.name.padEnd(12)} ${i.object.padEnd(28)} ${i.url}`);
    }
    const r = ks.instances.find((i) => i.role === "router") ?? ks.instances[0];
    const port = new URL(r.url).port;
    lines.push(
      `  from this machine: kubectl -n ${ks.namespace} port-forward svc/${r.object} ${port}:${port}`,
    );
  } else {
    lines.push(`${res.name} is up: ${res.endpoint}`);
    for (const p of res.processes) {
      lines.push(`  ${p.name.padEnd(12)} pid ${p.pid}  ${p.url}  ${p.logPath}`);
    }
  }
  return lines.join("\n");
}

if (import.meta.main) await runMain(main);
