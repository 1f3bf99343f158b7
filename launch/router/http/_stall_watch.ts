/**
 * The router's stall timers as one sweep: a watched leg is cut (its
 * `onStall` called once) when its backend has sent nothing for the stall
 * timeout while nothing holds it back (a client that does not read pauses
 * it). One interval serves every leg in flight, instead of a timer set and
 * cleared per leg (in Deno each `setTimeout` is a Node-style `Timeout`
 * object, ~2 KB of garbage and several µs a leg; two a request showed as
 * ~4% of the router's CPU in a profile at 500 req/s). A stall is seen at
 * most a quarter of the timeout (250 ms at most) late; the interval stops
 * at the first sweep that finds no leg.
 *
 * @module
 */

/** One watched leg. */
export interface Watched {
  /** When its backend last sent a byte, or it was resumed (`performance.now()`). */
  lastMs: number;
  /** Held back by its reader: its time does not count. */
  paused: boolean;
  readonly onStall: () => void;
}

/** Legs watched for stalls, swept by one interval while any is watched. */
export class StallWatch {
  readonly #legs = new Set<Watched>();
  readonly #tickMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param stallMs no byte for this long cuts a leg */
  constructor(readonly stallMs: number) {
    this.#tickMs = Math.max(5, Math.min(250, stallMs / 4));
  }

  /** Watches a leg from now; `onStall` is called once if it stalls. */
  watch(onStall: () => void): Watched {
    const w: Watched = { lastMs: performance.now(), paused: false, onStall };
    this.#legs.add(w);
    if (this.#timer === undefined) {
      const timer = setInterval(this.#sweep, this.#tickMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
    return w;
  }

  /** Stops watching a leg (its end, or its head came); undefined is ignored. */
  unwatch(w: Watched | undefined): void {
    if (w) this.#legs.delete(w);
  }

  /** Legs watched now. */
  get size(): number {
    return this.#legs.size;
  }

  /** Cuts the stalled legs; with none left to watch, the interval stops (not at each leg's end: a timer a request again). */
  readonly #sweep = (): void => {
    if (this.#legs.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const nowMs = performance.now();
    for (const w of this.#legs) {
      if (w.paused || nowMs - w.lastMs < this.stallMs) continue;
      this.unwatch(w);
      w.onStall();
    }
  };
}
