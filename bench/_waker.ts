/**
 * Sub-millisecond wake-ups without spinning, for the arrival loop: timers fire
 * 1–2 ms late, and spinning the event loop for the last milliseconds costs a
 * core at low rates. A worker thread sleeps in `Atomics.wait` (a futex, exact
 * to tens of µs) until the instant it is given and posts back; the main
 * thread waits on that message with its event loop free. The worker's code is
 * inline, so the bundled `bench.js` carries it. One wake-up at a time.
 *
 * @module
 */

const WORKER_SOURCE = `
let cell;
self.onmessage = (e) => {
  if (e.data.cell) {
    cell = e.data.cell;
    return;
  }
  const { id, atEpochMs, gen } = e.data;
  for (;;) {
    const ms = atEpochMs - (performance.timeOrigin + performance.now());
    if (ms <= 0 || Atomics.load(cell, 0) !== gen) break;
    Atomics.wait(cell, 0, gen, ms);
  }
  self.postMessage(id);
};
`;

/** Wakes the caller at `performance.now()` instants; dispose to stop its thread. */
export class Waker implements Disposable {
  #worker: Worker;
  #url: string;
  #id = 0;
  #pending: { id: number; resolve: () => void } | null = null;
  /** Bumped (and notified) to end the worker's current wait. */
  readonly #gen = new Int32Array(new SharedArrayBuffer(4));

  constructor() {
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    this.#worker = new Worker(this.#url, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<number>) => {
      const p = this.#pending;
      if (p && p.id === e.data) {
        this.#pending = null;
        p.resolve();
      }
    };
    this.#worker.postMessage({ cell: this.#gen });
  }

  /** Resolves once the worker thread runs (its start-up must not delay the first wake-up). */
  async ready(): Promise<void> {
    const id = ++this.#id;
    await new Promise<void>((resolve) => {
      this.#pending = { id, resolve };
      this.#worker.postMessage({ id, atEpochMs: 0, gen: Atomics.load(this.#gen, 0) });
    });
  }

  /** The one listener on the signal in use: it ends the current wait. */
  #bound: AbortSignal | null = null;
  #wake: (() => void) | null = null;

  #bind(signal: AbortSignal): void {
    if (this.#bound === signal) return;
    this.#bound = signal;
    signal.addEventListener("abort", () => {
      if (!this.#wake || this.#bound !== signal) return;
      this.#wake();
      Atomics.add(this.#gen, 0, 1);
      Atomics.notify(this.#gen, 0);
    }, { once: true });
  }

  /**
   * Resolves at `atMs` (a `performance.now()` value) or when `signal` aborts:
   * a timer for all but the last 2 ms, the worker for the rest.
   */
  async sleepUntil(atMs: number, signal: AbortSignal): Promise<void> {
    let ms = atMs - performance.now();
    if (ms <= 0 || signal.aborted) return;
    this.#bind(signal);
    if (ms > 3) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => this.#wake!(), ms - 2);
        this.#wake = () => {
          clearTimeout(t);
          this.#wake = null;
          resolve();
        };
      });
      ms = atMs - performance.now();
      if (ms <= 0.05 || signal.aborted) return;
    }
    const id = ++this.#id;
    await new Promise<void>((resolve) => {
      this.#wake = () => {
        this.#wake = null;
        if (this.#pending?.id === id) this.#pending = null;
        resolve();
      };
      this.#pending = { id, resolve: this.#wake };
      this.#worker.postMessage({
        id,
        atEpochMs: performance.timeOrigin + atMs,
        gen: Atomics.load(this.#gen, 0),
      });
    });
  }

  [Symbol.dispose](): void {
    this.#worker.terminate();
    URL.revokeObjectURL(this.#url);
  }
}
