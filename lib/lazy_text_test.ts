import assert from "node:assert/strict";
import { IdsText, idsTextOf, LazyMessage } from "./lazy_text.ts";

// by id: words, a mark, an empty piece (EOS), a missing one, a space-led piece
const PIECES = ["Hello", " the", " city", ".", "", undefined, "  wide", "é"];

Deno.test("lazy text: length, ends and text of token ids match the built string", () => {
  for (
    const ids of [[0, 1, 2, 3], [1, 4, 2, 5, 3], [6, 7, 3], [4], [], [5, 4], [0, 3, 3, 4, 1]]
  ) {
    const t = new IdsText(ids, PIECES);
    const s = ids.map((id) => PIECES[id] ?? "").join("");
    const before = IdsText.built;
    assert.equal(t.length, s.length, `length of ${ids}`);
    assert.ok(t.maxLength >= t.length);
    for (let i = -s.length - 2; i < s.length + 2; i++) {
      const want = s.charCodeAt(i < 0 ? s.length + i : i);
      assert.ok(Object.is(t.codeAt(i), want), `code at ${i} of ${JSON.stringify(s)}`);
    }
    assert.equal(IdsText.built, before, "length and ends read without building the text");
    assert.equal(t.toString(), s);
    assert.equal(IdsText.built, before + 1);
  }
});

Deno.test("lazy text: a message of ids writes and spreads as its text; plain ones carry none", () => {
  const t = new IdsText([1, 2, 3], PIECES);
  const m = new LazyMessage("user", t);
  assert.equal(m.content, " the city.");
  assert.equal(JSON.stringify([m]), JSON.stringify([{ role: "user", content: " the city." }]));
  assert.equal(idsTextOf(m), t);
  assert.equal(idsTextOf({ ...m, content: "x" }), t, "a spread keeps the mark");
  assert.equal(idsTextOf({ role: "user", content: " the city." }), undefined);
  assert.equal(idsTextOf(null), undefined);
  assert.equal(idsTextOf("text"), undefined);
});
