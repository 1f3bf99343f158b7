/**
 * A request inside the engine core: its tokens, progress, blocks and times,
 * and the two helpers that hash its full blocks into the prefix cache. Shared
 * by the core (`engine.ts`) and the decodes it advances together
 * (`_decode_cohort.ts`).
 *
 * @module
 */
import { chainHash, type KvCache } from "./kv_cache.ts";
import type { EngineRequest } from "./engine.ts";
import { keepChain, reuseChain } from "./_hash_chains.ts";
import { freshIds } from "../../../lib/id_slabs.ts";

/** Where a request is in the engine. */
export type SeqState = "waiting" | "running" | "transferring" | "done";

/** A request's state in the engine core. */
export class Seq {
  /** Tokens known so far: the prompt and the outputs sampled. */
  len: number;
  /** Whether the request asked for its output token times. */
  readonly recordsTimes: boolean;
  /**
   * Output token times, simulated ms, when they are kept one by one: from the
   * start without a record of step ends, else once they stop being the ends
   * of consecutive steps (see {@linkcode Seq.run0}).
   */
  timesMs: Float64Array | null;
  /**
   * While `timesMs` is null: the step whose end gave token 0; token i came at
   * the end of step `run0 + i` (the engine's record of step ends holds them). -1 before the first.
   */
  run0 = -1;
  numComputed = 0;
  numOut = 0;
  /** Its blocks: the first {@linkcode Seq.numBlocks} (room for all it can fill, cut from a shared slab: `lib/id_slabs.ts`). */
  blocks: Uint32Array = NO_BLOCKS;
  numBlocks = 0;
  /** Hashes of its leading full blocks: the first {@linkcode Seq.numHashes} (room for all, cut from a shared slab). */
  hashes: Float64Array = NO_HASHES;
  numHashes = 0;
  /** Leading blocks already committed to the prefix cache. */
  committed = 0;
  cachedTokens = 0;
  state: SeqState = "waiting";
  queried = false;
  /** The remote KV pull was tried (it is not retried; a failure means a local prefill). */
  pulled = false;
  encoded: boolean;
  arrivalMs: number;
  /** When it reached the scheduler's queue (after the frontend floor). */
  enqueuedMs: number;
  /** When it can next run (arrival, or the end of its KV transfer). */
  readyMs: number;
  scheduledMs = -1;
  firstTokenMs = -1;
  lastTokenMs = -1;
  /** Admission order into the running set (the scheduler's order). */
  admitNo = -1;
  /** Advanced with the other decodes, not one by one (see `_decode_cohort.ts`). */
  inCohort = false;
  /** Cohort bookkeeping: the step it joined at, and its progress then. */
  g0 = 0;
  computed0 = 0;
  out0 = 0;
  /** Cohort bookkeeping: the steps at which it next needs a block, fills one, ends. */
  needStep = 0;
  fillStep = 0;
  endStep = 0;
  /** Bumped when it leaves the cohort (its queued end is then stale). */
  epoch = 0;

  /** `stepEnds`: the engine records every step's end (token times can be read from it). */
  constructor(readonly req: EngineRequest, nowMs: number, stepEnds = false) {
    this.len = req.promptTokens.length;
    this.recordsTimes = req.recordTimes === true;
    this.timesMs = this.recordsTimes && !stepEnds ? freshFloats(req.outputIds.length) : null;
    this.encoded = !req.imageTokens?.length;
    this.arrivalMs = nowMs;
    this.enqueuedMs = nowMs;
    this.readyMs = nowMs;
  }
}

const NO_HASHES = new Float64Array(0);
const NO_BLOCKS = new Uint32Array(0);

/** Token times and block hashes are cut from slabs this long (a typed array of its own costs an allocation outside the heap). */
const SLAB_VALUES = 1 << 15;
let slab = new Float64Array(0);
let slabUsed = 0;

/**
 * `n` zeros for a request's token times or block hashes: a view of a shared slab (never
 * handed out twice), or an array of its own when long. A slab lives while any
 * of its views does: a run's finished requests let theirs go.
 */
export function freshFloats(n: number): Float64Array {
  if (n > SLAB_VALUES >> 3) return new Float64Array(n);
  if (slabUsed + n > slab.length) {
    slab = new Float64Array(SLAB_VALUES);
    slabUsed = 0;
  }
  const view = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return view;
}

/**
 * Room in `seq.blocks` for `n` blocks in all: at first for every block its
 * prompt and outputs can fill (one array for its life), more only if asked.
 */
function roomFor(seq: Seq, n: number, blockSize: number): void {
  if (n <= seq.blocks.length) return;
  const most = Math.ceil((seq.req.promptTokens.length + seq.req.outputIds.length) / blockSize);
  const next = freshIds(Math.max(n, most)); // block numbers fit, as token ids do
  next.set(seq.blocks.subarray(0, seq.numBlocks));
  seq.blocks = next;
}

/** Gives `seq` `n` more blocks; false (nothing taken) when the pool has too few. */
export function allocateBlocks(seq: Seq, kv: KvCache, n: number): boolean {
  roomFor(seq, seq.numBlocks + n, kv.blockSize);
  if (!kv.allocateAt(n, seq.blocks, seq.numBlocks)) return false;
  seq.numBlocks += n;
  return true;
}

/** Takes the cached blocks of the first `upTo` of `seq.hashes` that match, as its only blocks; how many. */
export function takeCachedBlocks(seq: Seq, kv: KvCache, upTo: number): number {
  roomFor(seq, upTo, kv.blockSize);
  const n = kv.matchInto(seq.hashes, upTo, seq.blocks);
  kv.take(seq.blocks, n);
  seq.numBlocks = n;
  return n;
}

/** Releases every block of `seq` (it keeps the room for later ones). */
export function releaseBlocks(seq: Seq, kv: KvCache): void {
  kv.release(seq.blocks, seq.numBlocks);
  seq.numBlocks = 0;
}

/**
 * Hashes of the first `full` blocks of a request's tokens. Tokens are only
 * appended, so earlier hashes stay valid: a request waiting for blocks is not
 * rehashed on every step. A request of a session starts from the hashes of the
 * blocks it repeats of the session's last request (`_hash_chains.ts`).
 */
export function extendHashes(seq: Seq, full: number, blockSize: number): void {
  if (full <= seq.numHashes) return;
  const prompt = seq.req.promptTokens, out = seq.req.outputIds;
  if (seq.hashes === NO_HASHES) {
    // every block the request can fill: its prompt and all its outputs
    seq.hashes = freshFloats(Math.floor((prompt.length + out.length) / blockSize));
    const session = seq.req.session;
    if (session !== undefined) {
      seq.numHashes = reuseChain(session, blockSize, prompt, out, seq.hashes);
    }
  }
  const hashes = seq.hashes;
  let parent = seq.numHashes ? hashes[seq.numHashes - 1] : 0;
  for (let b = seq.numHashes; b < full; b++) {
    parent = chainHash(parent, prompt, b * blockSize, (b + 1) * blockSize, out);
    hashes[b] = parent;
  }
  if (full > seq.numHashes) seq.numHashes = full;
}

/** Marks the request's newly full blocks as cacheable. */
export function commitFull(seq: Seq, kv: KvCache): void {
  const B = kv.blockSize;
  const full = Math.min(Math.floor(seq.numComputed / B), seq.numBlocks);
  extendHashes(seq, full, B);
  for (let b = seq.committed; b < full; b++) kv.commit(seq.blocks[b], seq.hashes[b]);
  if (full > seq.committed) seq.committed = full;
}

/** A finished request of a session leaves its hashes for the session's next one. */
export function keepHashes(seq: Seq, blockSize: number): void {
  const session = seq.req.session;
  if (session === undefined) return;
  keepChain(
    session,
    blockSize,
    seq.req.promptTokens,
    seq.req.outputIds,
    seq.hashes,
    seq.numHashes,
  );
}
