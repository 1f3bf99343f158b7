/**
 * One simulated vLLM instance of `--data-parallel-size` ranks on the wall
 * clock (× speed), inside one `deno task sim` process: the choice for the live
 * clock is one process per instance, as `vllm serve --data-parallel-size N`
 * with its internal load balancing is one API server over N engine cores.
 * Each rank is an engine core with its own scheduler and KV cache; the
 * balancing and (MoE) lockstep steps are {@linkcode DpGroup}'s, the same code
 * the virtual clock drives; a dense model's ranks step on their own.
 * All ranks count into one set of Prometheus counters (`/metrics` shows the
 * instance, not each rank), except with external load balancing
 * (`--data-parallel-external-lb`): then each rank is served at a port of its
 * own ({@linkcode LiveDpGroup.rank}) with its own counters, as each
 * `vllm serve --data-parallel-rank R` process reports its own.
 *
 * @module
 */
import type { SimClock } from "./clock.ts";
import { runStepLoop, WorkSignal } from "./_step_loop.ts";
import { LiveEngine } from "./live_engine.ts";
import type { CostModel } from "../core/cost_model.ts";
import { DpGroup, type KvView, type ServedEngine } from "../core/dp_group.ts";
import { EngineCore, type EngineOptions, type EngineRequest } from "../core/engine.ts";
import { SimMetrics } from "../core/metrics.ts";

/** A rank the group steps: its own frontend floor on the clock, no step loop of its own. */
class LiveRank extends EngineCore {
  constructor(opts: EngineOptions, readonly clock: SimClock) {
    super(opts);
  }

  protected override later(delayMs: number, fn: () => void): void {
    this.clock.sleep(delayMs).then(fn);
  }
}

/** Options of {@linkcode LiveDpGroup}. */
export interface LiveDpGroupOptions {
  clock: SimClock;
  /** The instance's cost model (its `dp` ranks). */
  cost: CostModel;
  /** Each rank's engine options, a fresh KV cache each. */
  rankOptions: () => Omit<EngineOptions, "clock">;
  jitter?: number;
  seed?: number;
  /** Counters per rank (external load balancing: a port per rank). @default false */
  perRankMetrics?: boolean;
}

/** The ranks of one data-parallel instance, served by one HTTP shell. */
export class LiveDpGroup {
  readonly ranks: EngineCore[];
  readonly metrics = new SimMetrics();
  /** Worst lag of a group step end behind real time, simulated ms. */
  maxLagMs = 0;
  readonly #group: DpGroup;
  readonly #clock: SimClock;
  readonly #work = new WorkSignal();
  #closed = false;
  readonly #loop: Promise<void> | null = null;

  constructor(o: LiveDpGroupOptions) {
    this.#clock = o.clock;
    const lockstep = o.cost.model.moe !== undefined;
    this.ranks = Array.from({ length: o.cost.dp }, () => {
      const metrics = o.perRankMetrics ? new SimMetrics() : this.metrics;
      const opts = { ...o.rankOptions(), clock: o.clock, metrics };
      return lockstep ? new LiveRank(opts, o.clock) : new LiveEngine(opts);
    });
    this.#group = new DpGroup(this.ranks, {
      cost: o.cost,
      clock: o.clock,
      jitter: o.jitter,
      seed: o.seed,
    });
    if (lockstep) {
      for (const r of this.ranks) r.onWork = () => this.#work.poke();
      this.#loop = this.#run();
    }
  }

  get kv(): KvView {
    return this.#group.kvView;
  }

  get numRunning(): number {
    return this.#group.numRunning;
  }

  get numWaiting(): number {
    return this.#group.numWaiting;
  }

  /** Lockstep steps run (MoE). */
  get steps(): number {
    return this.#group.steps;
  }

  /** Hands the request to the rank vLLM's balancer would pick. */
  add(req: EngineRequest): void {
    this.#group.add(req);
  }

  abort(id: string): void {
    this.#group.abort(id);
  }

  /** Rank `r` as the engine one port serves (external load balancing): requests pinned to it. */
  rank(r: number): ServedEngine {
    const rank = this.ranks[r];
    const group = this.#group;
    return {
      add: (req) => group.add(req, r),
      abort: (id) => rank.abort(id),
      metrics: rank.metrics,
      get numRunning() {
        return rank.numRunning;
      },
      get numWaiting() {
        return rank.numWaiting;
      },
      kv: rank.kv,
    };
  }

  releaseHeld(id: string): number | null {
    return this.#group.releaseHeld(id);
  }

  /** Stops stepping (requests in flight are aborted). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.ranks) {
      if (r instanceof LiveEngine) await r.close();
      else r.abortAll();
    }
    this.#work.poke();
    await this.#loop;
  }

  /** The lockstep loop: every rank's step at once, for the group's step time (as LiveEngine's). */
  #run(): Promise<void> {
    return runStepLoop(this.#clock, {
      closed: () => this.#closed,
      plan: () => this.#group.planStep(),
      finish: (step, end) => {
        if (!this.#closed) this.#group.finishStep(step, end);
      },
      idle: () => this.#work.wait(),
      lagged: (lagMs) => this.maxLagMs = Math.max(this.maxLagMs, lagMs),
    });
  }
}
