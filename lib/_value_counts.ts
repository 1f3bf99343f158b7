/**
 * Counts of the distinct values among many numbers, up to a limit of distinct
 * values: when a long run holds few distinct values (a simulated run's
 * inter-token gaps repeat: every request decoding in a step has the step's
 * gap), its exact order statistics follow from the counts of one pass,
 * without the passes of `orderStatistics` (`lib/_select.ts`). -0 and +0 are
 * two values (a typed sort puts -0 first); every NaN counts as one value,
 * last, where a typed sort puts them. The table is open-addressed (linear
 * probing) over one typed array of [value, count] pairs (one cache line per
 * probe), grown by doubling up to twice the limit.
 *
 * @module
 */

const SCRATCH = new Float64Array(1);
const WORDS = new Uint32Array(SCRATCH.buffer);

/** Distinct values and how often each occurs, while there are at most `limit` of them. */
export class ValueCounts {
  readonly #limit: number;
  /** [value, count] per slot; count 0: an empty slot. Zeros are not in it. */
  #table = new Float64Array(0);
  #shift = 32;
  #distinct = 0;
  #negZeros = 0;
  #zeros = 0;
  #nans = 0;
  #over = false;

  constructor(limit: number) {
    this.#limit = limit;
    this.#resize(Math.min(1024, 2 * limit));
  }

  /** Whether more than `limit` distinct values came (the counts are then incomplete). */
  get over(): boolean {
    return this.#over;
  }

  /** Counts the values of `c`; false (and nothing more is counted) past the limit. */
  addAll(c: Float64Array): boolean {
    if (this.#over) return false;
    const u = new Uint32Array(c.buffer, c.byteOffset, c.length * 2);
    for (let i = 0; i < c.length; i++) {
      const x = c[i];
      if (x !== x) this.#nans++;
      else if (x === 0) {
        if (1 / x < 0) this.#negZeros++;
        else this.#zeros++;
      } else if (!this.#add(x, u[2 * i] ^ u[2 * i + 1])) return false;
    }
    return true;
  }

  /** Counts `x` (neither zero nor NaN; `mix`: its two 32-bit words xor-ed). */
  #add(x: number, mix: number): boolean {
    const t = this.#table, mask = (t.length >> 1) - 1;
    let s = Math.imul(mix, 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const n = t[2 * s + 1];
      if (n === 0) break;
      if (t[2 * s] === x) {
        t[2 * s + 1] = n + 1;
        return true;
      }
      s = (s + 1) & mask;
    }
    if (this.#distinct >= this.#limit) {
      this.#over = true;
      return false;
    }
    t[2 * s] = x;
    t[2 * s + 1] = 1;
    if (++this.#distinct * 2 > t.length >> 1) this.#resize(t.length);
    return true;
  }

  /** A table of `size` slots (a power of two at least `size`) holding the counts so far. */
  #resize(size: number): void {
    const old = this.#table;
    let bits = 1;
    while (2 ** bits < size) bits++;
    const t = this.#table = new Float64Array(2 * 2 ** bits);
    const mask = 2 ** bits - 1;
    this.#shift = 32 - bits;
    const words = new Uint32Array(old.buffer);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i + 1] === 0) continue;
      let s = Math.imul(words[2 * i] ^ words[2 * i + 1], 0x9e3779b1) >>> this.#shift;
      while (t[2 * s + 1] !== 0) s = (s + 1) & mask;
      t[2 * s] = old[i];
      t[2 * s + 1] = old[i + 1];
    }
  }

  /**
   * The values at `ranks` (0-based, each below the number of values counted)
   * as a typed sort of all the values would hold them; not to be called when
   * {@linkcode ValueCounts.over}.
   */
  atRanks(ranks: readonly number[]): Map<number, number> {
    const t = this.#table;
    const values = new Float64Array(this.#distinct);
    let k = 0;
    for (let s = 0; s < t.length; s += 2) if (t[s + 1] !== 0) values[k++] = t[s];
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
    const t = this.#table, mask = (t.length >> 1) - 1;
    SCRATCH[0] = x;
    let s = Math.imul(WORDS[0] ^ WORDS[1], 0x9e3779b1) >>> this.#shift;
    while (t[2 * s] !== x) s = (s + 1) & mask;
    return t[2 * s + 1];
  }
}
