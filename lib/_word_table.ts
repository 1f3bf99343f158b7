/**
 * Token ids of words, looked up by a word's place in a longer text without
 * slicing it out: an open-addressing table keyed by the word's hash (computed
 * by the caller while it scans), checked against the word's characters. The
 * table is two typed arrays, a slot's hash, id, and where its characters are
 * side by side, and the characters of every word in one array: a lookup reads
 * two cache lines, where a `Map` of entry objects with strings read four or
 * five (a prompt of 512 words is 512 lookups on the engine's hot path,
 * `lib/prompt_tokens.ts`, between which the rest of the server evicts them).
 *
 * @module
 */

/** Hash of an empty slot. */
const EMPTY = -1;
/** Int32 fields per slot: hash, single id (-1: several), characters' offset << 8 | length. */
const STRIDE = 3;
/** Longest word held (a length fits in 8 bits). */
const MAX_WORD = 255;

/** Words (as `text[start, end)` with a hash) -> their ids. */
export class WordTable {
  #mask = 1023;
  #slots = slotsOf(this.#mask + 1);
  #chars = new Uint8Array(4096);
  #charsUsed = 0;
  /** Ids of words of several ids, by slot. */
  readonly #many = new Map<number, number[]>();
  #size = 0;

  /** The slot of `text[start, end)` (`hash` its non-negative hash), or -1 when it is not held. */
  find(text: string, start: number, end: number, hash: number): number {
    const slots = this.#slots, chars = this.#chars, mask = this.#mask, n = end - start;
    for (let s = hash & mask;; s = (s + 1) & mask) {
      const at = s * STRIDE;
      const h = slots[at];
      if (h === EMPTY) return -1;
      const place = slots[at + 2];
      if (h !== hash || (place & 255) !== n) continue;
      const off = place >>> 8;
      let j = 0;
      while (j < n && chars[off + j] === text.charCodeAt(start + j)) j++;
      if (j === n) return s;
    }
  }

  /** The one id of the word at `slot`, or -1 when it has several (then see `ids`). */
  single(slot: number): number {
    return this.#slots[slot * STRIDE + 1];
  }

  /** The ids of the word at `slot`. */
  ids(slot: number): number[] {
    const one = this.single(slot);
    return one >= 0 ? [one] : this.#many.get(slot)!;
  }

  /**
   * Holds `word` (hash `hash`, not held yet) with its ids; returns its slot,
   * or -1 when the table cannot hold it (over 255 characters, a character
   * beyond Latin-1): the caller then keeps its ids itself.
   */
  add(word: string, hash: number, ids: number[]): number {
    if (word.length > MAX_WORD || this.#charsUsed + word.length >= 2 ** 23) return -1;
    for (let j = 0; j < word.length; j++) if (word.charCodeAt(j) > 255) return -1;
    // at most 3/4 full: a table of 8,192 slots holds a 4,096-word list (96 KB)
    if (++this.#size * 4 > this.#mask * 3) this.#grow();
    const off = this.#charsUsed;
    if (off + word.length > this.#chars.length) {
      const more = new Uint8Array(Math.max(this.#chars.length * 2, off + word.length));
      more.set(this.#chars);
      this.#chars = more;
    }
    for (let j = 0; j < word.length; j++) this.#chars[off + j] = word.charCodeAt(j);
    this.#charsUsed += word.length;
    return this.#put(hash, ids.length === 1 ? ids[0] : -1, (off << 8) | word.length, ids);
  }

  #put(hash: number, single: number, place: number, ids: number[] | undefined): number {
    const slots = this.#slots, mask = this.#mask;
    let s = hash & mask;
    while (slots[s * STRIDE] !== EMPTY) s = (s + 1) & mask;
    const at = s * STRIDE;
    slots[at] = hash;
    slots[at + 1] = single;
    slots[at + 2] = place;
    if (single < 0) this.#many.set(s, ids!);
    return s;
  }

  #grow(): void {
    const old = this.#slots, many = new Map(this.#many);
    this.#mask = this.#mask * 2 + 1;
    this.#slots = slotsOf(this.#mask + 1);
    this.#many.clear();
    for (let at = 0; at < old.length; at += STRIDE) {
      if (old[at] === EMPTY) continue;
      const ids = old[at + 1] < 0 ? many.get(at / STRIDE) : undefined;
      this.#put(old[at], old[at + 1], old[at + 2], ids);
    }
  }
}

/** `n` empty slots. */
function slotsOf(n: number): Int32Array {
  const slots = new Int32Array(n * STRIDE);
  for (let at = 0; at < slots.length; at += STRIDE) slots[at] = EMPTY;
  return slots;
}
