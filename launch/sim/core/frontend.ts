/**
 * The simulated engine's request frontend, without I/O: what vLLM's API server
 * does to a completion or chat body before the engine sees it. It validates
 * the body, tokenizes the prompt (or takes the caller's token ids), applies the
 * context limit with vLLM's wording and status, and draws the output length
 * (`max_tokens`, else the context left; with EOS, an exponential draw of mean
 * `--mean-output-tokens`, at least `min_tokens`). The HTTP server
 * (`server.ts`) and the virtual topology (`tasks/predict/virtual_topology.ts`)
 * both admit requests here, so the two clocks refuse and size them alike.
 *
 * @example
 * ```ts ignore
 * const fe = new RequestFrontend({ servedModelName, profile, tokenizer, prompts, vocab, maxModelLen });
 * const a = fe.admit("completion", { prompt: "Hi", max_tokens: 8 });
 * if (a.error) console.log(a.error.status, a.error.message);
 * else console.log(fe.draw(a.request, new Rng(0)).outputIds.length); // 8 or fewer (EOS)
 * ```
 *
 * @module
 */
import type { Tokenizer } from "../../../lib/tokenizer.ts";
import type { PromptTokens } from "../../../lib/prompt_tokens.ts";
import type { TokenIds } from "./engine.ts";
import { idsTextOf } from "../../../lib/lazy_text.ts";
import type { Rng } from "../../../lib/rng.ts";
import type { ModelProfile } from "./profiles.ts";
import { type OutputVocab, sampleOutput } from "./vocab.ts";
import { imagePlaceholderIds, partImage, type PromptImage } from "./image.ts";
import {
  ApiError,
  type ClientFields,
  clientRequest,
  type Endpoint,
  type ParsedRequest,
  parseRequest,
} from "./openai.ts";

/** What the frontend needs of the engine it admits requests for. */
export interface FrontendOptions {
  /** Name clients must use; another `model` is answered 404. */
  servedModelName: string;
  /** The model profile (its vision encoder sizes image parts). */
  profile: ModelProfile;
  tokenizer: Tokenizer;
  /** Prompt token ids with cached pre-tokens (shared with `/tokenize`). */
  prompts: PromptTokens;
  vocab: OutputVocab;
  /** Context limit, tokens. */
  maxModelLen: number;
  /** Mean output length when EOS is not ignored. @default 256 */
  meanOutputTokens?: number;
}

/** A request the frontend let through: what the engine request is built from. */
export interface AdmittedRequest {
  parsed: ParsedRequest;
  /** Prompt token ids, image placeholders included. */
  promptTokens: TokenIds;
  /** Image parts, each with its vision token count. */
  images: PromptImage[];
  /** Output tokens allowed: `max_tokens`, else what the context leaves. */
  maxTokens: number;
}

/** The output the engine will produce for one request. */
export interface OutputPlan {
  outputIds: TokenIds;
  /** `stop` when the draw ended before `maxTokens` (the last id is EOS), else `length`. */
  finishReason: "stop" | "length";
}

/** Either an admitted request or vLLM's error for it (status, message, type). */
export type Admission =
  | { request: AdmittedRequest; error?: undefined }
  | { error: ApiError; request?: undefined };

/** The image parts of a request without any (shared: read, never changed). */
const NO_IMAGES: PromptImage[] = Object.freeze([]) as unknown as PromptImage[];

/** Characters one token can hold at most (a bound, not an estimate), for the early check. */
const MAX_CHARS_PER_TOKEN = 256;

/** The request frontend of one engine instance. */
export class RequestFrontend {
  constructor(readonly o: FrontendOptions) {}

  /**
   * Validates `body` for `endpoint` and counts its prompt (`promptTokens`, when
   * given, stand for the text's ids and skip tokenizing); never throws an
   * {@linkcode ApiError}, it returns it.
   */
  admit(endpoint: Endpoint, body: unknown, promptTokens?: TokenIds): Admission {
    try {
      return { request: this.#admit(parseRequest(endpoint, body), promptTokens) };
    } catch (e) {
      if (e instanceof ApiError) return { error: e };
      throw e;
    }
  }

  /**
   * {@linkcode admit} of the body bench's client sends for `f` (virtual time),
   * read from the fields without building the body (`openai.ts` `clientRequest`).
   */
  admitFields(f: ClientFields, promptTokens?: TokenIds): Admission {
    try {
      return { request: this.#admit(clientRequest(f), promptTokens) };
    } catch (e) {
      if (e instanceof ApiError) return { error: e };
      throw e;
    }
  }

  /**
   * The output of an admitted request, drawn from `rng`: exactly `maxTokens`
   * with `ignore_eos`, else `max(1, min_tokens, ceil(Exp(mean)))` capped at
   * `maxTokens` (a draw below it ends with EOS). The same ids follow from `rng`.
   */
  draw(req: AdmittedRequest, rng: Rng): OutputPlan {
    let n = req.maxTokens;
    let finishReason: "stop" | "length" = "length";
    if (!req.parsed.ignoreEos) {
      const mean = this.o.meanOutputTokens ?? 256;
      const drawn = Math.max(1, req.parsed.minTokens, Math.ceil(rng.exponential(mean)));
      if (drawn < n) [n, finishReason] = [drawn, "stop"];
    }
    return { outputIds: sampleOutput(this.o.vocab, rng, n, finishReason === "stop"), finishReason };
  }

  #admit(p: ParsedRequest, given: TokenIds | undefined): AdmittedRequest {
    const limit = this.o.maxModelLen;
    if (p.model && p.model !== this.o.servedModelName) {
      throw new ApiError(404, `The model \`${p.model}\` does not exist.`, "NotFoundError");
    }
    // a prompt too long for the context even at the most characters one token can hold is
    // refused before tokenising (megabytes of text would hold the event loop for seconds)
    // (text of known ids is counted only when its bound could reach the limit)
    if (Math.ceil(textChars(p, true) / MAX_CHARS_PER_TOKEN) >= limit) {
      const atLeast = Math.ceil(textChars(p, false) / MAX_CHARS_PER_TOKEN);
      if (atLeast >= limit) throw tooLong(limit, `at least ${atLeast}`);
    }
    const images = this.#images(p);
    let promptTokens: TokenIds = given ?? this.#tokenize(p, images.length > 0);
    if (images.length) {
      const vocabSize = this.o.tokenizer.vocabSize;
      promptTokens = [...promptTokens, ...images.flatMap((i) => imagePlaceholderIds(i, vocabSize))];
    }
    const n = promptTokens.length;
    if (n >= limit) throw tooLong(limit, String(n));
    if (p.maxTokens !== null && n + p.maxTokens > limit) {
      throw new ApiError(
        400,
        `'max_tokens' or 'max_completion_tokens' is too large: ${p.maxTokens}. This model's maximum context length is ${limit} tokens and your request has ${n} input tokens (${p.maxTokens} > ${limit} - ${n}).`,
      );
    }
    return { parsed: p, promptTokens, images, maxTokens: p.maxTokens ?? limit - n };
  }

  /** The image parts of a chat request, sized by the vision profile (400 without one). */
  #images(p: ParsedRequest): PromptImage[] {
    let images: PromptImage[] | null = null;
    const messages = p.messages;
    const n = messages ? messages.length : 0;
    for (let i = 0; i < n; i++) {
      const m = messages![i];
      if (idsTextOf(m) || !Array.isArray(m.content)) continue; // text of known ids: not built
      for (const part of m.content) {
        if (part.type !== "image_url") continue;
        const vision = this.o.profile.vision;
        if (!vision) {
          throw new ApiError(
            400,
            `${this.o.servedModelName} does not support image input (image_url parts).`,
          );
        }
        const img = partImage(part);
        if (!img) throw new ApiError(400, "image_url.url must be a string");
        (images ??= []).push({
          key: img.key,
          tokens: vision.tokensPerImage(img.size.width, img.size.height),
        });
      }
    }
    return images ?? NO_IMAGES;
  }

  /** Token ids of the prompt text (a chat with images goes through the tokenizer itself). */
  #tokenize(p: ParsedRequest, withImages: boolean): number[] {
    if (p.endpoint === "completion") {
      return typeof p.prompt === "string" ? this.o.prompts.completion(p.prompt) : p.prompt!;
    }
    const messages = p.messages!.map((m) => ({ ...m, content: m.content ?? "" }));
    return withImages ? this.o.tokenizer.encodeChat(messages) : this.o.prompts.chat(messages);
  }
}

/** vLLM's 400 for a prompt over the context limit (`count` input tokens). */
function tooLong(limit: number, count: string): ApiError {
  return new ApiError(
    400,
    `This model's maximum context length is ${limit} tokens. However, your request has ${count} input tokens. Please reduce the length of the input messages.`,
  );
}

/**
 * Characters of prompt text in a request (images not counted); with `bound`,
 * text of known ids counts its cheap bound instead (never less).
 */
function textChars(p: ParsedRequest, bound: boolean): number {
  if (p.endpoint === "completion") {
    if (p.promptText) return bound ? p.promptText.maxLength : p.promptText.length; // not built
    return typeof p.prompt === "string" ? p.prompt.length : 0;
  }
  let n = 0;
  const messages = p.messages;
  const count = messages ? messages.length : 0;
  for (let i = 0; i < count; i++) {
    const m = messages![i];
    const known = idsTextOf(m); // text of known ids: its length without building it
    if (known) n += bound ? known.maxLength : known.length;
    else if (typeof m.content === "string") n += m.content.length;
    else if (Array.isArray(m.content)) {
      for (const part of m.content) if (typeof part.text === "string") n += part.text.length;
    }
  }
  return n;
}
