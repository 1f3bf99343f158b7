/**
 * One vLLM instance of `--data-parallel-size` ranks, without its clock: the
 * ranks' load balancing and, for an MoE model, their lockstep steps. The
 * virtual shell (`virtual_dp_group.ts`, an event loop) and the live one
 * (`../live/live_dp_group.ts`, the wall clock x speed) both drive this.
 *
 * vLLM runs an MoE model's data-parallel ranks in lockstep: while any rank has
 * requests, every rank runs a forward pass each step (idle ones a dummy batch),
 * because the expert layers gather the tokens of all ranks. So a group step
 * plans every rank at once and lasts the group's step time
 * ({@linkcode CostModel.groupBreakdown}: the slowest rank's attention and
 * dense part plus the experts over all ranks' tokens). A dense model's ranks
 * do not synchronise (vLLM's DP wave is for MoE): each steps on its own.
 *
 * Requests are spread as vLLM's API server spreads them over its engine cores
 * (`DPLBAsyncMPClient`, vllm/v1/engine/core_client.py): the rank with the
 * lowest `waiting * 4 + running`, first from rank 0 on ties, from counts the
 * coordinator publishes every 100 ms, raised locally by one waiting request per
 * pick in between. With external load balancing (`dp_lb: external`) the router
 * picks the rank and the balancer is bypassed.
 *
 * @module
 */
import type { Clock } from "../../../lib/clock.ts";
import { Rng } from "../../../lib/rng.ts";
import type { CostModel, StepBreakdown } from "./cost_model.ts";
import type { EngineCore, EngineRequest, StepPlan } from "./engine.ts";
import type { KvCache } from "./kv_cache.ts";
import { StepTermTotals } from "./step_terms.ts";

/** How often the ranks' waiting/running counts reach the load balancer, simulated ms (vLLM's coordinator). */
export const DP_STATS_INTERVAL_MS = 100;

/** What the HTTP shell reads of an instance's KV caches (`/metrics`, the stats line, reset). */
export type KvView = Pick<KvCache, "usage" | "queries" | "hits" | "resetPrefixCache">;

/**
 * What the HTTP shell serves requests with: one engine core, or the ranks of a
 * data-parallel instance (`../live/live_dp_group.ts`).
 */
export type ServedEngine =
  & Pick<EngineCore, "add" | "abort" | "metrics" | "numRunning" | "numWaiting">
  & {
    readonly kv: KvView;
  };

/** One planned lockstep step of the group. */
export interface GroupStep {
  /** Each rank's plan (null: an idle rank, which runs a dummy step). */
  plans: (StepPlan | null)[];
  breakdown: StepBreakdown;
  /** It cannot start before this: the latest of the ranks' ready times (-Infinity: none waits). */
  readyMs: number;
  /** Its duration with the step noise, simulated ms. */
  durMs: number;
}

/** Options of {@linkcode DpGroup}. */
export interface DpGroupOptions {
  /** The instance's cost model (its `dp` ranks). */
  cost: CostModel;
  clock: Clock;
  /** Relative step-time noise (uniform ±). @default 0.03 */
  jitter?: number;
  /** Seed of the noise. @default 0 */
  seed?: number;
}

/** The ranks of one data-parallel instance: balancing, lockstep steps and their sums. */
export class DpGroup {
  /** True for an MoE model: the ranks step together. */
  readonly lockstep: boolean;
  readonly #clock: Clock;
  readonly #cost: CostModel;
  readonly #rng: Rng;
  readonly #jitter: number;
  /** The balancer's view: [waiting, running] per rank. */
  readonly #counts: [number, number][];
  #countsAtMs = -Infinity;
  readonly #terms = new StepTermTotals();
  /** Lockstep steps run (MoE). */
  steps = 0;

  constructor(readonly ranks: EngineCore[], o: DpGroupOptions) {
    this.#clock = o.clock;
    this.#cost = o.cost;
    this.#jitter = o.jitter ?? 0.03;
    this.#rng = new Rng(`dp-group:${o.seed ?? 0}`);
    this.lockstep = o.cost.model.moe !== undefined;
    this.#counts = ranks.map(() => [0, 0]);
  }

  /**
   * Hands the request to `rank` (external load balancing: the router chose
   * it), else to the rank vLLM's balancer would pick.
   */
  add(req: EngineRequest, rank?: number): void {
    this.ranks[rank ?? this.#pick()].add(req);
  }

  /** Aborts a request on whichever rank has it. */
  abort(id: string): void {
    for (const r of this.ranks) r.abort(id);
  }

  releaseHeld(id: string): number | null {
    for (const r of this.ranks) {
      const n = r.releaseHeld(id);
      if (n !== null) return n;
    }
    return null;
  }

  get numRunning(): number {
    return this.ranks.reduce((a, r) => a + r.numRunning, 0);
  }

  get numWaiting(): number {
    return this.ranks.reduce((a, r) => a + r.numWaiting, 0);
  }

  /** The ranks' KV caches as one: usage averaged, prefix queries and hits summed, reset on all. */
  get kvView(): KvView {
    const kvs = this.ranks.map((r) => r.kv);
    return {
      usage: () => kvs.reduce((a, k) => a + k.usage(), 0) / kvs.length,
      get queries() {
        return kvs.reduce((a, k) => a + k.queries, 0);
      },
      get hits() {
        return kvs.reduce((a, k) => a + k.hits, 0);
      },
      resetPrefixCache: () => kvs.map((k) => k.resetPrefixCache()).every(Boolean),
    };
  }

  /** The group's lockstep steps by term (MoE), else its ranks' steps summed. */
  get terms(): StepTermTotals {
    if (this.lockstep) return this.#terms;
    const all = new StepTermTotals();
    for (const r of this.ranks) all.addAll(r.terms);
    return all;
  }

  /** The rank with the lowest `waiting * 4 + running` in the balancer's (stale) view. */
  #pick(): number {
    const now = this.#clock.nowMs();
    if (now - this.#countsAtMs >= DP_STATS_INTERVAL_MS) {
      this.#countsAtMs = now;
      this.ranks.forEach((r, i) => this.#counts[i] = [r.numWaiting, r.numRunning]);
    }
    let best = 0;
    let min = Infinity;
    this.#counts.forEach(([waiting, running], i) => {
      const score = waiting * 4 + running;
      if (score < min) [min, best] = [score, i];
    });
    this.#counts[best][0]++;
    return best;
  }

  /** Plans every rank's step (lockstep); null when no rank has work. */
  planStep(): GroupStep | null {
    const plans: (StepPlan | null)[] = this.ranks.map((r) => r.planStep());
    if (plans.every((p) => p === null)) return null;
    let readyMs = -Infinity;
    for (const p of plans) if (p && p.readyMs > readyMs) readyMs = p.readyMs;
    const shapes = plans.map((p, i) => p && this.ranks[i].plannedShape);
    const noise = 1 + (this.#rng.next() * 2 - 1) * this.#jitter;
    const breakdown = this.#cost.groupBreakdown(shapes);
    return { plans, breakdown, readyMs, durMs: breakdown.totalMs * noise };
  }

  /** Applies a planned group step that ended at `endMs` on every rank. */
  finishStep(step: GroupStep, endMs: number): void {
    this.steps++;
    this.#terms.add(step.breakdown);
    step.plans.forEach((p, i) => p && this.ranks[i].finishStep(p, endMs));
  }
}
