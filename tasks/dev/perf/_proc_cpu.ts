/**
 * What a perf figure needs of Linux `/proc`: a process's CPU seconds so far
 * (and its peak RSS), and the host's 1-minute load average (other work on the
 * box moves every rate; CPU per request moves least).
 *
 * @module
 */

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s

/** User + system CPU seconds of a `/proc/<pid>/stat` text. */
function statCpuSeconds(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / TICKS;
}

/** CPU seconds (user + system) process `pid` has used so far, or NaN where unknown. */
export async function cpuSeconds(pid: number | "self"): Promise<number> {
  try {
    return statCpuSeconds(await Deno.readTextFile(`/proc/${pid}/stat`));
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) and peak RSS (MB) of a live process, or null where unknown. */
export async function procUsage(pid: number): Promise<{ cpuS: number; peakMb: number } | null> {
  try {
    const cpuS = statCpuSeconds(await Deno.readTextFile(`/proc/${pid}/stat`));
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
    // a zombie (exited, not yet reaped) has no memory lines: keep the last sample
    return Number.isFinite(hwm) && Number.isFinite(cpuS) ? { cpuS, peakMb: hwm / 1024 } : null;
  } catch {
    return null;
  }
}

/** The 1-minute load average as `uptime` shows it, `?` where unknown. */
export async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
}

/** `load 1.23/2` (1-minute load average / cores). */
export async function loadNote(): Promise<string> {
  return `load ${await loadAverage()}/${navigator.hardwareConcurrency}`;
}
