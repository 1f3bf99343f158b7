/**
 * A Deno worker that sweeps a pipeline's topologies in virtual time, one per
 * message, for {@linkcode sweepTopologies}: the run arrives as plain data and
 * its log and progress are rebuilt here as messages to the main thread (see
 * {@linkcode WorkerReply}). A topology that runs live is answered `live`
 * without running anything (the main thread runs it). Ctrl-C terminates the
 * worker: a point cut short has no complete `summary.json`, so it never
 * counts as finished and a resume moves it aside.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type PointDone, Progress } from "../lib/progress.ts";
import type { ExperimentTopology } from "./_experiment.ts";
import { type PipelineRun, runVirtualTopology } from "./_pipeline_topology.ts";
import type { SweepPoint } from "./sweep.ts";

/** A pipeline run as plain data: without its log, progress and signal. */
export type WireRun = Omit<PipelineRun, "log" | "progress">;

/** What the main thread sends: one topology of the run to sweep. */
export interface WorkerJob {
  run: WireRun;
  t: ExperimentTopology;
  /** Whether the main thread's progress shows a status line (point notes are sent then). */
  tty: boolean;
}

/** What the worker answers: progress and log events, then the topology's outcome. */
export type WorkerReply =
  | { kind: "log"; line: string }
  | { kind: "print"; text: string }
  | { kind: "plan"; group: string; points: number; estimated: boolean }
  | { kind: "start"; label: string }
  | { kind: "note"; text: string }
  | { kind: "done"; point: PointDone }
  | { kind: "points"; points: SweepPoint[] }
  | { kind: "live" }
  | { kind: "error"; name: string; message: string };

const post = (m: WorkerReply) => self.postMessage(m);

/** A {@linkcode Progress} whose events go to the main thread's progress. */
class RemoteProgress extends Progress {
  constructor(tty: boolean) {
    super({ name: "worker", tty, refreshMs: 0, log: () => {}, write: () => {} });
  }
  override plan(group: string, points: number, estimated = false): void {
    post({ kind: "plan", group, points, estimated });
  }
  override start(label: string): void {
    post({ kind: "start", label });
  }
  override note(text: string): void {
    post({ kind: "note", text });
  }
  /** Sends the point; its line is made on the main thread (returns ""). */
  override done(point: PointDone): string {
    post({ kind: "done", point });
    return "";
  }
  override log(line: string): void {
    post({ kind: "log", line });
  }
  override print(text: string): void {
    post({ kind: "print", text });
  }
}

/** Sweeps one topology and answers its points, `live`, or its error. */
async function sweepJob(job: WorkerJob): Promise<void> {
  const progress = new RemoteProgress(job.tty);
  const run: PipelineRun = { ...job.run, log: progress.logger, progress };
  try {
    const points = await runVirtualTopology(run, job.t);
    post(points ? { kind: "points", points } : { kind: "live" });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ kind: "error", name: err.name, message: err.message });
  }
}

self.onmessage = (e: MessageEvent<WorkerJob>) => void sweepJob(e.data);
