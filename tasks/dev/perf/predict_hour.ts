/**
 * Part of perf entry `predict` (issue 29, figure d): the memory of one
 * simulated hour, multi-turn W1 on agg at 9 conv/s (~90% of its saturation),
 * `--duration 3600`, in a child process: its peak RSS (VmHWM, from
 * `/usr/bin/time -v`), and whether the same run completes with V8's heap
 * capped at 200 MB (`--v8-flags=--max-old-space-size=200`).
 *
 * @module
 */
import { join } from "node:path";
import type { PerfResult } from "../perf.ts";
import { argsOf, inTempDir, type PredictChild, predictChild, W1 } from "./_predict_cli.ts";

/** Heap cap of the second run, MB. */
const CAP_MB = 200;

function hourArgs(dir: string, label: string): string[] {
  return [
    "--topology",
    "fixtures/topologies/sim_agg.yaml",
    ...argsOf({ ...W1, rate: 9, duration: 3600, out: join(dir, label) }),
  ];
}

/** How peak RSS was read (VmHWM of the child as /usr/bin/time -v reports it). */
const RSS_HOW = "; peak RSS: /usr/bin/time -v (NaN without it)";

/** How a child ended, for a note. */
function ending(c: PredictChild): string {
  if (c.code === 0) return `completed in ${c.processWallS.toFixed(1)} s wall`;
  const how = c.signal !== null ? `signal ${c.signal}` : `exit code ${c.code}`;
  const oom = /out of memory|heap limit/i.test(c.stderrTail) ? ", V8 out of memory" : "";
  return `ended by ${how}${oom} after ${c.processWallS.toFixed(1)} s wall`;
}

/** (d) Peak RSS of one simulated hour, and whether it fits a 200 MB heap. */
export function hourMemory(): Promise<PerfResult[]> {
  return inTempDir("hour", async (dir) => {
    const free = await predictChild(hourArgs(dir, "hour"));
    const capped = await predictChild(
      hourArgs(dir, "hour-capped"),
      `--max-old-space-size=${CAP_MB}`,
    );
    const speed = free.code === 0
      ? `, ${(free.simulatedS / free.loopWallS).toFixed(0)}x real time (${free.events} events)`
      : "";
    return [
      {
        entry: "predict",
        metric: "agg: peak RSS of 1 simulated hour (W1 at 9 conv/s)",
        value: free.peakRssMiB,
        unit: "MiB",
        note: `${ending(free)}${speed}${RSS_HOW}; ${free.command}`,
      },
      {
        entry: "predict",
        metric: `agg: 1 simulated hour completes with a ${CAP_MB} MB heap`,
        value: capped.code === 0 ? 1 : 0,
        unit: "1=yes",
        note: `${ending(capped)}, peak RSS ${capped.peakRssMiB.toFixed(0)} MiB; ${capped.command}`,
      },
    ];
  });
}
