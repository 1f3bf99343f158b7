import assert from "node:assert/strict";
import { IdsText } from "./lazy_text.ts";
import { jsonTextByteLength, writeJsonText } from "./json_text_bytes.ts";

// by id: words, marks JSON escapes, a control character, non-ASCII, an empty and a missing piece
const PIECES = [" the", ' "q"', "\\", "\n\t", "\u0001", "é", "日本", "", undefined, " 🙂"];

Deno.test("json text bytes: the UTF-8 of JSON.stringify of the text, written from the ids", () => {
  const enc = new TextEncoder();
  for (const ids of [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [9, 0], [], [7, 8], [6, 6, 1]]) {
    const t = new IdsText(ids, PIECES);
    const want = enc.encode(JSON.stringify(t.toString()).slice(1, -1));
    const n = jsonTextByteLength(t);
    assert.equal(n, want.length, `length of ${ids}`);
    const out = new Uint8Array(n + 4).fill(7);
    assert.equal(writeJsonText(t, out, 2), n + 2);
    assert.deepEqual(out.subarray(2, n + 2), want);
    assert.deepEqual([...out.subarray(0, 2), ...out.subarray(n + 2)], [7, 7, 7, 7], "nothing else");
  }
});

Deno.test("json text bytes: -1 for a table with a lone surrogate or an id outside it", () => {
  assert.equal(jsonTextByteLength(new IdsText([0], ["\ud83d", "\ude42"])), -1);
  assert.equal(jsonTextByteLength(new IdsText([0, 12], PIECES)), -1);
  assert.equal(jsonTextByteLength(new IdsText([0, -1], PIECES)), -1);
});
