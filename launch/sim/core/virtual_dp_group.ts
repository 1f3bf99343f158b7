/**
 * One vLLM instance of `--data-parallel-size` ranks in virtual time: each rank
 * an engine core with its own scheduler and KV cache, all stepping together.
 *
 * vLLM runs an MoE model's data-parallel ranks in lockstep: while any rank has
 * requests, every rank runs a forward pass each step (idle ones a dummy batch),
 * because the expert layers gather the tokens of all ranks. So a step here
 * starts on every rank at once and lasts the group's step time
 * ({@linkcode CostModel.groupStepMs}: the slowest rank's attention and dense
 * part plus the experts over all ranks' tokens). A dense model's ranks do not
 * synchronise (vLLM's DP wave is for MoE): each steps on its own.
 *
 * Requests are spread as vLLM's API server spreads them over its engine cores
 * (`DPLBAsyncMPClient`, vllm/v1/engine/core_client.py): the rank with the
 * lowest `waiting * 4 + running`, first from rank 0 on ties, from counts the
 * coordinator publishes every 100 ms, raised locally by one waiting request per
 * pick in between.
 *
 * @module
 */
import type { CostModel } from "./cost_model.ts";
import type { EngineCore, EngineOptions, EngineRequest, StepPlan } from "./engine.ts";
import type { KvCache } from "./kv_cache.ts";
import { StepTermTotals } from "./step_terms.ts";
import { VirtualEngine } from "./virtual_engine.ts";
import type { EventLoop } from "../../../lib/event_loop.ts";
import { Rng } from "../../../lib/rng.ts";

/** How often the ranks' waiting/running counts reach the load balancer, simulated ms (vLLM's coordinator). */
export const DP_STATS_INTERVAL_MS = 100;

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
  readonly ranks: EngineCore[];
  readonly #loop: EventLoop;
  readonly #cost: CostModel;
  readonly #rng: Rng;
  readonly #jitter: number;
  /** The balancer's view: [waiting, running] per rank. */
  readonly #counts: [number, number][];
  #countsAtMs = -Infinity;
  #busy = false;
  #kicked = false;
  /** Lockstep steps run (MoE). */
  steps = 0;
  readonly #lockstep: boolean;
  readonly #terms = new StepTermTotals();

  constructor(o: VirtualDpGroupOptions) {
    this.#loop = o.clock;
    this.#cost = o.cost;
    this.#jitter = o.jitter ?? 0.03;
    this.#rng = new Rng(`dp-group:${o.seed ?? 0}`);
    const lockstep = o.cost.model.moe !== undefined;
    this.#lockstep = lockstep;
    this.ranks = Array.from({ length: o.cost.dp }, (_, r) => {
      const rank = new VirtualEngine({ ...o.rankOptions(r), clock: o.clock });
      // lockstep: the group steps the ranks (the rank keeps its frontend floor on the loop)
      if (lockstep) rank.onWork = () => this.#kick();
      return rank;
    });
    this.#counts = this.ranks.map(() => [0, 0]);
  }

  get kv(): KvCache {
    return this.ranks[0].kv;
  }

  /** The group's lockstep steps by term (MoE), else its ranks' steps summed. */
  get terms(): StepTermTotals {
    if (this.#lockstep) return this.#terms;
    const all = new StepTermTotals();
    for (const r of this.ranks) all.addAll(r.terms);
    return all;
  }

  /** Hands the request to the rank vLLM's balancer would pick. */
  add(req: EngineRequest): void {
    this.ranks[this.#pick()].add(req);
  }

  releaseHeld(id: string): number | null {
    for (const r of this.ranks) {
      const n = r.releaseHeld(id);
      if (n !== null) return n;
    }
    return null;
  }

  /** The rank with the lowest `waiting * 4 + running` in the balancer's (stale) view. */
  #pick(): number {
    const now = this.#loop.nowMs();
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
    const plans: (StepPlan | null)[] = this.ranks.map((r) => r.planStep());
    if (plans.every((p) => p === null)) {
      this.#busy = false;
      return;
    }
    this.#busy = true;
    let readyMs = this.#loop.nowMs();
    for (const p of plans) if (p && p.readyMs > readyMs) readyMs = p.readyMs;
    const shapes = plans.map((p, i) => p && this.ranks[i].plannedShape);
    const noise = 1 + (this.#rng.next() * 2 - 1) * this.#jitter;
    const b = this.#cost.groupBreakdown(shapes);
    const end = readyMs + b.totalMs * noise;
    this.#loop.at(end, () => {
      this.steps++;
      this.#terms.add(b);
      plans.forEach((p, i) => p && this.ranks[i].finishStep(p, end));
      this.#next();
    });
  }
}
