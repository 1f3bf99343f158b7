/**
 * Virtual time: a discrete-event loop with its own clock. Events run in time
 * order (ties in the order they were scheduled), each synchronously; the clock
 * jumps from one event to the next, so a run takes only the CPU its events
 * need and repeats exactly. Tests use it as a manual clock.
 *
 * The pending events are a binary min-heap on parallel arrays (time, sequence,
 * function, argument): scheduling allocates no object, and {@linkcode EventLoop.call}
 * takes a shared function with its argument instead of a closure per event.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** A discrete-event loop whose clock is virtual milliseconds. */
export class EventLoop implements Clock {
  #now = 0;
  #seq = 0;
  #n = 0;
  /** The bound of the step under way (a jump may not pass it). */
  #untilMs = Infinity;
  #atMs = new Float64Array(64);
  #seqs = new Float64Array(64);
  #fns: ((x: never) => void)[] = [];
  #args: unknown[] = [];
  /** Events run so far. */
  events = 0;

  /** Events scheduled and not yet run. */
  get pending(): number {
    return this.#n;
  }

  /** Virtual ms now. */
  nowMs(): number {
    return this.#now;
  }

  /** Runs `fn` at virtual time `atMs` (now, if that has passed). */
  at(atMs: number, fn: () => void): void {
    this.call(atMs, fn, undefined);
  }

  /** Runs `fn` after `delayMs` virtual ms. */
  after(delayMs: number, fn: () => void): void {
    this.call(this.#now + Math.max(0, delayMs), fn, undefined);
  }

  /**
   * Runs `fn(x)` at virtual time `atMs` (now, if that has passed): one shared
   * function for many events, without a closure per event.
   */
  call<T>(atMs: number, fn: (x: T) => void, x: T): void {
    if (!Number.isFinite(atMs)) {
      throw new RangeError(`Cannot schedule an event at ${atMs} ms: current value is ${atMs}`);
    }
    this.#push(atMs > this.#now ? atMs : this.#now, this.#seq++, fn as (x: never) => void, x);
  }

  /**
   * Whether the clock may jump to `atMs` now, inside an event: no pending
   * event is due before it or at it (one scheduled earlier runs first at a
   * tie), and it is not past the bound of the {@linkcode step} under way.
   */
  canJumpTo(atMs: number): boolean {
    return atMs >= this.#now && atMs <= this.#untilMs &&
      (this.#n === 0 || atMs < this.#atMs[0]);
  }

  /**
   * Moves the clock to `atMs` inside an event that does there, at once, what
   * an event of its own at `atMs` would do next ({@linkcode canJumpTo} must hold).
   */
  jumpTo(atMs: number): void {
    if (!this.canJumpTo(atMs)) {
      throw new RangeError(
        `Cannot jump the virtual clock to ${atMs} ms: current value is ${this.#now} ms, next event ${
          this.#n ? this.#atMs[0] : "none"
        }`,
      );
    }
    this.#now = atMs;
  }

  /** Runs the next event; false when none is left (or the next is after `untilMs`). */
  step(untilMs = Infinity): boolean {
    if (this.#n === 0 || this.#atMs[0] > untilMs) return false;
    const fn = this.#fns[0] as (x: unknown) => void;
    const x = this.#args[0];
    this.#now = this.#atMs[0];
    this.#pop();
    this.events++;
    this.#untilMs = untilMs;
    try {
      fn(x);
    } finally {
      this.#untilMs = Infinity;
    }
    return true;
  }

  /** Runs events until none is left, or up to `untilMs` (the clock then stands there). */
  run(untilMs = Infinity): void {
    while (this.step(untilMs));
    if (Number.isFinite(untilMs) && untilMs > this.#now) this.#now = untilMs;
  }

  /** Adds an event: sift up by moving parents into the hole. */
  #push(atMs: number, seq: number, fn: (x: never) => void, x: unknown): void {
    if (this.#n === this.#atMs.length) this.#grow();
    const at = this.#atMs, sq = this.#seqs, fns = this.#fns, args = this.#args;
    let i = this.#n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pa = at[p];
      if (pa < atMs || (pa === atMs && sq[p] < seq)) break;
      at[i] = pa;
      sq[i] = sq[p];
      fns[i] = fns[p];
      args[i] = args[p];
      i = p;
    }
    at[i] = atMs;
    sq[i] = seq;
    fns[i] = fn;
    args[i] = x;
  }

  /** Removes the earliest event: the last one sifts down from the root. */
  #pop(): void {
    const n = --this.#n;
    const at = this.#atMs, sq = this.#seqs, fns = this.#fns, args = this.#args;
    const xa = at[n], xs = sq[n], xf = fns[n], xx = args[n];
    fns[n] = undefined as unknown as (x: never) => void; // no reference kept to a run event
    args[n] = undefined;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let m = l;
      if (r < n && (at[r] < at[l] || (at[r] === at[l] && sq[r] < sq[l]))) m = r;
      if (xa < at[m] || (xa === at[m] && xs < sq[m])) break;
      at[i] = at[m];
      sq[i] = sq[m];
      fns[i] = fns[m];
      args[i] = args[m];
      i = m;
    }
    at[i] = xa;
    sq[i] = xs;
    fns[i] = xf;
    args[i] = xx;
  }

  #grow(): void {
    const at = new Float64Array(this.#atMs.length * 2);
    at.set(this.#atMs);
    this.#atMs = at;
    const sq = new Float64Array(this.#seqs.length * 2);
    sq.set(this.#seqs);
    this.#seqs = sq;
  }
}
