/**
 * Simulated time: runs `speed` times faster than the wall clock and lets the
 * engine wait until a simulated instant has arrived in real time.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** What the engine core reads the time from: simulated ms (live) or virtual ms (event loop). */
export interface Clock {
  /** Simulated ms since the clock started. */
  nowMs(): number;
}

/** A clock whose milliseconds are simulated milliseconds, on the wall clock x speed (live). */
export class SimClock implements Clock {
  /** Simulated ms per real ms. */
  readonly speed: number;
  readonly #t0 = performance.now();

  /** @param speed how many times faster than real time the simulation runs (@default 1) */
  constructor(speed = 1) {
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new RangeError(`Cannot use --speed as a positive number: current value is ${speed}`);
    }
    this.speed = speed;
  }

  /** Simulated ms since the clock started. */
  nowMs(): number {
    return (performance.now() - this.#t0) * this.speed;
  }

  /** Converts a simulated duration to real ms. */
  toRealMs(simMs: number): number {
    return simMs / this.speed;
  }

  /**
   * Resolves once simulated time `atMs` has arrived: a timer for the bulk of the
   * wait, then event-loop turns for the last millisecond (timers are too coarse
   * at high speed), so that network I/O keeps flowing meanwhile.
   */
  async until(atMs: number): Promise<void> {
    for (;;) {
      const realLeft = (atMs - this.nowMs()) / this.speed;
      if (realLeft <= 0) return;
      if (realLeft > 2) await new Promise((r) => setTimeout(r, realLeft - 1));
      else await new Promise((r) => setImmediate(r));
    }
  }

  /** Waits a simulated duration. */
  sleep(simMs: number): Promise<void> {
    return this.until(this.nowMs() + simMs);
  }
}

/** Yields one event-loop turn so that I/O callbacks run. */
export function yieldTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
