import assert from "node:assert/strict";
import { loadTokenizer } from "../../../lib/tokenizer.ts";
import { Rng } from "../../../lib/rng.ts";
import { answerTokens, buildVocab, sampleOutput, tokenText, vocabForms } from "./vocab.ts";
import shipped from "./_llama3_1_vocab.json" with { type: "json" };

const tok = await loadTokenizer();
const vocab = buildVocab(tok);

Deno.test("vocab: drawn answers' exact ids are what the tokenizer gives for their text", () => {
  const rng = new Rng(4);
  for (let i = 0; i < 40; i++) {
    const ids = sampleOutput(vocab, rng, 1 + (i * 7) % 90, i % 3 === 0);
    const a = answerTokens(vocab, ids);
    assert.equal(a.text, Array.from(ids, (id) => tokenText(vocab, id)).join(""));
    assert.ok(a.exactIds);
    assert.deepEqual(Array.from(a.exactIds), tok.encode(a.text));
  }
});

Deno.test("vocab: an answer whose text would not split into its ids has no exact ids", () => {
  const [first, word] = [vocab.firstIds[0], vocab.words[0]];
  const [dot, comma] = vocab.punct;
  // two marks side by side are one pre-token; a first word later joins the word before
  for (const ids of [[first, dot, comma], [word, word], [first, first], [first, 5]]) {
    assert.equal(answerTokens(vocab, ids).exactIds, null, JSON.stringify(ids));
  }
  assert.deepEqual(answerTokens(vocab, [first, dot, word, vocab.eosId]).exactIds, [
    first,
    dot,
    word,
  ]);
});

Deno.test("vocab: the shipped tokenizer's forms are the ones it gives; the vocabulary built of them is the same", () => {
  assert.deepEqual(vocabForms(tok), shipped.forms);
  const renamed = { ...tok, name: "not-shipped", encode: tok.encode, decode: tok.decode };
  assert.deepEqual(buildVocab(tok), buildVocab(renamed));
});

Deno.test("vocab: sampleOutput draws as rng.pick per token does (first word, 1 in 10 a mark, never two)", () => {
  const reference = (rng: Rng, n: number, eos: boolean) => {
    const out: number[] = [];
    let lastPunct = true;
    for (let i = 0; i < n; i++) {
      if (i === 0) [out[i], lastPunct] = [rng.pick(vocab.firstIds), false];
      else if (!lastPunct && vocab.punct.length && rng.next() < 0.1) {
        [out[i], lastPunct] = [rng.pick(vocab.punct), true];
      } else [out[i], lastPunct] = [rng.pick(vocab.words), false];
    }
    if (eos && n > 0) out[n - 1] = vocab.eosId;
    return out;
  };
  for (
    const [seed, n, eos] of [[1, 0, false], [2, 1, true], [3, 2, false], [4, 500, true]] as const
  ) {
    const a = new Rng(seed), b = new Rng(seed);
    assert.deepEqual(Array.from(sampleOutput(vocab, a, n, eos)), reference(b, n, eos));
    assert.equal(a.next(), b.next(), "as many draws");
  }
});
