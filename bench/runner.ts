import type { MetricsCompat, ResponsePaths } from "./client.ts";
import { setImmediate } from "node:timers";
/**
 * Drives one load run: sends requests on an absolute-clock schedule (open
 * loop, optionally capped by a concurrency limit) or with N closed-loop users,
 * chains multi-turn conversations (turn t+1 only after turn t finished plus
 * think time), and hands every finished request to `onResult` at once.
 * Stops sending on `stop`; in-flight requests are aborted on `cancel`.
 *
 * @module
 */
import { LazyTokenizer, type Tokenizer } from "../lib/tokenizer.ts";
import { type ClientResult, sendStreaming } from "./client.ts";
import type { RequestSpec } from "./workload/types.ts";
import type { EndpointKind } from "./workload/_spec.ts";
import { turnSpec } from "./workload/multiturn.ts";
import type { Job } from "./work_source.ts";
import { Waker } from "./_waker.ts";

/** One finished request as the runner saw it. */
export interface Finished {
  spec: RequestSpec;
  result: ClientResult;
  scheduledMs: number;
  /** Output tokens: usage, else the client tokenizer's count of the text. */
  outputTokens: number;
  /** True when `outputTokens` came from the client tokenizer. */
  outputFromTokenizer: boolean;
}

/** The load one run plays, in either clock: work, schedule and concurrency. */
export interface LoadPlan {
  tokenizer: Tokenizer;
  endpoint: EndpointKind;
  /** The jobs in schedule order, drawn as they are due (offsets ignored in a closed loop). */
  jobs: Iterator<Job, void, undefined>;
  /** Closed loop with this many users when `closedLoop`, else a cap on in-flight requests. */
  concurrency?: number;
  closedLoop: boolean;
  /** Closed loop stops starting new work after this offset. */
  durationMs?: number;
}

/** Options of {@linkcode runLoad}. */
export interface RunLoadOptions extends LoadPlan {
  /** Full endpoint URL. */
  url: string;
  /** JSON body of a spec. */
  body: (spec: RequestSpec) => string;
  timeoutMs: number;
  /** `performance.now()` of run start. */
  originMs: number;
  /** Stop sending. */
  stop: AbortSignal;
  /** Abort in-flight requests. */
  cancel: AbortSignal;
  /** Metric definitions (`--metrics-compat`). @default "topobench" */
  compat?: MetricsCompat;
  /** Where text and output tokens are in a whole (non-SSE) JSON answer. */
  responsePaths?: ResponsePaths;
  onResult: (f: Finished) => void;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /**
   * Whether the bodies ask for a stream (SSE is then recognised by its bytes,
   * whatever the Content-Type). @default true
   */
  stream?: boolean;
  /** Called before a {@linkcode LazyTokenizer} is loaded mid-run (a server sent no usage). */
  onTokenizerLoad?: () => void;
  /** Wakes the arrival loop; one is started (and stopped) here when not given. */
  waker?: Waker;
}

/** Counters while running. */
export interface RunState {
  sent: number;
  done: number;
  failed: number;
  inFlight: number;
  maxInFlight: number;
}

/** Runs the load; resolves when everything sent has finished. */
export async function runLoad(o: RunLoadOptions, state: RunState = newState()): Promise<RunState> {
  const now = () => performance.now() - o.originMs;
  const cap = o.concurrency ?? Infinity;
  const waiters: (() => void)[] = [];
  let slots = cap;
  const acquire = (): Promise<void> | void => {
    if (slots > 0) {
      slots--;
      return;
    }
    return new Promise((r) => waiters.push(r));
  };
  const release = () => {
    const w = waiters.shift();
    if (w) w();
    else slots++;
  };
  o.stop.addEventListener("abort", () => {
    while (waiters.length) waiters.shift()!();
  }, { once: true });

  let loading: Promise<unknown> | null = null;

  async function runJob(job: Job, startMs: number): Promise<void> {
    const conv = job.conversation;
    const turns = conv ? conv.turns.length : 1;
    const answers: { text: string; tokens: number }[] = [];
    let scheduled = startMs;
    for (let t = 1; t <= turns; t++) {
      if (t > 1) {
        scheduled = now() + conv!.thinkTimeMs[t - 2];
        await sleepUntil(o.originMs + scheduled, o.stop);
      }
      if (o.stop.aborted) return;
      if (!o.closedLoop) await acquire();
      if (o.stop.aborted) return;
      const base: RequestSpec = conv
        ? turnSpec(o.tokenizer, o.endpoint, conv, t, answers)
        : job.request!;
      const spec = job.className ? { ...base, className: job.className } : base;
      state.sent++;
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      const result = await sendStreaming({
        url: o.url,
        body: o.body(spec),
        requestId: spec.requestId,
        sessionId: conv ? conv.conversationId : undefined,
        timeoutMs: o.timeoutMs,
        signal: o.cancel,
        originMs: o.originMs,
        headers: o.headers,
        compat: o.compat,
        responsePaths: o.responsePaths,
        stream: o.stream,
      });
      state.inFlight--;
      if (!o.closedLoop) release();
      const fromTok = result.completionTokens === null;
      if (fromTok && result.text && o.tokenizer instanceof LazyTokenizer && !o.tokenizer.loaded) {
        // no usage from the server: the client tokenizer counts (loaded now, once)
        if (!loading) {
          o.onTokenizerLoad?.();
          loading = o.tokenizer.load();
        }
        await loading;
      }
      const outputTokens = result.completionTokens ??
        (result.text ? o.tokenizer.encode(result.text).length : 0);
      state.done++;
      if (result.error) state.failed++;
      o.onResult({
        spec,
        result,
        scheduledMs: scheduled,
        outputTokens,
        outputFromTokenizer: fromTok,
      });
      if (result.error) return;
      answers.push({ text: result.text, tokens: outputTokens });
    }
  }

  const running = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    running.add(p);
    p.finally(() => running.delete(p));
  };
  if (o.closedLoop) {
    const user = async () => {
      while (!o.stop.aborted) {
        if (o.durationMs !== undefined && now() >= o.durationMs) return;
        const job = o.jobs.next();
        if (job.done) return;
        await runJob(job.value, now());
      }
    };
    await Promise.all(Array.from({ length: o.concurrency ?? 1 }, user));
  } else {
    // sends that are already due go out back to back, yielding to the event loop
    // every few so that signals, timers and answers are served even when the
    // client falls behind its schedule
    let burst = 0;
    using own = o.waker ? null : new Waker();
    const waker = o.waker ?? own!;
    // a session's next request (trace replay) goes after the one before it has ended
    const sessions = new Map<string, Promise<void>>();
    const inSession = (j: Job, key: string) => {
      const prev = sessions.get(key);
      const p = prev
        ? prev.then(() => runJob(j, Math.max(j.offsetMs, now())))
        : runJob(j, j.offsetMs);
      sessions.set(key, p);
      p.finally(() => {
        if (sessions.get(key) === p) sessions.delete(key);
      });
      track(p);
    };
    for (let job = o.jobs.next(); !job.done; job = o.jobs.next()) {
      const due = o.originMs + job.value.offsetMs;
      if (due > performance.now()) {
        burst = 0;
        await waker.sleepUntil(due, o.stop);
      } else if (++burst >= YIELD_EVERY) {
        burst = 0;
        await new Promise((r) => setImmediate(r));
      }
      if (o.stop.aborted) break;
      if (job.value.session !== undefined) inSession(job.value, job.value.session);
      else track(runJob(job.value, job.value.offsetMs));
    }
  }
  while (running.size) await Promise.all([...running]);
  return state;
}

/** Overdue sends issued back to back before the runner yields to the event loop. */
const YIELD_EVERY = 16;

/** Fresh counters. */
export function newState(): RunState {
  return { sent: 0, done: 0, failed: 0, inFlight: 0, maxInFlight: 0 };
}

/**
 * Sleeps until `performance.now()` reaches `atMs`, or `signal` aborts: a timer
 * set 1.5 ms early (timers fire about 1 ms late, and a delay under 1 ms takes 2),
 * then event-loop turns for what is left, so the spin is short and the send on time.
 */
export async function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    const ms = atMs - performance.now();
    if (ms <= 0 || signal.aborted) return;
    if (ms > 2.5) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const t = setTimeout(done, ms - 1.5);
        signal.addEventListener("abort", done, { once: true });
      });
    } else {
      await new Promise((r) => setImmediate(r));
    }
  }
}
