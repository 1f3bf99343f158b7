import assert from "node:assert/strict";
import { loadTokenizer } from "./tokenizer.ts";
import { Rng } from "./rng.ts";
import { PromptTokens } from "./prompt_tokens.ts";
import { IdsText, LazyMessage } from "./lazy_text.ts";
import { answerPieces, buildVocab, sampleOutput } from "../launch/sim/core/vocab.ts";
import { multiturnDataset, turnSpec } from "../bench/workload/multiturn.ts";

Deno.test("prompt threads: a conversation's turns extend one buffer, earlier prompts unchanged, a re-sent or branched turn the same as built anew", async () => {
  const tok = await loadTokenizer();
  const vocab = buildVocab(tok);
  const pieces = answerPieces(vocab);
  const rng = new Rng(4);
  const [conv] = multiturnDataset(tok, {
    count: 1,
    seed: 3,
    turns: 4,
    inputLen: 30,
    outputLen: 20,
    thinkTimeMs: 0,
    tokenIds: true,
  });
  const answer = (n: number) => ({
    ...new LazyMessage("assistant", new IdsText(sampleOutput(vocab, rng, n, false), pieces)),
    text: "",
    tokens: n,
  });
  const prompts = new PromptTokens(tok);
  // the third answer is long: its turn outgrows the buffer sized by the turns before
  const answers = [answer(20), answer(10), answer(400)];
  const sent: Uint32Array[] = [];
  const copies: number[][] = [];
  for (let t = 1; t <= 4; t++) {
    const { messages } = turnSpec(tok, "chat", conv, t, answers);
    const ids = prompts.chatIds(messages!);
    assert.deepEqual(Array.from(ids), tok.encodeChat(messages!), `turn ${t}`);
    sent.push(ids);
    copies.push(Array.from(ids));
  }
  // each turn's prompt leads the next; the second and third share a buffer
  for (let t = 1; t < 4; t++) {
    assert.deepEqual(Array.from(sent[t].subarray(0, sent[t - 1].length)), copies[t - 1]);
  }
  const same = (a: Uint32Array, b: Uint32Array) =>
    a.buffer === b.buffer && a.byteOffset === b.byteOffset;
  assert.ok(same(sent[2], sent[1]), "turn 3 extends turn 2's buffer");
  assert.ok(!same(sent[3], sent[2]), "turn 4 outgrew it");
  // the second turn re-sent, then a branch of it with another answer: built anew, the first prompts unchanged
  const again = prompts.chatIds(turnSpec(tok, "chat", conv, 2, answers).messages!);
  assert.deepEqual(Array.from(again), copies[1]);
  const other = [answers[0], answer(7)];
  const branch = turnSpec(tok, "chat", conv, 3, other).messages!;
  assert.deepEqual(Array.from(prompts.chatIds(branch)), tok.encodeChat(branch));
  sent.forEach((ids, t) => assert.deepEqual(Array.from(ids), copies[t], `turn ${t + 1} kept`));
  assert.equal(prompts.slow, 0);
  // another encoder's turn of the same conversation: its own buffer, the same ids
  const other4 = turnSpec(tok, "chat", conv, 4, answers).messages!;
  assert.deepEqual(Array.from(new PromptTokens(tok).chatIds(other4)), copies[3]);
  assert.deepEqual(Array.from(prompts.chatIds(other4)), copies[3]);
});
