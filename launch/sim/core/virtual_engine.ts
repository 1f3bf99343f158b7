/**
 * The virtual shell of the engine core: steps as events of an
 * {@linkcode EventLoop}. Work that arrives while the engine is idle starts a
 * step at the same virtual instant (after the other events of that instant, so
 * simultaneous arrivals share a step); a busy engine starts its next step when
 * the current one ends. No timers, no host noise: the same inputs give the
 * same timeline. Scenario events act here too (`lib/scenario_events.ts`): a
 * paused engine (SIGSTOP) ends no step until it is resumed, and a slowed one
 * (`slow`) takes {@linkcode VirtualEngine.stepFactor} times as long per step.
 *
 * @module
 */
import { EngineCore, type EngineOptions, type StepPlan } from "./engine.ts";
import type { EventLoop } from "../../../lib/event_loop.ts";

/** Options of {@linkcode VirtualEngine}: the core's, on an event loop. */
export interface VirtualEngineOptions extends EngineOptions {
  clock: EventLoop;
}

/** An engine core driven by a discrete-event loop (`deno task predict`, unit tests). */
export class VirtualEngine extends EngineCore {
  readonly #loop: EventLoop;
  /** Steps one event may run back to back (0 with `batchDecodes` off: an event each). */
  readonly #stepsAtOnce: number;
  #busy = false;
  #kicked = false;
  #paused = false;
  /** The end of the step that was due while paused: run at the resume. */
  #held: (() => void) | null = null;
  /** Step time × this (a `slow` event: throttling, a noisy neighbour). @default 1 */
  stepFactor = 1;

  constructor(opts: VirtualEngineOptions) {
    super(opts);
    this.#loop = opts.clock;
    // the reference mode of the equivalence tests steps one at a time in every sense
    this.#stepsAtOnce = opts.batchDecodes === false ? 0 : MAX_STEPS_AT_ONCE;
    this.onWork = () => this.#kick();
  }

  protected override later(delayMs: number, fn: () => void): void {
    this.#loop.at(this.#loop.nowMs() + delayMs, fn);
  }

  /** Whether it is paused (SIGSTOPped: no step ends, no step starts). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Stops stepping: the step under way ends only after {@linkcode resume}. */
  pause(): void {
    this.#paused = true;
  }

  /** Steps again: a step that was due ends now, else the next one starts. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = null;
    if (held) held();
    else this.#kick();
  }

  #kick(): void {
    if (this.#busy || this.#kicked) return;
    this.#kicked = true;
    this.#loop.at(this.#loop.nowMs(), this.#kickDue);
  }

  /** The kick's event (one function for all: no closure per event). */
  readonly #kickDue = (): void => {
    this.#kicked = false;
    if (!this.#busy) this.#next();
  };

  /** A step's end is due (now is its end time, the event's time). */
  readonly #stepDue = (plan: StepPlan): void => {
    if (this.#paused) {
      this.#held = () => {
        this.finishStep(plan, this.#loop.nowMs());
        this.#next();
      };
      return;
    }
    this.finishStep(plan, this.#loop.nowMs());
    this.#next();
  };

  /**
   * Plans the next step and schedules its end. A step that would end before
   * any other event is due ends at once (the clock jumps to its end): the
   * loop would run that event next anyway, so the timeline is the same, and a
   * run of steps nothing else interrupts (decodes between arrivals) costs no
   * event each. At most {@linkcode MAX_STEPS_AT_ONCE} in a row, so the loop's
   * progress and Ctrl-C are still heard.
   */
  #next(): void {
    const loop = this.#loop;
    for (let k = 0;; k++) {
      if (this.#paused) {
        this.#busy = false;
        return;
      }
      const plan = this.planStep();
      if (!plan) {
        this.#busy = false;
        return;
      }
      this.#busy = true;
      const end = Math.max(loop.nowMs(), plan.readyMs) + plan.durMs * this.stepFactor;
      if (k >= this.#stepsAtOnce || !loop.canJumpTo(end)) {
        loop.call(end, this.#stepDue, plan);
        return;
      }
      loop.jumpTo(end);
      this.finishStep(plan, end);
    }
  }
}

/** Steps one event may run back to back (see {@linkcode VirtualEngine}'s `#next`). */
export const MAX_STEPS_AT_ONCE = 64;
