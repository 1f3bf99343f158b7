/**
 * The live shell of the engine core: steps on the wall clock x speed. Each step
 * waits out its modelled duration in real time while HTTP keeps flowing;
 * back-to-back steps keep an exact simulated timeline when the host is a
 * little late, and only a lag beyond 5 real ms moves the timeline on.
 *
 * @module
 */
import type { SimClock } from "./clock.ts";
import { runStepLoop, WorkSignal } from "./_step_loop.ts";
import { EngineCore, type EngineOptions } from "../core/engine.ts";

/** Options of {@linkcode LiveEngine}: the core's, on a live clock. */
export interface LiveEngineOptions extends EngineOptions {
  clock: SimClock;
}

/** An engine core driven on the wall clock (the `deno task sim` process). */
export class LiveEngine extends EngineCore {
  /** Worst lag of a step end behind real time (the host CPU could not keep up), simulated ms. */
  maxLagMs = 0;
  readonly #clock: SimClock;
  readonly #work = new WorkSignal();
  #closed = false;
  readonly #loop: Promise<void>;

  constructor(opts: LiveEngineOptions) {
    super(opts);
    this.#clock = opts.clock;
    this.onWork = () => this.#work.poke();
    this.#loop = this.#run();
  }

  /** Stops the step loop (requests in flight are aborted). */
  async close(): Promise<void> {
    this.#closed = true;
    this.abortAll();
    this.#work.poke();
    await this.#loop;
  }

  protected override later(delayMs: number, fn: () => void): void {
    this.#clock.sleep(delayMs).then(() => {
      if (!this.#closed) fn();
    });
  }

  #run(): Promise<void> {
    return runStepLoop(this.#clock, {
      closed: () => this.#closed,
      plan: () => this.planStep(),
      finish: (plan, end) => this.finishStep(plan, end),
      // wake on new work, or now and then (only while blocks are held) to expire them
      idle: () => this.#work.wait(this.numHeld ? 1000 : undefined),
      lagged: (lagMs) => this.maxLagMs = Math.max(this.maxLagMs, lagMs),
    });
  }
}
