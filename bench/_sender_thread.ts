/**
 * One sender thread of a run that sends from several (`--senders N`, the pool
 * in `_sender_pool.ts`): the main thread draws the one schedule and hands
 * each job to a thread ahead of its due time; here the jobs are played by the
 * one load driver on the wall clock, from the run's shared start instant
 * (converted through `performance.timeOrigin`, so every thread keeps one
 * clock), and the finished rows go back in batches. The thread is the bench
 * entry itself, started as a worker named {@linkcode SENDER_THREAD} (so the
 * bundled `bench.js` carries it).
 *
 * @module
 */
import { errorMessage } from "../lib/errors.ts";
import type { RequestRow } from "../lib/result_schema.ts";
import { LazyTokenizer, loadTokenizer, type Tokenizer } from "../lib/tokenizer.ts";
import type { BenchConfig } from "./bench_config.ts";
import { type Gaps, requestRow } from "./record.ts";
import { type Finished, newState, runLoad, type RunState } from "./runner.ts";
import type { Job } from "./work_source.ts";
import { JobFeed } from "./_job_feed.ts";
import type { RequestSpec } from "./workload/types.ts";
import { bodyOf } from "./_target.ts";
import type { BodyPayload } from "./request_body.ts";
import { timerSleep } from "../lib/clock.ts";

/** The worker name of a sender thread. */
export const SENDER_THREAD = "topobench-sender";

/** Rows a thread holds before it sends a batch, at most. */
const BATCH_ROWS = 256;
/** How long a row waits in a batch, at most (ms): fewer, larger messages between the threads. */
const BATCH_MS = 50;
/** Answers whose token counts a thread hands back to be counted again, at most (`AnswerChecks`). */
const SAMPLE = 500;

/** What a thread is told once: the run's settings and what the main thread found out. */
export interface SenderInit {
  t: "init";
  cfg: BenchConfig;
  model: string;
  /** Full endpoint URL. */
  url: string;
  streamAsked: boolean | undefined;
  /** The main thread's tokenizer is lazy and unloaded (the server sends usage). */
  lazyTokenizer: boolean;
}

/** Messages to a thread. */
export type ToSender =
  | SenderInit
  | { t: "point"; runId: string; loadPoint: string; originEpochMs: number }
  | { t: "jobs"; jobs: Job[]; end: boolean }
  | { t: "stop" }
  | { t: "cancel" };

/** A batch of finished requests and the thread's counters. */
export interface RowBatch {
  t: "rows";
  rows: RequestRow[];
  /** Every row's inter-token gaps (ms) in row order; row i has `gapCounts[i]`. */
  gaps: Float64Array;
  gapCounts: Int32Array;
  /** Answers that came whole, the first odd SSE Content-Type, answers to count again. */
  whole: number;
  oddContentType: string;
  samples: { text: string; tokens: number }[];
  sent: number;
  inFlight: number;
}

/** Messages from a thread. */
export type FromSender =
  | { t: "ready" }
  | RowBatch
  | { t: "beat"; sent: number; inFlight: number }
  | { t: "log"; text: string }
  | { t: "done" }
  | { t: "error"; message: string };

/** What a worker's global scope offers here. */
interface WorkerScope {
  name?: string;
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

/** Whether this code runs as a sender thread. */
export function isSenderThread(): boolean {
  return "WorkerGlobalScope" in globalThis && scope.name === SENDER_THREAD;
}

/** Rows of one load point on their way back. */
class Batcher {
  rows: RequestRow[] = [];
  gaps: number[] = [];
  counts: number[] = [];
  whole = 0;
  odd = "";
  samples: { text: string; tokens: number }[] = [];
  #sampled = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly post: (m: FromSender) => void, readonly state: RunState) {}

  add(f: Finished, row: RequestRow, itlMs: Gaps): void {
    const n = itlMs.length;
    for (let i = 0; i < n; i++) this.gaps.push(itlMs.at(i));
    this.rows.push(row);
    this.counts.push(n);
    if (!f.result.streamed) this.whole++;
    if (f.result.oddContentType && !this.odd) this.odd = f.result.oddContentType;
    if (!f.result.error && !f.outputFromTokenizer && this.#sampled < SAMPLE) {
      this.#sampled++;
      this.samples.push({ text: f.result.text, tokens: f.outputTokens });
    }
    if (this.rows.length >= BATCH_ROWS) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.rows.length) return;
    const s = this.state;
    this.post({
      t: "rows",
      rows: this.rows,
      gaps: Float64Array.from(this.gaps),
      gapCounts: Int32Array.from(this.counts),
      whole: this.whole,
      oddContentType: this.odd,
      samples: this.samples,
      sent: s.sent,
      inFlight: s.inFlight,
    });
    this.rows = [];
    this.gaps = [];
    this.counts = [];
    this.whole = 0;
    this.samples = [];
  }
}

/** A sender thread's state between messages. */
class SenderThread {
  #init: SenderInit | null = null;
  #tok: Tokenizer | null = null;
  #body: ((s: RequestSpec) => BodyPayload) | null = null;
  #feed: JobFeed | null = null;
  #stop = new AbortController();
  #cancel = new AbortController();

  constructor(readonly post: (m: FromSender) => void) {}

  async on(m: ToSender): Promise<void> {
    if (m.t === "init") {
      this.#init = m;
      this.#tok = m.lazyTokenizer ? new LazyTokenizer() : await loadTokenizer(m.cfg.tokenizer);
      this.#body = await bodyOf(m.cfg, m.model);
      this.post({ t: "ready" });
    } else if (m.t === "point") {
      this.#feed = new JobFeed();
      this.#stop = new AbortController();
      this.#cancel = new AbortController();
      await this.#point(m.runId, m.loadPoint, m.originEpochMs - performance.timeOrigin);
    } else if (m.t === "jobs") this.#feed?.add(m.jobs, m.end);
    else if (m.t === "stop") {
      this.#stop.abort();
      this.#feed?.end();
    } else if (m.t === "cancel") this.#cancel.abort();
  }

  async #point(runId: string, loadPoint: string, originMs: number): Promise<void> {
    const { cfg, url, streamAsked } = this.#init!;
    const feed = this.#feed!;
    const state = newState();
    const out = new Batcher(this.post, state);
    const beat = setInterval(
      () => this.post({ t: "beat", sent: state.sent, inFlight: state.inFlight }),
      250, // ms: the progress line's sent count while no row comes back
    );
    const toReal = (ms: number) => ms / cfg.timeScale;
    try {
      await runLoad({
        url,
        tokenizer: this.#tok!,
        endpoint: cfg.dataset.endpoint,
        body: this.#body!,
        timeoutMs: toReal(cfg.timeoutS * 1000),
        stallTimeoutMs: toReal(cfg.stallTimeoutS * 1000),
        stop: this.#stop.signal,
        cancel: this.#cancel.signal,
        compat: cfg.metricsCompat,
        responsePaths: { text: cfg.responseTextPath, tokens: cfg.responseTokensPath },
        stream: streamAsked,
        // a timer per wake-up, not a waker thread: at a thread's thousands of arrivals a
        // second, a wake-up through another thread cost ~0.2 ms of CPU each (measured)
        sleep: timerSleep,
        jobs: feed,
        moreJobs: feed.more,
        closedLoop: false,
        originMs,
        onResult: (f) => {
          const { row, itlMs } = requestRow(f, runId, loadPoint, cfg.timeScale);
          out.add(f, row, itlMs);
        },
        onTokenizerLoad: () =>
          this.post({
            t: "log",
            text: "the server sent no usage: a sender thread loads the client tokenizer",
          }),
      }, state);
    } finally {
      clearInterval(beat);
      out.flush();
    }
    this.post({ t: "done" });
  }
}

/** Runs this worker as a sender thread: answers the pool's messages until it is terminated. */
export function serveSenderThread(): void {
  const post = (m: FromSender) => scope.postMessage(m);
  const thread = new SenderThread(post);
  scope.onmessage = (e: MessageEvent<ToSender>) => {
    thread.on(e.data).catch((err) => post({ t: "error", message: errorMessage(err) }));
  };
}
