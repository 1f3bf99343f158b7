/**
 * Process groups by id, usable from any process (a later `down` command reads
 * the pgids that `up` wrote): signal a group, check a pid or group, stop a group
 * (SIGTERM, grace, SIGKILL), and read a log's last lines. Nothing is ever
 * killed by name.
 *
 * Liveness ignores zombies: an exited process whose parent has not reaped it
 * yet counts as gone (on Linux, via `/proc`).
 *
 * @module
 */
import { fieldError } from "./errors.ts";

function checkId(id: number, field: string): void {
  // 0 and 1 would signal our own group or every process: never allowed.
  if (!Number.isSafeInteger(id) || id < 2) {
    throw fieldError({ field, value: id, expected: "a process id >= 2", kind: "type" });
  }
}

/** `[state, pgid]` from `/proc/PID/stat`; null when gone; undefined without `/proc`. */
function procStat(pid: number): [string, number] | null | undefined {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return [rest[0], Number(rest[2])];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return hasProc() ? null : undefined;
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    return null;
  }
}

let procChecked: boolean | undefined;
function hasProc(): boolean {
  if (procChecked === undefined) {
    try {
      procChecked = Deno.statSync("/proc/self/stat").isFile;
    } catch {
      procChecked = false;
    }
  }
  return procChecked;
}

const running = (state: string) => state !== "Z" && state !== "X" && state !== "x";

/** `kill(id, 0)`: true unless there is no such process or group. */
function signalZero(id: number): boolean {
  try {
    Deno.kill(id, 0);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    return true; // EPERM: it exists but is not ours.
  }
}

/** Whether process `pid` is running (a zombie is not). */
export function isAlive(pid: number): boolean {
  checkId(pid, "pid");
  const st = procStat(pid);
  if (st === undefined) return signalZero(pid);
  return st !== null && running(st[0]);
}

/** Pids of the running (non-zombie) members of group `pgid`; undefined without `/proc`. */
export function groupMembers(pgid: number): number[] | undefined {
  checkId(pgid, "pgid");
  if (!hasProc()) return undefined;
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!e.isDirectory || !/^\d+$/.test(e.name)) continue;
    const st = procStat(Number(e.name));
    if (st && st[1] === pgid && running(st[0])) out.push(Number(e.name));
  }
  return out;
}

/** Whether any process of group `pgid` is still running (zombies do not count). */
export function isGroupAlive(pgid: number): boolean {
  checkId(pgid, "pgid");
  if (!signalZero(-pgid)) return false;
  const leader = procStat(pgid);
  if (leader === undefined) return true;
  if (leader && leader[1] === pgid && running(leader[0])) return true;
  return (groupMembers(pgid) ?? [pgid]).length > 0;
}

/** Sends `signal` to every process of group `pgid`; false when the group is gone (ESRCH). */
export function killGroup(pgid: number, signal: Deno.Signal = "SIGTERM"): boolean {
  checkId(pgid, "pgid");
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitGroupGone(pgid: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (isGroupAlive(pgid)) {
    if (performance.now() >= end) return false;
    await sleepMs(Math.min(25, Math.max(1, end - performance.now())));
  }
  return true;
}

/** How {@linkcode stopGroup} ended. */
export type StopResult = "gone" | "terminated" | "killed";

/**
 * Stops group `pgid`: SIGTERM, wait up to `graceMs` for every member to exit,
 * then SIGKILL. Resolves `"gone"` when nothing was running, `"terminated"` when
 * SIGTERM sufficed, `"killed"` when SIGKILL was needed; throws when the group
 * survives SIGKILL for 5 s.
 */
export async function stopGroup(pgid: number, graceMs = 5000): Promise<StopResult> {
  checkId(pgid, "pgid");
  if (!(graceMs >= 0)) {
    throw fieldError({ field: "graceMs", value: graceMs, expected: "a duration >= 0 ms" });
  }
  if (!isGroupAlive(pgid)) return "gone";
  if (!killGroup(pgid, "SIGTERM")) return "gone";
  if (await waitGroupGone(pgid, graceMs)) return "terminated";
  killGroup(pgid, "SIGKILL");
  if (await waitGroupGone(pgid, 5000)) return "killed";
  throw new Error(
    `Cannot stop process group ${pgid}: still running after SIGKILL (pids ${
      (groupMembers(pgid) ?? []).join(", ")
    })`,
  );
}

/** The last `lines` lines of the file at `path` (reads only its end); "" when it does not exist. */
export async function tailFile(path: string, lines = 20): Promise<string> {
  if (!Number.isInteger(lines) || lines < 0) {
    throw fieldError({ field: "lines", value: lines, expected: "an integer >= 0" });
  }
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
  try {
    const size = (await f.stat()).size;
    let chunk = 16 * 1024;
    while (true) {
      const start = Math.max(0, size - chunk);
      const buf = new Uint8Array(size - start);
      await f.seek(start, Deno.SeekMode.Start);
      let off = 0;
      while (off < buf.length) {
        const n = await f.read(buf.subarray(off));
        if (n === null) break;
        off += n;
      }
      const text = new TextDecoder().decode(buf.subarray(0, off)).replace(/\n$/, "");
      const all = text.split("\n");
      // The first line of a partial read may be cut; only trust it when we read from 0.
      if (start === 0 || all.length > lines) {
        return lines === 0 ? "" : all.slice(-lines).join("\n");
      }
      chunk *= 4;
    }
  } finally {
    f.close();
  }
}

/**
 * Ctrl-C as a terminal running `deno task` delivers it: SIGINT to the whole
 * group `pgid`, then ~1 ms later `deno task`'s forwarded copy to each member
 * but the leader (tests of the signal rule).
 */
export async function terminalCtrlC(pgid: number): Promise<void> {
  const members = groupMembers(pgid) ?? [];
  killGroup(pgid, "SIGINT");
  await new Promise((r) => setTimeout(r, 1));
  for (const pid of members) {
    try {
      if (pid !== pgid) Deno.kill(pid, "SIGINT");
    } catch { /* exited meanwhile */ }
  }
}

/**
 * Starts `cmd args` in a session of its own (`setsid` execs in place, so the
 * child's pid is its group), as a terminal's foreground job; stdout and stderr
 * are collected.
 */
export function spawnSession(
  cmd: string,
  args: string[],
  cwd?: string,
): { child: Deno.ChildProcess; stdout: Promise<string>; stderr: Promise<string> } {
  const child = new Deno.Command("setsid", {
    args: [cmd, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  return {
    child,
    stdout: new Response(child.stdout).text(),
    stderr: new Response(child.stderr).text(),
  };
}
