import assert from "node:assert/strict";
import { concat } from "./bytes.ts";

Deno.test("concat: parts joined in order; one part is returned as it is", () => {
  const a = new Uint8Array([1, 2]);
  assert.deepEqual(concat([a, new Uint8Array(0), new Uint8Array([3])]), new Uint8Array([1, 2, 3]));
  assert.equal(concat([a]), a);
  assert.deepEqual(concat([]), new Uint8Array(0));
});
