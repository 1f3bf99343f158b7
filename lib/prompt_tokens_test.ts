import assert from "node:assert/strict";
import { loadTokenizer } from "./tokenizer.ts";
import { Rng } from "./rng.ts";
import { buildVocab, sampleOutput, tokenText } from "../launch/sim/core/vocab.ts";
import { multiturnDataset, turnSpec } from "../bench/workload/multiturn.ts";
import { randomDataset } from "../bench/workload/random.ts";
import { PromptTokens } from "./prompt_tokens.ts";
import { IdsText, LazyMessage } from "./lazy_text.ts";
import chatIds from "./_llama3_1_chat_ids.json" with { type: "json" };
import words from "../bench/workload/_llama3_1_words.json" with { type: "json" };

Deno.test("predict tokens: cached pre-tokens give the tokenizer's own ids for chat and completions", async () => {
  const tok = await loadTokenizer();
  const fast = new PromptTokens(tok);
  const vocab = buildVocab(tok);
  const rng = new Rng(3);
  const convs = multiturnDataset(tok, {
    count: 3,
    seed: 1,
    turns: 3,
    inputLen: 120,
    outputLen: 40,
    thinkTimeMs: 0,
  });
  for (const conv of convs) {
    const answers: { text: string; tokens: number }[] = [];
    for (let t = 1; t <= 3; t++) {
      const spec = turnSpec(tok, "chat", conv, t, answers);
      assert.deepEqual(fast.chat(spec.messages!), tok.encodeChat(spec.messages!));
      const typed = fast.chatIds(spec.messages!);
      assert.ok(typed instanceof Uint32Array);
      assert.deepEqual(Array.from(typed), tok.encodeChat(spec.messages!));
      const c = turnSpec(tok, "completions", conv, t, answers);
      assert.deepEqual(
        fast.completion(c.prompt!),
        tok.encode(c.prompt!, { addSpecialTokens: true }),
      );
      const out = sampleOutput(vocab, rng, 40, false);
      answers.push({ text: Array.from(out, (id) => tokenText(vocab, id)).join(""), tokens: 40 });
    }
  }
  const odd = 'Numbers 42 and quotes "x" take the slow path.';
  assert.deepEqual(fast.completion(odd), tok.encode(odd, { addSpecialTokens: true }));
  assert.equal(fast.slow, 1);
});

Deno.test("predict tokens: edge texts (spaces at the ends, punctuation, case, a 300-letter word, many words) match the tokenizer", async () => {
  const tok = await loadTokenizer();
  const fast = new PromptTokens(tok);
  const texts = [
    "",
    " ",
    "a",
    " a",
    "a ",
    "a  b",
    " Hello, world.",
    "A.B,c d. e,",
    "x".repeat(300),
  ];
  // enough distinct words to grow the word table several times, each seen twice
  const many = words.words.slice(0, 3000).join("").trim();
  // the edge texts again after the growth: words of several ids moved with their slots
  for (const t of [...texts, many, many, ` ${many}`, ...texts]) {
    assert.deepEqual(fast.text(t), tok.encode(t), JSON.stringify(t.slice(0, 40)));
  }
  // two spaces, or one at the end, take the tokenizer's own path
  assert.equal(fast.slow, 6);
});

Deno.test("predict tokens: known dataset ids give the same chat prompt as tokenizing", async () => {
  const tok = await loadTokenizer();
  const convs = multiturnDataset(tok, {
    count: 3,
    seed: 5,
    turns: 2,
    inputLen: 40,
    outputLen: 8,
    thinkTimeMs: 0,
    tokenIds: true,
  });
  const fast = new PromptTokens(tok);
  for (const c of convs) {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: c.turns[0].user as string },
      { role: "assistant", content: " the city." },
      { role: "user", content: c.turns[1].user as string },
    ];
    const known = [undefined, c.turns[0].userTokenIds, undefined, c.turns[1].userTokenIds];
    assert.deepEqual(fast.chat(messages, known), tok.encodeChat(messages));
    assert.equal(fast.slow, 0);
  }
});

Deno.test("predict tokens: a random prompt's dataset ids give the tokenizer's own prompt ids", async () => {
  const tok = await loadTokenizer();
  const fast = new PromptTokens(tok);
  for (const endpoint of ["completions", "chat"] as const) {
    const specs = randomDataset(tok, {
      count: 4,
      seed: 7,
      endpoint,
      inputLen: 60,
      outputLen: 8,
      rangeRatio: 0.5,
      prefixLen: 12,
      tokenIds: true,
    });
    for (const s of specs) {
      const ids = s.promptTokenIds!;
      if (endpoint === "completions") {
        assert.deepEqual(fast.completionOf(ids), tok.encode(s.prompt!, { addSpecialTokens: true }));
      } else {
        assert.deepEqual(fast.chat(s.messages!, [ids]), tok.encodeChat(s.messages!));
      }
    }
  }
  assert.equal(fast.slow, 0);
});

Deno.test("predict tokens: the shipped chat frames and word-list bare ids are the tokenizer's", async () => {
  const tok = await loadTokenizer();
  for (const [s, ids] of Object.entries(chatIds.frames)) assert.deepEqual(ids, tok.encode(s), s);
  const bare = chatIds.bare as Record<string, number>;
  for (const id of words.ids) {
    assert.deepEqual([bare[id]], tok.encode(tok.decode([id]).trimStart()), `${id}`);
  }
  assert.equal(Object.keys(bare).length, words.ids.length);
});

Deno.test("predict tokens: messages of known ids give the tokenizer's chat ids without building their text", async () => {
  const tok = await loadTokenizer();
  const fast = new PromptTokens(tok);
  const vocab = buildVocab(tok);
  const rng = new Rng(9);
  const wordPieces: string[] = [];
  words.ids.forEach((id, k) => wordPieces[id] = words.words[k]);
  const answerPieces: string[] = [];
  for (const id of [...vocab.firstIds, ...vocab.words, ...vocab.punct]) {
    answerPieces[id] = tokenText(vocab, id);
  }
  const user = (n: number) =>
    new LazyMessage(
      "user",
      new IdsText(Array.from({ length: n }, (_, i) => words.ids[i * 13 % 999]), wordPieces),
    );
  // an answer cut by EOS (which decodes to nothing: the EOS id dropped from its exact ids)
  const out = sampleOutput(vocab, rng, 30, true);
  const answer = new LazyMessage("assistant", new IdsText(out.slice(0, -1), answerPieces));
  const messages = [{ role: "system", content: "Be brief." }, user(40), answer, user(25)];
  const built = IdsText.built;
  const ids = fast.chat(messages);
  assert.equal(IdsText.built, built, "no text built");
  assert.deepEqual(
    ids,
    tok.encodeChat(messages.map((m) => ({ role: m.role, content: m.content }))),
  );
  // ids that are not exact: the text is built and tokenized
  const odd = new LazyMessage("assistant", new IdsText([out[0], out[0]], answerPieces, false));
  const plain = [messages[1], odd].map((m) => ({ role: m.role, content: m.content }));
  assert.deepEqual(fast.chat([messages[1], odd]), tok.encodeChat(plain));
  assert.equal(fast.slow, 0);
});
