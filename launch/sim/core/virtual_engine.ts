/**
 * The virtual shell of the engine core: steps as events of an
 * {@linkcode EventLoop}. Work that arrives while the engine is idle starts a
 * step at the same virtual instant (after the other events of that instant, so
 * simultaneous arrivals share a step); a busy engine starts its next step when
 * the current one ends. No timers, no host noise: the same inputs give the
 * same timeline.
 *
 * @module
 */
import { EngineCore, type EngineOptions } from "./engine.ts";
import type { EventLoop } from "../../../lib/event_loop.ts";

/** Options of {@linkcode VirtualEngine}: the core's, on an event loop. */
export interface VirtualEngineOptions extends EngineOptions {
  clock: EventLoop;
}

/** An engine core driven by a discrete-event loop (`deno task predict`, unit tests). */
export class VirtualEngine extends EngineCore {
  readonly #loop: EventLoop;
  #busy = false;
  #kicked = false;

  constructor(opts: VirtualEngineOptions) {
    super(opts);
    this.#loop = opts.clock;
    this.onWork = () => this.#kick();
  }

  protected override later(delayMs: number, fn: () => void): void {
    this.#loop.at(this.#loop.nowMs() + delayMs, fn);
  }

  #kick(): void {
    if (this.#busy || this.#kicked) return;
    this.#kicked = true;
    this.#loop.at(this.#loop.nowMs(), () => {
      this.#kicked = false;
      if (!this.#busy) this.#next();
    });
  }

  #next(): void {
    const plan = this.planStep();
    if (!plan) {
      this.#busy = false;
      return;
    }
    this.#busy = true;
    const end = Math.max(this.#loop.nowMs(), plan.readyMs) + plan.durMs;
    this.#loop.at(end, () => {
      this.finishStep(plan, end);
      this.#next();
    });
  }
}
