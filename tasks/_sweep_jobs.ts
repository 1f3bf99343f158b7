/**
 * The jobs of a pipeline run's parallel virtual-time sweeps and the lane that
 * runs them, in a worker (`_topology_worker.ts`) or in the main thread: a
 * whole topology (an SLO search, sequential by nature) or one point of a
 * fixed-rate sweep. Every lane takes the next job from one shared counter
 * (no round trip to the main thread) and skips jobs the main thread dropped
 * (a stop rule cut them). A job's log lines and progress events are kept and
 * sent with its outcome, so that the main thread replays them where a run
 * one by one would have made them; only status-line notes go live.
 *
 * @module
 */
import { type PointDone, Progress } from "../lib/progress.ts";
import type { ExperimentTopology } from "./_experiment.ts";
import { type PipelineRun, runVirtualPoint, runVirtualTopology } from "./_pipeline_topology.ts";
import type { PointRun } from "./_sweep_point.ts";
import type { SweepPoint } from "./sweep.ts";

/** A pipeline run as plain data: without its log and progress. */
export type WireRun = Omit<PipelineRun, "log" | "progress">;

/** One job: a topology's whole sweep, or one point of a fixed-rate sweep. */
export type SweepJob =
  | { kind: "topology"; t: ExperimentTopology }
  | {
    kind: "point";
    t: ExperimentTopology;
    label: string;
    rate: number;
    cell: Record<string, string | number>;
  };

/** A log line or progress event of a job, replayed by the main thread in order. */
export type JobEvent =
  | { kind: "log"; line: string }
  | { kind: "print"; text: string }
  | { kind: "plan"; group: string; points: number; estimated: boolean }
  | { kind: "start"; label: string }
  | { kind: "done"; point: PointDone };

/** How a job ended. */
export type JobOutcome =
  | { kind: "points"; points: SweepPoint[] | null }
  | { kind: "point"; run: PointRun }
  | { kind: "skipped" }
  | { kind: "error"; name: string; message: string };

/** Job `i`'s events and outcome. */
export interface JobAnswer {
  i: number;
  events: JobEvent[];
  outcome: JobOutcome;
}

/** A {@linkcode Progress} that keeps a job's events (notes go to `note` at once). */
class KeptProgress extends Progress {
  readonly events: JobEvent[] = [];
  /** When each point started here (its wall time is this worker's, not the replay's). */
  readonly #started = new Map<string, number>();
  constructor(tty: boolean, private readonly onNote: (text: string) => void) {
    super({ name: "job", tty, refreshMs: 0, log: () => {}, write: () => {} });
  }
  override plan(group: string, points: number, estimated = false): void {
    this.events.push({ kind: "plan", group, points, estimated });
  }
  override start(label: string): void {
    this.#started.set(label, performance.now());
    this.events.push({ kind: "start", label });
  }
  override note(text: string): void {
    this.onNote(text);
  }
  /** Keeps the point; its line is made when replayed (returns ""). */
  override done(point: PointDone): string {
    const t0 = this.#started.get(point.label);
    this.#started.delete(point.label);
    const ownWallMs = point.ownWallMs ?? (t0 === undefined ? null : performance.now() - t0);
    this.events.push({ kind: "done", point: { ...point, ownWallMs } });
    return "";
  }
  override log(line: string): void {
    this.events.push({ kind: "log", line });
  }
  override print(text: string): void {
    this.events.push({ kind: "print", text });
  }
}

/** Runs job `i` of `jobs`; never throws (an error is its outcome). */
async function runJob(
  base: WireRun,
  job: SweepJob,
  i: number,
  tty: boolean,
  onNote: (text: string) => void,
): Promise<JobAnswer> {
  const progress = new KeptProgress(tty, onNote);
  const r: PipelineRun = { ...base, log: progress.logger, progress };
  try {
    if (job.kind === "topology") {
      const points = await runVirtualTopology(r, job.t);
      return { i, events: progress.events, outcome: { kind: "points", points } };
    }
    const t0 = performance.now();
    const run = await runVirtualPoint(r, job.t, job);
    const wallMs = performance.now() - t0;
    return { i, events: progress.events, outcome: { kind: "point", run: { ...run, wallMs } } };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return {
      i,
      events: progress.events,
      outcome: { kind: "error", name: err.name, message: err.message },
    };
  }
}

/**
 * What every lane shares: `shared[0]` is the next job to take, `shared[1 +
 * i]` is 1 once job `i` is dropped.
 */
export function sharedState(jobs: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (1 + jobs)));
}

/** Takes jobs until none is left, answering each (a dropped one as skipped). */
export async function runLane(
  base: WireRun,
  jobs: SweepJob[],
  shared: Int32Array,
  tty: boolean,
  answer: (a: JobAnswer) => void,
  onNote: (text: string) => void,
): Promise<void> {
  for (;;) {
    const i = Atomics.add(shared, 0, 1);
    if (i >= jobs.length) return;
    if (Atomics.load(shared, 1 + i)) answer({ i, events: [], outcome: { kind: "skipped" } });
    else answer(await runJob(base, jobs[i], i, tty, onNote));
  }
}
