/**
 * The clocks, in one place. A {@linkcode Clock} is the time now and a callback
 * at an instant: what a load driver schedules on, on the wall clock here
 * ({@linkcode WallClock}, optionally scaled) or in virtual time
 * ({@linkcode EventLoop} in `event_loop.ts`). Callbacks never run inside the
 * `at` that scheduled them; those due at the same instant run in the order
 * they were scheduled. A {@linkcode TimerClock} is the time now and
 * cancellable timers `ms` from now: what pings, sweeps and drains wait on,
 * the system's ({@linkcode SYSTEM_TIMERS}) by default. Tests drive either
 * with `ManualClock` (`manual_clock.ts`).
 *
 * @example A clock's timers
 * ```ts
 * import { EventLoop } from "./event_loop.ts";
 * const loop = new EventLoop();
 * loop.at(5, () => console.log(loop.nowMs())); // 5
 * loop.run();
 * ```
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { MinHeap } from "./min_heap.ts";

/** A clock: the time now, and timers on it. */
export interface Clock {
  /** Ms since the clock's origin. */
  nowMs(): number;
  /** Runs `fn` at `atMs` (soon, if that has passed; never before `at` returns). */
  at(atMs: number, fn: () => void): void;
}

/** A handle that {@linkcode TimerClock.clearTimer} takes. */
export type TimerId = number | ReturnType<typeof setTimeout>;

/** The time now and one-shot timers on the same clock. */
export interface TimerClock {
  /** Ms on this clock (only differences mean anything). */
  nowMs(): number;
  /** Runs `fn` once, `ms` from now. */
  setTimer(ms: number, fn: () => void): TimerId;
  /** Cancels a timer; an unknown, fired or undefined one is ignored. */
  clearTimer(id: TimerId | undefined): void;
}

/** The system's timers and `Date.now()`. */
export const SYSTEM_TIMERS: TimerClock = {
  nowMs: () => Date.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (id) => clearTimeout(id),
};

/**
 * Runs `fn` every `intervalMs` on `clock` (the next one is set when the last
 * has run) until the returned function is called.
 */
export function repeat(clock: TimerClock, intervalMs: number, fn: () => void): () => void {
  let id: TimerId | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    id = clock.setTimer(intervalMs, tick);
    fn();
  };
  id = clock.setTimer(intervalMs, tick);
  return () => {
    stopped = true;
    clock.clearTimer(id);
  };
}

/** Resolves at a `performance.now()` instant, or when `signal` aborts. */
export type Sleeper = (atPerfMs: number, signal: AbortSignal) => Promise<void>;

/**
 * Sleeps until `performance.now()` reaches `atMs`, or `signal` aborts: a timer
 * set 1.5 ms early (timers fire about 1 ms late, and a delay under 1 ms takes 2),
 * then event-loop turns for what is left, so the spin is short and the wake-up on time.
 */
export async function sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
  for (;;) {
    const ms = atMs - performance.now();
    if (ms <= 0 || signal.aborted) return;
    if (ms > 2.5) await timerOrAbort(ms - 1.5, signal);
    else {
      await new Promise((r) => setImmediate(r));
    }
  }
}

/**
 * Sleeps until `performance.now()` reaches `atMs`, or `signal` aborts, on one
 * timer and no spin: it wakes up to about 1 ms late (timers' granularity), at
 * the least cost per wake-up. What a thread sending thousands of requests a
 * second sleeps on: most of its arrivals are then due at once when it wakes.
 */
export function timerSleep(atMs: number, signal: AbortSignal): Promise<void> {
  const ms = atMs - performance.now();
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return timerOrAbort(ms - 0.5, signal);
}

/** Resolves after one timer of `ms`, or as soon as `signal` aborts (the timer then cleared). */
function timerOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Options of {@linkcode WallClock}. */
export interface WallClockOptions {
  /** `performance.now()` of the clock's 0. @default performance.now() */
  originMs?: number;
  /** Clock ms per real ms. @default 1 */
  speed?: number;
  /** How the clock waits for its next timer (e.g. a worker thread's futex). @default sleepUntil */
  sleep?: Sleeper;
}

/** Timers due back to back that run before the clock yields to the event loop once. */
export const YIELD_EVERY = 16;

interface Timer {
  atMs: number;
  seq: number;
  fn: () => void;
}

const earlier = (a: Timer, b: Timer) => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);

/**
 * The wall clock (× `speed`) with timers: one pump sleeps until the earliest
 * timer and runs every due one back to back, yielding to the event loop every
 * {@linkcode YIELD_EVERY} so that I/O and signals are served when it falls
 * behind. A timer set earlier than the one slept for wakes the pump. Dispose
 * to drop the timers left.
 */
export class WallClock implements Clock, Disposable {
  readonly originMs: number;
  readonly speed: number;
  readonly #sleep: Sleeper;
  readonly #heap = new MinHeap<Timer>(earlier);
  #seq = 0;
  #pumping = false;
  /** Clock ms the pump sleeps until (-Infinity: awake). */
  #asleepUntil = -Infinity;
  /** Aborted to end the pump's sleep; renewed only after an abort (one listener per sleeper). */
  #wake = new AbortController();
  #disposed = false;

  constructor(o: WallClockOptions = {}) {
    this.originMs = o.originMs ?? performance.now();
    this.speed = o.speed ?? 1;
    if (!(this.speed > 0) || !Number.isFinite(this.speed)) {
      throw new RangeError(
        `Cannot use WallClock speed as a positive number: current value is ${this.speed}`,
      );
    }
    this.#sleep = o.sleep ?? sleepUntil;
  }

  /** Clock ms since the origin. */
  nowMs(): number {
    return (performance.now() - this.originMs) * this.speed;
  }

  /** Runs `fn` once the clock reads `atMs`. */
  at(atMs: number, fn: () => void): void {
    if (Number.isNaN(atMs)) {
      throw new RangeError(`Cannot set a timer at ${atMs} ms: current value is ${atMs}`);
    }
    if (this.#disposed) return;
    this.#heap.push({ atMs, seq: this.#seq++, fn });
    if (!this.#pumping) {
      this.#pumping = true;
      queueMicrotask(() => this.#pump());
    } else if (atMs < this.#asleepUntil) this.#wake.abort();
  }

  async #pump(): Promise<void> {
    let burst = 0;
    while (!this.#disposed && this.#heap.size) {
      const next = this.#heap.peek()!;
      const due = this.originMs + next.atMs / this.speed;
      if (due > performance.now()) {
        burst = 0;
        this.#asleepUntil = next.atMs;
        if (this.#wake.signal.aborted) this.#wake = new AbortController();
        await this.#sleep(due, this.#wake.signal);
        this.#asleepUntil = -Infinity;
        continue;
      }
      this.#heap.pop();
      try {
        next.fn();
      } catch (e) {
        reportError(e); // as a throwing timer callback would: the other timers still run
      }
      if (++burst >= YIELD_EVERY) {
        burst = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    this.#pumping = false;
  }

  /** Drops the timers left and ends the pump's wait. */
  [Symbol.dispose](): void {
    this.#disposed = true;
    this.#heap.clear();
    this.#wake.abort();
  }
}
