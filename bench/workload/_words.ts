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
import { freshIds } from "../../lib/id_slabs.ts";

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
/** The shipped tokenizer's list (one object: a turn asks for it each time). */
let shippedList: WordList | undefined;

/**
 * The word list of a tokenizer: the shipped one's comes from
 * `_llama3_1_words.json` (built by {@linkcode computeWordList}; a test checks
 * it), so drawing random prompts needs no tokenizer loaded.
 */
export function wordList(tok: Tokenizer, max = 4096): WordList {
  if (tok.name === SHIPPED && max === 4096) {
    const w = shipped as WordList & { tokenizer: string };
    return shippedList ??= {
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

/**
 * The indices into `wl.words` behind {@linkcode randomWords} (same draws, same
 * words), appended to `into` (else to a fresh array); with `map`, `map[index]` is appended instead
 * (`wl.ids`: the words' token ids, drawn without an array of indices).
 */
export function randomPicks(
  wl: WordList,
  rng: Rng,
  n: number,
  uniqueIndex?: number,
  into?: number[],
  map?: readonly number[],
): number[] {
  // a fresh array has its final length at once (one grown by push is copied as it grows)
  const out = into ?? new Array<number>(n > 0 ? Math.ceil(n) : 0);
  drawInto(wl, rng, n, uniqueIndex, out, into ? into.length : 0, map);
  return out;
}

/**
 * {@linkcode randomPicks} mapped to the words' token ids, drawn straight into a
 * fresh typed array after `lead` (a slab view, `lib/id_slabs.ts`: no array of
 * picks to collect, no second copy).
 */
export function randomIds(
  wl: WordList,
  rng: Rng,
  n: number,
  uniqueIndex?: number,
  lead: ArrayLike<number> = [],
): Uint32Array {
  const out = freshIds(lead.length + (n > 0 ? Math.ceil(n) : 0));
  out.set(lead);
  drawIdsAt(wl, rng, n, uniqueIndex, out, lead.length);
  return out;
}

/**
 * The ids {@linkcode randomIds} draws (same draws, same ids), written into
 * `out` from index `at` on: a prompt of several parts drawn in place.
 */
export function drawIdsAt(
  wl: WordList,
  rng: Rng,
  n: number,
  uniqueIndex: number | undefined,
  out: Uint32Array,
  at: number,
): void {
  const digits = uniqueIndex === undefined ? 0 : leadDigits(wl, n, uniqueIndex);
  // the unique lead's digits as drawInto writes them, then the draws in a loop of typed arrays only
  if (digits > 0) drawInto(wl, rng, digits, uniqueIndex, out, at, wl.ids);
  drawIds(rng, out, at + digits, at + n, idsOf(wl), wl.words.length);
}

/** The words' token ids in a typed array, by word list. */
const typedIds = new WeakMap<readonly number[], Uint32Array>();

function idsOf(wl: WordList): Uint32Array {
  let t = typedIds.get(wl.ids);
  if (!t) typedIds.set(wl.ids, t = Uint32Array.from(wl.ids));
  return t;
}

/** `out[k, end)` drawn as {@linkcode drawInto} draws mapped ids (`W` words). */
function drawIds(
  rng: Rng,
  out: Uint32Array,
  k: number,
  end: number,
  ids: Uint32Array,
  W: number,
): void {
  while (k < end) out[k++] = ids[Math.floor(rng.next() * W)];
}

/** How many leading ids a unique index takes ({@linkcode drawInto}'s digits). */
function leadDigits(wl: WordList, n: number, uniqueIndex: number): number {
  if (!(n > 0)) return 0;
  const W = wl.words.length;
  return Math.min(n, Math.max(2, Math.ceil(Math.log(uniqueIndex + 2) / Math.log(W))));
}

/** The draws of {@linkcode randomPicks}, written into `out` from index `k` on. */
function drawInto(
  wl: WordList,
  rng: Rng,
  n: number,
  uniqueIndex: number | undefined,
  out: { [i: number]: number },
  k: number,
  map?: readonly number[],
): void {
  const W = wl.words.length;
  const end = k + n;
  if (uniqueIndex !== undefined && n > 0) {
    // base-W digits of the index: distinct leading tokens per request (no accidental cache hits)
    let x = uniqueIndex;
    const digits = leadDigits(wl, n, uniqueIndex);
    for (let i = 0; i < digits; i++) {
      out[k++] = map ? map[x % W] : x % W;
      x = Math.floor(x / W);
    }
  }
  if (map) {
    while (k < end) out[k++] = map[Math.floor(rng.next() * W)];
  } else {
    while (k < end) out[k++] = Math.floor(rng.next() * W);
  }
}

/** Token id -> its word (undefined: no word), by word list. */
const piecesOf = new WeakMap<readonly number[], string[]>();

/**
 * Each word-list token id's word, by id (an {@linkcode IdsText}'s pieces):
 * text of the list's ids follows from it without a tokenizer.
 */
export function wordPieces(wl: WordList): readonly (string | undefined)[] {
  let t = piecesOf.get(wl.ids);
  if (!t) {
    let maxId = 0;
    for (const id of wl.ids) maxId = Math.max(maxId, id);
    t = new Array<string>(maxId + 1).fill("");
    for (let k = 0; k < wl.ids.length; k++) t[wl.ids[k]] = wl.words[k];
    piecesOf.set(wl.ids, t);
  }
  return t;
}

/**
 * The text of picked words, as one flat string (a string grown by `+=` is a
 * rope of one node per word, which the garbage collector walks while the
 * request waits).
 */
export function wordsText(wl: WordList, picks: readonly number[]): string {
  const parts = new Array<string>(picks.length);
  for (let i = 0; i < picks.length; i++) parts[i] = wl.words[picks[i]];
  return parts.join("");
}

/**
 * The text of token ids each standing for its entry of `pieces` (none: no
 * text), from index `from` on: {@linkcode wordsText} of their picks, with a
 * word list's {@linkcode wordPieces}.
 */
export function piecesText(
  pieces: readonly (string | undefined)[],
  ids: ArrayLike<number>,
  from = 0,
): string {
  const parts = new Array<string | undefined>(ids.length - from);
  for (let i = from; i < ids.length; i++) parts[i - from] = pieces[ids[i]];
  return parts.join("");
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
