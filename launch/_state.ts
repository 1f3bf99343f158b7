/**
 * The state file `up` writes (`<stateDir>/<name>.json`) so that `down` stops
 * exactly what was started and `status` can check it.
 *
 * @module
 */
import { isAlive } from "../lib/_process_group.ts";
import { join, resolve } from "node:path";
import { readTextIfExists } from "../lib/read_file.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";

/** One started process. */
export interface StateProcess {
  name: string;
  role: string;
  pid: number;
  /** Process group (== pid); `down` signals the whole group. */
  pgid: number;
  host?: string;
  url: string;
  healthUrl: string;
  ports: number[];
  logPath: string;
  /** The command line, for people. */
  command: string;
}

/** A planned instance not started yet (`launch/_spares.ts`): what starts it, where it listens. */
export interface StateSpare {
  name: string;
  role: string;
  /** Program (the deno binary resolved), arguments, added environment and folder. */
  cmd: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  url: string;
  healthUrl: string;
  ports: number[];
  logPath: string;
  /** The command line, for people. */
  command: string;
}

/** Contents of a state file. */
export interface TopologyState {
  name: string;
  file: string;
  engine: string;
  kind: string;
  connector?: string;
  /** `starting` while `up` runs, `up` once everything is healthy. */
  status: "starting" | "up";
  /** Where clients send requests: the router, else the first process. */
  endpoint: string;
  routerUrl?: string;
  routerConfig?: string;
  startedAt: string;
  /** Pid of the `up` that wrote it. */
  upPid: number;
  /** Local (and ssh) process groups; empty on a cluster. */
  processes: StateProcess[];
  /** Spares not started yet; one that starts moves to `processes` (so `down` stops it). @default none */
  spares?: StateSpare[];
  /** Where it runs. @default "local" */
  platform?: "local" | "kubernetes";
  /** The cluster objects (`platform: kubernetes`). */
  kubernetes?: KubernetesState;
}

/** What `up` applied to a cluster. */
export interface KubernetesState {
  namespace: string;
  context?: string;
  /** Label selector of every object it applied. */
  selector: string;
  /** `kind/name` of each applied object. */
  objects: string[];
  /** Engine instances and the router: Deployment/Service name, in-cluster URL, nodes (LWS). */
  instances: { name: string; role: string; object: string; url: string; nodes?: number }[];
}

/** A new state (`starting`, no processes yet) of the topology in `file`, written by this process. */
export function startingState(
  t: { name: string; file: string; engine: string; kind: string; connector?: string },
  endpoint: string,
  routerUrl?: string,
): TopologyState {
  return {
    name: t.name,
    file: resolve(t.file),
    engine: t.engine,
    kind: t.kind,
    connector: t.connector,
    status: "starting",
    endpoint,
    routerUrl,
    startedAt: new Date().toISOString(),
    upPid: Deno.pid,
    processes: [],
  };
}

/** `<stateDir>/<name>.json`. */
export function statePath(stateDir: string, name: string): string {
  return join(stateDir, `${name}.json`);
}

/** Writes the state atomically (temp file + rename). */
export async function writeState(stateDir: string, s: TopologyState): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true });
  const path = statePath(stateDir, s.name);
  await writeJsonAtomic(path, s);
}

/** Reads a state file; undefined when there is none. */
export async function readState(
  stateDir: string,
  name: string,
): Promise<TopologyState | undefined> {
  const path = statePath(stateDir, name);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as TopologyState;
  } catch {
    throw new SyntaxError(`Cannot parse ${path} as a state file: current value is not JSON`);
  }
}

/** Removes a state file (no error when it is already gone). */
export async function removeState(stateDir: string, name: string): Promise<void> {
  try {
    await Deno.remove(statePath(stateDir, name));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Names of every state file in `stateDir`, sorted. */
export async function listStates(stateDir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(stateDir)) {
      if (e.isFile && e.name.endsWith(".json")) out.push(e.name.slice(0, -5));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

/**
 * Takes the exclusive start lock of topology `name` (`NAME.lock` beside its state
 * file, created atomically, holding this process's pid); returns its release.
 * Refuses while another live process holds it; a dead holder's lock is taken over.
 */
export async function lockTopology(stateDir: string, name: string): Promise<() => Promise<void>> {
  await Deno.mkdir(stateDir, { recursive: true });
  const path = join(stateDir, `${name}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const f = await Deno.open(path, { write: true, createNew: true });
      await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
      f.close();
      return () => Deno.remove(path).catch(() => {});
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const pid = Number((await Deno.readTextFile(path).catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
        throw new Error(
          `Cannot start ${name}: current value is being started or stopped by pid ${pid} (lock ${path}, state ${
            statePath(stateDir, name)
          }); wait for it or run deno task down ${name}`,
        );
      }
      await Deno.remove(path).catch(() => {}); // its holder died: take it over
    }
  }
  throw new Error(`Cannot take the lock ${path}: current value changes under us; retry`);
}
