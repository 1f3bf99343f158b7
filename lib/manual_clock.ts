/**
 * Timers that can be injected: the system's ({@linkcode SYSTEM_TIMERS}, what
 * product code uses by default) or a {@linkcode ManualClock} that a test moves
 * forward by hand, so that "after 5 s of silence" or "a ping every 3 s" is
 * checked in microseconds instead of seconds.
 *
 * @example A timer on a manual clock
 * ```ts
 * import { ManualClock } from "./manual_clock.ts";
 * const clock = new ManualClock();
 * clock.setTimer(5000, () => console.log(clock.nowMs())); // 5000
 * clock.advance(4999); // nothing yet
 * clock.advance(1); // runs the timer
 * ```
 *
 * @module
 */

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

interface Pending {
  atMs: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that stands still until {@linkcode ManualClock.advance} moves it:
 * due timers run in time order (same time: the order they were set), each
 * with the clock reading its due time; timers set meanwhile run too if they
 * fall within the advance.
 */
export class ManualClock implements TimerClock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<TimerId, Pending>();

  /** @param startMs what the clock reads first (@default 0) */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  nowMs(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): number {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot set a timer in ${ms} ms: allowed is 0 or more`);
    }
    const id = ++this.#seq;
    this.#timers.set(id, { atMs: this.#now + ms, seq: id, fn });
    return id;
  }

  clearTimer(id: TimerId | undefined): void {
    if (id !== undefined) this.#timers.delete(id);
  }

  /** Timers set and not yet run or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock `ms` forward, running every timer due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0)) {
      throw new RangeError(`Cannot advance a clock by ${ms} ms: allowed is 0 or more`);
    }
    const end = this.#now + ms;
    for (;;) {
      let next: [TimerId, Pending] | undefined;
      for (const e of this.#timers) {
        const t = e[1];
        if (t.atMs > end) continue;
        if (!next || t.atMs < next[1].atMs || (t.atMs === next[1].atMs && t.seq < next[1].seq)) {
          next = e;
        }
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].atMs;
      next[1].fn();
    }
    this.#now = end;
  }
}
