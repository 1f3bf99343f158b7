/**
 * Where a bench run's load is sent from: this process (`runLoad`), bench
 * workers (`--workers`, local subprocesses or ssh hosts), or the pods of a
 * bench Job (`--platform kubernetes`), which run as workers. One executor per
 * run; it sends each load point and records its rows.
 *
 * @module
 */
import { SaturationDetector, verdictText } from "../lib/saturation.ts";
import { join } from "node:path";
import type { FlagValues } from "../lib/args.ts";
import { bundleText, runningBundle } from "../lib/bundle.ts";
import { errorMessage } from "../lib/errors.ts";
import type { RunRows } from "./record.ts";
import { type Finished, runLoad, type RunLoadOptions, type RunState } from "./runner.ts";
import type { WorkSource } from "./work_source.ts";
import { BENCH_ENTRY, jobName, podFiles, startBenchJob, type StartedJob } from "./_k8s_job.ts";
import type { RunSession } from "./_session.ts";
import { peakInFlight, POD, runDistributed, workerArgs } from "./_workers.ts";
import { SenderPool, sendersFor } from "./_sender_pool.ts";
import type { AnswerChecks } from "./_point_summary.ts";

/** One load point as an executor sends it. */
export interface PointRun {
  runId: string;
  /** The `load_point` label of its rows. */
  loadPoint: string;
  seed: number;
  /** Server ms, from the config. */
  durationMs: number | undefined;
  closedLoop: boolean;
  /** The schedule drawn here (null when the workers draw their own). */
  work: WorkSource | null;
  /** `performance.now()` of the load point's start. */
  originMs: number;
  onResult: (f: Finished) => void;
  /** Its rows (the workers' are added here). */
  sink: RunRows;
  state: RunState;
  /** Its answers' checks (sender threads add theirs). */
  checks: AnswerChecks;
}

/** What the executor adds to a load point's summary. */
export interface PointOutcome {
  /** Output-token mismatches counted elsewhere (by the workers). */
  mismatches: number;
  /** Every worker finished its share. */
  complete: boolean;
  /** Threads that sent it from this process (absent with workers). */
  senders?: number;
}

/** Sends each load point of a run. */
export interface LoadExecutor {
  /** Workers (or pods) sending the load; 0: this process sends it. */
  readonly workers: number;
  run(p: PointRun): Promise<PointOutcome>;
  /** Ends what it started (the bench Job: completed when `ok`, else deleted). */
  finish(ok: boolean): Promise<void>;
}

/**
 * Sends a load plan with the run's settings: the one call of `runLoad` (the
 * warmup's and each load point's).
 */
export async function sendLoad(
  s: RunSession,
  plan:
    & Pick<
      RunLoadOptions,
      | "jobs"
      | "concurrency"
      | "closedLoop"
      | "durationMs"
      | "originMs"
      | "onResult"
      | "onTokenizerLoad"
      | "moreJobs"
      | "sleep"
    >
    & { stop?: AbortSignal; url?: string },
  state?: RunState,
): Promise<void> {
  const { cfg } = s;
  await runLoad({
    url: s.target.url,
    tokenizer: s.target.tok,
    endpoint: cfg.dataset.endpoint,
    body: s.target.body,
    timeoutMs: s.toReal(cfg.timeoutS * 1000),
    stallTimeoutMs: s.toReal(cfg.stallTimeoutS * 1000),
    stop: plan.stop ?? s.stop.signal,
    cancel: s.cancel.signal,
    compat: cfg.metricsCompat,
    responsePaths: { text: cfg.responseTextPath, tokens: cfg.responseTokensPath },
    stream: s.target.streamAsked,
    waker: s.waker,
    // live: only when asked (`auto` is on in virtual time only)
    saturation: cfg.saturationStop === "on"
      ? new SaturationDetector({ ttftFloorMs: Math.max(2000, s.toReal(cfg.slo?.ttftMs ?? 0)) })
      : null,
    onSaturated: (v) => s.log.warn(`stopped: ${verdictText(v)}; the requests in flight failed`),
    ...plan,
  }, state);
}

/**
 * The run's executor: the pods of a bench Job (started here), `--workers`, or
 * this process. `selfUrl` is the bench entry's `import.meta.url` (what local
 * workers run, or the bundle the pods get); `given` the flags as given.
 */
export async function startExecutor(
  s: RunSession,
  o: { selfUrl: string; given: FlagValues },
): Promise<LoadExecutor> {
  if (s.target.kube && s.cfg.kubernetes) return await startPods(s, o.selfUrl, o.given);
  if (s.cfg.workers.length) return workersExecutor(s, s.cfg.workers, o.selfUrl, o.given);
  const senders = sendersFor(s.cfg);
  if (senders > 1) return await poolExecutor(s, senders, o.selfUrl);
  return {
    workers: 0,
    async run(p) {
      await sendLoad(s, {
        jobs: p.work!.jobs,
        concurrency: s.cfg.concurrency,
        closedLoop: p.closedLoop,
        durationMs: p.durationMs === undefined ? undefined : s.toReal(p.durationMs),
        originMs: p.originMs,
        onResult: p.onResult,
        onTokenizerLoad: () =>
          s.log.warn(
            "the server sent no usage: loading the client tokenizer to count output tokens (a pause of a second or two in this run)",
          ),
      }, p.state);
      return { mismatches: 0, complete: true, senders: 1 };
    },
    async finish() {},
  };
}

/** `senders` threads of this process, under one schedule (`_sender_pool.ts`). */
async function poolExecutor(
  s: RunSession,
  senders: number,
  selfUrl: string,
): Promise<LoadExecutor> {
  s.log.info(
    `sending from ${senders} threads, this one and ${
      senders - 1
    } worker(s) (--senders ${s.cfg.senders})`,
  );
  const pool = await SenderPool.start(s, senders, selfUrl);
  return {
    workers: 0,
    run: (p) => pool.run(p),
    finish() {
      pool.close();
      return Promise.resolve();
    },
  };
}

/** Workers on `hosts` (`local`, ssh hosts, or `k8s:POD`), each sending rate/N with its own seed. */
function workersExecutor(
  s: RunSession,
  hosts: string[],
  selfUrl: string,
  given: FlagValues,
  job: StartedJob | null = null,
): LoadExecutor {
  const { cfg, log } = s;
  return {
    workers: hosts.length,
    async run(p) {
      log.info(`${hosts.length} worker(s) at ${cfg.rateRps / hosts.length} req/s each`);
      const d = await runDistributed({
        runId: p.runId,
        loadPoint: p.loadPoint,
        workers: hosts.map((host, index) => ({
          host,
          args: workerArgs({ ...given, model: s.target.model }, {
            index,
            count: hosts.length,
            rateRps: cfg.rateRps,
            seed: p.seed,
            out: host === "local"
              ? join(s.dir, "workers", `w${index}`)
              : `/tmp/topobench-workers/${s.runName}/w${index}`,
          }),
        })),
        workerCmd: cfg.workerCmd,
        selfUrl,
        signal: s.stop.signal,
        onLine: (w, l) => log.debug(`${w}: ${l}`),
        kube: s.target.kube ?? undefined,
        stopGraceMs: (cfg.graceS + 20) * 1000, // the pods' own grace, and the way back
      });
      for (const { row, itl } of d.rows) p.sink.add(row, itl);
      p.state.maxInFlight = peakInFlight([...p.sink.rows]);
      for (const problem of d.problems) log.warn(problem);
      return { mismatches: d.mismatches, complete: d.complete };
    },
    async finish(ok) {
      await job?.finish(ok).catch((e) => log.warn(`bench Job: ${errorMessage(e)}`));
    },
  };
}

/** Starts the bench Job (`--platform kubernetes`); its pods are the workers. */
async function startPods(
  s: RunSession,
  selfUrl: string,
  given: FlagValues,
): Promise<LoadExecutor> {
  const { cfg, log } = s;
  const k8s = cfg.kubernetes!;
  // the bench the pods run: this very file when it is a bundle, else one built from this
  // checkout (cached) while the pods start
  const self = runningBundle(selfUrl);
  log.info(self ? `pods run this bundle, ${self}` : "bundling the bench for the pods");
  const benchJs = self ? Deno.readTextFile(self) : bundleText("bench");
  benchJs.catch(() => {}); // awaited once the pods run; a failed start does not wait for it
  // this machine's files the pods read go with the bench; the workers get their pod paths
  const ship = await podFiles(given);
  const job = await startBenchJob(s.target.kube!, {
    files: [{ path: BENCH_ENTRY, text: benchJs }, ...ship.files],
    name: jobName(s.runName, k8s.replicas),
    namespace: k8s.namespace,
    replicas: k8s.replicas,
    image: k8s.image,
    // the Job's longest life: the run (real time) and an hour; 6 h when it has no duration
    deadlineS: Math.ceil(
      (cfg.durationS ?? (cfg.numRequests ?? 0) / cfg.rateRps) / cfg.timeScale,
    ) + 3600,
    timeoutS: 600,
    log: (l) => log.info(l),
    signal: s.stop.signal,
  });
  return workersExecutor(s, job.pods.map((p) => POD + p), selfUrl, ship.given, job);
}
