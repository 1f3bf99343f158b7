/**
 * Sending one load point from several threads under one schedule
 * (`--senders N`): this thread draws the jobs exactly as a one-thread run
 * does, hands each job to a sender in a fixed weighted turn (sender 0 takes
 * {@linkcode MAIN_WEIGHT} of a worker's share; a trace session's jobs go to
 * one sender, by its key) up to {@linkcode LOOKAHEAD_MS} before they are due, and each
 * sender sends them at their offsets from the shared start instant: sender 0
 * is this thread (N threads busy in all, not N + 1), the others are worker
 * threads (`_sender_thread.ts`). Rows come back in batches and are recorded here, in the one
 * `requests.csv` and summary: what a run sends and records does not depend on
 * N, only its timing columns do.
 *
 * @module
 */
import { LazyTokenizer } from "../lib/tokenizer.ts";
import type { BenchConfig } from "./bench_config.ts";
import { Gaps } from "./record.ts";
import type { Job } from "./work_source.ts";
import type { PointOutcome, PointRun } from "./_executor.ts";
import type { RunSession } from "./_session.ts";
import { type FromSender, type RowBatch, SENDER_THREAD, type ToSender } from "./_sender_thread.ts";
import { timerSleep } from "../lib/clock.ts";
import { newState, type RunState } from "./runner.ts";
import { sendLoad } from "./_executor.ts";
import { JobFeed } from "./_job_feed.ts";

/** The rate one thread keeps with send-lag p99 ≤ 5 ms on a 2-core host (`deno task perf --only bench`). */
export const ONE_SENDER_RPS = 1500;
/** How far ahead of its due time a job is handed to its thread (ms). */
export const LOOKAHEAD_MS = 60;
/** How often the schedule is drawn up to the lookahead (ms). */
const TICK_MS = 20;
/**
 * Sender 0's share of the jobs against a worker thread's 1: the main thread
 * also draws every prompt (~25 µs each) and records every row (~20 µs), against
 * ~150 µs a request costs its sender (CPU profiles of 2-sender runs at 2,000
 * req/s, 2026-12-07: main thread 78% busy, the worker 56%). An estimate, not a
 * fit: (150 − 45) / 150 ≈ 0.7, rounded down for the dealing and intake.
 */
export const MAIN_WEIGHT = 0.6;

/**
 * The sender threads of a run: `--senders N`, or with `auto` one per
 * {@linkcode ONE_SENDER_RPS} of real-time rate up to `cores` − 1 (one core left
 * to the rest: on a 2-core host shared with the server a second sender cost
 * 9–39% more CPU per request than it freed, `docs/performance.md`); always 1 for a
 * closed loop, a concurrency cap or `--saturation-stop on` (one thread's rule).
 */
export function sendersFor(cfg: BenchConfig, cores = navigator.hardwareConcurrency): number {
  const open = Number.isFinite(cfg.rateRps) && cfg.concurrency === undefined &&
    cfg.saturationStop !== "on";
  if (!open) return 1;
  if (cfg.senders !== "auto") return cfg.senders;
  const realRps = cfg.rateRps / cfg.timeScale;
  return Math.max(1, Math.min(cores - 1, Math.ceil(realRps / ONE_SENDER_RPS)));
}

/** A sender thread and what it last said. */
interface Thread {
  worker: Worker;
  sent: number;
  inFlight: number;
}

/** The threads sending a run's load points (see the module doc). */
export class SenderPool {
  #listen: (i: number, m: FromSender) => void = () => {};
  #fail: (e: Error) => void = () => {};

  private constructor(readonly s: RunSession, readonly threads: Thread[]) {
    threads.forEach((t, i) => {
      t.worker.onmessage = (e: MessageEvent<FromSender>) => this.#listen(i, e.data);
      t.worker.onerror = (e) => {
        e.preventDefault();
        this.#fail(new Error(`sender thread ${i}: ${e.message}`));
      };
    });
  }

  /**
   * Starts the `n` − 1 worker threads of `n` senders (this thread is sender 0)
   * running `selfUrl` (the bench entry), and waits until each is ready.
   */
  static async start(s: RunSession, n: number, selfUrl: string): Promise<SenderPool> {
    const threads = Array.from({ length: n - 1 }, () => ({
      worker: new Worker(selfUrl, { type: "module", name: SENDER_THREAD }),
      sent: 0,
      inFlight: 0,
    }));
    const pool = new SenderPool(s, threads);
    let ready = 0;
    const started = pool.#until((_, m) => m.t === "ready" && ++ready === n - 1, () => {
      const init: ToSender = {
        t: "init",
        cfg: s.cfg,
        model: s.target.model,
        url: s.target.url,
        streamAsked: s.target.streamAsked,
        lazyTokenizer: s.target.tok instanceof LazyTokenizer && !s.target.tok.loaded,
      };
      for (const t of threads) t.worker.postMessage(init);
    });
    // a thread that cannot start ends them all (a live worker would keep the process up)
    await started.catch((e) => {
      pool.close();
      throw e;
    });
    return pool;
  }

  /** Resolves once `settled` says so of a message; rejects on a thread's error. */
  #until(settled: (i: number, m: FromSender) => boolean, begin: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#fail = reject;
      this.#listen = (i, m) => {
        if (m.t === "error") reject(new Error(`sender thread ${i}: ${m.message}`));
        else if (m.t === "log") this.s.log.warn(m.text);
        else if (settled(i, m)) resolve();
      };
      begin();
    });
  }

  #post(i: number, m: ToSender): void {
    this.threads[i].worker.postMessage(m);
  }

  /**
   * Sends one load point: the schedule handed out (sender 0 is this thread,
   * its jobs never copied), the rows recorded as they come.
   */
  async run(p: PointRun): Promise<PointOutcome> {
    const n = this.threads.length + 1;
    const point: ToSender = {
      t: "point",
      runId: p.runId,
      loadPoint: p.loadPoint,
      originEpochMs: performance.timeOrigin + p.originMs,
    };
    for (const t of this.threads) Object.assign(t, { sent: 0, inFlight: 0 });
    const here = new LocalSender();
    const post = (i: number, m: ToSender) => i === 0 ? here.on(m) : this.#post(i - 1, m);
    const deal = new Dealer(n, p.work!.jobs, post, (e) => this.#fail(e));
    const stop = () => deal.stop();
    const cancel = () => this.threads.forEach((_, i) => this.#post(i, { t: "cancel" }));
    this.s.stop.signal.addEventListener("abort", stop);
    this.s.cancel.signal.addEventListener("abort", cancel);
    let left = n - 1;
    try {
      const threads = this.#until((i, m) => {
        if (m.t === "rows") this.#rows(p, i, m, here.state);
        else if (m.t === "beat") this.#counters(p, i, m.sent, m.inFlight, here.state);
        return m.t === "done" && --left === 0;
      }, () => {
        for (const t of this.threads) t.worker.postMessage(point);
        if (this.s.stop.signal.aborted) stop();
        else deal.pump(p.originMs);
      });
      await Promise.all([threads, this.#sendHere(p, here)]);
    } finally {
      deal.stop();
      this.s.stop.signal.removeEventListener("abort", stop);
      this.s.cancel.signal.removeEventListener("abort", cancel);
    }
    return { mismatches: 0, complete: true, senders: n };
  }

  /** Sender 0's share, sent from this thread as the run's own rows. */
  async #sendHere(p: PointRun, here: LocalSender): Promise<void> {
    const st = p.state;
    await sendLoad(this.s, {
      jobs: here.feed,
      moreJobs: here.feed.more,
      closedLoop: false,
      originMs: p.originMs,
      stop: here.stop.signal,
      sleep: timerSleep, // as the worker threads sleep: no wake-up through another thread
      onResult: (f) => {
        p.onResult(f);
        st.done++;
        if (f.result.error) st.failed++;
        this.#counters(p, -1, 0, 0, here.state);
      },
    }, here.state);
  }

  /** A batch of rows: recorded, counted, its answers checked. */
  #rows(p: PointRun, i: number, m: RowBatch, local: RunState): void {
    const st = p.state;
    let off = 0;
    for (let k = 0; k < m.rows.length; k++) {
      const row = m.rows[k], c = m.gapCounts[k];
      p.sink.add(row, Gaps.of(m.gaps.subarray(off, off + c)));
      off += c;
      st.done++;
      if (row.error) st.failed++;
    }
    p.checks.addBatch(m.whole, m.samples);
    if (m.oddContentType) this.s.noteContentType(m.oddContentType);
    this.#counters(p, i, m.sent, m.inFlight, local);
  }

  /**
   * Thread `i`'s counters (-1: none new): sent is the sum of every sender's;
   * the peak in flight is the largest sum of their latest counts (the worker
   * threads' sampled: a lower bound).
   */
  #counters(p: PointRun, i: number, sent: number, inFlight: number, local: RunState): void {
    if (i >= 0) {
      const t = this.threads[i];
      t.sent = sent;
      t.inFlight = inFlight;
    }
    let s = local.sent, f = local.inFlight;
    for (const x of this.threads) {
      s += x.sent;
      f += x.inFlight;
    }
    p.state.sent = s;
    p.state.inFlight = f;
    if (f > p.state.maxInFlight) p.state.maxInFlight = f;
  }

  /** Ends the threads. */
  close(): void {
    for (const t of this.threads) t.worker.terminate();
  }
}

/** Sender 0: this thread's share of the schedule. */
class LocalSender {
  readonly feed = new JobFeed();
  readonly stop = new AbortController();
  readonly state = newState();

  /** What the dealer tells sender 0 (a cancel reaches it through the run's own signal). */
  on(m: ToSender): void {
    if (m.t === "jobs") this.feed.add(m.jobs, m.end);
    else if (m.t === "stop") {
      this.stop.abort();
      this.feed.end();
    }
  }
}

/** Hands the schedule's jobs to the threads, {@linkcode LOOKAHEAD_MS} ahead of their offsets. */
class Dealer {
  #head: IteratorResult<Job, void>;
  #over = false;
  /** Smooth weighted round robin: each sender's credit (sender 0 weighs {@linkcode MAIN_WEIGHT}). */
  readonly #credit: number[];
  readonly #weights: number[];
  readonly #total: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly n: number,
    readonly jobs: Iterator<Job, void, undefined>,
    readonly post: (i: number, m: ToSender) => void,
    readonly fail: (e: Error) => void,
  ) {
    this.#head = jobs.next();
    this.#weights = Array.from({ length: n }, (_, i) => (i === 0 ? MAIN_WEIGHT : 1));
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
    this.#credit = new Array<number>(n).fill(0);
  }

  /**
   * The sender of a job: its session's (by key), else the next in a fixed
   * weighted turn (the same for every run of N senders).
   */
  #pick(j: Job): number {
    if (j.session === undefined) {
      const c = this.#credit;
      let best = 0;
      for (let i = 0; i < this.n; i++) {
        c[i] += this.#weights[i];
        if (c[i] > c[best]) best = i;
      }
      c[best] -= this.#total;
      return best;
    }
    let h = 0;
    for (let k = 0; k < j.session.length; k++) h = (h * 31 + j.session.charCodeAt(k)) | 0;
    return (h >>> 0) % this.n;
  }

  /** Deals every job due before now + the lookahead, then again in a tick until the schedule ends. */
  pump(originMs: number): void {
    try {
      this.#deal(originMs);
    } catch (e) {
      this.stop();
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  #deal(originMs: number): void {
    if (this.#over) return;
    const horizon = performance.now() - originMs + LOOKAHEAD_MS;
    const out: Job[][] = Array.from({ length: this.n }, () => []);
    while (!this.#head.done && this.#head.value.offsetMs <= horizon) {
      const j = this.#head.value;
      out[this.#pick(j)].push(j);
      this.#head = this.jobs.next();
    }
    const end = !!this.#head.done;
    for (let i = 0; i < this.n; i++) {
      if (out[i].length || end) this.post(i, { t: "jobs", jobs: out[i], end });
    }
    if (end) this.#over = true;
    else this.#timer = setTimeout(() => this.pump(originMs), TICK_MS);
  }

  /** Stops dealing: each thread ends its schedule. */
  stop(): void {
    clearTimeout(this.#timer);
    if (this.#over) return;
    this.#over = true;
    for (let i = 0; i < this.n; i++) this.post(i, { t: "stop" });
  }
}
