import assert from "node:assert/strict";
import { parseTrace, traceRequests } from "./trace.ts";
import { wordList } from "./_words.ts";
import { loadTokenizer } from "../../lib/tokenizer.ts";

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

Deno.test("traceRequests: the completions ids drawn in place are the text path's words (blocks, cut, own tail)", async () => {
  const tok = await loadTokenizer(undefined, { buildOnUse: true });
  const wl = wordList(tok);
  const idOf = new Map(wl.words.map((w, k) => [w, wl.ids[k]]));
  const rec = (inputLen: number, hashIds: number[]) => ({
    timestampMs: 0,
    inputLen,
    outputLen: 4,
    hashIds,
  });
  // a whole block, a cut block, blocks then a tail, a tail only, a block shared with the first
  const records = [rec(512, [7]), rec(300, [8]), rec(1100, [7, 9]), rec(40, []), rec(530, [7])];
  for (const seed of [0, 3]) {
    const o = { endpoint: "completions" as const, seed, ignoreEos: true };
    const text = traceRequests(tok, records, o).requests;
    const ids = traceRequests(tok, records, { ...o, tokenIds: true }).requests;
    records.forEach((r, i) => {
      assert.equal(ids[i].prompt, text[i].prompt);
      assert.deepEqual(
        ids[i].promptTokenIds,
        text[i].prompt!.match(/ [a-z]+/g)!.map((w) => idOf.get(w)),
      );
      assert.equal(ids[i].promptTokenIds!.length, r.inputLen);
      assert.equal(ids[i].promptTokens, text[i].promptTokens);
    });
  }
});

Deno.test("parseTrace: records in due order, those due together in the file's order", () => {
  const line = (t: number, n: number) =>
    JSON.stringify({ timestamp: t, input_length: n, output_length: 1 });
  const recs = parseTrace(
    [line(30, 1), line(10, 2), line(30, 3), line(10, 4)].join("\n"),
    "x.jsonl",
  );
  assert.deepEqual(recs.map((r) => [r.timestampMs, r.inputLen]), [[0, 2], [0, 4], [20, 1], [
    20,
    3,
  ]]);
});
