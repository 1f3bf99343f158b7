import assert from "node:assert/strict";
import { MinHeap } from "./min_heap.ts";
import { Rng } from "./rng.ts";

Deno.test("min heap: pops in order under the caller's order, ties by arrival, whatever pushes and pops interleave", () => {
  const rng = new Rng(3);
  const heap = new MinHeap<[number, number]>((a, b) =>
    a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])
  );
  const held: [number, number][] = [];
  const popped: [number, number][] = [];
  const expected: [number, number][] = [];
  for (let n = 0; n < 5000; n++) {
    if (held.length && rng.next() < 0.45) {
      held.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      expected.push(held.shift()!);
      popped.push(heap.pop()!);
    } else {
      const x: [number, number] = [Math.floor(rng.next() * 50), n]; // many equal keys
      held.push(x);
      heap.push(x);
    }
    assert.equal(heap.size, held.length);
  }
  assert.deepEqual(popped, expected);
  while (heap.size) heap.pop();
  assert.equal(heap.pop(), undefined);
  assert.equal(heap.peek(), undefined);
});
