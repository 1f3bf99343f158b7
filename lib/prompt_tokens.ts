/**
 * Prompt token ids for the virtual loop, fast: tokenizing a 2,000-token chat
 * prompt took ~15 ms with lenml's tokenizer (0.4-0.9 ms with lib/llama3_bpe.ts,
 * still more than this path's concatenation of cached pieces). BPE
 * works on pre-tokens (a word with its leading space or punctuation), so the
 * ids of each pre-token are cached and a prompt is the concatenation of its
 * pieces, with the Llama-3.1 chat frame around each message. Only text of
 * ASCII letters, single spaces, `.` and `,` takes this path (all synthetic
 * datasets); anything else, or another tokenizer, goes through the real one.
 * A test checks both paths give the same ids.
 *
 * @module
 */
import { type ChatMessage, messageText, SHIPPED, type Tokenizer } from "./tokenizer.ts";
import shipped from "./_llama3_1_chat_ids.json" with { type: "json" };
import { IdsText, idsTextOf } from "./lazy_text.ts";
import { copyIds, freshIds } from "./id_slabs.ts";
import { IdsRuns, PromptThreads } from "./_prompt_threads.ts";
import { WordTable } from "./_word_table.ts";

/** The shipped tokenizer's id of " word" -> id of "word", for the word list's words. */
const SHIPPED_BARE = shipped.bare as Record<number, number | undefined>;

const LETTERS = /^[A-Za-z]+$/;
const PRETOKEN = /[^\r\nA-Za-z0-9]?[A-Za-z]+| ?[^\sA-Za-z0-9]+/g;
const H = (role: string) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const FRAME = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";

/**
 * Whether the code unit at `i` of a message's text (from the end for a
 * negative `i`) is white space as `\s` has it; an {@linkcode IdsText} is read
 * at its ends without being built.
 */
function spaceAt(text: string | IdsText, i: number): boolean {
  const c = codeAt(text, i);
  // ASCII (nearly every call) without a regex: \s there is tab, LF, VT, FF, CR and space
  if (c < 128) return c === 32 || (c >= 9 && c <= 13);
  return c === c && /\s/.test(String.fromCharCode(c));
}

/** The code unit at `i` of a message's text (from the end for a negative `i`; NaN outside). */
function codeAt(text: string | IdsText, i: number): number {
  return typeof text === "string" ? text.charCodeAt(i < 0 ? text.length + i : i) : text.codeAt(i);
}

/** Encodes prompts like the simulated engine does, with cached pre-tokens. */
export class PromptTokens {
  readonly #tok: Tokenizer;
  /** A word (after a space) -> ids of " word". */
  readonly #pieces = new WordTable();
  /** A word at the start of a text -> ids of "word". */
  readonly #bare = new WordTable();
  /** Pre-token -> ids, for words holding punctuation. */
  readonly #pre = new Map<string, number[]>();
  readonly #frames = new Map<string, number[]>();
  /** Message text -> ids: a conversation re-sends every earlier message each turn. */
  readonly #messages = new Map<string, number[]>();
  /** Role -> ids of its message header. */
  readonly #headers = new Map<string, number[]>();
  /** Id of " word" -> ids of "word" (the chat template trims a message's leading space). */
  readonly #bareOf = new Map<number, number[]>();
  readonly #llama31: boolean;
  /** Conversations' prompt buffers (virtual time's multi-turn chats: messages of known ids). */
  readonly #threads = new PromptThreads();
  /** Ids of a message's end. */
  #eot: number[] | undefined;
  /** Prompts that took the slow path. */
  slow = 0;
  /** Chat messages whose text was scanned for its ids (not known, not cached). */
  scanned = 0;

  constructor(tok: Tokenizer) {
    this.#tok = tok;
    this.#llama31 = tok.name === SHIPPED;
    if (this.#llama31) {
      // the shipped tokenizer's chat frames and word-list bare ids come known: a chat
      // of dataset words and drawn answers then never builds the tokenizer
      for (const [s, ids] of Object.entries(shipped.frames)) this.#frames.set(s, ids);
      // the bare ids are looked up in the shipped table when first needed (`#bare1`): copying
      // its 4,096 entries into the map took milliseconds of every run's start, most of them unused
    }
  }

  /** Ids of `text` without special tokens. */
  text(text: string): number[] {
    const out: number[] = [];
    if (this.#words(text, out)) return out;
    this.slow++;
    return this.#tok.encode(text);
  }

  /**
   * Appends the ids of `text` when it is simple (letters, `.`, `,`, single
   * spaces, none at the end); false when it is not (`out` then holds part).
   * Words between single spaces: a run of letters is one pre-token with its
   * leading space (none for the first); a word holding punctuation goes
   * through the pattern. The word is checked and hashed while scanned (no
   * slicing, one pass) and compared with the cached entry's text.
   */
  #words(text: string, out: number[]): boolean {
    const n = text.length;
    let start = 0;
    let h = 0;
    for (let i = 0; i <= n; i++) {
      const c = i < n ? text.charCodeAt(i) : 32;
      if (c !== 32) {
        const l = c | 32; // a letter of either case: a-z
        if (!((l >= 97 && l <= 122) || c === 46 || c === 44)) return false;
        h = (Math.imul(h, 31) + c) | 0;
        continue;
      }
      if (i === start) {
        if (i > 0 || (n > 0 && i === n)) return false; // two spaces, or one at the end
        start = 1; // a leading space: the first word keeps it
        continue;
      }
      const table = start === 0 ? this.#bare : this.#pieces;
      const hash = h & 0x3fffffff; // non-negative, a small integer (Smi)
      const slot = table.find(text, start, i, hash);
      const one = slot < 0 ? -1 : table.single(slot);
      if (one >= 0) out.push(one);
      else {
        const ids = slot < 0 ? this.#newWord(table, text, start, i, hash) : table.ids(slot);
        for (let k = 0; k < ids.length; k++) out.push(ids[k]);
      }
      start = i + 1;
      h = 0;
    }
    return true;
  }

  /**
   * Ids of the word `text[start, end)` with its leading space (none at 0),
   * from the tokenizer, then held in `table` (when it can hold the word).
   */
  #newWord(table: WordTable, text: string, start: number, end: number, hash: number): number[] {
    const w = text.slice(start, end);
    const piece = start === 0 ? w : " " + w;
    const ids = LETTERS.test(w) ? this.#tok.encode(piece) : this.#pattern(piece);
    table.add(w, hash, ids);
    return ids;
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
    // BOS first, then the words' ids appended in place (no second copy of the prompt)
    const out = bos === undefined ? [] : [bos];
    if (this.#words(prompt, out)) return out;
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

  /** {@linkcode PromptTokens.completionOf} as a `Uint32Array` (see {@linkcode PromptTokens.chatIds}). */
  completionIdsOf(ids: readonly number[]): Uint32Array {
    const bos = this.#tok.bosTokenId;
    const out = freshIds(ids.length + (bos === undefined ? 0 : 1));
    if (bos !== undefined) out[0] = bos;
    out.set(ids, bos === undefined ? 0 : 1);
    return out;
  }

  /**
   * A chat prompt as the server's template renders and tokenizes it. `known[i]`,
   * when given, holds the ids of message i's text as written (a dataset built
   * it of single-token words, or an answer of the output vocabulary), which
   * then needs no tokenizing; a message made of exact ids (`lib/lazy_text.ts`)
   * gives its own.
   */
  chat(messages: ChatMessage[], known?: readonly (readonly number[] | undefined)[]): number[] {
    const r = this.#chat(messages, known);
    return r instanceof IdsRuns ? r.ids() : r;
  }

  /**
   * {@linkcode PromptTokens.chat} as a `Uint32Array`: the same ids, held
   * outside the garbage-collected heap. Virtual time sends these: a
   * conversation's prompts live for seconds of its run, and as arrays they
   * were most of what each young-generation collection copied and promoted.
   * A conversation of messages of known ids keeps its prompts in one buffer
   * (`_prompt_threads.ts`): its next turn's prompt, which repeats the last,
   * renders and copies only what it adds.
   */
  chatIds(
    messages: ChatMessage[],
    known?: readonly (readonly number[] | undefined)[],
  ): Uint32Array {
    // a conversation of known ids: its last prompt's ids lead, only what follows is rendered
    const key = this.#llama31 ? this.#threads.keyOf(messages) : undefined;
    const thread = key && this.#threads.continued(key, messages);
    if (thread) {
      const out = new IdsRuns();
      const from = thread.texts.length;
      // the last prompt ends with the assistant's header: the answer follows it
      for (let i = from; i < messages.length; i++) {
        this.#addMessage(out, messages, i, known, i > from);
      }
      out.add(this.#header("assistant"));
      return this.#threads.extend(thread, messages, out);
    }
    const r = this.#chat(messages, known);
    if (key && r instanceof IdsRuns) return this.#threads.start(key, messages, r);
    return r instanceof IdsRuns ? r.typed() : copyIds(r);
  }

  #chat(
    messages: ChatMessage[],
    known?: readonly (readonly number[] | undefined)[],
  ): IdsRuns | number[] {
    if (!this.#llama31 || messages.some((m) => m.role === "tool" || m.role === "ipython")) {
      this.slow++;
      return this.#tok.encodeChat(messages);
    }
    let first = 0;
    let system = "";
    if (messages[0]?.role === "system") {
      system = messageText(messages[0].content).trim();
      first = 1;
    }
    const out = new IdsRuns();
    out.add(this.#frame(`<|begin_of_text|>${H("system")}${FRAME}`));
    if (system) out.add(this.text(system));
    out.add(this.#eot ??= this.#frame("<|eot_id|>"));
    for (let i = first; i < messages.length; i++) this.#addMessage(out, messages, i, known, true);
    out.add(this.#header("assistant"));
    return out;
  }

  /** Appends message `i` as the template renders it (after its header, unless `header` is false). */
  #addMessage(
    out: IdsRuns,
    messages: ChatMessage[],
    i: number,
    known: readonly (readonly number[] | undefined)[] | undefined,
    header: boolean,
  ): void {
    const m = messages[i];
    if (header) out.add(this.#header(m.role));
    // a message made of known ids (lib/lazy_text.ts) is read by its ids, its text never built
    const lazy = idsTextOf(m);
    let text: string | IdsText | undefined = lazy;
    let given = lazy?.exact ? lazy.ids : undefined;
    if (!lazy && typeof m.content === "string") [text, given] = [m.content, known?.[i]];
    if (!given || !this.#appendTrimmed(out, text!, given)) {
      // the last message is new (what the user just wrote): kept only once re-sent
      const last = i === messages.length - 1;
      out.add(this.#message(messageText(m.content).trim(), !last));
    }
    out.add(this.#eot ??= this.#frame("<|eot_id|>"));
  }

  /**
   * Appends ids `ids` of `text` as the template trims the text (a leading
   * space goes: the first word's ids without it); false, appending nothing,
   * when the trim is not that simple.
   */
  #appendTrimmed(out: IdsRuns, text: string | IdsText, ids: ArrayLike<number>): boolean {
    if (ids.length === 0) return false;
    if (spaceAt(text, -1)) return false; // trailing space: the template would trim it
    if (!spaceAt(text, 0)) {
      out.add(ids);
      return true;
    }
    if (codeAt(text, 0) !== 32 || spaceAt(text, 1)) return false;
    out.add(this.#bare1(ids[0]));
    out.add(ids, 1);
    return true;
  }

  /** Ids of word id `id`'s text without its leading space (the shipped table's, else tokenized once). */
  #bare1(id: number): number[] {
    let bare = this.#bareOf.get(id);
    if (!bare) {
      const known = this.#llama31 ? SHIPPED_BARE[id] : undefined;
      bare = known !== undefined ? [known] : this.#tok.encode(this.#tok.decode([id]).trimStart());
      this.#bareOf.set(id, bare);
    }
    return bare;
  }

  #header(role: string): number[] {
    let ids = this.#headers.get(role);
    if (!ids) this.#headers.set(role, ids = this.#frame(H(role)));
    return ids;
  }

  /**
   * Ids of a message's text, from the cache (a conversation re-sends every
   * earlier message each turn); kept there when `keep`. A message not to keep
   * (the last: what the user just wrote) is not looked up either: hashing its
   * text for the lookup cost as much as a tenth of scanning it.
   */
  #message(text: string, keep: boolean): number[] {
    let ids = keep ? this.#messages.get(text) : undefined;
    if (!ids) {
      this.scanned++;
      ids = this.text(text);
      if (!keep) return ids;
      if (this.#messages.size >= 4096) this.#messages.clear(); // bounded: a conversation re-sends within seconds
      this.#messages.set(text, ids);
    }
    return ids;
  }

  #frame(s: string): number[] {
    let ids = this.#frames.get(s);
    if (!ids) this.#frames.set(s, ids = this.#tok.encode(s));
    return ids;
  }
}
