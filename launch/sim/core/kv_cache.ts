/**
 * Paged KV cache with prefix caching, as vLLM v1 keeps it: fixed-size blocks,
 * full blocks identified by a hash chain over their tokens, free blocks kept in
 * an LRU queue that still serves prefix hits until the block is reused.
 *
 * @module
 */
import { BlockIndex } from "./_block_index.ts";

/** One KV block. */
export interface KvBlock {
  /** Block index in the pool. */
  readonly id: number;
  /** Number of running requests using it. */
  refCount: number;
  /** Hash of the full block (with its prefix chain), or null while partial/unhashed. */
  hash: number | null;
  /** Neighbours in the eviction queue while the block is free and cached (internal). */
  prev: KvBlock | null;
  next: KvBlock | null;
}

/** Options of {@linkcode KvCache}. */
export interface KvCacheOptions {
  /** Number of blocks in the pool. */
  numBlocks: number;
  /** Tokens per block. @default 16 */
  blockSize?: number;
  /** Keep and reuse full blocks by content hash. @default true */
  prefixCaching?: boolean;
}

const NOTHING: readonly number[] = [];

/**
 * Hashes one block's tokens chained to its parent's hash: two FNV-style lanes
 * folded into a 53-bit integer (a number, so hash maps stay fast). The parent
 * of the first block is 0. Tokens past the end of `tokens` are read from
 * `then` (a prompt followed by its output, without joining them).
 */
export function chainHash(
  parent: number,
  tokens: ArrayLike<number>,
  from: number,
  to: number,
  then: ArrayLike<number> = NOTHING,
): number {
  // the parent's low and high 32 bits (>>> 0 is mod 2^32 for integers below 2^53: no float modulo)
  const lo = parent >>> 0;
  let a = Math.imul(0x811c9dc5 ^ lo, 0x01000193);
  let b = Math.imul(0x01000193 ^ ((parent - lo) * 2.3283064365386963e-10), 0x5bd1e995);
  const n = tokens.length;
  // two loops, no test per token of which array it is in
  const mid = Math.min(to, Math.max(from, n));
  for (let i = from; i < mid; i++) {
    const t = tokens[i];
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ (t + 0x9e3779b9), 0x5bd1e995);
    b ^= b >>> 15;
  }
  for (let i = mid; i < to; i++) {
    const t = then[i - n];
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ (t + 0x9e3779b9), 0x5bd1e995);
    b ^= b >>> 15;
  }
  a = Math.imul(a ^ (to - from), 0x01000193);
  return (b >>> 11) * 0x100000000 + (a >>> 0);
}

/** A pool of KV blocks with prefix caching and LRU eviction. */
export class KvCache {
  /** Tokens per block. */
  readonly blockSize: number;
  /** Blocks in the pool. */
  readonly numBlocks: number;
  /** Whether prefix caching is on. */
  readonly prefixCaching: boolean;
  /** Prompt tokens looked up in the prefix cache (for the hit-rate metric). */
  queries = 0;
  /** Prompt tokens found in the prefix cache. */
  hits = 0;
  readonly #blocks: KvBlock[];
  /** Free blocks without reusable content, allocated first: a stack (Map iteration after many deletions is slow). */
  readonly #empty: KvBlock[] = [];
  /**
   * Free blocks that still serve prefix hits, in eviction order: an intrusive
   * doubly linked list (head goes first), O(1) to take out of the middle.
   */
  #head: KvBlock | null = null;
  #tail: KvBlock | null = null;
  #numCached = 0;
  /** Hash -> index of the block holding it (full blocks committed, in use or free). */
  readonly #byHash: BlockIndex;

  constructor(opts: KvCacheOptions) {
    if (!Number.isInteger(opts.numBlocks) || opts.numBlocks < 1) {
      throw new RangeError(
        `Cannot use numBlocks as a positive integer: current value is ${opts.numBlocks}`,
      );
    }
    this.numBlocks = opts.numBlocks;
    this.blockSize = opts.blockSize ?? 16;
    this.prefixCaching = opts.prefixCaching ?? true;
    this.#blocks = [];
    this.#byHash = new BlockIndex(this.numBlocks);
    for (let i = 0; i < this.numBlocks; i++) {
      const block: KvBlock = { id: i, refCount: 0, hash: null, prev: null, next: null };
      this.#blocks.push(block);
    }
    for (let i = this.numBlocks - 1; i >= 0; i--) this.#empty.push(this.#blocks[i]); // 0 pops first
  }

  /** Number of blocks that can be allocated now (free, cached or not). */
  get numFree(): number {
    return this.#empty.length + this.#numCached;
  }

  /** Fraction of blocks held by requests, as `vllm:kv_cache_usage_perc` reports it. */
  usage(): number {
    return 1 - this.numFree / this.numBlocks;
  }

  /** Hashes of the full blocks of `tokens`, as a chain. */
  hashes(tokens: ArrayLike<number>, upTo = tokens.length): number[] {
    const out: number[] = [];
    let parent = 0;
    for (let end = this.blockSize; end <= upTo; end += this.blockSize) {
      parent = chainHash(parent, tokens, end - this.blockSize, end);
      out.push(parent);
    }
    return out;
  }

  /**
   * Longest run of cached blocks matching the first `upTo` of `hashes` from
   * the start. Does not take them; call {@linkcode KvCache.take} with the result.
   */
  match(hashes: readonly number[], upTo = hashes.length): KvBlock[] {
    const out: KvBlock[] = [];
    if (!this.prefixCaching) return out;
    const n = Math.min(upTo, hashes.length);
    for (let k = 0; k < n; k++) {
      const h = hashes[k];
      const i = this.#byHash.get(h);
      if (i < 0) break;
      out.push(this.#blocks[i]);
    }
    return out;
  }

  /** Takes matched cached blocks for a request (pins them). */
  take(blocks: readonly KvBlock[]): void {
    for (const b of blocks) {
      if (b.refCount === 0) this.#unlink(b);
      b.refCount++;
    }
  }

  /** Allocates `n` fresh blocks, evicting the least recently freed; null if too few. */
  allocate(n: number): KvBlock[] | null {
    const out: KvBlock[] = [];
    return this.allocateTo(n, out) ? out : null;
  }

  /**
   * Appends `n` fresh blocks to `into` (as {@linkcode KvCache.allocate} would
   * return them); false, with `into` untouched, if too few are free.
   */
  allocateTo(n: number, into: KvBlock[]): boolean {
    if (n > this.numFree) return false;
    let left = n;
    while (left > 0 && this.#empty.length) {
      const block = this.#empty.pop()!;
      block.refCount = 1;
      into.push(block);
      left--;
    }
    for (; left > 0; left--) {
      const block = this.#head!;
      this.#unlink(block);
      if (block.hash !== null) {
        this.#byHash.delete(block.hash);
        block.hash = null;
      }
      block.refCount = 1;
      into.push(block);
    }
    return true;
  }

  /** Marks a full block as holding the content with `hash` (reusable by others). */
  commit(block: KvBlock, hash: number): void {
    if (!this.prefixCaching || block.hash !== null) return;
    // not when an identical block is already cached
    if (this.#byHash.add(hash, block.id)) block.hash = hash;
  }

  /**
   * Releases a request's blocks. Tail blocks are queued for eviction first, so a
   * shared prefix outlives the request-specific suffix.
   */
  release(blocks: readonly KvBlock[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i];
      if (b.refCount <= 0) continue;
      b.refCount--;
      if (b.refCount > 0) continue;
      if (b.hash === null) this.#empty.push(b);
      else this.#append(b);
    }
  }

  #append(b: KvBlock): void {
    b.prev = this.#tail;
    b.next = null;
    if (this.#tail) this.#tail.next = b;
    else this.#head = b;
    this.#tail = b;
    this.#numCached++;
  }

  #unlink(b: KvBlock): void {
    if (b.prev) b.prev.next = b.next;
    else this.#head = b.next;
    if (b.next) b.next.prev = b.prev;
    else this.#tail = b.prev;
    b.prev = b.next = null;
    this.#numCached--;
  }

  /** Drops every cached hash of free blocks; returns false if blocks are still in use. */
  resetPrefixCache(): boolean {
    if (this.numFree !== this.numBlocks) return false;
    this.#head = this.#tail = null;
    this.#numCached = 0;
    this.#empty.length = 0;
    for (let i = this.numBlocks - 1; i >= 0; i--) {
      this.#blocks[i].hash = null;
      this.#blocks[i].prev = this.#blocks[i].next = null;
      this.#empty.push(this.#blocks[i]);
    }
    this.#byHash.clear();
    this.queries = 0;
    this.hits = 0;
    return true;
  }
}
