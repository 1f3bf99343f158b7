import assert from "node:assert/strict";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { Rng } from "../../lib/rng.ts";
import { PromptTokens } from "../../lib/prompt_tokens.ts";
import { IdsText } from "../../lib/lazy_text.ts";
import { buildVocab, sampleOutput } from "../../launch/sim/core/vocab.ts";
import { multiturnDataset, turnSpec } from "../../bench/workload/multiturn.ts";
import type { Answer } from "../../bench/load_driver.ts";
import { predictTokens } from "./predict_tokens.ts";

Deno.test("predict tokens: a conversation's turns get the tokenizer's own chat ids from known user and answer ids", async () => {
  const tok = await loadTokenizer();
  const vocab = buildVocab(tok);
  const prompts = new PromptTokens(tok);
  const tokens = predictTokens(prompts, vocab);
  const rng = new Rng(11);
  const convs = multiturnDataset(tok, {
    count: 4,
    seed: 2,
    turns: 3,
    inputLen: 50,
    outputLen: 30,
    thinkTimeMs: 0,
    tokenIds: true,
  });
  convs[3].system = "Be brief.";
  for (const [c, conv] of convs.entries()) {
    const answers: Answer[] = [];
    for (let t = 1; t <= 3; t++) {
      const spec = turnSpec(tok, "chat", conv, t, answers);
      const built = IdsText.built;
      const ids = tokens.promptTokens!(spec);
      assert.ok(ids, `turn ${t} of ${conv.conversationId}: ids known without tokenizing`);
      assert.equal(IdsText.built, built, "no message text built");
      // held in a typed array (out of the collected heap), the tokenizer's ids all the same
      assert.ok(ids instanceof Uint32Array);
      assert.deepEqual(Array.from(ids), tok.encodeChat(spec.messages!));
      // an answer cut by EOS (the EOS id decodes to nothing) is as exact
      const out = sampleOutput(vocab, rng, 30 - 7 * c, c % 2 === 1);
      answers.push(tokens.answer!(out, out.length));
    }
  }
  assert.equal(prompts.slow, 0);
  assert.equal(prompts.scanned, 0, "no message text scanned");
});
