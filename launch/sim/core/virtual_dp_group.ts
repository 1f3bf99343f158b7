/**
 * One vLLM instance of `--data-parallel-size` ranks in virtual time: each rank
 * a {@linkcode VirtualEngine} with its own scheduler and KV cache; an MoE
 * model's ranks step together on the event loop ({@linkcode DpGroup} holds the
 * balancing and the lockstep step, which the live shell shares).
 *
 * @module
 */
import type { CostModel } from "./cost_model.ts";
import type { EngineOptions, EngineRequest } from "./engine.ts";
import type { KvCache } from "./kv_cache.ts";
import { DpGroup } from "./dp_group.ts";
import type { StepTermTotals } from "./step_terms.ts";
import { VirtualEngine } from "./virtual_engine.ts";
import type { EventLoop } from "../../../lib/event_loop.ts";

/** What a topology asks of an instance's engine in virtual time: one core or a group of ranks. */
export interface VirtualInstanceEngine {
  add(req: EngineRequest): void;
  /** A KV cache of the instance (for prompt block hashes; ranks hash alike). */
  readonly kv: KvCache;
  /** Its steps' time by cost term. */
  readonly terms: StepTermTotals;
  releaseHeld(id: string): number | null;
}

/** Options of {@linkcode VirtualDpGroup}. */
export interface VirtualDpGroupOptions {
  clock: EventLoop;
  /** The instance's cost model (its `dp` ranks). */
  cost: CostModel;
  /** Each rank's engine options, a fresh KV cache each. */
  rankOptions: (rank: number) => Omit<EngineOptions, "clock">;
  /** Relative step-time noise (uniform ±). @default 0.03 */
  jitter?: number;
  /** Seed of the noise. @default 0 */
  seed?: number;
}

/** The ranks of one data-parallel instance on an event loop. */
export class VirtualDpGroup implements VirtualInstanceEngine {
  readonly ranks: VirtualEngine[];
  readonly #loop: EventLoop;
  readonly #group: DpGroup;
  #busy = false;
  #kicked = false;

  constructor(o: VirtualDpGroupOptions) {
    this.#loop = o.clock;
    this.ranks = Array.from(
      { length: o.cost.dp },
      (_, r) => new VirtualEngine({ ...o.rankOptions(r), clock: o.clock }),
    );
    this.#group = new DpGroup(this.ranks, {
      cost: o.cost,
      clock: o.clock,
      jitter: o.jitter,
      seed: o.seed,
    });
    // lockstep: the group steps the ranks (a rank keeps its frontend floor on the loop)
    if (this.#group.lockstep) { for (const r of this.ranks) r.onWork = () => this.#kick(); }
  }

  get kv(): KvCache {
    return this.ranks[0].kv;
  }

  /** Lockstep steps run (MoE). */
  get steps(): number {
    return this.#group.steps;
  }

  get terms(): StepTermTotals {
    return this.#group.terms;
  }

  /** Hands the request to the rank vLLM's balancer would pick. */
  add(req: EngineRequest): void {
    this.#group.add(req);
  }

  releaseHeld(id: string): number | null {
    return this.#group.releaseHeld(id);
  }

  /**
   * Rank `r` as an engine of its own (external load balancing: the router
   * sends it requests; its steps are still the group's).
   */
  rank(r: number): VirtualInstanceEngine {
    const rank = this.ranks[r];
    const group = this.#group;
    return {
      add: (req) => group.add(req, r),
      kv: rank.kv,
      get terms() {
        return group.terms;
      },
      releaseHeld: (id) => rank.releaseHeld(id),
    };
  }

  #kick(): void {
    if (this.#busy || this.#kicked) return;
    this.#kicked = true;
    this.#loop.at(this.#loop.nowMs(), () => {
      this.#kicked = false;
      if (!this.#busy) this.#next();
    });
  }

  /** Plans every rank's step and runs them together for the group's step time. */
  #next(): void {
    const step = this.#group.planStep();
    if (!step) {
      this.#busy = false;
      return;
    }
    this.#busy = true;
    const end = Math.max(this.#loop.nowMs(), step.readyMs) + step.durMs;
    this.#loop.at(end, () => {
      this.#group.finishStep(step, end);
      this.#next();
    });
  }
}
