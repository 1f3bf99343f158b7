import assert from "node:assert/strict";
import { copyIds, freshIds } from "./id_slabs.ts";

Deno.test("id slabs: views are zeros, never shared, and copies hold the ids", () => {
  const a = freshIds(5), b = freshIds(7);
  assert.deepEqual(Array.from(a), [0, 0, 0, 0, 0]);
  a.fill(1);
  assert.deepEqual(Array.from(b), new Array(7).fill(0), "no overlap");
  const c = copyIds([3, 1, 4, 1, 5, 2 ** 31 + 1]);
  assert.deepEqual(Array.from(c), [3, 1, 4, 1, 5, 2 ** 31 + 1]);
  assert.deepEqual(Array.from(copyIds(new Uint32Array([9, 8]))), [9, 8]);
  // past a slab's end, and a long run of its own
  const many = Array.from({ length: 200 }, () => freshIds(1000));
  many.forEach((v, i) => v.fill(i));
  many.forEach((v, i) => assert.ok(v.every((x) => x === i)));
  assert.equal(freshIds(100_000).length, 100_000);
  assert.equal(freshIds(0).length, 0);
  assert.throws(() => freshIds(-1), RangeError);
  assert.throws(() => freshIds(1.5), RangeError);
});
