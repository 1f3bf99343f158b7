/**
 * The jobs of a pipeline run's virtual-time sweeps (`_sweep_jobs.ts`) run
 * ahead on several lanes: this thread and `workers - 1` Deno workers, all
 * taking from one shared queue. The main thread still sweeps one topology and
 * one point after another: it takes each job's outcome where a run one by one
 * would have run it and replays the job's log lines and progress there, so
 * every file and line is the same. Points a stop rule skips are dropped: not
 * run when not yet taken, their folders deleted when they ran ahead.
 *
 * @module
 */
import type { PipelineRun } from "./_pipeline_topology.ts";
import type { PointRun } from "./_sweep_point.ts";
import {
  type JobAnswer,
  type JobEvent,
  runLane,
  sharedState,
  type SweepJob,
  type WireRun,
} from "./_sweep_jobs.ts";
import type { WorkerJobs, WorkerReply } from "./_topology_worker.ts";
import type { PointSource, SweepPoint } from "./sweep.ts";

const ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError };

/** An error answered by a lane, as the class it was thrown as. */
function rebuilt(name: string, message: string): Error {
  const e = new (ERRORS[name] ?? Error)(message);
  e.name = name;
  return e;
}

/** Replays a job's events on the run's log and progress. */
function replay(r: PipelineRun, events: JobEvent[]): void {
  for (const m of events) {
    if (m.kind === "log") r.log(m.line);
    else if (m.kind === "print") r.progress.print(m.text);
    else if (m.kind === "plan") r.progress.plan(m.group, m.points, m.estimated);
    else if (m.kind === "start") r.progress.start(m.label);
    else r.progress.done(m.point);
  }
}

/** The workers of a pool, started before its jobs are known (their modules load meanwhile). */
export function startWorkers(n: number): Worker[] {
  const url = new URL("./_topology_worker.ts", import.meta.url).href;
  return Array.from({ length: n }, () => new Worker(url, { type: "module" }));
}

/** Jobs run ahead on this thread and `workers`; see the module's note. */
export class PointPool implements PointSource {
  readonly #shared: Int32Array;
  readonly #answers: PromiseWithResolvers<JobAnswer>[];
  readonly #byLabel = new Map<string, number>();
  readonly #dropped = new Set<number>();
  readonly #failed = Promise.withResolvers<never>();
  #lane: Promise<void> = Promise.resolve();

  constructor(
    private readonly r: PipelineRun,
    private readonly jobs: SweepJob[],
    private readonly workers: Worker[],
  ) {
    this.#shared = sharedState(jobs.length);
    this.#answers = jobs.map(() => Promise.withResolvers<JobAnswer>());
    this.#failed.promise.catch(() => {}); // unobserved when every job is taken first
    jobs.forEach((j, i) => this.#byLabel.set(j.kind === "point" ? j.label : j.t.label, i));
  }

  /** Starts the workers' lanes and this thread's. */
  start(): void {
    const { log: _l, progress: _p, ...plain } = this.r;
    const run: WireRun = { ...plain, o: { ...this.r.o, log: undefined, signal: undefined } };
    const tty = this.r.progress.tty;
    for (const w of this.workers) {
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        const m = e.data;
        if (m.kind === "answer") this.#answers[m.answer.i].resolve(m.answer);
        else if (m.kind === "note") this.r.progress.note(m.text);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#failed.reject(new Error(`Cannot sweep in a worker: ${e.message}`));
      };
      w.postMessage({ run, jobs: this.jobs, shared: this.#shared, tty } satisfies WorkerJobs);
    }
    const signal = this.r.o.signal;
    const stop = () => this.#failed.reject(signal!.reason);
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop, { once: true });
    const answer = (a: JobAnswer) => this.#answers[a.i].resolve(a);
    const note = (text: string) => this.r.progress.note(text);
    const base: WireRun = { ...plain };
    this.#lane = runLane(base, this.jobs, this.#shared, tty, answer, note);
  }

  /** Job `i`'s answer, its events replayed; throws its error. */
  async #take(i: number): Promise<JobAnswer> {
    const a = await Promise.race([this.#answers[i].promise, this.#failed.promise]);
    replay(this.r, a.events);
    if (a.outcome.kind === "error") throw rebuilt(a.outcome.name, a.outcome.message);
    return a;
  }

  take(label: string): Promise<PointRun> | null {
    const i = this.#byLabel.get(label);
    if (i === undefined || this.jobs[i].kind !== "point") return null;
    return this.#take(i).then((a) => (a.outcome as { run: PointRun }).run);
  }

  /** The points of topology job `label` (null: it runs live). */
  async topology(label: string): Promise<SweepPoint[] | null> {
    const a = await this.#take(this.#byLabel.get(label)!);
    return (a.outcome as { points: SweepPoint[] | null }).points;
  }

  drop(labels: string[]): void {
    for (const l of labels) {
      const i = this.#byLabel.get(l);
      if (i === undefined) continue;
      Atomics.store(this.#shared, 1 + i, 1);
      this.#dropped.add(i);
    }
  }

  /**
   * Ends the pool: no lane takes another job; when `clean`, waits for the
   * dropped jobs that ran ahead and deletes what they wrote. Then stops the workers.
   */
  async close(clean: boolean): Promise<void> {
    const taken = Math.min(Atomics.exchange(this.#shared, 0, this.jobs.length), this.jobs.length);
    try {
      if (!clean) return;
      for (const i of [...this.#dropped].filter((i) => i < taken).sort((a, b) => a - b)) {
        await this.#undo(await Promise.race([this.#answers[i].promise, this.#failed.promise]));
      }
      await this.#lane;
    } finally {
      for (const w of this.workers) w.terminate();
    }
  }

  /** Deletes what dropped job `a` wrote: the run folder it made (not one it found finished). */
  async #undo(a: JobAnswer): Promise<void> {
    if (a.outcome.kind !== "point" || a.outcome.run.resumed) return;
    await Deno.remove(a.outcome.run.runDir, { recursive: true });
  }
}
