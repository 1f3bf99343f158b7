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
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): T | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0) return top;
    h[0] = last!;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return top;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
