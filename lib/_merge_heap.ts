/**
 * A binary min-heap of (key, position, version) for BPE merges, ordered by key
 * then position (the leftmost pair first on equal keys, as lenml's bias does).
 *
 * @module
 */
export class MergeHeap {
  #k: number[] = [];
  #p: number[] = [];
  #v: number[] = [];

  /** Entries held (stale ones included). */
  get size(): number {
    return this.#k.length;
  }

  #less(a: number, b: number): boolean {
    return this.#k[a] < this.#k[b] || (this.#k[a] === this.#k[b] && this.#p[a] < this.#p[b]);
  }

  #swap(a: number, b: number): void {
    const k = this.#k[a], p = this.#p[a], v = this.#v[a];
    this.#k[a] = this.#k[b], this.#p[a] = this.#p[b], this.#v[a] = this.#v[b];
    this.#k[b] = k, this.#p[b] = p, this.#v[b] = v;
  }

  /** Adds merge key `k` of the pair at position `p`, made at version `v` of that position. */
  push(k: number, p: number, v: number): void {
    this.#k.push(k);
    this.#p.push(p);
    this.#v.push(v);
    for (let i = this.#k.length - 1; i > 0;) {
      const up = (i - 1) >> 1;
      if (!this.#less(i, up)) break;
      this.#swap(i, up);
      i = up;
    }
  }

  /** Removes and returns the lowest [key, position, version]; the heap must not be empty. */
  pop(): [number, number, number] {
    const top: [number, number, number] = [this.#k[0], this.#p[0], this.#v[0]];
    const last = this.#k.length - 1;
    this.#swap(0, last);
    this.#k.pop();
    this.#p.pop();
    this.#v.pop();
    for (let i = 0;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.#less(l, m)) m = l;
      if (r < last && this.#less(r, m)) m = r;
      if (m === i) return top;
      this.#swap(i, m);
      i = m;
    }
  }
}
