/**
 * Token-exact synthetic text: a list of lower-case words that are one token
 * both as ` word` and as `word` (so a chat template's trim keeps counts), and
 * texts of n such words that encode to exactly n tokens.
 *
 * @module
 */
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { Rng } from "../../lib/rng.ts";

/** Words usable for token-exact text, by token order. */
export interface WordList {
  /** Each entry is ` word` (leading space). */
  words: string[];
  /** Tokens the server adds to a completions prompt of n words, beyond n (BOS). */
  completionsExtra: number;
  /** Tokens the chat template adds to one user message of n words, beyond n. */
  chatExtra: number;
}

const cache = new WeakMap<Tokenizer, WordList>();

/** Builds (once per tokenizer) the word list; throws if the tokenizer has too few such words. */
export function wordList(tok: Tokenizer, max = 4096): WordList {
  const hit = cache.get(tok);
  if (hit) return hit;
  const words: string[] = [];
  for (let id = 0; id < tok.vocabSize && words.length < max; id++) {
    const s = tok.decode([id]);
    if (!/^ [a-z]{3,10}$/.test(s)) continue;
    const a = tok.encode(s);
    const b = tok.encode(s.slice(1));
    if (a.length === 1 && a[0] === id && b.length === 1) words.push(s);
  }
  if (words.length < 256) {
    throw new RangeError(
      `Cannot use tokenizer ${tok.name} for token-exact text as it has 256+ single-token words: current value is ${words.length}`,
    );
  }
  const probe = words.slice(0, 8).join("");
  const completionsExtra = tok.encode(probe, { addSpecialTokens: true }).length - 8;
  const chatExtra = tok.encodeChat([{ role: "user", content: probe }]).length - 8;
  const wl = { words, completionsExtra, chatExtra };
  cache.set(tok, wl);
  return wl;
}

/** `n` random words (encodes to exactly n tokens), optionally led by a unique id. */
export function randomWords(wl: WordList, rng: Rng, n: number, uniqueIndex?: number): string {
  const parts: string[] = [];
  const W = wl.words.length;
  if (uniqueIndex !== undefined && n > 0) {
    // base-W digits of the index: distinct leading tokens per request (no accidental cache hits)
    let x = uniqueIndex;
    const digits = Math.min(n, Math.max(2, Math.ceil(Math.log(uniqueIndex + 2) / Math.log(W))));
    for (let i = 0; i < digits; i++) {
      parts.push(wl.words[x % W]);
      x = Math.floor(x / W);
    }
  }
  while (parts.length < n) parts.push(wl.words[Math.floor(rng.next() * W)]);
  return parts.join("");
}
