/**
 * A process supervisor over `Deno.Command`. Every child runs in its own process
 * group (`detached: true` calls setsid, so pgid == pid) with stdin closed and
 * stdout+stderr appended straight to its log file by the shell that execs it,
 * so logging goes on after we exit. Stopping signals the whole group
 * (SIGTERM, grace, SIGKILL), which also reaches grandchildren. Nothing is ever
 * killed by name.
 *
 * The free functions (re-exported from `_process_group.ts`) work from any
 * process, for a `down` command that only has the pgids an `up` wrote.
 *
 * @module
 */
import { SIGNAL_EXIT, StopSignals } from "./signals.ts";
import { dirname } from "node:path";
import { fieldError } from "./errors.ts";
import { killGroup, stopGroup } from "./_process_group.ts";

export {
  groupMembers,
  isAlive,
  isGroupAlive,
  killGroup,
  stopGroup,
  type StopResult,
  tailFile,
} from "./_process_group.ts";

/** What to start, for {@linkcode Supervisor.spawn}. */
export interface SpawnOptions {
  /** Short label for logs and errors, e.g. `prefill-0`. */
  name: string;
  /** Program (looked up on PATH unless it contains a slash). */
  cmd: string;
  /** Its arguments. */
  args: string[];
  /** Extra environment, on top of ours. */
  env?: Record<string, string>;
  /** Working directory. @default our cwd */
  cwd?: string;
  /** stdout and stderr are appended here; the file and its folders are created. */
  logPath: string;
  /**
   * Keep running after we exit (a later `down` stops it by pgid). When false the
   * child is stopped by `stopAll`, the signal handlers, or at `Deno.exit`.
   * @default false
   */
  detached?: boolean;
}

/** A started child. */
export interface ManagedProcess {
  name: string;
  pid: number;
  /** Its process group id (equal to `pid`). */
  pgid: number;
  logPath: string;
  detached: boolean;
  /** Resolves when the child (the group leader) exits. */
  status: Promise<Deno.CommandStatus>;
  /** True once `status` has resolved. */
  readonly exited: boolean;
  /** SIGTERM to the group, wait up to `graceMs` (@default 5000), then SIGKILL; waits for exit. */
  stop(graceMs?: number): Promise<void>;
}

// $1 is the log; the shell redirects itself, then execs the program (same pid).
const WRAPPER = 'exec >>"$1" 2>&1 </dev/null; shift; exec "$@"';

function check(o: SpawnOptions): void {
  const str = (field: keyof SpawnOptions) => {
    const v = o[field];
    if (typeof v !== "string" || v.length === 0) {
      throw fieldError({ field, value: v, expected: "a non-empty string", kind: "type" });
    }
  };
  str("name");
  str("cmd");
  str("logPath");
  if (!Array.isArray(o.args) || o.args.some((a) => typeof a !== "string")) {
    throw fieldError({ field: "args", value: o.args, expected: "a list of strings", kind: "type" });
  }
}

/** Starts children in their own process groups and stops them all on demand or on a signal. */
export class Supervisor {
  #procs: ManagedProcess[] = [];
  #signals: StopSignals | null = null;
  #stopping: Promise<void> | undefined;
  #onUnload = () => {
    // Deno.exit without stopAll: do not leave attached children behind.
    for (const p of this.#procs) {
      if (!p.detached && !p.exited) {
        try {
          killGroup(p.pgid, "SIGTERM");
        } catch { /* best effort at exit */ }
      }
    }
  };

  constructor() {
    globalThis.addEventListener("unload", this.#onUnload);
  }

  /** Starts `opts.cmd` in a new process group with output appended to `opts.logPath`. */
  spawn(opts: SpawnOptions): ManagedProcess {
    check(opts);
    Deno.mkdirSync(dirname(opts.logPath), { recursive: true });
    Deno.openSync(opts.logPath, { append: true, create: true }).close();
    const child = new Deno.Command("/bin/sh", {
      args: ["-c", WRAPPER, "topobench-spawn", opts.logPath, opts.cmd, ...opts.args],
      env: opts.env,
      cwd: opts.cwd,
      stdin: "null",
      stdout: "null",
      stderr: "null",
      detached: true,
    }).spawn();
    if (opts.detached) child.unref();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const proc: ManagedProcess = {
      name: opts.name,
      pid: child.pid,
      pgid: child.pid,
      logPath: opts.logPath,
      detached: opts.detached ?? false,
      status,
      get exited() {
        return exited;
      },
      async stop(graceMs = 5000) {
        await stopGroup(child.pid, graceMs);
        await status;
      },
    };
    this.#procs.push(proc);
    return proc;
  }

  /** Every child spawned so far, exited ones included (see `exited`). */
  list(): ManagedProcess[] {
    return [...this.#procs];
  }

  /** Stops every child's group (detached ones too) in parallel. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(this.#procs.map((p) => p.stop(graceMs)));
  }

  /**
   * On SIGINT/SIGTERM (duplicates within 1 s are one signal): stop all children,
   * then exit 130/143. A later signal while stopping sends SIGKILL to every group
   * and exits at once. Idempotent.
   */
  installSignalHandlers(graceMs = 5000): void {
    if (this.#signals) return;
    this.#signals = new StopSignals({
      onStop: (sig) => {
        this.#stopping = this.stopAll(graceMs).finally(() => Deno.exit(SIGNAL_EXIT[sig]));
      },
      onForce: (sig) => {
        for (const p of this.#procs) {
          try {
            killGroup(p.pgid, "SIGKILL");
          } catch { /* exiting anyway */ }
        }
        Deno.exit(SIGNAL_EXIT[sig]);
      },
    });
  }

  /** Removes the signal handlers and the exit hook (children are left as they are). */
  removeHandlers(): void {
    this.#signals?.[Symbol.dispose]();
    this.#signals = null;
    globalThis.removeEventListener("unload", this.#onUnload);
  }

  /** `await using sup = new Supervisor()`: stops all children and removes the handlers. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.stopAll();
    } finally {
      this.removeHandlers();
    }
  }
}
