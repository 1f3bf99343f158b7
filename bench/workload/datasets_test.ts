import assert from "node:assert/strict";
import { join } from "node:path";
import { LazyTokenizer, loadTokenizer } from "../../lib/tokenizer.ts";
import { computeWordList, wordList } from "./_words.ts";
import { buildWorkload, type DatasetOptions, multiturnOptions, workloadLabel } from "./datasets.ts";
import type { Conversation, RequestSpec } from "./types.ts";
import { multiturnDataset, turnSpec } from "./multiturn.ts";
import { flagsWithoutDefaults, resolveBenchConfig } from "../bench_config.ts";
import { parseFlags } from "../../lib/args.ts";
import { parseImageSizes } from "./random_mm.ts";
import { randomRequests } from "./random.ts";
import { bodyBytes } from "../../lib/http1.ts";
import { workSource } from "../work_source.ts";
import { arrivalOffsets } from "./arrivals.ts";
import { Rng } from "../../lib/rng.ts";
import { IDS_TEXT, IdsText, idsTextOf } from "../../lib/lazy_text.ts";
import { openaiBody, openaiBodyWriter, openaiFields } from "../request_body.ts";
import { knownImageOf, LazyImagePart } from "../../lib/known_image.ts";
import type { ContentPart } from "./types.ts";

const tok = await loadTokenizer();

/** Width and height from a PNG data URL's IHDR. */
function imageSizeOf(url: string): [number, number] {
  const bytes = Uint8Array.from(atob(url.split(",")[1]), (ch) => ch.charCodeAt(0));
  const dv = new DataView(bytes.buffer);
  return [dv.getUint32(16), dv.getUint32(20)];
}
const base: DatasetOptions = {
  name: "random",
  seed: 7,
  endpoint: "completions",
  inputLen: 64,
  outputLen: 16,
  outputLenGiven: true,
  rangeRatio: 0,
  prefixLen: 0,
  numPrefixes: 2,
  turns: 3,
  thinkTimeMs: 100,
  imageSizes: [{ width: 32, height: 16 }],
  imagesPerRequest: 1,
  ignoreEos: true,
};

Deno.test("every dataset is identical byte for byte for the same seed, different for another", async () => {
  const dir = await Deno.makeTempDir();
  const sg = join(dir, "sg.json");
  const long = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(" ");
  await Deno.writeTextFile(
    sg,
    JSON.stringify(Array.from({ length: 5 }, (_, i) => ({
      id: `x${i}`,
      conversations: [{ from: "human", value: `question ${i} ${long(10)}` }, {
        from: "gpt",
        value: long(5 + i),
      }],
    }))),
  );
  const pf = join(dir, "p.jsonl");
  await Deno.writeTextFile(
    pf,
    '{"prompt": "hello there friend"}\n{"text": "bye", "max_tokens": 3}\n',
  );
  for (
    const o of [
      { name: "random" },
      { name: "random", endpoint: "chat", rangeRatio: 0.5, prefixLen: 8 },
      { name: "prefix-repetition" },
      { name: "multiturn" },
      { name: "random-mm", endpoint: "chat" },
      { name: "sharegpt", path: sg, outputLenGiven: false },
      { name: "prompts-file", path: pf },
    ] as Partial<DatasetOptions>[]
  ) {
    const a = JSON.stringify(await buildWorkload(tok, { ...base, ...o }, 6));
    const b = JSON.stringify(await buildWorkload(tok, { ...base, ...o }, 6));
    assert.equal(a, b, o.name);
    assert.ok(a.length > 100, o.name);
    if (o.name !== "prompts-file") {
      const c = JSON.stringify(await buildWorkload(tok, { ...base, ...o, seed: 8 }, 6));
      assert.notEqual(a, c, `${o.name} ignores the seed`);
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("random prompts are token-exact, unique at the start, and share a prefix when asked", async () => {
  const { requests } = await buildWorkload(tok, { ...base, prefixLen: 16, rangeRatio: 0.3 }, 40);
  const firstBlocks = new Set<string>();
  for (const r of requests) {
    assert.equal(tok.encode(r.prompt!, { addSpecialTokens: true }).length, r.promptTokens);
    const ids = tok.encode(r.prompt!);
    assert.ok(ids.length >= 16 + 44 && ids.length <= 16 + 84, `${ids.length}`);
    firstBlocks.add(ids.slice(16, 18).join(","));
  }
  assert.equal(firstBlocks.size, 40);
  assert.equal(new Set(requests.map((r) => r.prompt!.slice(0, 40))).size, 1);
  const chat = await buildWorkload(tok, { ...base, endpoint: "chat" }, 5);
  for (const r of chat.requests) {
    assert.equal(tok.encodeChat(r.messages as never).length, r.promptTokens);
  }
});

Deno.test("random prompts for the virtual clock: the same text, built from the ids when read, not held", async () => {
  const o = { ...base, prefixLen: 8, rangeRatio: 0.3 };
  const live = (await buildWorkload(tok, o, 6)).requests;
  const virtual = (await buildWorkload(tok, { ...o, tokenIds: true }, 6)).requests;
  for (const [i, v] of virtual.entries()) {
    assert.equal(v.prompt, live[i].prompt);
    const { promptTokenIds, completionTokenIds, [IDS_TEXT]: said, ...rest } = v as
      & RequestSpec
      & { [IDS_TEXT]?: IdsText };
    assert.deepEqual(rest, live[i]);
    assert.equal(said?.toString(), live[i].prompt);
    assert.deepEqual(promptTokenIds, tok.encode(live[i].prompt!));
    // held in a typed array (out of the collected heap), the tokenizer's ids all the same
    assert.ok(completionTokenIds instanceof Uint32Array);
    assert.deepEqual(
      Array.from(completionTokenIds),
      tok.encode(live[i].prompt!, { addSpecialTokens: true }),
    );
    // a request waiting in a queue holds its ids, not also its text
    assert.equal(typeof Object.getOwnPropertyDescriptor(v, "prompt")?.get, "function");
    // nor does the body the virtual sender hands on build it, until read
    const body = openaiFields(v, "");
    assert.equal(typeof Object.getOwnPropertyDescriptor(body, "prompt")?.get, "function");
    assert.equal(JSON.stringify(body), JSON.stringify(openaiFields(live[i], "")));
  }
});

Deno.test("multiturn turns carry history and grow", async () => {
  const { conversations } = await buildWorkload(tok, { ...base, name: "multiturn" }, 2);
  const c = conversations[0];
  assert.equal(c.turns.length, 3);
  assert.equal(c.thinkTimeMs.length, 2);
  const a1 = { text: " one two three", tokens: 3 };
  const t1 = turnSpec(tok, "chat", c, 1, []);
  const t2 = turnSpec(tok, "chat", c, 2, [a1]);
  assert.equal(t1.messages!.length, 1);
  assert.deepEqual(t2.messages!.map((m) => m.role), ["user", "assistant", "user"]);
  assert.equal(t2.messages![1].content, a1.text);
  assert.equal(tok.encodeChat(t1.messages as never).length, t1.promptTokens);
  assert.ok(t2.promptTokens > t1.promptTokens + 64);
  const p2 = turnSpec(tok, "completions", c, 2, [a1]);
  assert.ok(p2.prompt!.includes(a1.text));
  assert.equal(t2.requestId, "c00000-t2");
});

Deno.test("random-mm images are valid PNGs of the asked size; bad sizes are refused", async () => {
  const { requests } = await buildWorkload(
    tok,
    { ...base, name: "random-mm", endpoint: "chat" },
    2,
  );
  const parts = requests[0].messages![0].content as { type: string; image_url?: { url: string } }[];
  const url = parts[0].image_url!.url;
  const bytes = Uint8Array.from(atob(url.split(",")[1]), (ch) => ch.charCodeAt(0));
  const dv = new DataView(bytes.buffer);
  assert.equal(dv.getUint32(0), 0x89504e47);
  assert.deepEqual([dv.getUint32(16), dv.getUint32(20)], [32, 16]);
  assert.notEqual(url, (requests[1].messages![0].content as typeof parts)[0].image_url!.url);
  assert.deepEqual(parseImageSizes("10x20,3x4"), [{ width: 10, height: 20 }, {
    width: 3,
    height: 4,
  }]);
  assert.throws(() => parseImageSizes("10by20"), /--image-size/);
});

Deno.test("random-mm with token ids: the same requests, each image known by its size and built only when read", async () => {
  const sizes = [...base.imageSizes, { width: 8, height: 24 }];
  const o = {
    ...base,
    name: "random-mm",
    endpoint: "chat",
    imagesPerRequest: 2,
    imageSizes: sizes,
  } as const;
  const eager = (await buildWorkload(tok, o, 3)).requests;
  const built = LazyImagePart.built;
  const lazy = (await buildWorkload(tok, { ...o, tokenIds: true }, 3)).requests;
  assert.equal(LazyImagePart.built, built, "no image built");
  for (let i = 0; i < 3; i++) {
    const parts = lazy[i].messages![0].content as ContentPart[];
    const text = parts.at(-1) as { text: string };
    for (const p of parts.slice(0, -1)) {
      const url = (p as { image_url: { url: string } }).image_url.url;
      const known = knownImageOf(p)!;
      assert.deepEqual(imageSizeOf(url), [known.widthPx, known.heightPx]);
    }
    assert.equal(
      JSON.stringify(lazy[i].messages),
      JSON.stringify(eager[i].messages),
      "what is sent",
    );
    assert.equal(lazy[i].promptTokens, eager[i].promptTokens);
    assert.deepEqual(lazy[i].promptTokenIds, tok.encode(text.text));
  }
});

Deno.test("presets: W1..W4 as the PPD suite (short turn 1, then W turns); -uniform keeps every turn W", () => {
  const cfgOf = (preset: string) =>
    resolveBenchConfig(
      parseFlags(
        [
          "--url",
          "http://127.0.0.1:1",
          "--num-requests",
          "4",
          "--dataset",
          "multiturn",
          "--preset",
          preset,
          "--turns",
          "3",
        ],
        flagsWithoutDefaults(),
      ).values,
    ).dataset;
  const w1 = cfgOf("W1"), uni = cfgOf("w1-uniform");
  const turns = (o: DatasetOptions) =>
    multiturnDataset(tok, { ...o, count: 1, tokenIds: true })[0].turns.map((t) => [
      t.userTokenIds!.length,
      t.maxTokens,
    ]);
  assert.deepEqual(turns(w1), [[20, 20], [512, 256], [512, 256]]);
  assert.deepEqual(turns(uni), [[512, 256], [512, 256], [512, 256]]);
  assert.equal(workloadLabel(w1), "multiturn W1 t3");
  assert.equal(workloadLabel(uni), "multiturn W1-uniform t3");
  assert.throws(() => cfgOf("W9"), /W1, W2, W3, W4, W1-uniform/);
});

Deno.test("a run's jobs: random drawn lazily equals the built dataset; offsets match the schedule", async () => {
  const flags = parseFlags(
    [
      "--url",
      "http://127.0.0.1:9",
      "--rate",
      "50",
      "--duration",
      "4",
      "--input-len",
      "64",
      "--output-len",
      "16",
      "--seed",
      "7",
    ],
    flagsWithoutDefaults(),
  ).values;
  const cfg = resolveBenchConfig(flags, {});
  const src = await workSource(tok, cfg, 0);
  assert.equal(src.count, null);
  assert.equal(src.expected, 200);
  const jobs = [...{ [Symbol.iterator]: () => src.jobs }];
  const built = await buildWorkload(tok, { ...base, seed: 7 }, jobs.length);
  assert.deepEqual(jobs.map((j) => j.request), built.requests);
  const offsets = arrivalOffsets({ rateRps: 50, durationMs: 4000 }, new Rng("arrivals:7"));
  assert.deepEqual(jobs.map((j) => j.offsetMs), offsets);
  // built up front (multiturn): a known count, conversations with their offsets
  const mt = resolveBenchConfig(
    parseFlags(
      [
        "--url",
        "http://127.0.0.1:9",
        "--rate",
        "5",
        "--num-requests",
        "6",
        "--dataset",
        "multiturn",
      ],
      flagsWithoutDefaults(),
    )
      .values,
    {},
  );
  const m = await workSource(tok, mt, 0);
  assert.equal(m.count, 6);
  const mj = [...{ [Symbol.iterator]: () => m.jobs }];
  assert.equal(mj.length, 6);
  assert.ok(mj.every((j) => j.conversation && !j.request));
});

Deno.test("the shipped word list is the one the tokenizer gives; random prompts need no tokenizer", async () => {
  assert.deepEqual(wordList(tok), computeWordList(tok));
  // a tokenizer that is never loaded draws the same prompts
  const lazy = new LazyTokenizer();
  const a = await buildWorkload(lazy, { ...base, seed: 3 }, 5);
  const b = await buildWorkload(tok, { ...base, seed: 3 }, 5);
  assert.deepEqual(a, b);
  assert.equal(lazy.loaded, false);
  assert.throws(() => lazy.encode("x"), /before it is loaded/);
  assert.equal((await lazy.load()).encode(" hello").length, 1);
});

Deno.test("multi-turn conversations are drawn as they arrive: the same ones, and no schedule built up front", async () => {
  const flags = (rate: string, duration: string) =>
    resolveBenchConfig(
      parseFlags(
        [
          "--url",
          "http://127.0.0.1:9",
          "--rate",
          rate,
          "--duration",
          duration,
          "--dataset",
          "multiturn",
        ],
        flagsWithoutDefaults(),
      ).values,
      {},
    );
  // 360 million arrivals: built up front this is refused as too large a schedule
  const src = await workSource(tok, flags("100000", "3600"), 0);
  assert.equal(src.count, null);
  const first: Conversation[] = [];
  for (let j = src.jobs.next(); !j.done && first.length < 5; j = src.jobs.next()) {
    first.push(j.value.conversation!);
  }
  const cfg = flags("5", "10");
  const eager = multiturnDataset(tok, {
    count: 5,
    ...multiturnOptions({ ...cfg.dataset, seed: cfg.dataset.seed }),
  });
  assert.deepEqual(first, eager);
});

Deno.test("multiturn with ids: the same conversations, each text built only when read; the request body carries it", () => {
  const o = { count: 3, seed: 4, turns: 3, inputLen: 30, outputLen: 8, thinkTimeMs: 5 };
  const built = IdsText.built;
  const withIds = multiturnDataset(tok, { ...o, tokenIds: true });
  const answers = [{ text: " a reply", tokens: 2 }, { text: " another", tokens: 1 }];
  const specs = withIds.map((c) => turnSpec(tok, "chat", c, 3, answers));
  assert.equal(IdsText.built, built, "drawing conversations and their turns builds no text");
  assert.ok(withIds.every((c) => c.turns.every((t) => idsTextOf(t))), "turns keep ids, not text");
  const users = specs.flatMap((s) => s.messages!.filter((m) => m.role === "user"));
  assert.ok(users.length === 9 && users.every((m) => idsTextOf(m)), "messages of ids");
  const plain = multiturnDataset(tok, o);
  const text = (cs: Conversation[]) =>
    JSON.stringify(cs, (k, v) => (k === "userTokenIds" ? undefined : v));
  assert.equal(text(withIds), text(plain));
  for (const [k, c] of plain.entries()) {
    const want = turnSpec(tok, "chat", c, 3, answers);
    assert.equal(openaiBody(specs[k], "m"), openaiBody(want, "m"), "the body sends the text");
    assert.equal(specs[k].promptTokens, want.promptTokens);
  }
});

Deno.test("random live completions: the prompt built when read, the body's bytes written from its ids", () => {
  const enc = new TextEncoder();
  for (const [prefixLen, rangeRatio] of [[0, 0], [9, 0.5]]) {
    const specs = [...randomRequests(tok, {
      count: 20,
      seed: 3,
      endpoint: "completions",
      inputLen: 40,
      outputLen: 6,
      prefixLen,
      rangeRatio,
    })];
    const plain = specs.map((s) => ({ ...s }));
    assert.ok(specs.every((s) => idsTextOf(s)) && plain.every((s) => !idsTextOf(s)));
    assert.equal(
      tok.encode(specs[0].prompt!).length,
      specs[0].promptTokens - 1,
      "one token a word",
    );
    for (
      const sampling of [{}, { temperature: 0.2, extraBody: { seed: "é" } }, {
        extraBody: { prompt: "theirs" },
      }]
    ) {
      const write = openaiBodyWriter("m", sampling);
      for (const [k, s] of specs.entries()) {
        const text = openaiBody(plain[k], "m", sampling);
        assert.equal(openaiBody(s, "m", sampling), text);
        const got = write(s);
        assert.deepEqual(
          typeof got === "string" ? enc.encode(got) : bodyBytes(got),
          enc.encode(text),
        );
      }
    }
  }
});
