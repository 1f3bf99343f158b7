/**
 * A binary min-heap under a caller's order: the timers of both clocks
 * (`clock.ts`, `event_loop.ts`) are kept in one.
 *
 * @module
 */

/** A binary min-heap under `less`. */
export class MinHeap<T> {
  readonly #h: T[] = [];
  constructor(readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.#h.length;
  }

  peek(): T | undefined {
    return this.#h[0];
  }

  clear(): void {
    this.#h.length = 0;
  }

  push(x: T): void {
    const h = this.#h;
    h.push(x);
    // sift up by moving parents into the hole (the same moves as swapping, without a pair per swap)
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(x, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = x;
  }

  pop(): T | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0) return top;
    const x: T = last as T;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let least: T = x;
      if (l < h.length && this.less(h[l], least)) {
        m = l;
        least = h[l];
      }
      if (r < h.length && this.less(h[r], least)) {
        m = r;
        least = h[r];
      }
      if (m === i) break;
      h[i] = least;
      i = m;
    }
    h[i] = x;
    return top;
  }
}
