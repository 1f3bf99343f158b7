import assert from "node:assert/strict";
import { chainHash, KvCache } from "./kv_cache.ts";
import { BlockIndex } from "./_block_index.ts";
import { Rng } from "../../../lib/rng.ts";

const seq = (n: number, start = 0) => Array.from({ length: n }, (_, i) => start + i);

Deno.test("kv cache: hashes chain over full blocks only", () => {
  const kv = new KvCache({ numBlocks: 8, blockSize: 4 });
  const a = kv.hashes(seq(10));
  assert.equal(a.length, 2);
  const b = kv.hashes([...seq(4), 99, 5, 6, 7]);
  assert.equal(a[0], b[0]);
  assert.notEqual(a[1], b[1]);
  // Same block content after a different prefix hashes differently.
  const c = kv.hashes([...seq(4, 50), ...seq(4, 4)]);
  assert.notEqual(c[1], a[1]);
});

Deno.test("kv cache: released blocks serve prefix hits until evicted", () => {
  const kv = new KvCache({ numBlocks: 4, blockSize: 4 });
  const tokens = seq(8);
  const hashes = kv.hashes(tokens);
  const blocks = kv.allocate(2)!;
  kv.commit(blocks[0], hashes[0]);
  kv.commit(blocks[1], hashes[1]);
  assert.equal(kv.usage(), 0.5);
  kv.release(blocks);
  assert.equal(kv.usage(), 0);
  assert.equal(kv.match(hashes).length, 2);
  // Allocating the two never-used blocks keeps the cached ones.
  const other = kv.allocate(2)!;
  assert.equal(kv.match(hashes).length, 2);
  // One more block must evict a cached one: the tail block goes first.
  const more = kv.allocate(1)!;
  assert.equal(more[0], blocks[1]);
  assert.equal(kv.match(hashes).length, 1);
  assert.equal(kv.allocate(2), null);
  kv.release([...other, ...more]);
});

Deno.test("kv cache: take pins cached blocks; reset refuses while in use", () => {
  const kv = new KvCache({ numBlocks: 2, blockSize: 2 });
  const h = kv.hashes([1, 2]);
  const [b] = kv.allocate(1)!;
  kv.commit(b, h[0]);
  kv.release([b]);
  const hit = kv.match(h);
  kv.take(hit);
  assert.equal(kv.numFree, 1);
  assert.equal(kv.resetPrefixCache(), false);
  kv.release(hit);
  assert.equal(kv.resetPrefixCache(), true);
  assert.equal(kv.match(h).length, 0);
});

Deno.test("kv cache: prefix caching off never matches", () => {
  const kv = new KvCache({ numBlocks: 2, blockSize: 2, prefixCaching: false });
  const h = kv.hashes([1, 2]);
  const [b] = kv.allocate(1)!;
  kv.commit(b, h[0]);
  kv.release([b]);
  assert.equal(kv.match(h).length, 0);
  assert.throws(() => new KvCache({ numBlocks: 0 }), RangeError);
});

Deno.test("kv cache: its hash index agrees with a Map under colliding inserts and deletes", () => {
  // small table, keys crowded into few slots, wrap-around probes: deletes must keep later keys findable
  const ix = new BlockIndex(64);
  const ref = new Map<number, number>();
  const rng = new Rng(11);
  const keyOf = (k: number) => k < 40 ? k * 0x100000000 : Math.floor(rng.next() * 2 ** 53);
  for (let step = 0; step < 20_000; step++) {
    const key = keyOf(Math.floor(rng.next() * 48));
    if (ref.has(key) || ref.size >= 64 || rng.next() < 0.4) {
      assert.equal(ix.delete(key), ref.delete(key));
    } else {
      assert.equal(ix.add(key, step & 0xffff), true);
      assert.equal(ix.add(key, 1), false, "a held key is not added again");
      ref.set(key, step & 0xffff);
    }
    assert.equal(ix.size, ref.size);
    for (const [k, v] of ref) assert.equal(ix.get(k), v);
  }
  assert.throws(() => new BlockIndex(0), /Cannot size a block index/);
});

Deno.test("kv cache: allocateTo appends like allocate, and refuses without touching the list", () => {
  const kv = new KvCache({ numBlocks: 3, blockSize: 4 });
  const into = [kv.allocate(1)![0]];
  assert.equal(kv.allocateTo(3, into), false);
  assert.equal(into.length, 1);
  assert.equal(kv.allocateTo(2, into), true);
  assert.deepEqual(into, [0, 1, 2]);
});

Deno.test("kv cache: blocks never used go lowest first, after released empty ones; a reset starts over at 0", () => {
  const kv = new KvCache({ numBlocks: 6, blockSize: 2 });
  assert.equal(kv.numFree, 6);
  const a = kv.allocate(3)!;
  assert.deepEqual(a, [0, 1, 2]);
  kv.commit(a[0], 0); // hash 0 is a hash like any other
  assert.equal(kv.hashOf(a[0]), 0);
  assert.equal(kv.hashOf(a[1]), null);
  kv.release(a); // 2 and 1 go on the empty stack (1 on top), 0 to the cached list
  assert.equal(kv.numFree, 6);
  assert.deepEqual(kv.allocate(4), [1, 2, 3, 4]);
  assert.deepEqual(kv.match([0]), [0]);
  assert.deepEqual(kv.allocate(2), [5, 0], "the never used, then the cached evicted");
  assert.equal(kv.hashOf(0), null);
  assert.equal(kv.allocate(1), null);
  kv.release([0, 1, 2, 3, 4, 5]);
  assert.equal(kv.resetPrefixCache(), true);
  assert.deepEqual(kv.allocate(6), [0, 1, 2, 3, 4, 5]);
});

Deno.test("kv cache: chainHash is the FNV-style chain of its lanes (token ids up to 2^31, spanning `then`)", () => {
  const reference = (parent: number, all: number[], from: number, to: number) => {
    const lo = parent >>> 0;
    let a = Math.imul(0x811c9dc5 ^ lo, 0x01000193);
    let b = Math.imul(0x01000193 ^ ((parent - lo) * 2.3283064365386963e-10), 0x5bd1e995);
    for (let i = from; i < to; i++) {
      a = Math.imul(a ^ all[i], 0x01000193);
      b = Math.imul(b ^ (all[i] + 0x9e3779b9), 0x5bd1e995);
      b ^= b >>> 15;
    }
    a = Math.imul(a ^ (to - from), 0x01000193);
    return (b >>> 11) * 0x100000000 + (a >>> 0);
  };
  const rng = new Rng(5);
  const all = Array.from(
    { length: 64 },
    (_, i) => i < 4 ? [0, 1, 2 ** 31 - 1, 128255][i] : rng.int(0, 2 ** 31 - 1),
  );
  const tokens = all.slice(0, 40), then = all.slice(40);
  let parent = 0;
  for (let end = 16; end <= 64; end += 16) {
    const h = chainHash(parent, tokens, end - 16, end, then);
    assert.equal(h, reference(parent, all, end - 16, end));
    parent = h;
  }
});

Deno.test("kv cache: allocateAt, matchInto and a range's release agree with allocateTo, match and release of a slice", () => {
  const run = (typed: boolean) => {
    const kv = new KvCache({ numBlocks: 6, blockSize: 2 });
    const h = kv.hashes([1, 2, 3, 4, 5, 6, 7, 8]);
    const into = new Uint32Array(5);
    const list: number[] = [];
    if (typed) assert.equal(kv.allocateAt(4, into, 1), true);
    else assert.equal(kv.allocateTo(4, list), true);
    const blocks = typed ? [...into.subarray(1, 5)] : list;
    blocks.forEach((b, i) => kv.commit(b, h[i]));
    if (typed) kv.release(into, 5, 2); // the last three, as release(blocks.slice(1))
    else kv.release(blocks.slice(1));
    const hit = new Uint32Array(4);
    const n = typed ? kv.matchInto(h, 4, hit) : kv.match(h).length;
    if (typed) kv.take(hit, n);
    else kv.take(kv.match(h));
    assert.equal(kv.allocateAt(7, into, 0), false, "too few free: nothing taken");
    return { blocks, n, hit: typed ? [...hit.subarray(0, n)] : kv.match(h), free: kv.numFree };
  };
  assert.deepEqual(run(true), run(false));
});
