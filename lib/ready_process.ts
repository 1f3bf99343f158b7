/**
 * Starts a process and waits for a line of its output that says it is ready
 * (e.g. the `Starting vLLM API server 0 on http://HOST:PORT` line), keeping all
 * output for later inspection. Used by tests and tools that start servers on
 * port 0 and must learn the port.
 *
 * @module
 */
import { TextLineStream } from "./_lines.ts";

/** Options of {@linkcode startReady}. */
export interface ReadyOptions {
  cmd: string;
  args: string[];
  /** A line matching this means ready; its match is returned. */
  ready: RegExp;
  env?: Record<string, string>;
  cwd?: string;
  /** Give up after this long. @default 60000 */
  timeoutMs?: number;
}

/** A started process whose output is collected. */
export interface ReadyProcess {
  child: Deno.ChildProcess;
  match: RegExpMatchArray;
  /** Every output line so far (stdout and stderr). */
  lines: string[];
  /** Resolves when the process has exited and output is drained. */
  done: Promise<Deno.CommandStatus>;
  /** SIGTERM (then SIGKILL after `graceMs`) and wait for exit. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/** Spawns `cmd` and resolves once a line matches `ready`; throws with the output if it exits first. */
export async function startReady(opts: ReadyOptions): Promise<ReadyProcess> {
  const child = new Deno.Command(opts.cmd, {
    args: opts.args,
    env: opts.env,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let found: ((m: RegExpMatchArray) => void) | null = null;
  const matched = new Promise<RegExpMatchArray>((r) => (found = r));
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (
      const line of s.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream())
    ) {
      lines.push(line);
      const m = found && line.match(opts.ready);
      if (m) {
        found!(m);
        found = null;
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const done = pumps.then(() => child.status);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error("timeout")), opts.timeoutMs ?? 60_000);
  });
  const stop = async (graceMs = 5000) => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, graceMs);
    const st = await done;
    clearTimeout(t);
    return st;
  };
  try {
    const match = await Promise.race([
      matched,
      done.then((st) => Promise.reject(new Error(`exited with code ${st.code}`))),
      timeout,
    ]);
    return { child, match, lines, done, stop };
  } catch (e) {
    if ((e as Error).message === "timeout") await stop(1000);
    throw new Error(
      `Cannot start ${opts.cmd} ${opts.args.join(" ")}: ${(e as Error).message}\n${
        lines.slice(-20).join("\n")
      }`,
    );
  } finally {
    clearTimeout(timer);
  }
}
