/**
 * `--input-len N` of the random datasets counts as vLLM's RandomDataset does:
 * the prompt is N tokens with the tokenizer's BOS, so N − 1 words of text.
 */
import assert from "node:assert/strict";
import { loadTokenizer } from "../../lib/tokenizer.ts";
import { randomDataset } from "./random.ts";
import { randomMmDataset } from "./random_mm.ts";

const tok = await loadTokenizer();

Deno.test("a random --input-len 256 prompt tokenizes to exactly 256 tokens with BOS", () => {
  const reqs = randomDataset(tok, {
    count: 4,
    seed: 3,
    endpoint: "completions",
    inputLen: 256,
    outputLen: 8,
  });
  for (const r of reqs) {
    const ids = tok.encode(r.prompt!, { addSpecialTokens: true });
    assert.equal(ids.length, 256, `prompt of ${r.requestId}`);
    assert.equal(r.promptTokens, 256);
  }
  // chat: the same text (256 − BOS words) inside the chat template, as vLLM sends it
  const [chat] = randomDataset(tok, {
    count: 1,
    seed: 3,
    endpoint: "chat",
    inputLen: 256,
    outputLen: 8,
  });
  const text = String(chat.messages![0].content);
  assert.equal(tok.encode(text, { addSpecialTokens: true }).length, 256);
  const [mm] = randomMmDataset(tok, {
    count: 1,
    seed: 3,
    inputLen: 64,
    outputLen: 8,
    imageSizes: [{ width: 8, height: 8 }],
  });
  const part = (mm.messages![0].content as { type: string; text?: string }[]).find((p) =>
    p.type === "text"
  )!;
  assert.equal(tok.encode(part.text!, { addSpecialTokens: true }).length, 64);
});
