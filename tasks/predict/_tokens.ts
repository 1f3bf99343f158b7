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
import { type ChatMessage, messageText, type Tokenizer } from "../../lib/tokenizer.ts";

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
const LETTERS = /^[A-Za-z]+$/;
const PRETOKEN = /[^\r\nA-Za-z0-9]?[A-Za-z]+| ?[^\sA-Za-z0-9]+/g;
const H = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const FRAME = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";

/** Encodes prompts like the simulated engine does, with cached pre-tokens. */
export class PromptTokens {
  readonly #tok: Tokenizer;
  /** Word (after a space) -> ids of " word". */
  readonly #pieces = new Map<string, number[]>();
  /** Word at the start of a text -> ids of "word". */
  readonly #bare = new Map<string, number[]>();
  /** Pre-token -> ids, for words holding punctuation. */
  readonly #pre = new Map<string, number[]>();
  readonly #frames = new Map<string, number[]>();
  /** Message text -> ids: a conversation re-sends every earlier message each turn. */
  readonly #messages = new Map<string, number[]>();
  readonly #llama31: boolean;
  /** Prompts that took the slow path. */
  slow = 0;

  constructor(tok: Tokenizer) {
    this.#tok = tok;
    this.#llama31 = tok.name === "llama3_1";
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
    // through the pattern. Caches are keyed by the word alone.
    let start = 0;
    let first = true;
    while (start <= text.length) {
      let end = text.indexOf(" ", start);
      if (end < 0) end = text.length;
      if (end > start) {
        const w = text.slice(start, end);
        const cache = first ? this.#bare : this.#pieces;
        let ids = cache.get(w);
        if (!ids) {
          const piece = first ? w : " " + w;
          ids = LETTERS.test(w) ? this.#tok.encode(piece) : this.#pattern(piece);
          cache.set(w, ids);
        }
        for (let k = 0; k < ids.length; k++) out.push(ids[k]);
      }
      first = false;
      start = end + 1;
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
    const bos = this.#tok.bosTokenId;
    const ids = this.text(prompt);
    return bos === undefined ? ids : [bos, ...ids];
  }

  /** A chat prompt as the server's template renders and tokenizes it. */
  chat(messages: ChatMessage[]): number[] {
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
    for (const m of rest) {
      for (const id of this.#frame(H(m.role))) out.push(id);
      for (const id of this.#message(messageText(m.content).trim())) out.push(id);
      for (const id of this.#frame("<|eot_id|>")) out.push(id);
    }
    for (const id of this.#frame(H("assistant"))) out.push(id);
    return out;
  }

  #message(text: string): number[] {
    let ids = this.#messages.get(text);
    if (!ids) {
      if (this.#messages.size >= 20_000) this.#messages.clear();
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
