import assert from "node:assert/strict";
import { parseTrace } from "./trace.ts";

Deno.test("parseTrace reads a 200,000-record trace (no argument spread of its timestamps)", () => {
  const n = 200_000;
  const lines = Array.from(
    { length: n },
    (_, i) =>
      JSON.stringify({ timestamp: 5000 + i, input_length: 8, output_length: 2, hash_ids: [i] }),
  );
  const recs = parseTrace(lines.join("\n"), "big.jsonl");
  assert.equal(recs.length, n);
  assert.equal(recs[0].timestampMs, 0); // times count from the first record
  assert.equal(recs.at(-1)!.timestampMs, n - 1);
});
