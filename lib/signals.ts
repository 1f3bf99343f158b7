/**
 * One signal discipline for every CLI that owns work or processes: the first
 * SIGINT/SIGTERM starts a graceful stop; copies of it within `dedupMs` are the
 * same signal (a terminal's Ctrl-C reaches `deno task` and its child, and
 * `deno task` forwards it again ~1 ms later); a signal at least `dedupMs`
 * later forces. The exit code is 130 for SIGINT and 143 for SIGTERM.
 *
 *     using stop = new StopSignals({ onStop: (sig) => log(sig), onForce: () => killAll() });
 *     await work(stop.graceful);
 *     return stop.exitCode ?? 0;
 *
 * @module
 */
import { errorMessage } from "./errors.ts";

/** An error that ends a CLI after a signal; `runMain` exits with its `exitCode` (130/143). */
export class InterruptedError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** The signals a stop listens to. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Exit code after a signal: 128 + its number. */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Options of {@linkcode StopSignals}. */
export interface StopSignalsOptions {
  /** Called once, on the first signal. */
  onStop?: (sig: StopSignal) => void;
  /** Called once, on a later signal (at least `dedupMs` after the first). */
  onForce?: (sig: StopSignal) => void;
  /** Signals closer than this to the first are the same one, ms. @default 1000 */
  dedupMs?: number;
  /** Clock, ms. @default performance.now */
  now?: () => number;
}

/** Listens for SIGINT/SIGTERM until disposed; see the module doc. */
export class StopSignals {
  readonly #graceful = new AbortController();
  readonly #forced = new AbortController();
  readonly #o: StopSignalsOptions;
  #first: StopSignal | null = null;
  #firstAt = 0;
  readonly #handlers: [StopSignal, () => void][] = [];

  constructor(o: StopSignalsOptions = {}, listen = true) {
    this.#o = o;
    if (!listen) return;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      const h = () => this.receive(sig);
      Deno.addSignalListener(sig, h);
      this.#handlers.push([sig, h]);
    }
  }

  /** Aborts on the first signal (reason: an Error naming it). */
  get graceful(): AbortSignal {
    return this.#graceful.signal;
  }

  /** Aborts on a forcing signal. */
  get forced(): AbortSignal {
    return this.#forced.signal;
  }

  /** The first signal received, or null. */
  get received(): StopSignal | null {
    return this.#first;
  }

  /** 130/143 after a signal, else null. */
  get exitCode(): number | null {
    return this.#first ? SIGNAL_EXIT[this.#first] : null;
  }

  /** Handles one delivery of `sig` (the listeners call this; tests may too). */
  receive(sig: StopSignal): void {
    const now = (this.#o.now ?? (() => performance.now()))();
    if (!this.#first) {
      this.#first = sig;
      this.#firstAt = now;
      this.#graceful.abort(new Error(`interrupted by ${sig}`));
      this.#o.onStop?.(sig);
      return;
    }
    if (now - this.#firstAt < (this.#o.dedupMs ?? 1000) || this.#forced.signal.aborted) return;
    this.#forced.abort(new Error(`forced by a second ${sig}`));
    this.#o.onForce?.(sig);
  }

  /** Stops listening. */
  [Symbol.dispose](): void {
    for (const [s, h] of this.#handlers) Deno.removeSignalListener(s, h);
    this.#handlers.length = 0;
  }
}

/** Options of {@linkcode stopOnSignals}. */
export interface StopOnSignalsOptions {
  /** The caller's own signal: when given, it owns SIGINT/SIGTERM and none are listened for. */
  signal?: AbortSignal;
  /** The abort reason's message for a signal, e.g. `Cannot finish up: interrupted by SIGINT`. */
  message: (sig: StopSignal) => string;
  /** A second signal: stop at once. */
  onForce: (sig: StopSignal) => void;
  /** Makes the abort reason. @default an InterruptedError */
  error?: (message: string, exitCode: number) => Error;
}

/**
 * The signal of a command that cleans up when interrupted: it aborts with the
 * caller's signal or, when there is none, on the first SIGINT/SIGTERM (its
 * reason an {@linkcode InterruptedError} with the signal's exit code); a later
 * signal calls `onForce`. Dispose it to stop listening.
 */
export function stopOnSignals(
  o: StopOnSignalsOptions,
): { signal: AbortSignal; [Symbol.dispose](): void } {
  const ac = new AbortController();
  const make = o.error ?? ((m: string, code: number) => new InterruptedError(m, code));
  const signals = o.signal ? null : new StopSignals({
    onStop: (sig) => ac.abort(make(o.message(sig), SIGNAL_EXIT[sig])),
    onForce: o.onForce,
  });
  return {
    signal: o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal,
    [Symbol.dispose]: () => signals?.[Symbol.dispose](),
  };
}

/**
 * Calls `fn` with a signal that aborts on the first SIGINT/SIGTERM (its duplicates
 * within 1 s are the same signal); what `fn` started is stopped on its way out.
 * After a signal it throws {@linkcode InterruptedError} (exit 130/143), even
 * when `fn` finished.
 */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  using stop = new StopSignals({
    onForce: (sig) =>
      console.error(`${sig} again: already stopping; processes get SIGKILL after their grace`),
  });
  let result: T;
  try {
    result = await fn(stop.graceful);
  } catch (e) {
    if (stop.received) {
      // the error the stop itself caused says nothing more
      const why = errorMessage(e);
      throw new InterruptedError(
        `Cannot finish: interrupted by ${stop.received}; what was started was stopped${
          why.includes(`interrupted by ${stop.received}`) ? "" : ` (${why})`
        }`,
        stop.exitCode!,
      );
    }
    throw e;
  }
  if (stop.received) {
    throw new InterruptedError(`interrupted by ${stop.received}`, stop.exitCode!);
  }
  return result;
}
