/**
 * The requests of an experiment grouped by topology × load point (repeated
 * runs pooled) for one grid cell: what the SLO, per-turn and CDF figures read.
 *
 * @module
 */
import type { RequestRow } from "../lib/result_schema.ts";
import { num } from "./_common.ts";
import type { RunData } from "./_runs.ts";

/** One grid cell: a workload with one concurrency cap (null: none). */
export interface Cell {
  workload: string;
  concurrency: number | null;
}

export interface Group {
  topology: string;
  loadPoint: string;
  offeredRps: number | null;
  ratePerGpu: number | null;
  gpusKnown: boolean;
  requests: RequestRow[];
}

/** Requests grouped by topology × load point (repeated runs pooled) for one grid cell. */
export function groups(runs: RunData[], cell: Cell | null): Group[] {
  const out = new Map<string, Group>();
  for (const run of runs) {
    for (const s of run.summaries) {
      if (cell && String(s.workload ?? "") !== cell.workload) continue;
      if (cell && num(s.max_concurrency) !== cell.concurrency) continue;
      const lp = String(s.load_point ?? "");
      const key = `${run.topology}\u0000${lp}`;
      const gpus = num(s.gpus);
      // offered load (the sweep's unit: conv/s on multi-turn), as the ranking counts it
      const offered = num(s.rate_target) ?? num(s.rate_achieved);
      if (!out.has(key)) {
        out.set(key, {
          topology: run.topology,
          loadPoint: lp,
          offeredRps: offered,
          ratePerGpu: offered === null ? null : offered / (gpus ?? 1),
          gpusKnown: gpus !== null,
          requests: [],
        });
      }
      const rid = String(s.run_id ?? "");
      out.get(key)!.requests.push(
        ...run.requests.filter((r) => r.load_point === lp && (!rid || r.run_id === rid)),
      );
    }
  }
  return [...out.values()].filter((g) => g.requests.length);
}
