/**
 * A Deno worker that runs jobs of a pipeline's parallel virtual-time sweeps
 * for {@linkcode sweepTopologies} (see `_sweep_jobs.ts`): it gets the run as
 * plain data, the job list and the shared counter once, then takes jobs until
 * none is left, answering each with its kept events and outcome. Ctrl-C
 * terminates the worker: a point cut short has no complete `summary.json`, so
 * it never counts as finished and a resume moves it aside.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type JobAnswer, runLane, type SweepJob, type WireRun } from "./_sweep_jobs.ts";

/** What the main thread sends once: the run, every job, and the lanes' shared state. */
export interface WorkerJobs {
  run: WireRun;
  jobs: SweepJob[];
  shared: Int32Array;
  /** Whether the main thread's progress shows a status line (point notes are sent then). */
  tty: boolean;
}

/** What the worker answers: a status-line note, a job's answer, or that it has taken its last. */
export type WorkerReply =
  | { kind: "note"; text: string }
  | { kind: "answer"; answer: JobAnswer }
  | { kind: "idle" };

const post = (m: WorkerReply) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<WorkerJobs>) => {
  const { run, jobs, shared, tty } = e.data;
  await runLane(
    run,
    jobs,
    shared,
    tty,
    (answer) => post({ kind: "answer", answer }),
    (text) => post({ kind: "note", text }),
  );
  post({ kind: "idle" });
};
