import assert from "node:assert/strict";
import { loadTokenizer } from "../../../lib/tokenizer.ts";
import { PromptTokens } from "../../../lib/prompt_tokens.ts";
import { Rng } from "../../../lib/rng.ts";
import { buildVocab } from "./vocab.ts";
import { IdsText, LazyMessage } from "../../../lib/lazy_text.ts";
import { LazyImagePart } from "../../../lib/known_image.ts";
import { Buffer } from "node:buffer";
import { resolveModel } from "./profiles.ts";
import { type Admission, type FrontendOptions, RequestFrontend } from "./frontend.ts";

const tokenizer = await loadTokenizer();
const vocab = buildVocab(tokenizer);
const MODEL = "meta-llama/Llama-3.1-8B-Instruct";

function frontend(o: Partial<FrontendOptions> = {}): RequestFrontend {
  return new RequestFrontend({
    servedModelName: MODEL,
    profile: resolveModel("llama-3.1-8b"),
    tokenizer,
    prompts: new PromptTokens(tokenizer),
    vocab,
    maxModelLen: 2048,
    ...o,
  });
}

const refusal = (a: Admission) => a.error && [a.error.status, a.error.message];
const admitted = (a: Admission) => {
  assert.ok(a.request, `admitted: ${a.error?.message}`);
  return a.request;
};

Deno.test("frontend: refuses bodies with vLLM's status and wording", () => {
  const fe = frontend();
  const words = (n: number) => "the quick brown fox ".repeat(n);
  assert.deepEqual(refusal(fe.admit("completion", { prompt: "hi", model: "other" })), [
    404,
    "The model `other` does not exist.",
  ]);
  assert.deepEqual(refusal(fe.admit("completion", { prompt: "x".repeat(600_000) })), [
    400,
    "This model's maximum context length is 2048 tokens. However, your request has at least 2344 input tokens. Please reduce the length of the input messages.",
  ]);
  assert.deepEqual(refusal(fe.admit("completion", { prompt: words(600) })), [
    400,
    "This model's maximum context length is 2048 tokens. However, your request has 2402 input tokens. Please reduce the length of the input messages.",
  ]);
  assert.deepEqual(
    refusal(fe.admit("chat", { messages: [{ role: "user", content: "Hi" }], max_tokens: 2040 })),
    [
      400,
      "'max_tokens' or 'max_completion_tokens' is too large: 2040. This model's maximum context length is 2048 tokens and your request has 36 input tokens (2040 > 2048 - 36).",
    ],
  );
  assert.deepEqual(
    refusal(fe.admit("completion", { prompt: "hi", max_tokens: 4, min_tokens: 5 })),
    [
      400,
      "min_tokens must be less than or equal to max_tokens=4, got 5.",
    ],
  );
  const image = { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } };
  assert.deepEqual(
    refusal(fe.admit("chat", { messages: [{ role: "user", content: [image] }] })),
    [400, `${MODEL} does not support image input (image_url parts).`],
  );
  // a vision model counts the image's tokens into the prompt
  const vl = frontend({ profile: resolveModel("qwen2.5-vl-3b") });
  const r = admitted(vl.admit("chat", { messages: [{ role: "user", content: [image] }] }));
  assert.equal(r.images.length, 1);
  assert.ok(r.promptTokens.length > r.images[0].tokens);
});

/** A PNG data URL of a `w`x`h` image: signature and IHDR, enough to be sized. */
function pngHeaderUrl(w: number, h: number): string {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write("IHDR", 12, "ascii");
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return `data:image/png;base64,${b.toString("base64")}`;
}

Deno.test("frontend: an image known by its size counts as its PNG does, its URL never built", () => {
  const vl = frontend({ profile: resolveModel("qwen2.5-vl-3b") });
  const chat = (image: unknown) => ({
    messages: [{ role: "user", content: [image, { type: "text", text: "Describe it" }] }],
  });
  const url = pngHeaderUrl(640, 480);
  const sent = admitted(vl.admit("chat", chat({ type: "image_url", image_url: { url } })));
  const built = LazyImagePart.built;
  const known = new LazyImagePart({ widthPx: 640, heightPx: 480, id: "img-1" }, () => url);
  const lazy = admitted(vl.admit("chat", chat(known)));
  assert.equal(LazyImagePart.built, built, "no URL built");
  assert.equal(lazy.images[0].tokens, sent.images[0].tokens);
  assert.equal(
    lazy.images[0].tokens,
    resolveModel("qwen2.5-vl-3b").vision!.tokensPerImage(640, 480),
  );
  assert.equal(lazy.promptTokens.length, sent.promptTokens.length);
  // the same id is the same image (its placeholders too); another id another
  const again = admitted(vl.admit("chat", chat(known)));
  assert.deepEqual(again.promptTokens, lazy.promptTokens);
  const other = new LazyImagePart({ widthPx: 640, heightPx: 480, id: "img-2" }, () => url);
  assert.notDeepEqual(admitted(vl.admit("chat", chat(other))).promptTokens, lazy.promptTokens);
  // what a live client sends of it: the URL
  assert.deepEqual(JSON.parse(JSON.stringify(known)), { type: "image_url", image_url: { url } });
});

Deno.test("frontend: max_tokens defaults to the context left; given token ids are the prompt", () => {
  const fe = frontend();
  const r = admitted(fe.admit("completion", { prompt: "not read" }, [7, 8, 9]));
  assert.deepEqual(r.promptTokens, [7, 8, 9]);
  assert.equal(r.maxTokens, 2048 - 3);
  const chat = admitted(fe.admit("chat", { messages: [{ role: "user", content: "Hi" }] }));
  assert.deepEqual(chat.promptTokens, tokenizer.encodeChat([{ role: "user", content: "Hi" }]));
  // the caller's ids count against the limit like tokenized ones
  assert.equal(
    refusal(fe.admit("completion", { prompt: "", max_tokens: 10 }, new Array(2040).fill(5)))?.[0],
    400,
  );
});

Deno.test("frontend: output draw: exact with ignore_eos, else at least min_tokens, EOS-ended, seeded", () => {
  const fe = frontend({ meanOutputTokens: 2 });
  const req = (body: Record<string, unknown>) => admitted(fe.admit("completion", body));
  const exact = fe.draw(req({ prompt: "Hi", max_tokens: 30, ignore_eos: true }), new Rng(1));
  assert.equal(exact.outputIds.length, 30);
  assert.equal(exact.finishReason, "length");
  const rng = new Rng(2);
  const short = [], floored = [];
  for (let i = 0; i < 50; i++) {
    short.push(fe.draw(req({ prompt: "Hi", max_tokens: 100 }), rng));
    floored.push(fe.draw(req({ prompt: "Hi", max_tokens: 100, min_tokens: 40 }), rng));
  }
  assert.ok(short.every((o) => o.outputIds.length < 40), "mean 2: short outputs");
  assert.ok(floored.every((o) => o.outputIds.length >= 40 && o.outputIds.length <= 100));
  for (const o of [...short, ...floored]) {
    if (o.finishReason === "stop") assert.equal(o.outputIds.at(-1), vocab.eosId);
  }
  // min_tokens above what the draw could reach: capped at max_tokens, ended by length
  const capped = fe.draw(req({ prompt: "Hi", max_tokens: 50, min_tokens: 50 }), rng);
  assert.deepEqual([capped.outputIds.length, capped.finishReason], [50, "length"]);
  const again = (seed: number) => fe.draw(req({ prompt: "Hi", max_tokens: 100 }), new Rng(seed));
  assert.deepEqual(again(5), again(5));
});

Deno.test("frontend: a message of known ids is admitted as its text is, the text never built", () => {
  const words = [" the", " quick", " brown", " fox"].map((w) =>
    [tokenizer.encode(w)[0], w] as const
  );
  const pieces: string[] = [];
  for (const [id, w] of words) pieces[id] = w;
  const ids = Array.from({ length: 300 }, (_, i) => words[(i * 7) % 4][0]);
  const known = new IdsText(ids, pieces);
  const lazy = { messages: [new LazyMessage("user", known)] };
  const plain = { messages: [{ role: "user", content: known.toString() }] };
  const given = new PromptTokens(tokenizer).chat(plain.messages);
  const outcome = (
    a: Admission,
  ) => [a.error?.message, a.request?.promptTokens, a.request?.maxTokens];
  // admitted; refused by its count; refused early by its length (at least ceil(chars / 256) tokens)
  for (const maxModelLen of [2048, 8, 4]) {
    const fe = frontend({ maxModelLen });
    const built = IdsText.built;
    const a = fe.admit("chat", lazy, given);
    assert.equal(IdsText.built, built, `nothing built (max_model_len ${maxModelLen})`);
    assert.deepEqual(outcome(a), outcome(fe.admit("chat", plain, given)));
  }
  const tight = frontend({ maxModelLen: 4 }); // refused early: at least ceil(chars / 256) tokens
  assert.match(tight.admit("chat", lazy, given).error!.message, /has at least 6 input tokens/);
});
