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

const SCRATCH = new Float64Array(1);
const WORDS = new Uint32Array(SCRATCH.buffer);

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
    const keys = this.#keys, counts = this.#counts;
    const values = new Float64Array(this.#distinct);
    let k = 0;
    for (let s = 0; s < keys.length; s++) if (counts[s] !== 0) values[k++] = keys[s];
    values.sort();
    // the values in the typed sort's order, with their counts; zeros and NaNs are not in the table
    const wanted = [...new Set(ranks)].sort((a, b) => a - b);
    const out = new Map<number, number>();
    let below = 0, w = 0;
    const take = (x: number, n: number) => {
      below += n;
      while (w < wanted.length && wanted[w] < below) out.set(wanted[w++], x);
    };
    let j = 0;
    for (; j < values.length && values[j] < 0 && w < wanted.length; j++) {
      take(values[j], this.#count(values[j]));
    }
    take(-0, this.#negZeros);
    take(0, this.#zeros);
    for (; j < values.length && w < wanted.length; j++) take(values[j], this.#count(values[j]));
    take(NaN, this.#nans);
    return out;
  }

  /** How often `x` (in the table) was counted. */
  #count(x: number): number {
    const keys = this.#keys, mask = keys.length - 1;
    SCRATCH[0] = x;
    let s = Math.imul(WORDS[0] ^ WORDS[1], 0x9e3779b1) >>> this.#shift;
    while (keys[s] !== x) s = (s + 1) & mask;
    return this.#counts[s];
  }
}
