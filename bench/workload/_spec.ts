/**
 * Builds {@linkcode RequestSpec}s for either endpoint from a prompt text or
 * chat content, with the prompt length as the server will count it.
 *
 * @module
 */
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { ContentPart, RequestSpec } from "./types.ts";
import { IDS_TEXT, IdsText } from "../../lib/lazy_text.ts";
import { piecesText } from "./_words.ts";

/** Which API a workload targets. */
export type EndpointKind = "completions" | "chat";

/** Fields common to every spec built here. */
export interface SpecBase {
  requestId: string;
  maxTokens: number;
  ignoreEos: boolean;
  conversationId?: string;
  turn?: number;
}

/** The fields every spec starts with, in their order. */
function commonFields(base: SpecBase) {
  return {
    requestId: base.requestId,
    conversationId: base.conversationId ?? base.requestId,
    turn: base.turn ?? 1,
    maxTokens: base.maxTokens,
    ignoreEos: base.ignoreEos,
  };
}

/**
 * A single-turn spec. `knownTokens` is the token count of `text` when known by
 * construction (skips tokenizing); the server-side extras (BOS, chat template) are added.
 */
export function textSpec(
  tok: Tokenizer,
  endpoint: EndpointKind,
  base: SpecBase,
  text: string,
  known?: { tokens: number; completionsExtra: number; chatExtra: number },
): RequestSpec {
  const common = commonFields(base);
  if (endpoint === "completions") {
    const promptTokens = known
      ? known.tokens + known.completionsExtra
      : tok.encode(text, { addSpecialTokens: true }).length;
    return { ...common, prompt: text, promptTokens };
  }
  const messages = [{ role: "user" as const, content: text }];
  const promptTokens = known ? known.tokens + known.chatExtra : tok.encodeChat(messages).length;
  return { ...common, messages, promptTokens };
}

/**
 * A chat spec with mixed content (text + images); promptTokens counts the text
 * only (`knownTokens` when known by construction: skips tokenizing).
 */
export function partsSpec(
  tok: Tokenizer,
  base: SpecBase,
  parts: ContentPart[],
  knownTokens?: number,
): RequestSpec {
  const messages = [{ role: "user" as const, content: parts }];
  return {
    ...commonFields(base),
    messages,
    promptTokens: knownTokens ?? tok.encodeChat(messages).length,
  };
}

/** Request id of the i-th request: `r000042`. */
export function requestId(i: number): string {
  return `r${String(i).padStart(6, "0")}`;
}

/** A length drawn uniformly in [len·(1−ratio), len·(1+ratio)] (vLLM's range ratio), at least 1. */
export function drawLength(len: number, ratio: number, next: () => number): number {
  const lo = Math.max(1, Math.floor(len * (1 - ratio)));
  const hi = Math.max(lo, Math.ceil(len * (1 + ratio)));
  return lo + Math.floor(next() * (hi - lo + 1));
}

/**
 * Text tokens of a random prompt of `inputLen` tokens as vLLM's random dataset
 * counts them: `inputLen` less the special tokens the tokenizer adds (BOS), so
 * the prompt with them is `inputLen` (vLLM's `RandomDataset.get_sampling_params`).
 */
export function vllmTextLen(inputLen: number, wl: { completionsExtra: number }): number {
  return Math.max(0, inputLen - wl.completionsExtra);
}

/**
 * The prompt of a {@linkcode knownTextSpec}, from its hidden text: one getter
 * for every spec. A getter made per spec gave each spec a hidden class of its
 * own, kept in old space with the spec's text until a full GC: every request's
 * spec then outlived two scavenges (bench at 3,000 req/s, `--trace-gc-nvp`).
 */
function knownPrompt(this: { [IDS_TEXT]: IdsText }): string {
  const t = this[IDS_TEXT];
  return piecesText(t.pieces, t.ids);
}

/**
 * A completions spec whose prompt is `text` of known ids (a live run's random
 * prompt): the same fields as {@linkcode textSpec}'s, the prompt built on each
 * read and not kept, `text` under a hidden {@linkcode IDS_TEXT} (a spread or a
 * copy to another thread drops it) so that the body's bytes are written from
 * the ids (`openaiBodyWriter`) and a request in flight holds only its ids.
 */
export function knownTextSpec(base: SpecBase, text: IdsText, promptTokens: number): RequestSpec {
  // the fields in textSpec's order: a getter in a literal with a spread goes after its data fields
  const spec: RequestSpec = Object.defineProperty(commonFields(base), "prompt", {
    get: knownPrompt,
    enumerable: true,
    configurable: true,
  }) as RequestSpec;
  spec.promptTokens = promptTokens;
  return Object.defineProperty(spec, IDS_TEXT, { value: text });
}

/**
 * A completions spec whose prompt text is built from its token ids each time
 * it is read, and not kept; it carries that text as an {@linkcode IdsText}, so
 * the virtual clock's body of it builds none (unless a prefix-hashing router
 * reads it) and a request waiting in a queue holds only its ids. `ids` are the
 * prompt's as the server counts them: `special` (BOS) ids, then the text's,
 * each standing for its entry of `pieces` (a word list's, `_words.ts`).
 */
export function idsPromptSpec(
  base: SpecBase,
  ids: Uint32Array,
  special: number,
  promptTokens: number,
  pieces: readonly (string | undefined)[],
): RequestSpec {
  const spec: RequestSpec & { [IDS_TEXT]: IdsText } = {
    requestId: base.requestId,
    conversationId: base.conversationId ?? base.requestId,
    turn: base.turn ?? 1,
    maxTokens: base.maxTokens,
    ignoreEos: base.ignoreEos,
    get prompt(): string {
      return piecesText(pieces, ids, special);
    },
    promptTokens,
    get promptTokenIds(): number[] {
      return Array.from(ids.subarray(special));
    },
    completionTokenIds: ids,
    [IDS_TEXT]: new IdsText(ids.subarray(special), pieces),
  };
  return spec;
}
