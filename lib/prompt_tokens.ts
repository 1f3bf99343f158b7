/**
 * Prompt token ids for the virtual loop, fast: tokenizing a 2,000-token chat
 * prompt with the shipped tokenizer takes ~15 ms, more than simulating it. BPE
 * works on pre-tokens (a word with its leading space or punctuation), so the
 * ids of each pre-token are cached and a prompt is the concatenation of its
 * pieces, with the Llama-3.1 chat frame around each message. Only text of
 * ASCII letters, single spaces, `.` and `,` takes this path (all synthetic
 * datasets); anything else, or another tokenizer, goes through the real one.
 * A test checks both paths give the same ids.
 *
 * @module
 */
import { type ChatMessage, messageText, type Tokenizer } from "./tokenizer.ts";

/** Only letters, `.`, `,` and single spaces (no space at the end). */
function simple(text: string): boolean {
  let prevSpace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) {
      if (prevSpace) return false;
      prevSpace = true;
      continue;
    }
    prevSpace = false;
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 44)) return false;
  }
  return !prevSpace;
}
/** Whether `text[start, end)` is `word`. */
function same(word: string, text: string, start: number, end: number): boolean {
  if (word.length !== end - start) return false;
  for (let k = 0; k < word.length; k++) {
    if (word.charCodeAt(k) !== text.charCodeAt(start + k)) return false;
  }
  return true;
}
const LETTERS = /^[A-Za-z]+$/;
const PRETOKEN = /[^\r\nA-Za-z0-9]?[A-Za-z]+| ?[^\sA-Za-z0-9]+/g;
const H = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const FRAME = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";

/** Cached ids of one word; `next` chains words of the same hash. */
interface WordIds {
  word: string;
  ids: number[];
  next: WordIds | undefined;
}

/** Encodes prompts like the simulated engine does, with cached pre-tokens. */
export class PromptTokens {
  readonly #tok: Tokenizer;
  /** Hash of a word (after a space) -> ids of " word". */
  readonly #pieces = new Map<number, WordIds>();
  /** Hash of a word at the start of a text -> ids of "word". */
  readonly #bare = new Map<number, WordIds>();
  /** Pre-token -> ids, for words holding punctuation. */
  readonly #pre = new Map<string, number[]>();
  readonly #frames = new Map<string, number[]>();
  /** Message text -> ids: a conversation re-sends every earlier message each turn. */
  readonly #messages = new Map<string, number[]>();
  /** Text as a dataset wrote it -> its ids, told by {@linkcode PromptTokens.know}. */
  readonly #known = new Map<string, readonly number[]>();
  /** Id of " word" -> ids of "word" (the chat template trims a message's leading space). */
  readonly #bareOf = new Map<number, number[]>();
  readonly #llama31: boolean;
  /** Prompts that took the slow path. */
  slow = 0;

  constructor(tok: Tokenizer) {
    this.#tok = tok;
    this.#llama31 = tok.name === "llama3_1";
  }

  /**
   * Tells the ids of a text a dataset built from single-token words (no
   * tokenizing needed); {@linkcode PromptTokens.forget} drops it again.
   */
  know(text: string, ids: readonly number[]): void {
    this.#known.set(text, ids);
  }

  /** Forgets a text told by {@linkcode PromptTokens.know}. */
  forget(text: string): void {
    this.#known.delete(text);
  }

  /** Ids of `text` without special tokens. */
  text(text: string): number[] {
    if (!simple(text)) {
      this.slow++;
      return this.#tok.encode(text);
    }
    const out: number[] = [];
    // Words between single spaces: a run of letters is one pre-token with its
    // leading space (none for the first); a word holding punctuation goes
    // through the pattern. The word is hashed while scanned (no slicing) and
    // checked against the cached entry's text.
    let start = 0;
    let h = 0;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? text.charCodeAt(i) : 32;
      if (c !== 32) {
        h = (Math.imul(h, 31) + c) | 0;
        continue;
      }
      if (i === start) { // a leading space: the next word keeps it
        start = i + 1;
        continue;
      }
      const cache = start === 0 ? this.#bare : this.#pieces;
      h &= 0x3fffffff; // a small integer (Smi) key
      let e = cache.get(h);
      while (e && !same(e.word, text, start, i)) e = e.next;
      if (!e) {
        const w = text.slice(start, i);
        const piece = start === 0 ? w : " " + w;
        e = {
          word: w,
          ids: LETTERS.test(w) ? this.#tok.encode(piece) : this.#pattern(piece),
          next: cache.get(h),
        };
        cache.set(h, e);
      }
      const ids = e.ids;
      for (let k = 0; k < ids.length; k++) out.push(ids[k]);
      start = i + 1;
      h = 0;
    }
    return out;
  }

  #pattern(text: string): number[] {
    const out: number[] = [];
    for (const m of text.matchAll(PRETOKEN)) {
      const p = m[0];
      let ids = this.#pre.get(p);
      if (!ids) this.#pre.set(p, ids = this.#tok.encode(p));
      for (const id of ids) out.push(id);
    }
    return out;
  }

  /** A completions prompt (with BOS, as the server adds it). */
  completion(prompt: string): number[] {
    return this.completionOf(this.text(prompt));
  }

  /**
   * A completions prompt whose text ids are known (a dataset built the text from
   * single-token words): what {@linkcode PromptTokens.completion} gives for that text.
   */
  completionOf(ids: readonly number[]): number[] {
    const bos = this.#tok.bosTokenId;
    const out = new Array<number>(ids.length + (bos === undefined ? 0 : 1));
    let k = 0;
    if (bos !== undefined) out[k++] = bos;
    for (let i = 0; i < ids.length; i++) out[k++] = ids[i];
    return out;
  }

  /**
   * A chat prompt as the server's template renders and tokenizes it. `known[i]`,
   * when given, holds the ids of message i's text as written (as
   * {@linkcode PromptTokens.know} tells them, without the lookup by text).
   */
  chat(messages: ChatMessage[], known?: readonly (readonly number[] | undefined)[]): number[] {
    if (!this.#llama31 || messages.some((m) => m.role === "tool" || m.role === "ipython")) {
      this.slow++;
      return this.#tok.encodeChat(messages);
    }
    let rest = messages;
    let system = "";
    if (messages[0]?.role === "system") {
      system = messageText(messages[0].content).trim();
      rest = messages.slice(1);
    }
    const out = [...this.#frame(`<|begin_of_text|>${H("system")}${FRAME}`)];
    for (const id of this.text(system)) out.push(id);
    for (const id of this.#frame("<|eot_id|>")) out.push(id);
    const skip = messages.length - rest.length;
    for (let i = 0; i < rest.length; i++) {
      const m = rest[i];
      for (const id of this.#frame(H(m.role))) out.push(id);
      const text = typeof m.content === "string" ? m.content : null;
      const given = text === null ? undefined : known?.[i + skip];
      const ids = text === null
        ? null
        : given
        ? this.#trimmed(text, given)
        : this.#trimmedKnown(text);
      for (const id of ids ?? this.#message(messageText(m.content).trim())) out.push(id);
      for (const id of this.#frame("<|eot_id|>")) out.push(id);
    }
    for (const id of this.#frame(H("assistant"))) out.push(id);
    return out;
  }

  /** Ids of a known text as the template trims it, or null when not known or not simple. */
  #trimmedKnown(text: string): readonly number[] | null {
    const ids = this.#known.get(text);
    return ids ? this.#trimmed(text, ids) : null;
  }

  /** Ids `ids` of `text` as the template trims the text, or null when not simple. */
  #trimmed(text: string, ids: readonly number[]): readonly number[] | null {
    if (ids.length === 0) return null;
    const ws = (i: number) => /\s/.test(text[i] ?? "");
    if (ws(text.length - 1)) return null; // trailing space: the template would trim it
    if (!ws(0)) return ids;
    if (text.charCodeAt(0) !== 32 || ws(1)) return null;
    let bare = this.#bareOf.get(ids[0]);
    if (!bare) {
      this.#bareOf.set(ids[0], bare = this.#tok.encode(this.#tok.decode([ids[0]]).trimStart()));
    }
    const out = bare.slice();
    for (let k = 1; k < ids.length; k++) out.push(ids[k]);
    return out;
  }

  #message(text: string): number[] {
    let ids = this.#messages.get(text);
    if (!ids) {
      if (this.#messages.size >= 4096) this.#messages.clear(); // bounded: a conversation re-sends within seconds
      this.#messages.set(text, ids = this.text(text));
    }
    return ids;
  }

  #frame(s: string): number[] {
    let ids = this.#frames.get(s);
    if (!ids) this.#frames.set(s, ids = this.#tok.encode(s));
    return ids;
  }
}
