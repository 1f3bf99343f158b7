/**
 * Virtual time: a discrete-event loop with its own clock. Events run in time
 * order (ties in the order they were scheduled), each synchronously; the clock
 * jumps from one event to the next, so a run takes only the CPU its events
 * need and repeats exactly. Tests use it as a manual clock.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { MinHeap } from "./min_heap.ts";

interface Ev {
  atMs: number;
  seq: number;
  fn: () => void;
}

/** A discrete-event loop whose clock is virtual milliseconds. */
export class EventLoop implements Clock {
  #now = 0;
  #seq = 0;
  readonly #heap = new MinHeap<Ev>((a, b) =>
    a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)
  );
  /** Events run so far. */
  events = 0;

  /** Events scheduled and not yet run. */
  get pending(): number {
    return this.#heap.size;
  }

  /** Virtual ms now. */
  nowMs(): number {
    return this.#now;
  }

  /** Runs `fn` at virtual time `atMs` (now, if that has passed). */
  at(atMs: number, fn: () => void): void {
    if (!Number.isFinite(atMs)) {
      throw new RangeError(`Cannot schedule an event at ${atMs} ms: current value is ${atMs}`);
    }
    this.#heap.push({ atMs: Math.max(atMs, this.#now), seq: this.#seq++, fn });
  }

  /** Runs `fn` after `delayMs` virtual ms. */
  after(delayMs: number, fn: () => void): void {
    this.at(this.#now + Math.max(0, delayMs), fn);
  }

  /** Runs the next event; false when none is left (or the next is after `untilMs`). */
  step(untilMs = Infinity): boolean {
    const ev = this.#heap.peek();
    if (!ev || ev.atMs > untilMs) return false;
    this.#heap.pop();
    this.#now = ev.atMs;
    this.events++;
    ev.fn();
    return true;
  }

  /** Runs events until none is left, or up to `untilMs` (the clock then stands there). */
  run(untilMs = Infinity): void {
    while (this.step(untilMs));
    if (Number.isFinite(untilMs) && untilMs > this.#now) this.#now = untilMs;
  }
}
