/**
 * The state file `up` writes (`<stateDir>/<name>.json`) so that `down` stops
 * exactly what was started and `status` can check it.
 *
 * @module
 */
import { join } from "node:path";

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
  processes: StateProcess[];
}

/** `<stateDir>/<name>.json`. */
export function statePath(stateDir: string, name: string): string {
  return join(stateDir, `${name}.json`);
}

/** Writes the state atomically (temp file + rename). */
export async function writeState(stateDir: string, s: TopologyState): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true });
  const path = statePath(stateDir, s.name);
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(s, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

/** Reads a state file; undefined when there is none. */
export async function readState(
  stateDir: string,
  name: string,
): Promise<TopologyState | undefined> {
  const path = statePath(stateDir, name);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
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
