/**
 * What a perf figure needs of Linux `/proc`: a process's CPU seconds so far
 * and the host's 1-minute load average (other work on the box moves every
 * rate; CPU per request moves least).
 *
 * @module
 */

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s

/** CPU seconds (user + system) process `pid` has used so far, or NaN where unknown. */
export async function cpuSeconds(pid: number | "self"): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/** `load 1.23/2` (1-minute load average / cores), `load ?` where unknown. */
export async function loadNote(): Promise<string> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "?");
  return `load ${text.split(" ")[0]}/${navigator.hardwareConcurrency}`;
}
