/**
 * A fast encoder and decoder for the shipped Llama-3.1 tokenizer (tiktoken-style
 * byte-level BPE), with the ids `@lenml/tokenizers` gives for it (a test
 * compares both on a large corpus), built from the vocabulary alone in tens of
 * milliseconds and a few MB instead of lenml's seconds and hundreds of MB.
 *
 * Why the merges are not needed: the tokenizer's 280,147 merges are exactly
 * every split of a vocabulary token into two vocabulary tokens, ordered by
 * (id of the merged token, id of the left part) — how `transformers` converts
 * a tiktoken vocabulary (`TikTokenConverter`; the test checks it). So a pair's
 * merge rank is one vocabulary look-up away, and lenml's greedy order (lowest
 * rank first, the leftmost on ties) is kept by comparing (merged id, left id,
 * position). Tokens are kept as raw bytes in one array with an open-addressing
 * hash table over them: no string per token is made unless `tokens` is read.
 *
 * The steps follow lenml's `PreTrainedTokenizer` for this tokenizer.json:
 * added tokens split out first (longest match), the pre-tokenizer regex (run by
 * hand on ASCII text), UTF-8
 * bytes (GPT-2's byte-to-unicode mapping, which only renames bytes), BPE with
 * `ignore_merges`, BOS by the template; decoding skips special tokens and
 * cleans up tokenization spaces (`clean_up_tokenization_spaces: true`).
 *
 * @module
 */
import { asciiSplit, isAscii } from "./_ascii_split.ts";
import { BYTE_CHAR } from "./_byte_level.ts";
import { MergeHeap } from "./_merge_heap.ts";

/** The pre-tokenizer regex as lenml compiles it (its `(?i:…)` group spelled out). */
export const PRE_TOKENIZE =
  /(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** A merge key: the merged token's id, then the left part's (ids < 2^17). */
const LEFT = 131072;
/** Pieces up to this many bytes are merged by scanning; longer ones through a heap. */
const SCAN_MAX = 64;
/** Pieces cached: up to this many characters each (long whitespace or dash runs repeat too)… */
const CACHE_MAX_CHARS = 8192;
/** …and this many characters in all (the cache is emptied when full). */
const CACHE_BUDGET_CHARS = 1 << 22;

const utf8 = new TextEncoder();
const textOf = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** One added (special) token of tokenizer.json. */
export interface AddedToken {
  id: number;
  content: string;
  special?: boolean;
}

/** The vocabulary the encoder is built from (tokenizer.json's `model.vocab` and `added_tokens`). */
export interface Llama3Vocab {
  /** The base tokens' raw bytes (not their byte-level spelling). */
  bytes: Uint8Array;
  /** Token id's bytes are `bytes[start[id], end[id])`; ids 0..n-1 all present. */
  start: Int32Array;
  end: Int32Array;
  added: readonly AddedToken[];
}

/** lenml's `clean_up_tokenization`, in its order. */
function cleanUp(s: string): string {
  return s.replace(/ \./g, ".").replace(/ \?/g, "?").replace(/ !/g, "!").replace(/ ,/g, ",")
    .replace(/ ' /g, "'").replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ 's/g, "'s")
    .replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
}

function hashOf(b: Uint8Array, s: number, e: number): number {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** The shipped Llama-3.1 tokenizer's encoder and decoder. */
export class Llama3Bpe {
  readonly #v: Llama3Vocab;
  readonly #n: number;
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #added = new Map<string, number>();
  readonly #size: number;
  #cache = new Map<string, number[]>();
  /** Characters of the pieces in `#cache`. */
  #cached = 0;
  #buf = new Uint8Array(1024);
  #tokens: string[] | null = null;

  /** Builds it from the vocabulary (RangeError when a byte or an added token is not as Llama 3's). */
  constructor(v: Llama3Vocab) {
    this.#v = v;
    const n = this.#n = v.start.length;
    let slots = 1;
    while (slots < 2 * n) slots *= 2;
    this.#slots = new Int32Array(slots).fill(-1);
    this.#mask = slots - 1;
    for (let id = 0; id < n; id++) {
      let h = hashOf(v.bytes, v.start[id], v.end[id]) & this.#mask;
      while (this.#slots[h] >= 0) h = (h + 1) & this.#mask;
      this.#slots[h] = id;
    }
    let size = n;
    for (const a of v.added) {
      if (!/^<\|[^|]+\|>$/.test(a.content) || a.id < n || a.special !== true) {
        throw new RangeError(
          `Cannot use added token ${a.id} as a Llama-3 special token: current value is ${
            JSON.stringify(a.content)
          }; allowed: a special <|name|> (no "|" in the name) with an id past the vocabulary`,
        );
      }
      this.#added.set(a.content, a.id);
      size = Math.max(size, a.id + 1);
    }
    this.#size = size;
    for (let b = 0; b < 256; b++) {
      if (this.#id(new Uint8Array([b]), 0, 1) < 0) {
        throw new RangeError(
          `Cannot use this vocabulary as byte-level BPE: byte ${b} has no token`,
        );
      }
    }
  }

  /** Number of ids, added tokens included. */
  get size(): number {
    return this.#size;
  }

  /** Token strings by id in byte-level spelling (`Ġ` for a space), added tokens included; made on first read. */
  get tokens(): string[] {
    if (this.#tokens) return this.#tokens;
    const { bytes, start, end } = this.#v;
    const out = new Array<string>(this.size);
    for (let id = 0; id < this.#n; id++) {
      let s = "";
      for (let i = start[id]; i < end[id]; i++) s += BYTE_CHAR[bytes[i]];
      out[id] = s;
    }
    for (const a of this.#v.added) out[a.id] = a.content;
    return this.#tokens = out;
  }

  /** Token ids of `text`; with `addBos`, the BOS id (128000) first. */
  encode(text: string, addBos: boolean): number[] {
    const out: number[] = addBos ? [128000] : [];
    let start = 0;
    for (let i = text.indexOf("<|"); i >= 0; i = text.indexOf("<|", i + 1)) {
      const end = text.indexOf("|>", i + 2);
      if (end < 0) break;
      const id = this.#added.get(text.slice(i, end + 2));
      if (id === undefined) continue;
      if (i > start) this.#section(text.slice(start, i), out);
      out.push(id);
      start = end + 2;
      i = end + 1;
    }
    if (start < text.length) this.#section(start ? text.slice(start) : text, out);
    return out;
  }

  /**
   * Text of `ids`: special tokens and unknown ids skipped, tokenization spaces cleaned
   * up; as lenml, an Error for no ids or a first one that is not an integer.
   */
  decode(ids: readonly number[]): string {
    if (!Array.isArray(ids) || ids.length === 0 || !Number.isInteger(ids[0])) {
      throw Error("token_ids must be a non-empty array of integers."); // as lenml
    }
    const { bytes, start, end } = this.#v;
    let len = 0;
    const keep: number[] = [];
    for (const id of ids) {
      // added tokens (all special) and unknown ids are skipped
      if (!Number.isInteger(id) || id < 0 || id >= this.#n) continue;
      keep.push(id);
      len += end[id] - start[id];
    }
    const out = new Uint8Array(len);
    let at = 0;
    for (const id of keep) {
      out.set(bytes.subarray(start[id], end[id]), at);
      at += end[id] - start[id];
    }
    return cleanUp(textOf.decode(out));
  }

  /** The id of bytes `b[s, e)`, or -1. */
  #id(b: Uint8Array, s: number, e: number): number {
    const { bytes, start, end } = this.#v;
    for (let h = hashOf(b, s, e) & this.#mask;; h = (h + 1) & this.#mask) {
      const id = this.#slots[h];
      if (id < 0) return -1;
      if (end[id] - start[id] !== e - s) continue;
      let i = 0;
      while (s + i < e && bytes[start[id] + i] === b[s + i]) i++;
      if (s + i === e) return id;
    }
  }

  /** Pre-tokenizes one section without added tokens and appends its ids to `out`. */
  #section(s: string, out: number[]): void {
    if (isAscii(s)) return asciiSplit(s, (p) => this.#piece(p, out));
    const re = PRE_TOKENIZE; // shared: encoding is synchronous
    re.lastIndex = 0;
    let prev = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      if (prev < m.index) this.#piece(s.slice(prev, m.index), out);
      this.#piece(m[0], out);
      prev = m.index + m[0].length;
    }
    if (prev < s.length) this.#piece(s.slice(prev), out);
  }

  /** Appends the ids of one pre-tokenized piece (cached). */
  #piece(p: string, out: number[]): void {
    const hit = this.#cache.get(p);
    if (hit !== undefined) {
      for (const id of hit) out.push(id);
      return;
    }
    if (this.#buf.length < 3 * p.length) this.#buf = new Uint8Array(3 * p.length);
    const b = this.#buf;
    const n = utf8.encodeInto(p, b).written;
    const whole = this.#id(b, 0, n);
    const ids = whole >= 0
      ? [whole]
      : this.#added.has(p)
      ? [this.#added.get(p)!]
      : n <= SCAN_MAX
      ? this.#scan(b, n)
      : this.#heap(b, n);
    if (p.length <= CACHE_MAX_CHARS) {
      if ((this.#cached += p.length) > CACHE_BUDGET_CHARS) {
        this.#cache.clear();
        this.#cached = p.length;
      }
      this.#cache.set(p, ids);
    }
    for (const id of ids) out.push(id);
  }

  /** The merge key of the parts `b[s, m)` (id `lid`) and `b[m, e)`, or -1 for no merge. */
  #key(b: Uint8Array, s: number, e: number, lid: number): number {
    const m = this.#id(b, s, e);
    return m < 0 ? -1 : m * LEFT + lid;
  }

  /** BPE by scanning for the lowest key (leftmost on ties): short pieces. */
  #scan(b: Uint8Array, n: number): number[] {
    const at: number[] = []; // part i is b[at[i], at[i + 1])
    const ids: number[] = [];
    for (let i = 0; i <= n; i++) at.push(i);
    for (let i = 0; i < n; i++) ids.push(this.#id(b, i, i + 1));
    const keys: number[] = [];
    for (let i = 0; i + 1 < n; i++) keys.push(this.#key(b, i, i + 2, ids[i]));
    for (;;) {
      let best = -1;
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] >= 0 && (best < 0 || keys[i] < keys[best])) best = i;
      }
      if (best < 0) return ids;
      ids[best] = Math.floor(keys[best] / LEFT);
      at.splice(best + 1, 1);
      ids.splice(best + 1, 1);
      keys.splice(best, 1);
      if (best > 0) keys[best - 1] = this.#key(b, at[best - 1], at[best + 1], ids[best - 1]);
      if (best < keys.length) keys[best] = this.#key(b, at[best], at[best + 2], ids[best]);
    }
  }

  /** BPE through a heap of (key, position) with stale entries skipped, as lenml does: long pieces. */
  #heap(b: Uint8Array, n: number): number[] {
    const ids = Int32Array.from({ length: n }, (_, i) => this.#id(b, i, i + 1));
    const next = Int32Array.from({ length: n }, (_, i) => i + 1); // n: none
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const ver = new Int32Array(n);
    const heap = new MergeHeap();
    const push = (i: number) => {
      const j = next[i];
      const k = j >= n ? -1 : this.#key(b, i, next[j], ids[i]);
      if (k >= 0) heap.push(k, i, ++ver[i]);
      else ver[i]++;
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const [k, i, v] = heap.pop();
      if (ver[i] !== v) continue; // stale: its part or its right neighbour changed since
      const j = next[i];
      ids[i] = Math.floor(k / LEFT);
      next[i] = next[j];
      if (next[j] < n) prev[next[j]] = i;
      ver[j]++;
      push(i);
      if (prev[i] >= 0) push(prev[i]);
    }
    const out: number[] = [];
    for (let i = 0; i < n; i = next[i]) out.push(ids[i]);
    return out;
  }
}
