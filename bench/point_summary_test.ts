import assert from "node:assert/strict";
import { startLagNote } from "./_point_summary.ts";

Deno.test("a lag that is only the first second's says so and names --warmup", () => {
  const note = startLagNote({ firstP99Ms: 42.04, restP99Ms: 3.1 });
  assert.match(note, /first second's \(p99 42\.0 ms there, 3\.1 ms after\)/);
  assert.match(note, /--warmup 1s/);
  // lagging after the first second too, or not in it: the host or client could not keep up
  assert.equal(startLagNote({ firstP99Ms: 42, restP99Ms: 5.5 }), "");
  assert.equal(startLagNote({ firstP99Ms: 4, restP99Ms: 3 }), "");
  assert.equal(startLagNote(null), "");
});
