/**
 * The decodes the engine advances together. Once a request's prompt is in the
 * KV cache it computes one token per step until it ends, and every running
 * decode is in every step (the running set never holds more requests than a
 * step's token budget). So the cohort keeps, instead of each member's progress,
 * the step it joined at: a member's context, output count and token times
 * follow from the step number and the step end times, recorded once per step.
 * Per step the cohort costs O(1) plus the members that cross a block boundary
 * (one in `blockSize` per step: a new block, a full block to hash) or end, which
 * are kept in per-phase buckets and a heap; a member's own fields are written
 * back only when it leaves (ends, is preempted or aborted, or the step must be
 * stepped one request at a time). The result is the same as stepping each
 * request, to the bit: `engine_test.ts` runs both on the same seeds.
 *
 * @module
 */
import type { KvCache } from "./kv_cache.ts";
import { MinHeap } from "../../../lib/min_heap.ts";
import { allocateBlocks, commitFull, freshFloats, type Seq } from "./_seq.ts";

const NO_TIMES = new Float64Array(0);

/** Inserts `seq` into `list`, kept in admission order. */
function insertOrdered(list: Seq[], seq: Seq): void {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].admitNo < seq.admitNo) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, seq);
}

/** Removes `seq` from `list`. */
function remove(list: Seq[], seq: Seq): void {
  const i = list.indexOf(seq);
  if (i >= 0) list.splice(i, 1);
}

interface End {
  step: number;
  seq: Seq;
  epoch: number;
}

/** Running decodes advanced a step at a time together (see the module doc). */
export class DecodeCohort {
  /** Members. */
  size = 0;
  /** Sum of the members' contexts (tokens computed) at the start of the next step. */
  sumCtx = 0;
  readonly #kv: KvCache;
  readonly #B: number;
  /** End of every engine step so far, simulated ms, by step number. */
  #stepEndMs = new Float64Array(1024);
  /** Members by the phase (step mod blockSize) at which they need a new block / fill one. */
  readonly #needs: Seq[][];
  readonly #fills: Seq[][];
  /** The members that ended in the step advanced last (reused). */
  readonly #ended: Seq[] = [];
  readonly #ends = new MinHeap<End>((a, b) =>
    a.step < b.step || (a.step === b.step && a.seq.admitNo < b.seq.admitNo)
  );

  constructor(kv: KvCache) {
    this.#kv = kv;
    this.#B = kv.blockSize;
    this.#needs = Array.from({ length: this.#B }, () => []);
    this.#fills = Array.from({ length: this.#B }, () => []);
  }

  /** Records when step `step` ended. */
  stepEnded(step: number, endMs: number): void {
    if (step >= this.#stepEndMs.length) {
      const grown = new Float64Array(this.#stepEndMs.length * 2);
      grown.set(this.#stepEndMs);
      this.#stepEndMs = grown;
    }
    this.#stepEndMs[step] = endMs;
  }

  /** End of step `step`, simulated ms. */
  stepEndMs(step: number): number {
    return this.#stepEndMs[step];
  }

  /**
   * A request stepped one by one put out its next token at the end of step
   * `step`: its times stay a run of step ends while they are consecutive,
   * else they are copied out (then the caller writes them one by one).
   */
  noteToken(seq: Seq, step: number): void {
    if (seq.numOut === 0) seq.run0 = step;
    else if (step !== seq.run0 + seq.numOut) {
      this.#copyTimes(seq, seq.numOut);
      seq.timesMs![seq.numOut] = this.#stepEndMs[step];
    }
  }

  /**
   * The output token times of `seq` (which asked for them and is not a
   * member): its own array, or a view of the step ends (no copy; the record
   * is only appended to, and a grown record leaves old views intact).
   */
  timesOf(seq: Seq): Float64Array {
    const n = seq.numOut, own = seq.timesMs;
    if (own) return n === own.length ? own : own.subarray(0, n);
    if (n === 0) return NO_TIMES;
    return new Float64Array(this.#stepEndMs.buffer, seq.run0 * 8, n);
  }

  /** Copies the first `n` token times of `seq` (still a run of step ends) into an array of its own. */
  #copyTimes(seq: Seq, n: number): void {
    const times = freshFloats(seq.req.outputIds.length);
    times.set(this.#stepEndMs.subarray(seq.run0, seq.run0 + n));
    seq.timesMs = times;
  }

  /**
   * Gives the members that need one a new block for step `step`; false (nothing
   * taken) when the pool has too few, so the step must preempt one by one.
   */
  reserve(step: number): boolean {
    const bucket = this.#needs[step % this.#B];
    let need = 0;
    for (const seq of bucket) if (seq.needStep === step) need++;
    if (need > this.#kv.numFree) return false;
    for (const seq of bucket) {
      if (seq.needStep !== step) continue;
      allocateBlocks(seq, this.#kv, 1);
      seq.needStep += this.#B;
    }
    return true;
  }

  /**
   * Applies step `step` to every member: full blocks hashed into the prefix
   * cache (in admission order); returns the members whose last token this step
   * was, in admission order (still members: {@linkcode leave} them).
   */
  advance(step: number): Seq[] {
    const fills = this.#fills[step % this.#B];
    for (const seq of fills) {
      if (seq.fillStep !== step) continue;
      seq.numComputed = seq.computed0 + (step - seq.g0) + 1;
      commitFull(seq, this.#kv);
      seq.fillStep += this.#B;
    }
    this.sumCtx += this.size;
    const ended = this.#ended;
    ended.length = 0;
    while (this.#ends.size > 0 && this.#ends.peek()!.step <= step) {
      const e = this.#ends.pop()!;
      if (e.epoch === e.seq.epoch) ended.push(e.seq); // else it left (and maybe joined again) since
    }
    return ended;
  }

  /**
   * Takes a running request whose prompt is computed (its next step is a
   * decode) from step `step` on.
   */
  join(seq: Seq, step: number): void {
    const B = this.#B;
    seq.inCohort = true;
    seq.g0 = step;
    seq.computed0 = seq.numComputed;
    seq.out0 = seq.numOut;
    seq.needStep = step + (seq.numBlocks * B - seq.numComputed);
    seq.fillStep = step + ((seq.committed + 1) * B - seq.numComputed - 1);
    seq.endStep = step + (seq.req.outputIds.length - seq.numOut) - 1;
    insertOrdered(this.#needs[seq.needStep % B], seq);
    insertOrdered(this.#fills[seq.fillStep % B], seq);
    this.#ends.push({ step: seq.endStep, seq, epoch: seq.epoch });
    this.size++;
    this.sumCtx += seq.numComputed;
  }

  /** A leaving member's token times from the steps it was in (`g0` to `steps`): still a run, or copied. */
  #keepTimes(seq: Seq, steps: number): void {
    if (!seq.timesMs) {
      if (seq.out0 === 0) seq.run0 = seq.g0;
      if (seq.g0 === seq.run0 + seq.out0) return; // its tokens are still the ends of consecutive steps
      this.#copyTimes(seq, seq.out0);
    }
    seq.timesMs!.set(this.#stepEndMs.subarray(seq.g0, steps), seq.out0);
  }

  /** Writes a member's progress back (`steps` steps done) and lets it go. */
  leave(seq: Seq, steps: number): void {
    const k = steps - seq.g0;
    seq.numComputed = seq.computed0 + k;
    seq.numOut = seq.out0 + k;
    seq.len = seq.req.promptTokens.length + seq.numOut;
    if (k > 0) {
      seq.lastTokenMs = this.#stepEndMs[steps - 1];
      if (seq.recordsTimes) this.#keepTimes(seq, steps);
    }
    // a block filled by the last step is committed by advance(); keep `committed` as it left it
    remove(this.#needs[seq.needStep % this.#B], seq);
    remove(this.#fills[seq.fillStep % this.#B], seq);
    seq.inCohort = false;
    seq.epoch++;
    this.size--;
    this.sumCtx -= seq.numComputed;
  }
}
