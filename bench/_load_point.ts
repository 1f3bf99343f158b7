/**
 * One load point of a bench run (repeat `k` of its config): the schedule, the
 * warmup (rows apart in `warmup.csv`), the prefix-cache reset, the shared
 * start instant of workers, the measured load through the run's executor, and
 * its summaries (`_point_summary.ts`).
 *
 * @module
 */
import { adminHeaders } from "../lib/control_guard.ts";
import { errorMessage } from "../lib/errors.ts";
import { SETTLE_FAST_FROM_BYTES, settleHeap } from "../lib/heap.ts";
import { offeredUnit } from "../lib/rate_unit.ts";
import { requestRow, RunRows } from "./record.ts";
import { type Finished, newState, type RunLoadOptions, sleepUntil } from "./runner.ts";
import { loadPointLabel } from "./run_files.ts";
import { buildWorkload } from "./workload/datasets.ts";
import { burst, runBasics, type WorkSource, workSource } from "./work_source.ts";
import { type LoadExecutor, sendLoad } from "./_executor.ts";
import { AnswerChecks, summarizePoint } from "./_point_summary.ts";
import { startProgress } from "./_progress.ts";
import type { RunSession } from "./_session.ts";
import { READY_LINE } from "./_workers.ts";
import { selfWarmUp, selfWarmupDue } from "./_self_warmup.ts";

/**
 * Runs load point `k`: warmup, reset, the measured load, its summaries.
 * Returns false when the run was stopped before its measured load began.
 */
export async function runLoadPoint(s: RunSession, x: LoadExecutor, k: number): Promise<boolean> {
  const { cfg, log } = s;
  const runId = cfg.runs > 1 ? `${s.runName}-r${k + 1}` : s.runName;
  const loadPoint = loadPointLabel(cfg);
  const { seed, durationMs, closedLoop } = runBasics(cfg, k);
  // distributed: each worker draws its own share of the schedule and warms up itself
  const work = x.workers ? null : await workSource(s.target.tok, cfg, k, clockOf(s));
  if ((cfg.warmup > 0 || cfg.warmupS) && !x.workers) await warmUp(s, runId, k, seed);
  // a worker (--start-at stdin) resets once every worker has warmed up: after the start instant
  const workerStart = k === 0 && cfg.startAt === "stdin";
  if (cfg.resetPrefixCache && !x.workers && !workerStart) await resetPrefixCache(s);
  if (s.stopped) return false;

  const sink = new RunRows(runId, s.csv, s.itlFile, (e) => s.failWrite(e));
  const checks = new AnswerChecks();
  const state = newState();
  // logged before the clock starts: formatting the first number loads ICU data (~30 ms)
  const arrivals = closedLoop
    ? `closed loop, ${cfg.concurrency} users`
    : work
    ? arrivalsLabel(work)
    : `arrivals over ${x.workers} worker(s)`;
  log.info(
    `run ${k + 1}/${cfg.runs}: ${arrivals} at ${loadPoint} ${
      offeredUnit(cfg.dataset.name)
    }, dataset ${cfg.dataset.name}, model ${s.target.model}`,
  );
  const fast = work !== null && selfWarmupDue(s, closedLoop);
  if (fast) await selfWarmUp(s, k, seed);
  // set-up garbage goes now, not in a pause early in the run (a fast run's only when it is large)
  settleHeap(fast ? SETTLE_FAST_FROM_BYTES : 0);
  await s.waker.ready(); // its thread up before the clock starts
  const originMs = await startInstant(s, k, workerStart);
  const onResult = (f: Finished) => {
    const { row, itlMs } = requestRow(f, runId, loadPoint, cfg.timeScale);
    sink.add(row, itlMs);
    s.noteContentType(f.result.oddContentType);
    checks.add(f);
  };
  const progress = Deno.stderr.isTerminal() && !x.workers
    ? startProgress(
      state,
      { ttftMs: sink.recent, lagMs: sink.recentLag },
      () => s.toServer(performance.now() - originMs) / 1000,
    )
    : undefined;
  const outcome = await x.run({
    runId,
    loadPoint,
    seed,
    durationMs,
    closedLoop,
    work,
    originMs,
    onResult,
    sink,
    state,
    checks,
  });
  progress?.[Symbol.dispose]();
  sink.flush(); // the point's last rows on disk before its summary
  await summarizePoint(s, { k, runId, originMs, sink, state, checks, outcome });
  return true;
}

/** "1,000 arrivals", or "~6,000,000 arrivals (drawn as sent)" for a lazily drawn schedule. */
function arrivalsLabel(w: WorkSource): string {
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  if (w.count !== null) return `${n(w.count)} arrivals`;
  return Number.isFinite(w.expected)
    ? `~${n(w.expected)} arrivals (drawn as sent)`
    : "arrivals drawn as sent";
}

/** Schedules in real ms with `--time-scale`. */
const clockOf = (s: RunSession) => ({
  toClockMs: s.cfg.timeScale === 1 ? undefined : (ms: number) => s.toReal(ms),
});

/**
 * The warmup before load point `k`: `--warmup N` requests at once, or
 * `--warmup 30s` of the run's own load. Rows go to `warmup.csv` (run id
 * `<run>-warmup`), never into a summary.
 */
async function warmUp(s: RunSession, runId: string, k: number, seed: number): Promise<void> {
  const { cfg, log } = s;
  const wcsv = s.warmupRows();
  const onResult = (f: Finished) => {
    const { row } = requestRow(f, `${runId}-warmup`, "warmup", cfg.timeScale);
    try {
      wcsv.append(row as unknown as Record<string, string | number | null>);
    } catch { /* a warmup row that cannot be written is not a measurement */ }
  };
  let jobs: RunLoadOptions["jobs"];
  let closed = false;
  if (cfg.warmupS) {
    log.info(`warmup: ${cfg.warmupS} s of the run's load`);
    const wcfg = {
      ...cfg,
      durationS: cfg.warmupS,
      numRequests: undefined,
      dataset: { ...cfg.dataset, seed: cfg.dataset.seed + 1_000_003 },
    };
    ({ jobs, closedLoop: closed } = await workSource(s.target.tok, wcfg, k, clockOf(s)));
  } else {
    const multiturn = cfg.dataset.name === "multiturn" || cfg.dataset.name === "sharegpt-multiturn";
    const w = await buildWorkload(s.target.tok, {
      ...cfg.dataset,
      name: multiturn ? "random" : cfg.dataset.name,
      seed: seed + 1_000_003,
    }, cfg.warmup);
    log.info(`warmup: ${cfg.warmup} requests`);
    jobs = burst(w.requests.map((r) => ({ ...r, requestId: `warmup-${r.requestId}` })));
  }
  await s.waker.ready();
  await sendLoad(s, {
    jobs,
    closedLoop: closed,
    concurrency: closed ? cfg.concurrency : undefined,
    durationMs: cfg.warmupS ? s.toReal(cfg.warmupS * 1000) : undefined,
    originMs: performance.now(),
    onResult,
  });
}

/** `POST /reset_prefix_cache` (distributed: worker 0 resets; the URL need only be reachable from the workers). */
async function resetPrefixCache(s: RunSession): Promise<void> {
  await fetch(`${s.cfg.url}/reset_prefix_cache`, { method: "POST", headers: adminHeaders() })
    .then(async (r) => {
      const text = await r.text();
      if (!r.ok) throw new Error(`HTTP ${r.status} ${text.slice(0, 200)}`);
    })
    .catch((e) => s.log.warn(`reset_prefix_cache failed: ${errorMessage(e)}`));
}

/**
 * The load point's origin (`performance.now()`): now, or for workers
 * (`--start-at`) one shared instant, slept until; a late start shows up as send lag.
 */
async function startInstant(s: RunSession, k: number, workerStart: boolean): Promise<number> {
  const { cfg } = s;
  const startAtMs = k === 0 && cfg.startAt !== undefined
    ? (cfg.startAt === "stdin" ? await readStartAt() : cfg.startAt)
    : undefined;
  if (cfg.resetPrefixCache && workerStart) await resetPrefixCache(s); // within the start margin
  if (startAtMs === undefined) return performance.now();
  await sleepUntil(performance.now() + startAtMs - Date.now(), s.stop.signal);
  return performance.now() + startAtMs - Date.now();
}

/** Worker side of `--start-at stdin`: says it is ready, reads the start instant (Unix ms). */
async function readStartAt(): Promise<number> {
  console.error(READY_LINE);
  let text = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    const m = /^\s*(\d+)\s*$/m.exec(text);
    if (m) return Number(m[1]);
  }
  throw new SyntaxError(
    `Cannot use stdin as a start instant (Unix ms) for --start-at stdin: current value is ${
      JSON.stringify(text.slice(0, 80))
    }`,
  );
}
