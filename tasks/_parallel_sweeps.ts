/**
 * The per-topology sweeps of a pipeline run: in virtual time each topology's
 * sweep is independent of the others, so they run in parallel Deno workers
 * (`_topology_worker.ts`), at most `workers` at a time; their log lines and
 * progress events come back as messages to the run's log and progress. Live
 * topologies (processes, ports) run after them, one at a time, in this
 * process. The points are the same, byte for byte, as running the topologies
 * one by one: run folders are named from the run's start time and each
 * topology writes only its own.
 *
 * @module
 */
import { fieldError } from "../lib/errors.ts";
import type { ExperimentTopology } from "./_experiment.ts";
import { type PipelineRun, runTopology } from "./_pipeline_topology.ts";
import type { WireRun, WorkerJob, WorkerReply } from "./_topology_worker.ts";
import type { SweepPoint } from "./sweep.ts";

/** Workers when not given: 2, or 1 on a one-core machine. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(2, navigator.hardwareConcurrency || 1));
}

const ERRORS: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError };

/** An error answered by a worker, as the class it was thrown as. */
function rebuilt(name: string, message: string): Error {
  const e = new (ERRORS[name] ?? Error)(message);
  e.name = name;
  return e;
}

/** Passes a worker's progress and log events on to the run's. */
function relay(r: PipelineRun, m: WorkerReply): void {
  if (m.kind === "log") r.log(m.line);
  else if (m.kind === "print") r.progress.print(m.text);
  else if (m.kind === "plan") r.progress.plan(m.group, m.points, m.estimated);
  else if (m.kind === "start") r.progress.start(m.label);
  else if (m.kind === "note") r.progress.note(m.text);
  else if (m.kind === "done") r.progress.done(m.point);
}

/** One worker's sweep of `t`: its points, or null when `t` runs live. */
function sweepIn(w: Worker, r: PipelineRun, t: ExperimentTopology): Promise<SweepPoint[] | null> {
  const { log: _l, progress: _p, ...plain } = r;
  const run: WireRun = { ...plain, o: { ...r.o, log: undefined, signal: undefined } };
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<WorkerReply>) => {
      const m = e.data;
      if (m.kind === "points") resolve(m.points);
      else if (m.kind === "live") resolve(null);
      else if (m.kind === "error") reject(rebuilt(m.name, m.message));
      else relay(r, m);
    };
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      reject(new Error(`Cannot sweep topology ${t.label} in a worker: ${e.message}`));
    };
    w.postMessage({ run, t, tty: r.progress.tty } satisfies WorkerJob);
  });
}

/**
 * Sweeps the virtual-time topologies of `tops` in up to `workers` workers;
 * returns the points by label (null: the topology runs live). Stops every
 * worker at the first error or when the run's signal aborts.
 */
async function sweepInWorkers(
  r: PipelineRun,
  tops: ExperimentTopology[],
  workers: number,
): Promise<Map<string, SweepPoint[] | null>> {
  const out = new Map<string, SweepPoint[] | null>();
  const started: Worker[] = [];
  const signal = r.o.signal;
  const url = new URL("./_topology_worker.ts", import.meta.url).href;
  const aborted = new Promise<never>((_, reject) => {
    const stop = () => reject(signal!.reason);
    if (signal?.aborted) stop();
    signal?.addEventListener("abort", stop, { once: true });
  });
  aborted.catch(() => {}); // unobserved when the sweeps end first
  let next = 0;
  const lane = async () => {
    const w = new Worker(url, { type: "module" });
    started.push(w);
    while (next < tops.length) {
      const t = tops[next++];
      out.set(t.label, await sweepIn(w, r, t));
    }
  };
  const lanes = Array.from({ length: Math.min(workers, tops.length) }, lane);
  try {
    await Promise.race([Promise.all(lanes), aborted]);
  } finally {
    for (const w of started) w.terminate();
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
  const parallel = workers > 1 && tops.length > 1 && r.clock === "virtual" && r.engine === "sim";
  const swept = parallel ? await sweepInWorkers(r, tops, workers) : new Map();
  for (const t of tops) points[t.label] = swept.get(t.label) ?? await runTopology(r, t);
  return points;
}
