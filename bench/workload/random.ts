/**
 * The `random` dataset (vLLM's): prompts of random single-token words, exact
 * in length, with a per-request unique lead (no accidental prefix-cache hits)
 * and an optional shared prefix; lengths drawn with a range ratio.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { RequestSpec } from "./types.ts";
import { drawLength, type EndpointKind, requestId, textSpec, vllmTextLen } from "./_spec.ts";
import {
  idsText,
  randomIds,
  randomPicks,
  type WordList,
  wordList,
  wordPieces,
  wordsIds,
  wordsText,
} from "./_words.ts";
import { IDS_TEXT, IdsText } from "../../lib/lazy_text.ts";
import { drawTokens, type LengthDist } from "./lengths.ts";

/** Options of {@linkcode randomDataset}. */
export interface RandomOptions {
  /** Requests to draw (Infinity: as many as asked for). */
  count: number;
  seed: number;
  endpoint: EndpointKind;
  /**
   * Input tokens per request as vLLM's random dataset counts them: the
   * tokenizer's special tokens (BOS) included, the shared prefix not.
   */
  inputLen: number;
  outputLen: number;
  /** Lengths uniform in [len·(1−r), len·(1+r)]. @default 0 */
  rangeRatio?: number;
  /** Tokens of a prefix shared by every request, placed before the input. @default 0 */
  prefixLen?: number;
  /** @default true */
  ignoreEos?: boolean;
  /** Input lengths drawn from this instead of `inputLen`/`rangeRatio`. */
  inputDist?: LengthDist;
  /** Output lengths drawn from this instead of `outputLen`/`rangeRatio`. */
  outputDist?: LengthDist;
  /** First request index (ids continue from it). @default 0 */
  startIndex?: number;
  /** Also keep each prompt's token ids (the virtual clock skips tokenizing). @default false */
  tokenIds?: boolean;
}

/** Builds `count` random requests; same options, same requests byte for byte. */
export function randomDataset(tok: Tokenizer, o: RandomOptions): RequestSpec[] {
  return [...randomRequests(tok, o)];
}

/**
 * The random requests one at a time (`count` may be Infinity): the same
 * requests as {@linkcode randomDataset}, drawn as the run needs them.
 */
export function* randomRequests(
  tok: Tokenizer,
  o: RandomOptions,
): Generator<RequestSpec, void, undefined> {
  const wl = wordList(tok);
  const rng = new Rng(`random:${o.seed}`);
  const prefixLen = o.prefixLen ?? 0;
  const prefixPicks = prefixLen > 0 ? randomPicks(wl, new Rng(`prefix:${o.seed}`), prefixLen) : [];
  const prefix = wordsText(wl, prefixPicks);
  const prefixIds = wordsIds(wl, prefixPicks);
  const bos = o.tokenIds && o.endpoint === "completions" ? tok.bosTokenId : undefined;
  const lead = bos === undefined ? prefixIds : [bos, ...prefixIds];
  const start = o.startIndex ?? 0;
  const pieces = wordPieces(wl);
  for (let i = start; i < start + o.count; i++) {
    const inLen = o.inputDist
      ? drawTokens(o.inputDist, rng)
      : drawLength(vllmTextLen(o.inputLen, wl), o.rangeRatio ?? 0, () => rng.next());
    const outLen = o.outputDist
      ? drawTokens(o.outputDist, rng)
      : drawLength(o.outputLen, o.rangeRatio ?? 0, () => rng.next());
    const base = { requestId: requestId(i), maxTokens: outLen, ignoreEos: o.ignoreEos ?? true };
    const tokens = prefixLen + inLen;
    if (o.tokenIds && o.endpoint === "completions") {
      // the ids as the server counts them (BOS first), drawn straight into one array, then kept
      // in a slab view (`lib/id_slabs.ts`): out of the collected heap while the request waits
      const ids = randomIds(wl, rng, inLen, i, lead);
      yield lazyPromptSpec(
        wl,
        pieces,
        base,
        ids,
        lead.length - prefixIds.length,
        tokens + wl.completionsExtra,
      );
      continue;
    }
    const picks = randomPicks(wl, rng, inLen, i);
    const spec = textSpec(tok, o.endpoint, base, prefix + wordsText(wl, picks), {
      tokens,
      ...wl,
    });
    if (o.tokenIds) spec.promptTokenIds = wordsIds(wl, picks, prefixIds);
    yield spec;
  }
}

/**
 * A completions spec whose prompt text is built from its token ids each time
 * it is read, and not kept; it carries that text as an {@linkcode IdsText}, so
 * the virtual clock's body of it builds none (unless a prefix-hashing router
 * reads it) and a request waiting in a queue holds only its ids. `ids` are the
 * prompt's as the server counts them: `special` (BOS) ids, then the text's.
 */
function lazyPromptSpec(
  wl: WordList,
  pieces: readonly (string | undefined)[],
  base: { requestId: string; maxTokens: number; ignoreEos: boolean },
  ids: Uint32Array,
  special: number,
  promptTokens: number,
): RequestSpec {
  const spec: RequestSpec & { [IDS_TEXT]: IdsText } = {
    requestId: base.requestId,
    conversationId: base.requestId,
    turn: 1,
    maxTokens: base.maxTokens,
    ignoreEos: base.ignoreEos,
    get prompt(): string {
      return idsText(wl, ids, special);
    },
    promptTokens,
    get promptTokenIds(): number[] {
      return Array.from(ids.subarray(special));
    },
    completionTokenIds: ids,
    // the prompt's text as its ids: a body of it is built only if something reads it
    [IDS_TEXT]: new IdsText(ids.subarray(special), pieces),
  };
  return spec;
}
