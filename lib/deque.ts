/**
 * A double-ended queue on a growable ring buffer: `push`, `unshift` and
 * `shift` in O(1) whatever its length (an array's `shift`/`unshift` move every
 * element once the array is large), for queues that grow long under overload.
 *
 * @example
 * ```ts
 * import { Deque } from "./deque.ts";
 * const q = new Deque<string>();
 * q.push("b");
 * q.unshift("a");
 * console.log(q.shift(), q.length); // a 1
 * ```
 *
 * @module
 */

/** A double-ended queue of `T`. */
export class Deque<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  /** Items held. */
  get length(): number {
    return this.#size;
  }

  /** Item `i` from the front (undefined past the end). */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.#size) return undefined;
    return this.#buf[(this.#head + i) & (this.#buf.length - 1)];
  }

  /** Appends at the back. */
  push(x: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = x;
    this.#size++;
  }

  /** Inserts at the front. */
  unshift(x: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#buf.length - 1);
    this.#buf[this.#head] = x;
    this.#size++;
  }

  /** Takes the front item (undefined when empty). */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const x = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
    return x;
  }

  /** Position of `x` from the front, or -1 (a scan: O(length)). */
  indexOf(x: T): number {
    for (let i = 0; i < this.#size; i++) if (this.at(i) === x) return i;
    return -1;
  }

  /** Removes item `i` from the front, keeping the others' order (O(length)). */
  removeAt(i: number): void {
    if (i < 0 || i >= this.#size) {
      throw new RangeError(
        `Cannot remove item ${i} of a deque as an index below ${this.#size}: current value is ${i}`,
      );
    }
    const mask = this.#buf.length - 1;
    for (let k = i; k < this.#size - 1; k++) {
      this.#buf[(this.#head + k) & mask] = this.#buf[(this.#head + k + 1) & mask];
    }
    this.#buf[(this.#head + this.#size - 1) & mask] = undefined;
    this.#size--;
  }

  /** The items front to back. */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.at(i)!;
  }

  #grow(): void {
    const old = this.#buf;
    const buf = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#size; i++) buf[i] = old[(this.#head + i) & (old.length - 1)];
    this.#buf = buf;
    this.#head = 0;
  }
}
