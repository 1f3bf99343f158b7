import assert from "node:assert/strict";
import { Deque } from "./deque.ts";
import { Rng } from "./rng.ts";

Deno.test("deque: the same order as an array under push, unshift, shift and removeAt across growth", () => {
  const q = new Deque<number>();
  const ref: number[] = [];
  const rng = new Rng(4);
  for (let step = 0; step < 5000; step++) {
    const r = rng.next();
    if (r < 0.35) [q.push(step), ref.push(step)];
    else if (r < 0.6) [q.unshift(step), ref.unshift(step)];
    else if (r < 0.9) assert.equal(q.shift(), ref.shift());
    else if (ref.length) {
      const i = Math.floor(rng.next() * ref.length);
      assert.equal(q.indexOf(ref[i]), i);
      q.removeAt(i);
      ref.splice(i, 1);
    }
    assert.equal(q.length, ref.length);
    assert.equal(q.at(0), ref[0]);
  }
  assert.deepEqual([...q], ref);
  assert.equal(q.indexOf(-5), -1);
  assert.throws(() => q.removeAt(ref.length), /Cannot remove item/);
});
