/**
 * The sweeps of a pipeline run. In virtual time the points are independent
 * of each other, so with more than one worker they run ahead on parallel
 * lanes (`_point_pool.ts`): this thread and `workers - 1` Deno workers take
 * jobs from one shared queue, a fixed-rate sweep's points one by one and an
 * SLO search's topology whole (each search point depends on the one before).
 * This thread still sweeps one topology after another and replays each job's
 * log lines where a run one by one would make them, and a stop rule drops the
 * points it skips (deleting those that ran ahead), so every file and line is
 * the same as with one worker: run folders are named from the run's start
 * time and each point writes only its own. Live topologies (processes, ports)
 * run after them, one at a time, in this process.
 *
 * @module
 */
import { fieldError } from "../lib/errors.ts";
import type { ExperimentTopology } from "./_experiment.ts";
import { howItRuns, type PipelineRun, runTopology } from "./_pipeline_topology.ts";
import { PointPool, startWorkers } from "./_point_pool.ts";
import type { SweepJob } from "./_sweep_jobs.ts";
import { gridCells, pointLabel, type SweepPoint } from "./sweep.ts";

/** Workers when not given: 2, or 1 on a one-core machine. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1));
}

/** How each topology runs, and the jobs of the virtual ones in their sweep's order. */
async function planJobs(r: PipelineRun, tops: ExperimentTopology[]) {
  const jobs: SweepJob[] = [];
  const live = new Set<string>();
  const cells = gridCells(r.exp.sweep.grid);
  for (const t of tops) {
    const { virtual, rates } = await howItRuns(r, t);
    if (!virtual) live.add(t.label);
    else if (rates === "auto") jobs.push({ kind: "topology", t });
    else {
      for (const cell of cells) {
        for (const rate of [...rates].sort((a, b) => a - b)) {
          jobs.push({ kind: "point", t, label: pointLabel(t.label, cell, rate), rate, cell });
        }
      }
    }
  }
  return { jobs, live };
}

/**
 * Sweeps the virtual-time topologies of `tops` with their jobs on this thread
 * and `workers` (see `_point_pool.ts`), one topology after another as a run
 * one by one would; returns the points by label (null: the topology runs live).
 */
async function sweepInPool(
  r: PipelineRun,
  tops: ExperimentTopology[],
  workers: Worker[],
): Promise<Map<string, SweepPoint[] | null>> {
  const out = new Map<string, SweepPoint[] | null>();
  const { jobs, live } = await planJobs(r, tops).catch((e) => {
    for (const w of workers) w.terminate();
    throw e;
  });
  const pool = new PointPool(r, jobs, workers);
  pool.start();
  let clean = false;
  try {
    for (const t of tops) {
      if (live.has(t.label)) out.set(t.label, null);
      else if (jobs.some((j) => j.kind === "topology" && j.t === t)) {
        out.set(t.label, await pool.topology(t.label));
      } else out.set(t.label, await runTopology(r, t, { pool }));
    }
    clean = true;
  } finally {
    await pool.close(clean);
  }
  return out;
}

/**
 * Sweeps every topology of `tops`: in virtual time in up to `workers`
 * parallel workers (1: one after the other in this process), live ones one
 * at a time; returns the points by label, in the order of `tops`.
 */
export async function sweepTopologies(
  r: PipelineRun,
  tops: ExperimentTopology[],
  workers: number,
): Promise<Record<string, SweepPoint[]>> {
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw fieldError({ field: "--workers", value: workers, expected: "a whole number 1 or more" });
  }
  const points: Record<string, SweepPoint[]> = {};
  const parallel = workers > 1 && r.clock === "virtual" && r.engine === "sim";
  // started first: their modules load while the jobs are planned
  const swept = parallel ? await sweepInPool(r, tops, startWorkers(workers - 1)) : new Map();
  for (const t of tops) points[t.label] = swept.get(t.label) ?? await runTopology(r, t);
  return points;
}
