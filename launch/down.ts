/**
 * `deno task down <topology.yaml|name>`: stops exactly the process groups the
 * state file lists (SIGTERM, grace, SIGKILL), then removes the state file.
 * Logs are kept. On a cluster (`platform: kubernetes`) it deletes the
 * topology's objects by label and waits until its pods are gone.
 *
 * @module
 */
import { type CommandHelp, numberFlag, onePositional, parseCommand, runMain } from "../lib/args.ts";
import { createLogger } from "../lib/log.ts";
import { isGroupAlive, stopGroup, type StopResult } from "../lib/supervisor.ts";
import { join, resolve } from "node:path";
import { DEFAULT_STATE_DIR, ROOT } from "./_launch.ts";
import { listStates, readState, removeState, statePath } from "./_state.ts";
import { loadTopology } from "./topology.ts";
import { loadTopologyWith, parseSet, type TopologySet } from "./topology_set.ts";
import { downKubernetes } from "./k8s/cluster.ts";

const FLAGS = {
  "state-dir": { type: "string", default: DEFAULT_STATE_DIR, help: "State and log folder" },
  grace: { type: "string", default: "10", help: "Seconds between SIGTERM and SIGKILL" },
  set: {
    type: "string",
    multiple: true,
    help: "With a file and no state file: the --set changes up was given (cluster namespace, ...)",
    placeholder: "field=value",
  },
} as const;

const HELP: CommandHelp = {
  cmd: "deno task down <topology.yaml|name>",
  summary: "Stop a topology.",
};

/** A topology name from a name or a YAML path (the file's `name:`). */
export async function topologyName(arg: string): Promise<string> {
  if (/\.ya?ml$/i.test(arg)) return (await loadTopology(arg)).name;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(arg)) {
    throw new TypeError(
      `Cannot use ${arg} as a topology name or .yaml file: current value is ${JSON.stringify(arg)}`,
    );
  }
  return arg;
}

/** Names of the topologies that are up (state files) and of the shipped fixtures, sorted. */
export async function knownTopologies(stateDir: string): Promise<string[]> {
  const names = new Set(await listStates(stateDir));
  const dir = join(ROOT, "fixtures", "topologies");
  for await (const e of Deno.readDir(dir)) {
    if (!/\.ya?ml$/.test(e.name)) continue;
    try {
      names.add((await loadTopology(join(dir, e.name))).name);
    } catch { /* a fixture that does not load is not a name to offer */ }
  }
  return [...names].sort();
}

/** Options of {@linkcode down}. */
export interface DownOptions {
  /** Topology name or YAML path. */
  target: string;
  /** @default results/.topobench */
  stateDir?: string;
  /** Between SIGTERM and SIGKILL. @default 10000 */
  graceMs?: number;
  /** Progress lines. @default stderr logger */
  log?: (msg: string) => void;
  /** `--set` changes to a YAML target (as `up` was given them). @default [] */
  sets?: TopologySet[];
}

/** Stops what the state file lists; returns how each process ended (empty when nothing was up). */
export async function down(o: DownOptions): Promise<Record<string, StopResult>> {
  const stateDir = resolve(o.stateDir ?? DEFAULT_STATE_DIR);
  const file = /\.ya?ml$/i.test(o.target)
    ? await loadTopologyWith(o.target, o.sets ?? [])
    : undefined;
  const name = file?.name ?? await topologyName(o.target);
  const log = o.log ?? createLogger({ name: "down" }).info;
  const state = await readState(stateDir, name);
  if (state?.platform === "kubernetes" || (!state && file?.platform === "kubernetes")) {
    // on a cluster: delete by label (with no state file, in the file's namespace)
    await downKubernetes({
      name,
      namespace: state?.kubernetes?.namespace ?? file!.kubernetes.namespace,
      context: state ? state.kubernetes?.context : file!.kubernetes.context,
      // with no state file, downKubernetes deletes every kind a topology may have
      selector: state?.kubernetes?.selector,
      objects: state?.kubernetes?.objects,
      stateDir,
      timeoutS: Math.max(30, (o.graceMs ?? 10_000) / 1000 + 60),
      log,
    });
    return {};
  }
  if (!state) {
    log(`${name}: nothing to stop (no ${statePath(stateDir, name)})`);
    return {};
  }
  const out: Record<string, StopResult> = {};
  // The router first, so that it stops taking requests before its engines go.
  const router = state.processes.filter((p) => p.role === "router");
  const rest = state.processes.filter((p) => p.role !== "router");
  for (const group of [router, rest]) {
    await Promise.all(group.map(async (p) => {
      out[p.name] = await stopGroup(p.pgid, o.graceMs ?? 10_000);
      log(`${p.name} (pgid ${p.pgid}): ${out[p.name]}`);
    }));
  }
  const left = state.processes.filter((p) => isGroupAlive(p.pgid));
  if (left.length) {
    throw new Error(
      `Cannot stop ${name} as listed in its state file: current value is still running (${
        left.map((p) => `${p.name} pgid ${p.pgid}`).join(", ")
      })`,
    );
  }
  await removeState(stateDir, name);
  log(`${name} is down`);
  return out;
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const target = onePositional(positionals, "one topology name or file");
  const stateDir = values["state-dir"] as string;
  const name = await topologyName(target);
  const known = /\.ya?ml$/i.test(target) ? [name] : await knownTopologies(resolve(stateDir));
  if (!known.includes(name)) {
    throw new RangeError(
      `Cannot stop topology ${name}: current value is not a known topology; allowed: ${
        known.join(", ")
      } (or a topology .yaml file)`,
    );
  }
  await down({
    target,
    stateDir,
    graceMs: numberFlag(values, "grace", { min: 0, default: 10 })! * 1000,
    sets: ((values.set as string[] | undefined) ?? []).map((x) => parseSet(x)),
  });
  return 0;
}

if (import.meta.main) await runMain(main);
