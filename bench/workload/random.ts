/**
 * The `random` dataset (vLLM's): prompts of random single-token words, exact
 * in length, with a per-request unique lead (no accidental prefix-cache hits)
 * and an optional shared prefix; lengths drawn with a range ratio.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import { IdsText } from "../../lib/lazy_text.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { RequestSpec } from "./types.ts";
import {
  drawLength,
  type EndpointKind,
  idsPromptSpec,
  knownTextSpec,
  requestId,
  textSpec,
  vllmTextLen,
} from "./_spec.ts";
import { randomIds, randomPicks, wordList, wordPieces, wordsIds, wordsText } from "./_words.ts";
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
      yield idsPromptSpec(
        base,
        ids,
        lead.length - prefixIds.length,
        tokens + wl.completionsExtra,
        pieces,
      );
      continue;
    }
    if (o.endpoint === "completions") {
      // live: the prompt's words by their ids (the same draws), its text built only if read
      const text = new IdsText(randomIds(wl, rng, inLen, i, prefixIds), pieces);
      yield knownTextSpec(base, text, tokens + wl.completionsExtra);
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
