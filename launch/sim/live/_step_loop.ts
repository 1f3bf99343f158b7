/**
 * The live clock's step loop, shared by one engine (`live_engine.ts`) and a
 * data-parallel group stepping its ranks in lockstep (`live_dp_group.ts`): plan
 * a step, let its simulated time pass on the wall clock, finish it; wait for
 * work when there is nothing to step. SIMULATED engine, live clock.
 *
 * @module
 */
import type { SimClock } from "./clock.ts";

/** A planned step: when its inputs are ready and how long it takes, simulated ms. */
export interface TimedStep {
  readyMs: number;
  durMs: number;
}

/** How late (real ms) a step may start behind the clock before it is counted from now. */
const LAG_ALLOWANCE_REAL_MS = 5;

/** What the loop asks of its engine. */
export interface StepLoopHooks<S extends TimedStep> {
  closed(): boolean;
  /** The next step, or null when there is nothing to step. */
  plan(): S | null;
  /** The step ended at `endMs` (simulated). */
  finish(step: S, endMs: number): void;
  /** Resolves when work arrives (called after `plan` returned null). */
  idle(): Promise<void>;
  /** A step ended `lagMs` simulated ms after its planned end. */
  lagged(lagMs: number): void;
}

/**
 * What an idle step loop waits on: `wait()` resolves at the next `poke()` (new
 * work, or close), or after `timeoutMs` when given.
 */
export class WorkSignal {
  #wake: (() => void) | null = null;

  /** Wakes the waiting loop (nothing when none waits). */
  poke(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** Resolves at the next poke, or after `timeoutMs`. */
  async wait(timeoutMs?: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (timeoutMs !== undefined) timer = setTimeout(() => this.poke(), timeoutMs);
    });
    clearTimeout(timer);
  }
}

/** Runs steps back to back on `clock` until `hooks.closed()`. */
export async function runStepLoop<S extends TimedStep>(
  clock: SimClock,
  hooks: StepLoopHooks<S>,
): Promise<void> {
  let lastEndMs = -Infinity;
  while (!hooks.closed()) {
    const step = hooks.plan();
    if (!step) {
      lastEndMs = -Infinity; // idle: the next step starts when work arrives
      await hooks.idle();
      continue;
    }
    const lateStartMs = clock.nowMs() - LAG_ALLOWANCE_REAL_MS * clock.speed;
    const end = Math.max(lastEndMs, lateStartMs, step.readyMs) + step.durMs;
    await clock.until(end);
    hooks.lagged(clock.nowMs() - end);
    lastEndMs = end;
    hooks.finish(step, end);
  }
}
