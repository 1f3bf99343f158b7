/**
 * Token ids in typed arrays cut from shared slabs. Virtual time keeps a
 * conversation's ids (its prompts, user turns, answers) for seconds of its run:
 * as JS arrays they were most of what each young-generation collection copied
 * and promoted; a typed array of its own costs an allocation outside the heap
 * (slower than the copy it holds). A view of a slab is a small object; the
 * slab lives while any of its views does (a run's finished conversations let
 * theirs go).
 *
 * @module
 */

/** Ids per slab (256 KiB). */
const SLAB_IDS = 1 << 16;
let slab = new Uint32Array(0);
let used = 0;

/** `n` zeros: a view of a shared slab (never handed out twice), or an array of its own when long. */
export function freshIds(n: number): Uint32Array {
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new RangeError(
      `Cannot make ${n} token ids: current value is not a count; allowed: 0, 1, ...`,
    );
  }
  if (n > SLAB_IDS >> 3) return new Uint32Array(n);
  if (used + n > slab.length) {
    slab = new Uint32Array(SLAB_IDS);
    used = 0;
  }
  // a view made by the constructor, not subarray (whose species look-up costs more than the copy)
  const view = new Uint32Array(slab.buffer, used * 4, n);
  used += n;
  return view;
}

/** A copy of `ids` (each an integer in 0..2^32-1) in a fresh view. */
export function copyIds(ids: ArrayLike<number>): Uint32Array {
  const out = freshIds(ids.length);
  out.set(ids);
  return out;
}
