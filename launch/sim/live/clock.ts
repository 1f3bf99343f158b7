/**
 * Simulated time on the wall clock: lib's {@linkcode WallClock} at `speed`
 * (the engine core reads it as any {@linkcode Clock}), plus what the live
 * engine needs to wait for a simulated instant in real time.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { WallClock } from "../../../lib/clock.ts";

/** A clock whose milliseconds are simulated milliseconds, on the wall clock x speed (live). */
export class SimClock extends WallClock {
  /** @param speed how many times faster than real time the simulation runs (@default 1) */
  constructor(speed = 1) {
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new RangeError(`Cannot use --speed as a positive number: current value is ${speed}`);
    }
    super({ speed });
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
