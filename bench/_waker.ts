/**
 * Sub-millisecond wake-ups without spinning, for the arrival loop: timers fire
 * 1–2 ms late, and spinning the event loop for the last milliseconds costs a
 * core at low rates. A worker thread sleeps in `Atomics.wait` (a futex, exact
 * to tens of µs) until the instant it is given (in shared memory, with a
 * notify: no message to it) and posts back; the main thread waits on that
 * message with its event loop free. The worker's code is
 * inline, so the bundled `bench.js` carries it. One wake-up at a time. Wake-ups
 * {@linkcode DENSE_MS} apart or less on average (from ~2,000 arrivals a second)
 * are a timer's: cheaper, up to ~1.5 ms late (send lag shows it).
 *
 * @module
 */

/**
 * While the instants slept for are this many ms apart or less (a moving
 * average), sleeps are a timer's alone (up to ~1.5 ms late), not the worker's: a
 * wake-up through the worker costs ~30 µs of CPU over both threads, which at
 * thousands of arrivals a second was a sixth of bench's CPU (A/B at 1,500
 * req/s: 0.30 against 0.36 ms per request), and most arrivals then find the
 * clock awake anyway. Up to ~2,000 arrivals a second the worker keeps wake-ups
 * exact (sleeps come ~1 ms apart or more there).
 */
const DENSE_MS = 1;
/** Weight of the newest interval in the moving average. */
const GAP_WEIGHT = 1 / 16;

/** Cells of the shared control array (Int32): the request's number, and the stop flag. */
const SEQ = 0;
const STOP = 1;

// the worker waits on the request cell, not on messages: the main thread asks by a store and a
// notify (a message each way was a tenth of a sender's CPU at 1,500 req/s), and is woken by the
// one message back that its event loop can wait on
const WORKER_SOURCE = `
self.onmessage = (e) => {
  const ctl = e.data.ctl, at = e.data.at;
  self.onmessage = null;
  self.postMessage(-1);
  let seen = 0;
  while (Atomics.load(ctl, ${STOP}) === 0) {
    Atomics.wait(ctl, ${SEQ}, seen);
    const seq = Atomics.load(ctl, ${SEQ});
    seen = seq;
    const atMs = at[0];
    if (atMs !== atMs) continue; // NaN: a cancel, nothing to wake
    for (;;) {
      const ms = atMs - (performance.timeOrigin + performance.now());
      if (ms <= 0 || Atomics.load(ctl, ${SEQ}) !== seq) break;
      Atomics.wait(ctl, ${SEQ}, seq, ms);
    }
    if (Atomics.load(ctl, ${SEQ}) === seq) self.postMessage(seq);
  }
};
`;

/** Wakes the caller at `performance.now()` instants; dispose to stop its thread. */
export class Waker implements Disposable {
  #worker: Worker;
  #url: string;
  /** The request cell and the stop flag, shared with the worker. */
  readonly #ctl = new Int32Array(new SharedArrayBuffer(8));
  /** The instant asked for (Unix ms), NaN for none. */
  readonly #at = new Float64Array(new SharedArrayBuffer(8));
  readonly #started: Promise<void>;
  /**
   * The current wait: its promise's resolve, its timer, and the worker request it
   * waits for (0: none). Fields and methods, not a closure a wait: a closure made
   * per wait and kept on this long-lived object outlived two scavenges with its
   * whole context (at 1,000 req/s the waits were 44% of bench's survivors).
   */
  #resolve: (() => void) | null = null;
  #timerId: ReturnType<typeof setTimeout> | undefined = undefined;
  #waitId = 0;

  constructor() {
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    this.#worker = new Worker(this.#url, { type: "module" });
    let started!: () => void;
    this.#started = new Promise<void>((r) => (started = r));
    this.#worker.onmessage = (e: MessageEvent<number>) => {
      if (e.data === -1) started();
      else if (this.#waitId !== 0 && this.#waitId === e.data) this.#wake();
    };
    this.#worker.postMessage({ ctl: this.#ctl, at: this.#at });
  }

  /** Resolves once the worker thread runs (its start-up must not delay the first wake-up). */
  ready(): Promise<void> {
    return this.#started;
  }

  /** Asks the worker to wake this thread at `atEpochMs` (NaN: not at all); returns the request's number. */
  #ask(atEpochMs: number): number {
    this.#at[0] = atEpochMs;
    const id = Atomics.add(this.#ctl, SEQ, 1) + 1;
    Atomics.notify(this.#ctl, SEQ);
    return id;
  }

  /** Ends the current wait (its timer cleared), if any. */
  #wake(): void {
    const resolve = this.#resolve;
    if (!resolve) return;
    this.#resolve = null;
    this.#waitId = 0;
    if (this.#timerId !== undefined) clearTimeout(this.#timerId);
    this.#timerId = undefined;
    resolve();
  }

  /** A timer's end (one function for every timer). */
  readonly #onTimer = (): void => {
    this.#timerId = undefined;
    this.#wake();
  };

  /** The one listener on the signal in use: it ends the current wait. */
  #bound: AbortSignal | null = null;

  #bind(signal: AbortSignal): void {
    if (this.#bound === signal) return;
    this.#bound = signal;
    signal.addEventListener("abort", () => {
      if (!this.#resolve || this.#bound !== signal) return;
      this.#wake();
      this.#ask(NaN);
    }, { once: true });
  }

  /**
   * Resolves at `atMs` (a `performance.now()` value) or when `signal` aborts:
   * a timer for all but the last 2 ms, the worker for the rest; within
   * {@linkcode DENSE_MS} of the last wake-up, a timer alone (up to ~1 ms late).
   */
  async sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
    const now = performance.now();
    let ms = atMs - now;
    if (ms <= 0 || signal.aborted) return;
    this.#bind(signal);
    this.#gapMs += GAP_WEIGHT * (Math.min(Math.max(0, atMs - this.#lastAtMs), 10) - this.#gapMs);
    this.#lastAtMs = atMs;
    const dense = this.#gapMs < DENSE_MS;
    if (ms > 3 || dense) {
      await this.#timer(dense && ms <= 3 ? ms - 0.5 : ms - 2);
      ms = atMs - performance.now();
      if (ms <= 0.05 || dense || signal.aborted) return;
    }
    await new Promise<void>((resolve) => {
      this.#resolve = resolve;
      this.#waitId = this.#ask(performance.timeOrigin + atMs);
    });
  }

  /** The instant the last sleep was for (`performance.now()`). */
  #lastAtMs = -Infinity;
  /** The moving average of the time between the instants slept for (ms, at most 10 each). */
  #gapMs = 10;

  /** One timer of `ms`, ended early by an abort. */
  #timer(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#resolve = resolve;
      this.#timerId = setTimeout(this.#onTimer, ms);
    });
  }

  [Symbol.dispose](): void {
    Atomics.store(this.#ctl, STOP, 1);
    this.#ask(NaN);
    this.#worker.terminate();
    URL.revokeObjectURL(this.#url);
  }
}
