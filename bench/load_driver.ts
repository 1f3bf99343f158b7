/**
 * The one load driver, for every clock: plays a {@linkcode LoadPlan} on a
 * {@linkcode Clock} through a {@linkcode Sender}. Open loop: each job starts
 * at its offset (the next is drawn when one is due, so a schedule is never
 * held whole), optionally capped by a concurrency limit; a trace session's
 * request waits until the session's previous one has ended. Closed loop: N
 * users each start their next job when theirs ends, until the jobs or the
 * duration run out. A conversation's turn t+1 is sent its think time after
 * turn t finished. `stop` ends sending; the run settles once nothing is in
 * flight. With a saturation detector (`lib/saturation.ts`) the driver stops
 * sending once the queue has clearly diverged and ends the requests still in
 * flight at once as cancelled (rows kept whole, each an error: an SLO miss);
 * `state.saturated` says when and why. Callbacks only: on the virtual clock a run is synchronous and
 * repeats exactly; on the wall clock the clock's pump keeps arrivals on time.
 *
 * @module
 */
import type { Clock } from "../lib/clock.ts";
import type { SaturationDetector, SaturationVerdict } from "../lib/saturation.ts";
import { verdictText } from "../lib/saturation.ts";
import type { Tokenizer } from "../lib/tokenizer.ts";
import { type ClientResult, emptyResult } from "./client.ts";
import type { RequestSpec } from "./workload/types.ts";
import type { EndpointKind } from "./workload/_spec.ts";
import { turnSpec } from "./workload/multiturn.ts";
import type { Job } from "./work_source.ts";

/** One finished request as the driver saw it. */
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
  /**
   * A live feed of jobs (another thread draws the schedule): asked when `jobs`
   * has none left, it resolves once more may be drawn, or is null when the feed
   * has ended. @default none (`jobs` ending ends the schedule)
   */
  moreJobs?: () => Promise<void> | null;
}

/** Counters while running. */
export interface RunState {
  sent: number;
  done: number;
  failed: number;
  inFlight: number;
  maxInFlight: number;
  /** The saturation rule's verdict once it stopped the run, else null. */
  saturated: SaturationVerdict | null;
}

/** Fresh counters. */
export function newState(): RunState {
  return { sent: 0, done: 0, failed: 0, inFlight: 0, maxInFlight: 0, saturated: null };
}

/** One request for a sender. */
export interface SendRequest {
  spec: RequestSpec;
  /** The conversation it belongs to (sticky routing). */
  session?: string;
  /** Whether the answer's text is read (by the conversation's next turn). */
  keepText: boolean;
}

/** An answer as a conversation's next turn re-sends it. */
export interface Answer {
  readonly text: string;
  readonly tokens: number;
}

/** What a sender heard back. */
export interface Sent {
  result: ClientResult;
  outputTokens: number;
  outputFromTokenizer: boolean;
  /** The answer to re-send, when the sender gives it apart (virtual time: text built when read). @default result.text */
  answer?: Answer;
}

/** Sends requests in some clock: over HTTP, or into a virtual topology. */
export interface Sender {
  /**
   * Sends one request and calls `done` once it has ended (never before `send`
   * returns). A returned promise that rejects fails the run.
   */
  send(req: SendRequest, done: (s: Sent) => void): void | Promise<unknown>;
  /** A job starts (before its first request) and ends (after its last). */
  open?(job: Job): void;
  close?(job: Job): void;
}

/** Options of {@linkcode runLoad} beside the plan. */
export interface DriveOptions {
  /** Every finished request, at once. */
  onResult?: (f: Finished) => void;
  /** Stop starting requests (in-flight ones finish). */
  stop?: AbortSignal;
  /** Counters to update. @default newState() */
  state?: RunState;
  /**
   * Stop the run when this detector says the queue has diverged: sending stops
   * and the requests in flight end as cancelled. @default null (never)
   */
  saturation?: SaturationDetector | null;
  /** Called once when the saturation rule stops the run (before its requests are cancelled). */
  onSaturated?: (v: SaturationVerdict) => void;
}

/**
 * A request in flight, also what the sender is handed: ended once (by its
 * answer, or a cancel while a saturation detector watches).
 */
class Pending implements SendRequest {
  over = false;
  /** Its neighbours among the watched requests, in send order (a list: no hashing per request). */
  prev: Pending | null = null;
  next: Pending | null = null;

  constructor(
    readonly r: Running,
    readonly t: number,
    readonly spec: RequestSpec,
    readonly scheduledMs: number,
    readonly sentMs: number,
    readonly session: string | undefined,
    readonly keepText: boolean,
  ) {}
}

/**
 * A job while it runs: its turns' answers so far, what follows its end, and
 * its next turn while that waits out the think time.
 */
class Running {
  readonly answers: Answer[] = [];
  /** The turn due next and when it was due (ms), while it waits. */
  t = 0;
  dueMs = 0;
  /** Runs the waiting turn (made once per job, when it first waits). */
  turnDue: (() => void) | null = null;

  constructor(readonly job: Job, readonly then: () => void) {}
}

const NOTHING = () => {};

/** What a request cancelled by the saturation stop gives: no answer, an error. */
function cancelled(sentMs: number, endMs: number, error: string): Sent {
  const result = emptyResult();
  result.sentMs = sentMs;
  result.endMs = endMs;
  result.e2eMs = endMs - sentMs;
  result.error = error;
  return { result, outputTokens: 0, outputFromTokenizer: false };
}

/**
 * Plays `plan` on `clock` through `sender`; resolves with the counters once
 * everything started has ended (or, after `stop`, once nothing is in flight).
 */
export function runLoad(
  plan: LoadPlan,
  clock: Clock,
  sender: Sender,
  o: DriveOptions = {},
): Promise<RunState> {
  return new Driver(plan, clock, sender, o).start();
}

class Driver {
  readonly state: RunState;
  #slots: number;
  readonly #waiters: (() => void)[] = [];
  /** Per trace session, the jobs waiting for the one running to end. */
  readonly #sessions = new Map<string, Job[]>();
  /** Jobs started (or queued in a session) and not ended. */
  #jobs = 0;
  /** Arrival streams (or closed-loop users) still drawing jobs. */
  #drawing = 0;
  #stopped = false;
  /** Requests in flight, kept only while a saturation detector watches. */
  #first: Pending | null = null;
  #last: Pending | null = null;
  #settle: ((e?: unknown) => void) | null = null;
  readonly #onStop = () => this.#stop();

  constructor(
    readonly plan: LoadPlan,
    readonly clock: Clock,
    readonly sender: Sender,
    readonly o: DriveOptions,
  ) {
    this.state = o.state ?? newState();
    this.#slots = plan.closedLoop ? Infinity : plan.concurrency ?? Infinity;
  }

  start(): Promise<RunState> {
    const done = new Promise<RunState>((resolve, reject) => {
      this.#settle = (e) => {
        this.#settle = null;
        this.o.stop?.removeEventListener("abort", this.#onStop);
        if (e === undefined) resolve(this.state);
        else reject(e);
      };
    });
    if (this.o.stop?.aborted) this.#stopped = true;
    else this.o.stop?.addEventListener("abort", this.#onStop, { once: true });
    this.#guard(() => {
      if (this.plan.closedLoop) {
        const users = this.plan.concurrency ?? 1;
        this.#drawing = users;
        for (let u = 0; u < users; u++) this.clock.at(0, this.#guard(() => this.#user()));
      } else {
        this.#drawing = 1;
        this.#next();
      }
      this.#check();
    })();
    return done;
  }

  /** Wraps a callback so that a throw fails the run (and stops it) instead of escaping. */
  #guard(fn: () => void): () => void {
    return () => {
      try {
        fn();
      } catch (e) {
        this.#fail(e);
      }
    };
  }

  #fail(e: unknown): void {
    this.#settle?.(e ?? new Error("load driver failed"));
    this.#stop();
  }

  #stop(): void {
    this.#stopped = true;
    while (this.#waiters.length) this.#waiters.shift()!();
    this.#check();
  }

  /** Settles once nothing is left to do (after stop: once nothing is in flight). */
  #check(): void {
    if (!this.#settle) return;
    const idle = this.#stopped
      ? this.state.inFlight === 0
      : this.#drawing === 0 && this.#jobs === 0;
    if (idle) this.#settle();
  }

  /** Open loop: schedules the next arrival (each draws the one after it when it is due). */
  #next(): void {
    const next = this.#stopped ? undefined : this.plan.jobs.next();
    if (!next || next.done) {
      const more = next && this.plan.moreJobs?.();
      if (!more) this.#drawing--;
      else {
        more.then(
          this.#guard(() => {
            this.#next();
            this.#check();
          }),
          (e) => this.#fail(e),
        );
      }
      return;
    }
    const job = next.value;
    this.clock.at(job.offsetMs, () => this.#arrive(job));
  }

  /** A job is due: the next one is drawn, this one starts (a throw fails the run). */
  #arrive(job: Job): void {
    try {
      if (this.#stopped) return;
      this.#next();
      this.#jobs++;
      if (job.session === undefined) this.#run(job, job.offsetMs, NOTHING);
      else this.#inSession(job, job.session);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** A session's request goes after the one before it has ended (trace replay). */
  #inSession(job: Job, key: string): void {
    const queue = this.#sessions.get(key);
    if (queue) {
      queue.push(job);
      return;
    }
    this.#sessions.set(key, []);
    const after = () => {
      const next = this.#sessions.get(key)!.shift();
      if (!next) this.#sessions.delete(key);
      else this.#run(next, Math.max(next.offsetMs, this.clock.nowMs()), after);
    };
    this.#run(job, job.offsetMs, after);
  }

  /** Closed loop: one user starts its next job, unless the jobs or the duration ran out. */
  #user(): void {
    const { durationMs, jobs } = this.plan;
    const now = this.clock.nowMs();
    const next = this.#stopped || (durationMs !== undefined && now >= durationMs)
      ? undefined
      : jobs.next();
    if (!next || next.done) {
      this.#drawing--;
      this.#check();
      return;
    }
    this.#jobs++;
    this.#run(next.value, now, () => this.#user());
  }

  /** Runs a job's turns from the first; `then` follows its end. */
  #run(job: Job, scheduledMs: number, then: () => void): void {
    this.sender.open?.(job);
    this.#turn(new Running(job, then), 1, scheduledMs);
  }

  /** A job ended: the sender hears it, then what follows it. */
  #end(r: Running): void {
    this.sender.close?.(r.job);
    this.#jobs--;
    r.then();
    this.#check();
  }

  #turn(r: Running, t: number, scheduledMs: number): void {
    if (this.#stopped) return this.#end(r);
    if (this.#slots > 0) {
      this.#slots--;
      return this.#send(r, t, scheduledMs);
    }
    this.#waiters.push(() => {
      if (this.#stopped) this.#end(r);
      else this.#send(r, t, scheduledMs);
    });
  }

  #release(): void {
    const w = this.#waiters.shift();
    if (w) w();
    else this.#slots++;
  }

  #send(r: Running, t: number, scheduledMs: number): void {
    const conv = r.job.conversation;
    const base = conv
      ? turnSpec(this.plan.tokenizer, this.plan.endpoint, conv, t, r.answers)
      : r.job.request!;
    const spec = r.job.className ? { ...base, className: r.job.className } : base;
    const s = this.state;
    s.sent++;
    s.inFlight++;
    if (s.inFlight > s.maxInFlight) s.maxInFlight = s.inFlight;
    const keepText = !!conv && t < conv.turns.length;
    const watch = this.o.saturation;
    const sentMs = watch ? this.clock.nowMs() : 0;
    const p = new Pending(r, t, spec, scheduledMs, sentMs, conv?.conversationId, keepText);
    if (watch) {
      this.#watched(p);
      watch.sent(sentMs);
    }
    const sending = this.sender.send(p, (sent) => this.#answered(p, sent));
    sending?.catch((e) => this.#fail(e));
    if (watch) this.#watch(watch);
  }

  /** A request goes in the watched list (the last sent last). */
  #watched(p: Pending): void {
    p.prev = this.#last;
    if (this.#last) this.#last.next = p;
    else this.#first = p;
    this.#last = p;
  }

  /** A watched request leaves the list. */
  #unwatched(p: Pending): void {
    if (p.prev) p.prev.next = p.next;
    else this.#first = p.next;
    if (p.next) p.next.prev = p.prev;
    else this.#last = p.prev;
    p.prev = p.next = null;
  }

  /** A request's answer came (a throw on the way fails the run). */
  #answered(p: Pending, sent: Sent): void {
    try {
      if (this.o.saturation) this.#settled(p, sent);
      else this.#ended(p.r, p.t, p.spec, p.scheduledMs, sent);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** A watched request ended (its answer, or a cancel): once only, then the rule is checked. */
  #settled(p: Pending, sent: Sent): void {
    if (p.over) return; // its answer after it was cancelled
    p.over = true;
    this.#unwatched(p);
    const watch = this.o.saturation!;
    watch.finished(this.clock.nowMs(), sent.result.ttftMs);
    this.#ended(p.r, p.t, p.spec, p.scheduledMs, sent);
    this.#watch(watch);
  }

  /** Applies the saturation rule; when it fires: stop sending, cancel what is in flight. */
  #watch(watch: SaturationDetector): void {
    if (this.state.saturated || this.#stopped) return;
    const v = watch.check(this.clock.nowMs());
    if (!v) return;
    this.state.saturated = v;
    this.o.onSaturated?.(v);
    this.#stopped = true;
    const error = `cancelled: ${verdictText(v)}`;
    const all: Pending[] = [];
    for (let p = this.#first; p; p = p.next) all.push(p);
    for (const p of all) {
      this.#settled(p, cancelled(p.sentMs, this.clock.nowMs(), error));
    }
    this.#stop();
  }

  /** A request ended: counters, the slot, the result, then the conversation's next turn. */
  #ended(r: Running, t: number, spec: RequestSpec, scheduledMs: number, sent: Sent): void {
    const s = this.state;
    s.inFlight--;
    s.done++;
    if (sent.result.error) s.failed++;
    if (!this.plan.closedLoop) this.#release();
    this.o.onResult?.({
      spec,
      result: sent.result,
      scheduledMs,
      outputTokens: sent.outputTokens,
      outputFromTokenizer: sent.outputFromTokenizer,
    });
    const conv = r.job.conversation;
    if (sent.result.error || !conv || t >= conv.turns.length) return this.#end(r);
    r.answers.push(sent.answer ?? { text: sent.result.text, tokens: sent.outputTokens });
    r.t = t + 1;
    r.dueMs = this.clock.nowMs() + Math.max(0, conv.thinkTimeMs[t - 1]);
    this.clock.at(r.dueMs, r.turnDue ??= () => this.#nextTurn(r));
  }

  /** A conversation's turn after its think time (a throw fails the run). */
  #nextTurn(r: Running): void {
    try {
      this.#turn(r, r.t, r.dueMs);
    } catch (e) {
      this.#fail(e);
    }
  }
}
