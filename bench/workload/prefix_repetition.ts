/**
 * The `prefix-repetition` dataset (vLLM's): `numPrefixes` distinct prefixes of
 * `prefixLen` tokens, each request one of them (shuffled, seeded) plus a unique
 * random suffix of `suffixLen` tokens, so the prefix cache hit rate is controlled.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { RequestSpec } from "./types.ts";
import { type EndpointKind, requestId, textSpec } from "./_spec.ts";
import { randomWords, wordList } from "./_words.ts";

/** Options of {@linkcode prefixRepetitionDataset}. */
export interface PrefixRepetitionOptions {
  count: number;
  seed: number;
  endpoint: EndpointKind;
  prefixLen: number;
  suffixLen: number;
  numPrefixes: number;
  outputLen: number;
  /** @default true */
  ignoreEos?: boolean;
}

/** Builds the requests; same options, same requests. */
export function prefixRepetitionDataset(
  tok: Tokenizer,
  o: PrefixRepetitionOptions,
): RequestSpec[] {
  if (!(Number.isInteger(o.numPrefixes) && o.numPrefixes >= 1)) {
    throw new RangeError(
      `Cannot use --num-prefixes as an integer >= 1: current value is ${o.numPrefixes}`,
    );
  }
  const wl = wordList(tok);
  const rng = new Rng(`prefix-repetition:${o.seed}`);
  const prefixes = Array.from(
    { length: o.numPrefixes },
    (_, k) => randomWords(wl, rng, o.prefixLen, 1_000_000 + k),
  );
  const order = Array.from({ length: o.count }, (_, i) => i % o.numPrefixes);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.map((k, i) =>
    textSpec(
      tok,
      o.endpoint,
      { requestId: requestId(i), maxTokens: o.outputLen, ignoreEos: o.ignoreEos ?? true },
      prefixes[k] + randomWords(wl, rng, o.suffixLen, i),
      { tokens: o.prefixLen + o.suffixLen, ...wl },
    )
  );
}
