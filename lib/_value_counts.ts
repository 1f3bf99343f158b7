/**
 * Counts of the distinct values among many numbers, up to a limit of distinct
 * values: when a long run holds few distinct values (a simulated run's
 * inter-token gaps repeat: every request decoding in a step has the step's
 * gap), its exact order statistics follow from the counts of one pass,
 * without the passes of `orderStatistics` (`lib/_select.ts`). -0 and +0 are
 * two values (a typed sort puts -0 first); every NaN counts as one value,
 * last, where a typed sort puts them. The table is open-addressed (linear
 * probing) over a typed array of values and one of their 32-bit counts, grown by
 * doubling up to twice the limit; the probe is written out in the counting
 * loop, the table held in locals (a call per value cost a third more).
 *
 * @module
 */

import { valuesAtRanks } from "./_select_ranks.ts";

/** Distinct values and how often each occurs, while there are at most `limit` of them. */
export class ValueCounts {
  readonly #limit: number;
  /** The distinct values, by slot, and their counts; a slot is empty where its count is 0. Zeros are not in it. */
  #keys = new Float64Array(0);
  #counts = new Uint32Array(0);
  #shift = 32;
  #distinct = 0;
  #negZeros = 0;
  #zeros = 0;
  #nans = 0;
  #over = false;
  /** Values seen (a bound on any count). */
  #seen = 0;

  constructor(limit: number) {
    this.#limit = limit;
    this.#resize(Math.min(1024, 2 * limit));
  }

  /**
   * Whether more than `limit` distinct values came, or more values than 32-bit
   * counts hold (the counts are then incomplete).
   */
  get over(): boolean {
    return this.#over;
  }

  /** Counts the values of `c`; false (and nothing more is counted) past the limit. */
  addAll(c: Float64Array): boolean {
    if (this.#over) return false;
    // 32-bit counts: no count passes 2^32 - 1 while fewer values were seen
    if ((this.#seen += c.length) > 0xffffffff) {
      this.#over = true;
      return false;
    }
    const u = new Uint32Array(c.buffer, c.byteOffset, c.length * 2);
    let keys = this.#keys, counts = this.#counts, mask = keys.length - 1, shift = this.#shift;
    next: for (let i = 0; i < c.length; i++) {
      const x = c[i];
      if (x !== x) {
        this.#nans++;
        continue;
      }
      if (x === 0) {
        if (1 / x < 0) this.#negZeros++;
        else this.#zeros++;
        continue;
      }
      let s = Math.imul(u[2 * i] ^ u[2 * i + 1], 0x9e3779b1) >>> shift;
      for (;;) {
        const n = counts[s];
        if (n === 0) break;
        if (keys[s] === x) {
          counts[s] = n + 1;
          continue next;
        }
        s = (s + 1) & mask;
      }
      // a new value, at the empty slot s
      if (this.#distinct >= this.#limit) {
        this.#over = true;
        return false;
      }
      keys[s] = x;
      counts[s] = 1;
      if (++this.#distinct * 2 > keys.length) {
        this.#resize(2 * keys.length);
        keys = this.#keys;
        counts = this.#counts;
        mask = keys.length - 1;
        shift = this.#shift;
      }
    }
    return true;
  }

  /** A table of `size` slots (a power of two at least `size`) holding the counts so far. */
  #resize(size: number): void {
    const oldKeys = this.#keys, oldCounts = this.#counts;
    let bits = 1;
    while (2 ** bits < size) bits++;
    const keys = this.#keys = new Float64Array(2 ** bits);
    const counts = this.#counts = new Uint32Array(2 ** bits);
    const mask = 2 ** bits - 1;
    this.#shift = 32 - bits;
    const words = new Uint32Array(oldKeys.buffer);
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldCounts[i] === 0) continue;
      let s = Math.imul(words[2 * i] ^ words[2 * i + 1], 0x9e3779b1) >>> this.#shift;
      while (counts[s] !== 0) s = (s + 1) & mask;
      keys[s] = oldKeys[i];
      counts[s] = oldCounts[i];
    }
  }

  /**
   * The values at `ranks` (0-based, each below the number of values counted)
   * as a typed sort of all the values would hold them; not to be called when
   * {@linkcode ValueCounts.over}.
   */
  atRanks(ranks: readonly number[]): Map<number, number> {
    // the distinct values with their counts: negatives first, then positives (zeros and NaNs
    // are not in the table); in the typed sort's order: negatives, -0, +0, positives, NaN
    const keys = this.#keys, counts = this.#counts, d = this.#distinct;
    const values = new Float64Array(d), weights = new Uint32Array(d);
    let neg = 0, pos = d, negCount = 0;
    for (let s = 0; s < keys.length; s++) {
      const c = counts[s];
      if (c === 0) continue;
      if (keys[s] < 0) {
        values[neg] = keys[s];
        weights[neg++] = c;
        negCount += c;
      } else {
        values[--pos] = keys[s];
        weights[pos] = c;
      }
    }
    const zerosFrom = negCount, posFrom = negCount + this.#negZeros + this.#zeros;
    let posCount = 0;
    for (let i = neg; i < d; i++) posCount += weights[i];
    const out = new Map<number, number>();
    const negRanks: number[] = [], posRanks: number[] = [];
    for (const r of new Set(ranks)) {
      if (r < zerosFrom) negRanks.push(r);
      else if (r < posFrom) out.set(r, r < zerosFrom + this.#negZeros ? -0 : 0);
      else if (r < posFrom + posCount) posRanks.push(r - posFrom);
      else out.set(r, NaN);
    }
    // selected among the values by their counts (lib/_select_ranks.ts), not sorted
    const negAt = valuesAtRanks(values, neg, negRanks, weights);
    negRanks.forEach((r, j) => out.set(r, negAt[j]));
    const posAt = valuesAtRanks(values.subarray(neg), d - neg, posRanks, weights.subarray(neg));
    posRanks.forEach((r, j) => out.set(r + posFrom, posAt[j]));
    return out;
  }
}
