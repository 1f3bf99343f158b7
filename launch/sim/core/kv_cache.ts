/**
 * Paged KV cache with prefix caching, as vLLM v1 keeps it: fixed-size blocks,
 * full blocks identified by a hash chain over their tokens, free blocks kept in
 * an LRU queue that still serves prefix hits until the block is reused.
 *
 * @module
 */
import { BlockIndex } from "./_block_index.ts";

/**
 * One KV block: its index in the pool. The pool keeps each block's state in
 * typed arrays (reference count, hash, eviction-queue neighbours): a request's
 * blocks are then an array of small integers, which the garbage collector
 * neither traces nor copies pointers of, and the queue's links sit together in
 * memory rather than in one object per block. A fresh pool's arrays are left
 * as allocated (zero: no hash, no reference, never used), so building one
 * touches none of its memory (filling the arrays of 30,000 blocks took
 * milliseconds of page faults, for blocks a short run may never use).
 */
export type KvBlock = number;

/** No block (an end of the eviction queue). */
const NONE = -1;

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

/** 2^32 − 0x9e3779b9: adding 0x9e3779b9 and subtracting this agree mod 2^32. */
const GOLDEN_LOW = 0x61c88647;

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
  // two loops, no test per token of which array it is in. `t - GOLDEN_LOW` is `t + 0x9e3779b9`
  // less 2^32, so the same once ^ takes it mod 2^32 (token ids are integers), but a small
  // integer: the sum was a heap number per token until the loop is optimised
  const mid = Math.min(to, Math.max(from, n));
  for (let i = from; i < mid; i++) {
    const t = tokens[i];
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ (t - GOLDEN_LOW), 0x5bd1e995);
    b ^= b >>> 15;
  }
  for (let i = mid; i < to; i++) {
    const t = then[i - n];
    a = Math.imul(a ^ t, 0x01000193);
    b = Math.imul(b ^ (t - GOLDEN_LOW), 0x5bd1e995);
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
  /** Running requests using each block. */
  readonly #refs: Int32Array;
  /**
   * Hash of each full block (with its prefix chain) plus 1, or 0 while
   * partial/unhashed (hashes are integers below 2^53: the sum is exact).
   */
  readonly #hash: Float64Array;
  /**
   * Free blocks without reusable content, allocated first: a stack whose
   * bottom is the blocks never used, `numBlocks - 1` down to `#fresh` (not
   * stored), with `#emptyLen` blocks released since on top.
   */
  readonly #empty: Int32Array;
  #emptyLen = 0;
  /** The lowest block never used: blocks from here on are free and empty. */
  #fresh = 0;
  /**
   * Free blocks that still serve prefix hits, in eviction order: a doubly
   * linked list over block indices (head goes first), O(1) to take out of the
   * middle; a block's links are read only while it is in the list.
   */
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  #head = NONE;
  #tail = NONE;
  #numCached = 0;
  /** Hash -> index of the block holding it (full blocks committed, in use or free). */
  readonly #byHash: BlockIndex;

  constructor(opts: KvCacheOptions) {
    if (!Number.isInteger(opts.numBlocks) || opts.numBlocks < 1) {
      throw new RangeError(
        `Cannot use numBlocks as a positive integer: current value is ${opts.numBlocks}`,
      );
    }
    const n = this.numBlocks = opts.numBlocks;
    this.blockSize = opts.blockSize ?? 16;
    this.prefixCaching = opts.prefixCaching ?? true;
    // zeroed as allocated, none filled (see KvBlock): every block free, never used, unhashed
    this.#refs = new Int32Array(n);
    this.#hash = new Float64Array(n);
    this.#prev = new Int32Array(n);
    this.#next = new Int32Array(n);
    this.#empty = new Int32Array(n);
    this.#byHash = new BlockIndex(n);
  }

  /** Number of blocks that can be allocated now (free, cached or not). */
  get numFree(): number {
    return this.#emptyLen + (this.numBlocks - this.#fresh) + this.#numCached;
  }

  /** Fraction of blocks held by requests, as `vllm:kv_cache_usage_perc` reports it. */
  usage(): number {
    return 1 - this.numFree / this.numBlocks;
  }

  /** Running requests using `block`. */
  refCountOf(block: KvBlock): number {
    return this.#refs[block];
  }

  /** The hash `block` holds for reuse, or null while partial/unhashed. */
  hashOf(block: KvBlock): number | null {
    const h = this.#hash[block];
    return h === 0 ? null : h - 1;
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
  match(hashes: ArrayLike<number>, upTo = hashes.length): KvBlock[] {
    const out: KvBlock[] = [];
    if (!this.prefixCaching) return out;
    const n = Math.min(upTo, hashes.length);
    for (let k = 0; k < n; k++) {
      const i = this.#byHash.get(hashes[k]);
      if (i < 0) break;
      out.push(i);
    }
    return out;
  }

  /**
   * {@linkcode KvCache.match} written into `into` from its start (room for
   * `upTo` blocks, or as many as `hashes` has); how many matched.
   */
  matchInto(hashes: ArrayLike<number>, upTo: number, into: Uint32Array): number {
    if (!this.prefixCaching) return 0;
    const n = Math.min(upTo, hashes.length);
    for (let k = 0; k < n; k++) {
      const i = this.#byHash.get(hashes[k]);
      if (i < 0) return k;
      into[k] = i;
    }
    return n;
  }

  /** Takes the first `n` of matched cached blocks `blocks` for a request (pins them). */
  take(blocks: ArrayLike<KvBlock>, n = blocks.length): void {
    const refs = this.#refs;
    for (let k = 0; k < n; k++) {
      const b = blocks[k];
      if (refs[b] === 0) this.#unlink(b);
      refs[b]++;
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
    for (let k = 0; k < n; k++) into.push(this.#takeFree());
    return true;
  }

  /**
   * Writes `n` fresh blocks into `into[at..at + n)` (room there is the
   * caller's), as {@linkcode KvCache.allocateTo} would append them; false,
   * with `into` untouched, if too few are free.
   */
  allocateAt(n: number, into: Uint32Array, at: number): boolean {
    if (n > this.numFree) return false;
    for (let k = 0; k < n; k++) into[at + k] = this.#takeFree();
    return true;
  }

  /**
   * One free block, now held once: a released empty one (last released
   * first), else a never-used one (lowest first: the bottom of the empty
   * stack), else the least recently freed cached one, evicted.
   */
  #takeFree(): KvBlock {
    let block: KvBlock;
    if (this.#emptyLen > 0) block = this.#empty[--this.#emptyLen];
    else if (this.#fresh < this.numBlocks) block = this.#fresh++;
    else {
      block = this.#head;
      this.#unlink(block);
      const hash = this.#hash;
      if (hash[block] !== 0) {
        this.#byHash.delete(hash[block] - 1);
        hash[block] = 0;
      }
    }
    this.#refs[block] = 1;
    return block;
  }

  /** Marks a full block as holding the content with `hash` (reusable by others). */
  commit(block: KvBlock, hash: number): void {
    if (!this.prefixCaching || this.#hash[block] !== 0) return;
    // not when an identical block is already cached
    if (this.#byHash.add(hash, block)) this.#hash[block] = hash + 1;
  }

  /**
   * Releases a request's blocks. Tail blocks are queued for eviction first, so a
   * shared prefix outlives the request-specific suffix. Only `blocks[from..to)` when given.
   */
  release(blocks: ArrayLike<KvBlock>, to = blocks.length, from = 0): void {
    const refs = this.#refs;
    for (let i = to - 1; i >= from; i--) {
      const b = blocks[i];
      if (refs[b] <= 0) continue;
      if (--refs[b] > 0) continue;
      if (this.#hash[b] === 0) this.#empty[this.#emptyLen++] = b;
      else this.#append(b);
    }
  }

  #append(b: KvBlock): void {
    this.#prev[b] = this.#tail;
    this.#next[b] = NONE;
    if (this.#tail !== NONE) this.#next[this.#tail] = b;
    else this.#head = b;
    this.#tail = b;
    this.#numCached++;
  }

  #unlink(b: KvBlock): void {
    const prev = this.#prev, next = this.#next;
    const p = prev[b], q = next[b];
    if (p !== NONE) next[p] = q;
    else this.#head = q;
    if (q !== NONE) prev[q] = p;
    else this.#tail = p;
    prev[b] = next[b] = NONE;
    this.#numCached--;
  }

  /** Drops every cached hash of free blocks; returns false if blocks are still in use. */
  resetPrefixCache(): boolean {
    if (this.numFree !== this.numBlocks) return false;
    this.#head = this.#tail = NONE;
    this.#numCached = 0;
    this.#hash.fill(0);
    // every block on the empty stack again, as new: block 0 goes first
    this.#emptyLen = 0;
    this.#fresh = 0;
    this.#byHash.clear();
    this.queries = 0;
    this.hits = 0;
    return true;
  }
}
