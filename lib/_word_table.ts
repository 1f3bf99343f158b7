/**
 * Token ids of words, looked up by a word's place in a longer text without
 * slicing it out: an open-addressing table keyed by the word's hash (computed
 * by the caller while it scans), with the word's text to compare. Compact
 * typed arrays rather than a `Map` of entry objects: a prompt of 512 words is
 * 512 lookups, on the engine's hot path (`lib/prompt_tokens.ts`).
 *
 * @module
 */

/** Slot of no word. */
const EMPTY = -1;

/** Words (as `text[start, end)` with a hash) -> their ids. */
export class WordTable {
  #mask = 1023;
  #hashes = new Int32Array(this.#mask + 1).fill(EMPTY);
  #words: string[] = new Array(this.#mask + 1);
  #ids: number[][] = new Array(this.#mask + 1);
  /** A word's one id, or -1 when it has several (or none). */
  #single = new Int32Array(this.#mask + 1);
  #size = 0;

  /** The slot of `text[start, end)` (`hash` its non-negative hash), or -1 when it is not held. */
  find(text: string, start: number, end: number, hash: number): number {
    const hashes = this.#hashes, mask = this.#mask, n = end - start;
    for (let s = hash & mask;; s = (s + 1) & mask) {
      const h = hashes[s];
      if (h === EMPTY) return -1;
      if (h !== hash) continue;
      const w = this.#words[s];
      if (w.length !== n) continue;
      let j = 0;
      while (j < n && w.charCodeAt(j) === text.charCodeAt(start + j)) j++;
      if (j === n) return s;
    }
  }

  /** The one id of the word at `slot`, or -1 when it has several (then see `ids`). */
  single(slot: number): number {
    return this.#single[slot];
  }

  /** The ids of the word at `slot`. */
  ids(slot: number): number[] {
    return this.#ids[slot];
  }

  /** Holds `word` (hash `hash`, not held yet) with its ids; returns its slot. */
  add(word: string, hash: number, ids: number[]): number {
    if (++this.#size * 2 > this.#mask) this.#grow();
    return this.#put(word, hash, ids);
  }

  #put(word: string, hash: number, ids: number[]): number {
    const mask = this.#mask;
    let s = hash & mask;
    while (this.#hashes[s] !== EMPTY) s = (s + 1) & mask;
    this.#hashes[s] = hash;
    this.#words[s] = word;
    this.#ids[s] = ids;
    this.#single[s] = ids.length === 1 ? ids[0] : -1;
    return s;
  }

  #grow(): void {
    const hashes = this.#hashes, words = this.#words, ids = this.#ids;
    this.#mask = this.#mask * 2 + 1;
    this.#hashes = new Int32Array(this.#mask + 1).fill(EMPTY);
    this.#words = new Array(this.#mask + 1);
    this.#ids = new Array(this.#mask + 1);
    this.#single = new Int32Array(this.#mask + 1);
    for (let s = 0; s < hashes.length; s++) {
      if (hashes[s] !== EMPTY) this.#put(words[s], hashes[s], ids[s]);
    }
  }
}
