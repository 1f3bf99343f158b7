/**
 * The test clock: a {@linkcode ManualClock} stands still until a test moves it,
 * so that "after 5 s of silence" or "a ping every 3 s" is checked in
 * microseconds instead of seconds. It is both a {@linkcode TimerClock}
 * (what pings, sweeps and drains take; `SYSTEM_TIMERS` by default) and a
 * {@linkcode Clock} (what the load driver takes), both in `clock.ts`.
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
import type { Clock, TimerClock, TimerId } from "./clock.ts";

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
export class ManualClock implements TimerClock, Clock {
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
    return this.#add(this.#now + ms, fn);
  }

  /** Runs `fn` once the clock reads `atMs` (at the next advance, if that has passed). */
  at(atMs: number, fn: () => void): void {
    if (Number.isNaN(atMs)) {
      throw new RangeError(`Cannot set a timer at ${atMs} ms: current value is ${atMs}`);
    }
    this.#add(Math.max(atMs, this.#now), fn);
  }

  #add(atMs: number, fn: () => void): number {
    const id = ++this.#seq;
    this.#timers.set(id, { atMs, seq: id, fn });
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
