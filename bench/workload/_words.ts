/**
 * Token-exact synthetic text: a list of lower-case words that are one token
 * both as ` word` and as `word` (so a chat template's trim keeps counts), and
 * texts of n such words that encode to exactly n tokens.
 *
 * @module
 */
import { SHIPPED, type Tokenizer } from "../../lib/tokenizer.ts";
import shipped from "./_llama3_1_words.json" with { type: "json" };
import type { Rng } from "../../lib/rng.ts";

/** Words usable for token-exact text, by token order. */
export interface WordList {
  /** Each entry is ` word` (leading space). */
  words: string[];
  /** The token id of each entry of `words`. */
  ids: number[];
  /** Tokens the server adds to a completions prompt of n words, beyond n (BOS). */
  completionsExtra: number;
  /** Tokens the chat template adds to one user message of n words, beyond n. */
  chatExtra: number;
}

const cache = new WeakMap<Tokenizer, WordList>();

/**
 * The word list of a tokenizer: the shipped one's comes from
 * `_llama3_1_words.json` (built by {@linkcode computeWordList}; a test checks
 * it), so drawing random prompts needs no tokenizer loaded.
 */
export function wordList(tok: Tokenizer, max = 4096): WordList {
  if (tok.name === SHIPPED && max === 4096) {
    const w = shipped as WordList & { tokenizer: string };
    return {
      words: w.words,
      ids: w.ids,
      completionsExtra: w.completionsExtra,
      chatExtra: w.chatExtra,
    };
  }
  return computeWordList(tok, max);
}

/** Builds (once per tokenizer) the word list; throws if the tokenizer has too few such words. */
export function computeWordList(tok: Tokenizer, max = 4096): WordList {
  const hit = cache.get(tok);
  if (hit) return hit;
  const words: string[] = [];
  const ids: number[] = [];
  // byte-level BPE: only tokens spelled `Ġword` can decode to ` word`, so the rest is
  // skipped without decoding (same list, a fraction of the start-up time)
  const raw = tok.tokenStrings;
  const byteLevel = raw !== undefined && raw.some((t) => t.startsWith("Ġ"));
  for (let id = 0; id < tok.vocabSize && words.length < max; id++) {
    if (byteLevel && !/^Ġ[a-z]{3,10}$/.test(raw[id] ?? "")) continue;
    const s = tok.decode([id]);
    if (!/^ [a-z]{3,10}$/.test(s)) continue;
    const a = tok.encode(s);
    const b = tok.encode(s.slice(1));
    if (a.length === 1 && a[0] === id && b.length === 1) {
      words.push(s);
      ids.push(id);
    }
  }
  if (words.length < 256) {
    throw new RangeError(
      `Cannot use tokenizer ${tok.name} for token-exact text as it has 256+ single-token words: current value is ${words.length}`,
    );
  }
  const probe = words.slice(0, 8).join("");
  const completionsExtra = tok.encode(probe, { addSpecialTokens: true }).length - 8;
  const chatExtra = tok.encodeChat([{ role: "user", content: probe }]).length - 8;
  const wl = { words, ids, completionsExtra, chatExtra };
  cache.set(tok, wl);
  return wl;
}

/** `n` random words (encodes to exactly n tokens), optionally led by a unique id. */
export function randomWords(wl: WordList, rng: Rng, n: number, uniqueIndex?: number): string {
  return wordsText(wl, randomPicks(wl, rng, n, uniqueIndex));
}

/** The indices into `wl.words` behind {@linkcode randomWords} (same draws, same words). */
export function randomPicks(wl: WordList, rng: Rng, n: number, uniqueIndex?: number): number[] {
  const picks: number[] = [];
  const W = wl.words.length;
  if (uniqueIndex !== undefined && n > 0) {
    // base-W digits of the index: distinct leading tokens per request (no accidental cache hits)
    let x = uniqueIndex;
    const digits = Math.min(n, Math.max(2, Math.ceil(Math.log(uniqueIndex + 2) / Math.log(W))));
    for (let i = 0; i < digits; i++) {
      picks.push(x % W);
      x = Math.floor(x / W);
    }
  }
  while (picks.length < n) picks.push(Math.floor(rng.next() * W));
  return picks;
}

/** Each word's bytes (ASCII), and the word of each token id, for building texts fast. */
interface WordBytes {
  bytes: Uint8Array[];
  /** Token id -> index into the words, -1 for ids of no word. */
  wordOfId: Int32Array;
}

const byteTables = new WeakMap<readonly string[], WordBytes>();
const latin1 = new TextDecoder("latin1");
let scratch = new Uint8Array(1 << 16);

function wordBytes(wl: WordList): WordBytes {
  let t = byteTables.get(wl.words);
  if (!t) {
    const enc = new TextEncoder();
    let maxId = 0;
    for (const id of wl.ids) maxId = Math.max(maxId, id);
    const wordOfId = new Int32Array(maxId + 1).fill(-1);
    wl.ids.forEach((id, k) => wordOfId[id] = k);
    t = { bytes: wl.words.map((w) => enc.encode(w)), wordOfId };
    byteTables.set(wl.words, t);
  }
  return t;
}

/** The text of words by index (`ids` false) or by token id, from `from` on. */
function textOf(wl: WordList, xs: readonly number[], byId: boolean, from = 0): string {
  const t = wordBytes(wl);
  let k = 0;
  for (let i = from; i < xs.length; i++) {
    const b = t.bytes[byId ? t.wordOfId[xs[i]] : xs[i]];
    if (k + b.length > scratch.length) {
      const grown = new Uint8Array(scratch.length * 2);
      grown.set(scratch);
      scratch = grown;
    }
    for (let j = 0; j < b.length; j++) scratch[k++] = b[j];
  }
  // the words are ASCII: their bytes are their characters, one flat string (a string
  // grown by `+=` is a rope of one node per word, which the garbage collector walks)
  return latin1.decode(scratch.subarray(0, k));
}

/** The text of picked words, as one flat string. */
export function wordsText(wl: WordList, picks: readonly number[]): string {
  return textOf(wl, picks, false);
}

/** The text of token ids of words of the list (each id one word), from index `from` on. */
export function idsText(wl: WordList, ids: readonly number[], from = 0): string {
  return textOf(wl, ids, true, from);
}

/** The token ids of picked words' text (one token per word, by construction), after `lead`. */
export function wordsIds(
  wl: WordList,
  picks: readonly number[],
  lead: readonly number[] = [],
): number[] {
  const out = lead.slice();
  for (let i = 0; i < picks.length; i++) out.push(wl.ids[picks[i]]);
  return out;
}
