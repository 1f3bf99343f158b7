/**
 * The KV cache's hash -> block index without a `Map` of number keys: block
 * hashes are 53-bit integers, which a `Map` keeps as boxed numbers (an
 * allocation per insert, a slow hash per look-up). This is an open-addressing
 * table over typed arrays (linear probing, deletion by backward shift), sized
 * once for the pool: it never holds more entries than there are blocks. A slot
 * holds its key plus 1 (exact below 2^53), so an empty slot is 0, as a fresh
 * typed array is: building one touches none of its memory.
 *
 * @module
 */

/** An empty slot's key (a held key is stored plus 1). */
const EMPTY = 0;
/** 2^-32: multiplying by it is exact (a power of two), dividing is slower. */
const INV_TWO_32 = 1 / 0x100000000;

/** Hash (a non-negative integer below 2^53) -> block index, for at most `capacity` entries. */
export class BlockIndex {
  readonly #keys: Float64Array;
  readonly #values: Int32Array;
  readonly #mask: number;
  readonly #shift: number;
  readonly #capacity: number;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot size a block index as a positive integer: current value is ${capacity}`,
      );
    }
    let bits = 1;
    while (2 ** bits < 2 * capacity) bits++;
    this.#keys = new Float64Array(2 ** bits); // all EMPTY
    this.#values = new Int32Array(2 ** bits);
    this.#mask = 2 ** bits - 1;
    this.#shift = 32 - bits;
    this.#capacity = capacity;
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The home slot of `key` (both 32-bit halves mixed; the top bits of the product). */
  #home(key: number): number {
    // key >>> 0 is key mod 2^32 for an integer key below 2^53 (no float modulo, which is slow)
    const lo = key >>> 0;
    const hi = (key - lo) * INV_TWO_32;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.#shift;
  }

  /** Slot of `key`, or of the empty slot where it would go. */
  #slot(key: number): number {
    const keys = this.#keys, stored = key + 1;
    let i = this.#home(key);
    while (keys[i] !== EMPTY && keys[i] !== stored) i = (i + 1) & this.#mask;
    return i;
  }

  /** The value of `key`, or -1 when absent. */
  get(key: number): number {
    const i = this.#slot(key);
    return this.#keys[i] === EMPTY ? -1 : this.#values[i];
  }

  /** Whether `key` is held. */
  has(key: number): boolean {
    return this.#keys[this.#slot(key)] !== EMPTY;
  }

  /** Sets `key` to `value` unless it is held (one probe); whether it was added. */
  add(key: number, value: number): boolean {
    const i = this.#slot(key);
    if (this.#keys[i] !== EMPTY) return false;
    if (this.#size >= this.#capacity) {
      throw new RangeError(
        `Cannot add hash ${key} to a block index as one of at most ${this.#capacity}: current value is ${this.#size} held`,
      );
    }
    this.#keys[i] = key + 1;
    this.#values[i] = value;
    this.#size++;
    return true;
  }

  /** Removes `key` (closing the gap so later probes still find their keys). */
  delete(key: number): boolean {
    const keys = this.#keys, values = this.#values, mask = this.#mask;
    let i = this.#slot(key);
    if (keys[i] === EMPTY) return false;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (keys[j] === EMPTY) break;
      const home = this.#home(keys[j] - 1);
      // keys[j] may move to the gap at i when its home is not cyclically in (i, j]
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        keys[i] = keys[j];
        values[i] = values[j];
        i = j;
      }
    }
    keys[i] = EMPTY;
    this.#size--;
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.#keys.fill(EMPTY);
    this.#size = 0;
  }
}
