/**
 * The simulated engine core, stepped like vLLM v1: a waiting queue and a running
 * set; each step schedules running requests first (decodes, unfinished prefill
 * chunks), then admits waiting requests with chunked prefill up to the token
 * budget; blocks come from the paged KV cache (prefix hits, preemption by
 * recompute); step time comes from the roofline cost model.
 *
 * @module
 */
import type { CostModel, SeqWork } from "./cost_model.ts";
import { chainHash, type KvBlock, type KvCache } from "./kv_cache.ts";
import type { SimClock } from "./clock.ts";
import { SimMetrics } from "./metrics.ts";
import { Rng } from "../../lib/rng.ts";

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
}

/** Receives a request's tokens as the engine produces them. */
export interface SeqSink {
  /** One output token, at the end of the step that sampled it. */
  onToken(tokenId: number, index: number): void;
  /** The request is done (also after abort). */
  onFinish(reason: FinishReason, info: FinishInfo): void;
}

/** Remote KV this request receives instead of running its own prefill (consumer side of PD). */
export interface RemotePrefill {
  /**
   * Pulls the KV of `tokens` prompt tokens from the producer; resolves true on
   * success, false when the producer no longer has it (then the prefill runs here).
   */
  pull(tokens: number): Promise<boolean>;
  /** Simulated transfer time for `tokens` tokens. */
  transferMs(tokens: number): number;
  /** Prompt tokens the remote side holds (a prefix); @default the whole prompt */
  tokens?: number;
}

/** A request as the engine sees it. */
export interface EngineRequest {
  id: string;
  promptTokens: number[];
  /** Output token ids to emit, in order (decided by the caller; the last may be EOS). */
  outputIds: number[];
  /** Why it ends after the last of `outputIds`. */
  finishReason: "stop" | "length";
  /** Vision-encoder tokens per image still to encode here (none if already cached). */
  imageTokens?: number[];
  /** Receive the prompt's KV from a prefill instance (NIXL consumer). */
  remotePrefill?: RemotePrefill;
  /** Keep the blocks after finishing so a decode instance can pull them (NIXL producer). */
  holdForRemoteDecode?: boolean;
  sink: SeqSink;
}

/** Options of {@linkcode Engine}. */
export interface EngineOptions {
  cost: CostModel;
  kv: KvCache;
  clock: SimClock;
  /** Token budget of one step. @default 8192 */
  maxNumBatchedTokens?: number;
  /** Max requests in the running set. @default 256 */
  maxNumSeqs?: number;
  /** Relative step-time noise (uniform ±). @default 0.03 */
  jitter?: number;
  /** Seed of the noise. @default 0 */
  seed?: number;
  /** How long held producer blocks wait for a pull, simulated ms. @default 480000 */
  holdTimeoutMs?: number;
}

type State = "waiting" | "running" | "transferring" | "done";

class Seq {
  readonly tokens: number[];
  numComputed = 0;
  numOut = 0;
  blocks: KvBlock[] = [];
  hashes: string[] = [];
  cachedTokens = 0;
  state: State = "waiting";
  queried = false;
  /** The remote KV pull was tried (it is not retried; a failure means a local prefill). */
  pulled = false;
  encoded: boolean;
  arrivalMs: number;
  /** When it can next run (arrival, or the end of its KV transfer). */
  readyMs: number;
  scheduledMs = -1;
  firstTokenMs = -1;
  lastTokenMs = -1;
  constructor(readonly req: EngineRequest, nowMs: number) {
    this.tokens = req.promptTokens.slice();
    this.encoded = !req.imageTokens?.length;
    this.arrivalMs = nowMs;
    this.readyMs = nowMs;
  }
}

/** A simulated vLLM engine core. */
export class Engine {
  readonly metrics = new SimMetrics();
  readonly #o: Required<Omit<EngineOptions, "cost" | "kv" | "clock">>;
  readonly #cost: CostModel;
  readonly #kv: KvCache;
  readonly #clock: SimClock;
  readonly #rng: Rng;
  #waiting: Seq[] = [];
  #running: Seq[] = [];
  readonly #byId = new Map<string, Seq>();
  readonly #held = new Map<string, { blocks: KvBlock[]; expiresMs: number }>();
  #wake: (() => void) | null = null;
  #lastEndMs = 0;
  #closed = false;
  /** Steps run so far. */
  steps = 0;
  /** Simulated ms the engine was busy. */
  busyMs = 0;
  /** Worst lag of a step end behind real time (the host CPU could not keep up). */
  maxLagMs = 0;
  readonly #loop: Promise<void>;

  constructor(opts: EngineOptions) {
    this.#cost = opts.cost;
    this.#kv = opts.kv;
    this.#clock = opts.clock;
    this.#o = {
      maxNumBatchedTokens: opts.maxNumBatchedTokens ?? 8192,
      maxNumSeqs: opts.maxNumSeqs ?? 256,
      jitter: opts.jitter ?? 0.03,
      seed: opts.seed ?? 0,
      holdTimeoutMs: opts.holdTimeoutMs ?? 480_000,
    };
    this.#rng = new Rng(this.#o.seed);
    this.#loop = this.#run();
  }

  /** Requests in the running set. */
  get numRunning(): number {
    return this.#running.length;
  }

  /** Requests waiting (including those receiving remote KV). */
  get numWaiting(): number {
    return this.#byId.size - this.#running.length;
  }

  /** The KV cache. */
  get kv(): KvCache {
    return this.#kv;
  }

  /** Queues a request; its sink hears every token and the finish. */
  add(req: EngineRequest): void {
    if (this.#byId.has(req.id)) throw new RangeError(`Cannot add request ${req.id}: id is in use`);
    const seq = new Seq(req, this.#clock.nowMs());
    this.#byId.set(req.id, seq);
    this.#waiting.push(seq);
    this.#poke();
  }

  /** Aborts a request (client went away); its blocks are freed. */
  abort(id: string): void {
    const seq = this.#byId.get(id);
    if (!seq) return;
    this.#finish(seq, "abort", this.#clock.nowMs());
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

  /** Stops the step loop (requests in flight are aborted). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const seq of [...this.#byId.values()]) this.#finish(seq, "abort", this.#clock.nowMs());
    this.#poke();
    await this.#loop;
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      this.#expireHeld();
      const work = this.#schedule();
      if (work.length === 0) {
        this.#lastEndMs = -Infinity; // idle: the next step starts when work arrives
        // Wake on new work, or now and then (only while blocks are held) to expire them.
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (this.#held.size) timer = setTimeout(() => this.#poke(), 1000);
        });
        clearTimeout(timer);
        continue;
      }
      // Back-to-back steps keep an exact simulated timeline even when the host
      // is a little late; only a lag beyond 5 real ms moves the timeline on.
      const now = this.#clock.nowMs();
      let start = Math.max(this.#lastEndMs, now - 5 * this.#clock.speed);
      for (const w of work) start = Math.max(start, w.seq.readyMs);
      const shape: SeqWork[] = [];
      const images: number[] = [];
      for (const w of work) {
        shape.push({ newTokens: w.n, contextTokens: w.seq.numComputed });
        if (!w.seq.encoded) {
          images.push(...w.seq.req.imageTokens!);
          w.seq.encoded = true;
        }
      }
      const noise = 1 + (this.#rng.next() * 2 - 1) * this.#o.jitter;
      const durMs = this.#cost.stepMs(shape) * noise +
        (images.length ? this.#cost.encoderMs(images) : 0);
      const end = start + durMs;
      await this.#clock.until(end);
      this.maxLagMs = Math.max(this.maxLagMs, this.#clock.nowMs() - end);
      this.steps++;
      this.busyMs += durMs;
      this.#lastEndMs = end;
      this.#apply(work, end);
    }
  }

  /** Builds one step: running requests first, then waiting ones while budget lasts. */
  #schedule(): { seq: Seq; n: number }[] {
    let budget = this.#o.maxNumBatchedTokens;
    const work: { seq: Seq; n: number }[] = [];
    const B = this.#kv.blockSize;
    for (let i = 0; i < this.#running.length && budget > 0; i++) {
      const seq = this.#running[i];
      const n = Math.min(seq.tokens.length - seq.numComputed, budget);
      const need = Math.ceil((seq.numComputed + n) / B) - seq.blocks.length;
      let ok = true;
      while (need > 0) {
        const got = this.#kv.allocate(need);
        if (got) {
          seq.blocks.push(...got);
          break;
        }
        // Out of blocks: preempt the most recently admitted request (recompute later).
        const victim = this.#running[this.#running.length - 1];
        this.#preempt(victim);
        if (victim === seq) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
      work.push({ seq, n });
      budget -= n;
    }
    while (budget > 0 && this.#waiting.length > 0 && this.#running.length < this.#o.maxNumSeqs) {
      const seq = this.#waiting[0];
      if (seq.blocks.length === 0) this.#matchPrefix(seq);
      const remoteTokens = seq.req.remotePrefill?.tokens ?? seq.tokens.length - 1;
      if (
        seq.req.remotePrefill && !seq.pulled &&
        seq.numComputed < Math.min(remoteTokens, seq.tokens.length - 1)
      ) {
        if (!this.#startTransfer(seq)) break;
        continue;
      }
      const n = Math.min(seq.tokens.length - seq.numComputed, budget);
      const need = Math.ceil((seq.numComputed + n) / B) - seq.blocks.length;
      if (need > 0) {
        const got = this.#kv.allocate(need);
        if (!got) {
          this.#kv.release(seq.blocks); // do not pin cached blocks while waiting
          seq.blocks = [];
          seq.numComputed = 0;
          break;
        }
        seq.blocks.push(...got);
      }
      this.#waiting.shift();
      seq.state = "running";
      if (seq.scheduledMs < 0) seq.scheduledMs = this.#clock.nowMs();
      this.#running.push(seq);
      work.push({ seq, n });
      budget -= n;
    }
    return work;
  }

  /** Looks up the longest cached prefix (always leaving one token to compute). */
  #matchPrefix(seq: Seq): void {
    const B = this.#kv.blockSize;
    seq.hashes = this.#kv.hashes(seq.tokens);
    const usable = Math.floor((seq.tokens.length - 1) / B);
    const hit = this.#kv.match(seq.hashes.slice(0, usable));
    this.#kv.take(hit);
    seq.blocks = hit;
    seq.numComputed = hit.length * B;
    if (!seq.queried) {
      seq.queried = true;
      seq.cachedTokens = seq.numComputed;
      this.#kv.queries += seq.tokens.length;
      this.#kv.hits += seq.numComputed;
    }
  }

  /** Consumer side of PD: allocate all prompt blocks, pull the rest of the KV, then decode. */
  #startTransfer(seq: Seq): boolean {
    const B = this.#kv.blockSize;
    const need = Math.ceil(seq.tokens.length / B) - seq.blocks.length;
    if (need > 0) {
      const got = this.#kv.allocate(need);
      if (!got) {
        this.#kv.release(seq.blocks);
        seq.blocks = [];
        seq.numComputed = 0;
        return false;
      }
      seq.blocks.push(...got);
    }
    this.#waiting.shift();
    seq.state = "transferring";
    seq.pulled = true;
    const remote = seq.req.remotePrefill!;
    const provided = Math.min(remote.tokens ?? seq.tokens.length, seq.tokens.length);
    const tokens = provided - seq.numComputed;
    const startMs = this.#clock.nowMs();
    const done = this.#clock.until(startMs + remote.transferMs(tokens));
    Promise.all([remote.pull(tokens).catch(() => false), done]).then(([ok]) => {
      if (seq.state !== "transferring") return; // aborted meanwhile
      if (ok) {
        seq.numComputed = Math.min(provided, seq.tokens.length - 1);
        seq.cachedTokens = provided;
        this.#commitFull(seq);
      }
      seq.state = "waiting";
      seq.readyMs = this.#clock.nowMs();
      this.#waiting.unshift(seq);
      this.#poke();
    });
    return true;
  }

  #preempt(seq: Seq): void {
    const i = this.#running.indexOf(seq);
    if (i >= 0) this.#running.splice(i, 1);
    this.#kv.release(seq.blocks);
    seq.blocks = [];
    seq.numComputed = 0;
    seq.state = "waiting";
    this.#waiting.unshift(seq);
    this.metrics.preemptions++;
  }

  /** Marks newly full blocks as cacheable. */
  #commitFull(seq: Seq): void {
    const B = this.#kv.blockSize;
    const full = Math.min(Math.floor(seq.numComputed / B), seq.blocks.length);
    if (seq.hashes.length < full) {
      let parent = seq.hashes.length ? seq.hashes[seq.hashes.length - 1] : "";
      for (let b = seq.hashes.length; b < full; b++) {
        parent = chainHash(parent, seq.tokens, b * B, (b + 1) * B);
        seq.hashes.push(parent);
      }
    }
    for (let b = 0; b < full; b++) this.#kv.commit(seq.blocks[b], seq.hashes[b]);
  }

  #apply(work: { seq: Seq; n: number }[], endMs: number): void {
    for (const { seq, n } of work) {
      if (seq.state !== "running") continue; // aborted during the step
      seq.numComputed += n;
      this.#commitFull(seq);
      if (seq.numComputed < seq.tokens.length) continue; // prefill chunk, no token yet
      const id = seq.req.outputIds[seq.numOut];
      seq.tokens.push(id);
      if (seq.numOut === 0) {
        seq.firstTokenMs = endMs;
        this.metrics.promptTokens += seq.req.promptTokens.length;
        this.metrics.ttft.observe((endMs - seq.arrivalMs) / 1000);
      } else {
        this.metrics.itl.observe((endMs - seq.lastTokenMs) / 1000);
      }
      seq.lastTokenMs = endMs;
      this.metrics.generationTokens++;
      seq.req.sink.onToken(id, seq.numOut);
      seq.numOut++;
      if (seq.numOut >= seq.req.outputIds.length) this.#finish(seq, seq.req.finishReason, endMs);
    }
  }

  #finish(seq: Seq, reason: FinishReason, nowMs: number): void {
    if (seq.state === "done") return;
    const wasRunning = seq.state === "running";
    const i = this.#running.indexOf(seq);
    if (i >= 0) this.#running.splice(i, 1);
    const w = this.#waiting.indexOf(seq);
    if (w >= 0) this.#waiting.splice(w, 1);
    seq.state = "done";
    this.#byId.delete(seq.req.id);
    const info: FinishInfo = {
      promptTokens: seq.req.promptTokens.length,
      outputTokens: seq.numOut,
      cachedTokens: seq.cachedTokens,
    };
    if (seq.req.holdForRemoteDecode && reason !== "abort") {
      const keep = Math.ceil(seq.req.promptTokens.length / this.#kv.blockSize);
      const held = seq.blocks.slice(0, keep);
      this.#kv.release(seq.blocks.slice(held.length));
      this.#held.set(seq.req.id, { blocks: held, expiresMs: nowMs + this.#o.holdTimeoutMs });
      info.heldBlockIds = held.map((b) => b.id);
    } else {
      this.#kv.release(seq.blocks);
    }
    seq.blocks = [];
    this.metrics.finished[reason] = (this.metrics.finished[reason] ?? 0) + 1;
    if (reason !== "abort" && wasRunning) {
      const s = (ms: number) => ms / 1000;
      this.metrics.e2e.observe(s(nowMs - seq.arrivalMs));
      this.metrics.queue.observe(s(Math.max(0, seq.scheduledMs - seq.arrivalMs)));
      this.metrics.prefill.observe(s(seq.firstTokenMs - Math.max(seq.scheduledMs, seq.arrivalMs)));
      this.metrics.decode.observe(s(nowMs - seq.firstTokenMs));
      this.metrics.promptLen.observe(seq.req.promptTokens.length);
      this.metrics.genLen.observe(seq.numOut);
    }
    seq.req.sink.onFinish(reason, info);
  }

  #expireHeld(): void {
    if (this.#held.size === 0) return;
    const now = this.#clock.nowMs();
    for (const [id, h] of this.#held) {
      if (h.expiresMs <= now) this.releaseHeld(id);
    }
  }
}
