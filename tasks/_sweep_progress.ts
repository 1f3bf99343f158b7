/**
 * A sweep's points on a {@linkcode Progress}: what a finished point's line
 * shows (its offered load, achieved throughput, p90 TTFT, simulated time) read
 * from its summaries, and the points a sweep still plans as its cells go.
 *
 * @module
 */
import { type PointDone, Progress } from "../lib/progress.ts";
import { num } from "./_bench_cmd.ts";
import { offeredUnit } from "../lib/rate_unit.ts";

/** Offered-load unit of a workload: conv/s on multi-turn datasets, else req/s. */
export function rateUnit(workload: Record<string, unknown>): string {
  return offeredUnit(String(workload.dataset ?? ""));
}

/**
 * A finished point for {@linkcode Progress.done}: figures of its first run,
 * simulated seconds summed over its virtual runs, then `detail`.
 */
export function sweepPointDone(
  label: string,
  rateRps: number,
  workload: Record<string, unknown>,
  p: { summaries: Record<string, unknown>[]; resumed: boolean; wallMs?: number },
  detail: string,
): PointDone {
  const first = p.summaries[0];
  const simulated = new Map<unknown, number>(); // per run (class summaries share its run_id)
  for (const s of p.summaries) {
    const d = num(s, "duration");
    if (s.simulated === true && d !== null && !simulated.has(s.run_id)) simulated.set(s.run_id, d);
  }
  return {
    label,
    resumed: p.resumed,
    target: `${rateRps === Infinity ? "inf" : rateRps} ${rateUnit(workload)}`,
    achievedRps: num(first, "request_throughput"),
    p90TtftMs: num(first, "p90_ttft_ms"),
    simulatedS: simulated.size ? [...simulated.values()].reduce((a, b) => a + b, 0) : null,
    ownWallMs: p.wallMs ?? null,
    detail,
  };
}

/**
 * Plans `group`'s points once a cell's rates are known: those finished, those
 * of this cell not run yet, and as many for each cell left (an estimate when
 * their rates come from a search).
 */
export function planCells(
  progress: Progress,
  group: string,
  o: { finished: number; cellLeft: number; cellRates: number; cellsLeft: number; auto: boolean },
): void {
  progress.plan(
    group,
    o.finished + o.cellLeft + o.cellRates * o.cellsLeft,
    o.auto && o.cellsLeft > 0,
  );
}

/** A sweep's own progress when none is given: its point lines through `log`, no status line. */
export function plainProgress(name: string, log: (line: string) => void): Progress {
  return new Progress({ name, tty: false, log, refreshMs: 0 });
}
