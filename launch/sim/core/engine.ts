/**
 * The simulated engine core, stepped like vLLM v1: a waiting queue and a running
 * set; each step schedules running requests first (decodes, unfinished prefill
 * chunks), then admits waiting requests with chunked prefill up to the token
 * budget; blocks come from the paged KV cache (prefix hits, preemption by
 * recompute); step time comes from the roofline cost model.
 *
 * This is the core without I/O: it never waits. A shell drives it, asking for
 * the next step ({@linkcode EngineCore.planStep}) and applying it at its end
 * ({@linkcode EngineCore.finishStep}): the live shell ({@linkcode LiveEngine},
 * `live_engine.ts`) on the wall clock x speed, the virtual loop of
 * `deno task predict` on a virtual clock.
 *
 * @module
 */
import { type CostModel, type StepBreakdown, StepShape, zeroBreakdown } from "./cost_model.ts";
import { StepTermTotals } from "./step_terms.ts";
import type { KvBlock, KvCache } from "./kv_cache.ts";
import {
  allocateBlocks,
  commitFull,
  extendHashes,
  keepHashes,
  releaseBlocks,
  Seq,
  takeCachedBlocks,
} from "./_seq.ts";
import { DecodeCohort } from "./_decode_cohort.ts";
import type { Clock } from "../../../lib/clock.ts";
import { SimMetrics } from "./metrics.ts";
import { Rng } from "../../../lib/rng.ts";
import { Deque } from "../../../lib/deque.ts";

/** Why a request finished, with vLLM's words. */
export type FinishReason = "stop" | "length" | "abort";

/** What a finished request reports to its sink. */
export interface FinishInfo {
  promptTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the prefix cache (or received from a remote prefill). */
  cachedTokens: number;
  /** Blocks kept for a remote decode instance to pull (producer side of PD). */
  heldBlockIds?: number[];
  /**
   * When each output token came out, simulated ms (`outputTokens` of them), for a
   * request that asked with {@linkcode EngineRequest.recordTimes}.
   */
  tokenTimesMs?: Float64Array;
}

/** Receives a request's tokens as the engine produces them. */
export interface SeqSink {
  /**
   * One output token, at the end of the step that sampled it (a live stream);
   * a sink that reads the token times at the end instead leaves it out.
   */
  onToken?(tokenId: number, index: number): void;
  /** The request is done (also after abort). */
  onFinish(reason: FinishReason, info: FinishInfo): void;
}

/** Remote KV this request receives instead of running its own prefill (consumer side of PD). */
export interface RemotePrefill {
  /**
   * Starts moving the KV of `tokens` prompt tokens here; calls `done(true)` once
   * it has arrived, `done(false)` when the producer no longer has it (then the
   * prefill runs here). The live transport pulls over HTTP and waits out the
   * modelled transfer time; the virtual one schedules the arrival as an event.
   */
  start(tokens: number, done: (ok: boolean) => void): void;
  /** Prompt tokens the remote side holds (a prefix); @default the whole prompt */
  tokens?: number;
}

/**
 * Token ids: an array, or a typed array (virtual time keeps a prompt's ids,
 * which a conversation holds for seconds, out of the garbage-collected heap).
 */
export type TokenIds = readonly number[] | Uint32Array;

/** A request as the engine sees it. */
export interface EngineRequest {
  id: string;
  /** The prompt's token ids (read, never changed: the engine keeps no copy). */
  promptTokens: TokenIds;
  /** Output token ids to emit, in order (decided by the caller; the last may be EOS). */
  outputIds: TokenIds;
  /** Why it ends after the last of `outputIds`. */
  finishReason: "stop" | "length";
  /** Vision-encoder tokens per image still to encode here (none if already cached). */
  imageTokens?: number[];
  /** Receive the prompt's KV from a prefill instance (NIXL consumer). */
  remotePrefill?: RemotePrefill;
  /** Keep the blocks after finishing so a decode instance can pull them (NIXL producer). */
  holdForRemoteDecode?: boolean;
  /** Record each output token's time for {@linkcode FinishInfo.tokenTimesMs}. @default false */
  recordTimes?: boolean;
  /**
   * The conversation it belongs to: its prompt's block hashes start from those of
   * the blocks it repeats of the session's last request (checked token by token).
   */
  session?: string;
  sink: SeqSink;
}

/** Options of {@linkcode Engine}. */
export interface EngineOptions {
  cost: CostModel;
  kv: KvCache;
  /** Where "now" comes from: the live clock or the virtual event loop. */
  clock: Clock;
  /** Token budget of one step. @default 8192 */
  maxNumBatchedTokens?: number;
  /** Max requests in the running set. @default 256 */
  maxNumSeqs?: number;
  /** Relative step-time noise (uniform ±). @default 0.03 */
  jitter?: number;
  /** Seed of the noise. @default 0 */
  seed?: number;
  /** Where its Prometheus counters go (the ranks of one instance share one). @default its own */
  metrics?: SimMetrics;
  /** How long held producer blocks wait for a pull, simulated ms. @default 480000 */
  holdTimeoutMs?: number;
  /**
   * Advance running decodes together (`_decode_cohort.ts`): the same result as
   * stepping each, at O(1) per step for requests whose sink takes no per-token
   * call. Off, every request is stepped one by one, and in virtual time every step
   * is an event of its own (the equivalence tests' reference). @default true
   */
  batchDecodes?: boolean;
  /**
   * vLLM's `--async-scheduling`: the next step is scheduled while the current
   * one runs, so a request that reaches the queue during a step joins the step
   * after the next one (one more step of TTFT); an idle engine takes it at once. @default false
   */
  asyncScheduling?: boolean;
}

/** One planned engine step: its work and modelled duration. */
export interface StepPlan {
  /** Modelled duration, simulated ms (cost model x noise + encoder). */
  readonly durMs: number;
  /** The step cannot start before this (the latest arrival or KV arrival of its requests). */
  readonly readyMs: number;
}

/** A step's sequences and how many tokens each computes (two arrays: no object per sequence). */
interface Work {
  /** Members of the decode cohort in the step (they come first in the running set). */
  cohort: number;
  seqs: Seq[];
  ns: number[];
}

/** The plan the engine hands out, with its work (one record, refilled each step). */
interface Plan {
  durMs: number;
  readyMs: number;
  work: Work;
  /** The cost model's breakdown of the step (before noise). */
  breakdown: StepBreakdown;
}

/** A simulated vLLM engine core (no I/O, never waits). */
export class EngineCore {
  readonly metrics: SimMetrics;
  readonly #o: Required<Omit<EngineOptions, "cost" | "kv" | "clock" | "metrics">>;
  readonly #cost: CostModel;
  readonly #kv: KvCache;
  readonly #clock: Clock;
  readonly #rng: Rng;
  /** Waiting requests in admission order: a deque, O(1) at both ends however long it grows. */
  readonly #waiting = new Deque<Seq>();
  #running: Seq[] = [];
  readonly #byId = new Map<string, Seq>();
  readonly #held = new Map<string, { blocks: KvBlock[]; expiresMs: number }>();
  /** The step being summed up for the cost model (reused every step). */
  readonly #shape = new StepShape();
  /** When the step in flight was planned; whether the next plan follows it directly. */
  #plannedAtMs = -Infinity;
  #chained = false;
  /** Waiting requests enqueued after this are not admitted into the step being planned. */
  #admitBeforeMs = Infinity;
  /** Running decodes advanced together (absent when off). */
  readonly #cohort: DecodeCohort | null = null;
  /** The work of the step planned last. */
  readonly #work: Work = { cohort: 0, seqs: [], ns: [] };
  /** The step planned last (valid until the next plan, as its work is). */
  readonly #plan: Plan = { durMs: 0, readyMs: 0, work: this.#work, breakdown: zeroBreakdown() };
  /** Requests admitted so far (their order in the running set). */
  #admitted = 0;
  /** Called when new work may be schedulable (a request arrived, KV arrived). */
  onWork: () => void = () => {};
  /** Steps run so far. */
  steps = 0;
  /** Simulated ms the engine was busy. */
  busyMs = 0;
  /** Its steps' time by cost term (a lockstep data-parallel group keeps its own). */
  readonly terms = new StepTermTotals();
  /** Steps that advanced the decode cohort together (the rest stepped each request). */
  batchedSteps = 0;

  constructor(opts: EngineOptions) {
    this.metrics = opts.metrics ?? new SimMetrics();
    this.#cost = opts.cost;
    this.#kv = opts.kv;
    this.#clock = opts.clock;
    this.#o = {
      maxNumBatchedTokens: opts.maxNumBatchedTokens ?? 8192,
      maxNumSeqs: opts.maxNumSeqs ?? 256,
      jitter: opts.jitter ?? 0.03,
      seed: opts.seed ?? 0,
      holdTimeoutMs: opts.holdTimeoutMs ?? 480_000,
      batchDecodes: opts.batchDecodes ?? true,
      asyncScheduling: opts.asyncScheduling ?? false,
    };
    this.#rng = new Rng(this.#o.seed);
    // a cohort needs every running decode in every step: the budget must cover the running set
    if (this.#o.batchDecodes && this.#o.maxNumSeqs <= this.#o.maxNumBatchedTokens) {
      this.#cohort = new DecodeCohort(opts.kv);
    }
  }

  /** Requests in the running set. */
  get numRunning(): number {
    return this.#running.length;
  }

  /** Requests waiting (including those receiving remote KV). */
  get numWaiting(): number {
    return this.#byId.size - this.#running.length;
  }

  /** Requests not finished (waiting, transferring or running). */
  get numActive(): number {
    return this.#byId.size;
  }

  /** The KV cache. */
  get kv(): KvCache {
    return this.#kv;
  }

  /**
   * Takes a request as the API server does: it reaches the scheduler's queue after
   * the cost model's frontend floor (HTTP, tokenisation), counted in its TTFT; its
   * sink hears every token and the finish.
   */
  add(req: EngineRequest): void {
    if (this.#byId.has(req.id)) throw new RangeError(`Cannot add request ${req.id}: id is in use`);
    const seq = new Seq(req, this.#clock.nowMs(), this.#cohort !== null);
    this.#byId.set(req.id, seq);
    const enqueue = () => {
      if (seq.state !== "waiting" || this.#byId.get(req.id) !== seq) return; // aborted meanwhile
      seq.enqueuedMs = seq.readyMs = this.#clock.nowMs();
      this.#waiting.push(seq);
      this.onWork();
    };
    const floorMs = this.#cost.frontendMs(req.promptTokens.length);
    if (floorMs > 0) this.later(floorMs, enqueue);
    else enqueue();
  }

  /**
   * Runs `fn` after `delayMs` simulated ms: the shells supply their clock's timer
   * (live: the wall clock x speed; virtual: an event). @default at once
   */
  protected later(_delayMs: number, fn: () => void): void {
    fn();
  }

  /** Aborts a request (client went away); its blocks are freed. */
  abort(id: string): void {
    const seq = this.#byId.get(id);
    if (!seq) return;
    this.#finish(seq, "abort", this.#clock.nowMs());
  }

  /** Aborts every request in flight. */
  abortAll(): void {
    for (const seq of [...this.#byId.values()]) this.#finish(seq, "abort", this.#clock.nowMs());
  }

  /** Releases blocks held for a remote decode; returns how many blocks, or null if unknown. */
  releaseHeld(id: string): number | null {
    const held = this.#held.get(id);
    if (!held) return null;
    this.#held.delete(id);
    this.#kv.release(held.blocks);
    return held.blocks.length;
  }

  /** Number of requests whose blocks are held for a remote decode. */
  get numHeld(): number {
    return this.#held.size;
  }

  /**
   * Plans the next step from the current state (expiring held blocks first), or
   * null when there is nothing to run. The caller runs it for `durMs` and then
   * calls {@linkcode finishStep}.
   */
  planStep(): StepPlan | null {
    const now = this.#clock.nowMs();
    // async scheduling: a step that follows another was scheduled when that one started
    this.#admitBeforeMs = this.#o.asyncScheduling && this.#chained ? this.#plannedAtMs : Infinity;
    this.#expireHeld();
    const work = this.#schedule();
    if (work.cohort + work.seqs.length === 0) {
      this.#chained = false;
      return null;
    }
    this.#plannedAtMs = now;
    let readyMs = -Infinity;
    const shape = this.#shape;
    shape.clear();
    if (work.cohort > 0) shape.addDecodes(work.cohort, this.#cohort!.sumCtx);
    let images: number[] | null = null;
    // cohort members arrived before now: they never hold a step back
    for (let i = 0; i < work.seqs.length; i++) {
      const seq = work.seqs[i];
      if (seq.readyMs > readyMs) readyMs = seq.readyMs;
      shape.add(work.ns[i], seq.numComputed);
      if (!seq.encoded) {
        (images ??= []).push(...seq.req.imageTokens!);
        seq.encoded = true;
      }
    }
    const noise = 1 + (this.#rng.next() * 2 - 1) * this.#o.jitter;
    const plan = this.#plan;
    const breakdown = this.#cost.shapeBreakdown(shape, plan.breakdown);
    plan.durMs = breakdown.totalMs * noise + (images ? this.#cost.encoderMs(images) : 0);
    plan.readyMs = readyMs;
    return plan;
  }

  /**
   * The work of the step {@linkcode planStep} planned last, summed up (valid
   * until the next plan): a data-parallel group times its ranks' steps together.
   */
  get plannedShape(): StepShape {
    return this.#shape;
  }

  /** Applies a planned step that ended at `endMs`: tokens out, finished requests done. */
  finishStep(plan: StepPlan, endMs: number): void {
    this.#chained = true;
    this.steps++;
    this.busyMs += plan.durMs;
    this.terms.add((plan as Plan).breakdown);
    this.#apply((plan as Plan).work, endMs);
  }

  /** Builds one step: running requests first, then waiting ones while budget lasts. */
  #schedule(): Work {
    // one step is planned at a time (the shells finish it before planning the next): reuse its record
    const work = this.#work;
    work.cohort = 0;
    work.seqs.length = 0;
    work.ns.length = 0;
    const c = this.#cohort;
    if (c && c.size > 0) {
      if (this.#cohortLeads(c) && c.reserve(this.steps)) {
        work.cohort = c.size;
        this.batchedSteps++;
      } else this.#leaveCohort(); // out of blocks (preemption) or out of order: one by one
    }
    const budget = this.#scheduleRunning(work, this.#o.maxNumBatchedTokens - work.cohort);
    this.#admitWaiting(work, budget);
    return work;
  }

  /** Whether the cohort's members are the first of the running set (as admitted). */
  #cohortLeads(c: DecodeCohort): boolean {
    for (let i = c.size; i < this.#running.length; i++) if (this.#running[i].inCohort) return false;
    return this.#running.length >= c.size;
  }

  /** Every cohort member back to being stepped one by one. */
  #leaveCohort(): void {
    const c = this.#cohort!;
    for (const seq of this.#running) if (seq.inCohort) c.leave(seq, this.steps);
  }

  /** Running requests after the cohort, in order, preempting the last admitted when out of blocks. */
  #scheduleRunning(work: Work, budget: number): number {
    const B = this.#kv.blockSize;
    for (let i = work.cohort; i < this.#running.length && budget > 0; i++) {
      const seq = this.#running[i];
      const n = Math.min(seq.len - seq.numComputed, budget);
      const need = Math.ceil((seq.numComputed + n) / B) - seq.numBlocks;
      let ok = true;
      while (need > 0) {
        if (allocateBlocks(seq, this.#kv, need)) break;
        // Out of blocks: preempt the most recently admitted request (recompute later).
        const victim = this.#running[this.#running.length - 1];
        this.#preempt(victim);
        if (victim === seq) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
      work.seqs.push(seq);
      work.ns.push(n);
      budget -= n;
    }
    return budget;
  }

  /** Admits waiting requests while the budget, the blocks and the running set's size allow. */
  #admitWaiting(work: Work, budget: number): void {
    const B = this.#kv.blockSize;
    while (budget > 0 && this.#waiting.length > 0 && this.#running.length < this.#o.maxNumSeqs) {
      const seq = this.#waiting.at(0)!;
      if (seq.enqueuedMs > this.#admitBeforeMs) break; // came after this step was scheduled
      if (seq.numBlocks === 0) this.#matchPrefix(seq);
      const remoteTokens = seq.req.remotePrefill?.tokens ?? seq.len - 1;
      if (
        seq.req.remotePrefill && !seq.pulled &&
        seq.numComputed < Math.min(remoteTokens, seq.len - 1)
      ) {
        if (!this.#startTransfer(seq)) break;
        continue;
      }
      const n = Math.min(seq.len - seq.numComputed, budget);
      const need = Math.ceil((seq.numComputed + n) / B) - seq.numBlocks;
      if (need > 0 && !allocateBlocks(seq, this.#kv, need)) {
        this.#dropBlocks(seq); // do not pin cached blocks while waiting
        break;
      }
      this.#waiting.shift();
      seq.state = "running";
      seq.admitNo = this.#admitted++;
      if (seq.scheduledMs < 0) seq.scheduledMs = this.#clock.nowMs();
      this.#running.push(seq);
      work.seqs.push(seq);
      work.ns.push(n);
      budget -= n;
    }
  }

  /** Looks up the longest cached prefix (always leaving one token to compute). */
  #matchPrefix(seq: Seq): void {
    const B = this.#kv.blockSize;
    extendHashes(seq, Math.floor(seq.len / B), B);
    const usable = Math.floor((seq.len - 1) / B);
    const hit = takeCachedBlocks(seq, this.#kv, usable);
    seq.committed = hit;
    seq.numComputed = hit * B;
    if (!seq.queried) {
      seq.queried = true;
      seq.cachedTokens = seq.numComputed;
      this.#kv.queries += seq.len;
      this.#kv.hits += seq.numComputed;
    }
  }

  /** Consumer side of PD: allocate all prompt blocks, pull the rest of the KV, then decode. */
  #startTransfer(seq: Seq): boolean {
    const B = this.#kv.blockSize;
    const need = Math.ceil(seq.len / B) - seq.numBlocks;
    if (need > 0 && !allocateBlocks(seq, this.#kv, need)) {
      this.#dropBlocks(seq);
      return false;
    }
    this.#waiting.shift();
    seq.state = "transferring";
    seq.pulled = true;
    const remote = seq.req.remotePrefill!;
    const provided = Math.min(remote.tokens ?? seq.len, seq.len);
    const tokens = provided - seq.numComputed;
    remote.start(tokens, (ok) => {
      if (seq.state !== "transferring") return; // aborted meanwhile
      if (ok) {
        seq.numComputed = Math.min(provided, seq.len - 1);
        seq.cachedTokens = provided;
        // the images' positions came as KV: no vision encoder here (vLLM encodes only
        // the positions a step computes)
        if (provided >= seq.len - 1) seq.encoded = true;
        commitFull(seq, this.#kv);
      }
      seq.state = "waiting";
      seq.readyMs = this.#clock.nowMs();
      this.#waiting.unshift(seq);
      this.onWork();
    });
    return true;
  }

  /** Frees a request's blocks; it computes from scratch (or its cached prefix) when admitted again. */
  #dropBlocks(seq: Seq): void {
    releaseBlocks(seq, this.#kv);
    seq.committed = 0;
    seq.numComputed = 0;
  }

  #preempt(seq: Seq): void {
    if (seq.inCohort) this.#cohort!.leave(seq, this.steps);
    const i = this.#running.lastIndexOf(seq); // the victim is the last admitted
    if (i >= 0) this.#running.splice(i, 1);
    this.#dropBlocks(seq);
    seq.state = "waiting";
    this.#waiting.unshift(seq);
    this.metrics.preemptions++;
  }

  #apply(work: Work, endMs: number): void {
    const B = this.#kv.blockSize;
    const step = this.steps - 1;
    const c = this.#cohort;
    c?.stepEnded(step, endMs);
    // the decodes that continue from the last step share one gap: one histogram update
    let gapMs = -1, gapN = 0, produced = 0;
    if (work.cohort > 0 && c!.size > 0) {
      gapMs = endMs - c!.stepEndMs(step - 1);
      gapN = produced = c!.size;
      for (const seq of c!.advance(step)) this.#finish(seq, seq.req.finishReason, endMs);
    }
    for (let i = 0; i < work.seqs.length; i++) {
      const seq = work.seqs[i];
      if (seq.state !== "running") continue; // aborted during the step
      seq.numComputed += work.ns[i];
      if (seq.numComputed >= (seq.committed + 1) * B) commitFull(seq, this.#kv);
      if (seq.numComputed < seq.len) continue; // prefill chunk, no token yet
      seq.len++;
      produced++;
      if (seq.numOut === 0) {
        seq.firstTokenMs = endMs;
        this.metrics.promptTokens += seq.req.promptTokens.length;
        this.metrics.ttft.observe((endMs - seq.arrivalMs) / 1000);
      } else {
        const g = endMs - seq.lastTokenMs;
        if (g !== gapMs) {
          if (gapN > 0) this.metrics.itl.observeN(gapMs / 1000, gapN);
          gapMs = g;
          gapN = 0;
        }
        gapN++;
      }
      seq.lastTokenMs = endMs;
      if (seq.timesMs) seq.timesMs[seq.numOut] = endMs;
      else if (seq.recordsTimes) c!.noteToken(seq, step);
      seq.req.sink.onToken?.(seq.req.outputIds[seq.numOut], seq.numOut);
      seq.numOut++;
      if (seq.numOut >= seq.req.outputIds.length) this.#finish(seq, seq.req.finishReason, endMs);
    }
    if (gapN > 0) this.metrics.itl.observeN(gapMs / 1000, gapN);
    this.metrics.generationTokens += produced;
    if (c) this.#join(c, work);
  }

  /** The requests of this step now decoding join the cohort (their sinks take no per-token call). */
  #join(c: DecodeCohort, work: Work): void {
    for (const seq of work.seqs) {
      if (
        seq.state === "running" && !seq.inCohort && seq.numComputed === seq.len - 1 &&
        !seq.req.sink.onToken
      ) c.join(seq, this.steps);
    }
  }

  #finish(seq: Seq, reason: FinishReason, nowMs: number): void {
    if (seq.state === "done") return;
    if (seq.inCohort) this.#cohort!.leave(seq, this.steps);
    const wasRunning = seq.state === "running";
    // only a waiting request can be in the queue (no scan of a long queue per finish)
    if (wasRunning) {
      const i = this.#running.indexOf(seq);
      if (i >= 0) this.#running.splice(i, 1);
    } else if (seq.state === "waiting") {
      const w = this.#waiting.indexOf(seq);
      if (w >= 0) this.#waiting.removeAt(w);
    }
    seq.state = "done";
    this.#byId.delete(seq.req.id);
    keepHashes(seq, this.#kv.blockSize);
    const info: FinishInfo = {
      promptTokens: seq.req.promptTokens.length,
      outputTokens: seq.numOut,
      cachedTokens: seq.cachedTokens,
    };
    if (seq.recordsTimes) info.tokenTimesMs = this.#timesOf(seq);
    if (seq.req.holdForRemoteDecode && reason !== "abort") {
      info.heldBlockIds = this.#hold(seq, nowMs);
    } else {
      releaseBlocks(seq, this.#kv);
    }
    seq.committed = 0;
    this.metrics.finished[reason] = (this.metrics.finished[reason] ?? 0) + 1;
    if (reason !== "abort" && wasRunning) {
      const s = (ms: number) => ms / 1000;
      this.metrics.e2e.observe(s(nowMs - seq.arrivalMs));
      this.metrics.queue.observe(s(Math.max(0, seq.scheduledMs - seq.enqueuedMs)));
      this.metrics.prefill.observe(s(seq.firstTokenMs - Math.max(seq.scheduledMs, seq.enqueuedMs)));
      this.metrics.decode.observe(s(nowMs - seq.firstTokenMs));
      this.metrics.promptLen.observe(seq.req.promptTokens.length);
      this.metrics.genLen.observe(seq.numOut);
    }
    seq.req.sink.onFinish(reason, info);
  }

  /** A finished request's output token times (a view of the step ends while they are a run). */
  #timesOf(seq: Seq): Float64Array {
    if (this.#cohort) return this.#cohort.timesOf(seq);
    const times = seq.timesMs!;
    return seq.numOut === times.length ? times : times.subarray(0, seq.numOut);
  }

  /**
   * Keeps a finished producer request's prompt blocks for the decode
   * instance's pull (the rest go back); returns them (read, never changed).
   */
  #hold(seq: Seq, nowMs: number): number[] {
    const blocks = seq.blocks, n = seq.numBlocks;
    const keep = Math.min(n, Math.ceil(seq.req.promptTokens.length / this.#kv.blockSize));
    if (n > keep) this.#kv.release(blocks, n, keep);
    const held = new Array<number>(keep); // the request lets go of them
    for (let i = 0; i < keep; i++) held[i] = blocks[i];
    seq.numBlocks = 0;
    this.#held.set(seq.req.id, { blocks: held, expiresMs: nowMs + this.#o.holdTimeoutMs });
    return held;
  }

  /**
   * Releases held blocks whose wait is over: they were held in time order with
   * one timeout, so the expired ones come first (no scan of the rest).
   */
  #expireHeld(): void {
    const now = this.#clock.nowMs();
    for (const [id, h] of this.#held) {
      if (h.expiresMs > now) return;
      this.releaseHeld(id);
    }
  }
}
