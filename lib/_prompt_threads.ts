/**
 * A chat prompt's ids gathered as runs, and a conversation's prompts kept as
 * one buffer that each turn appends to. A conversation's next prompt repeats
 * its last one, then adds the answer, the new user message and the frame
 * around them: rendering and copying the whole history each turn was most of
 * the cost of building a multi-turn prompt. Each prompt is a view of the
 * buffer's first ids; a buffer is only ever written past the end of its last
 * prompt, so a view handed out never changes.
 *
 * @module
 */
import type { ChatMessage } from "./tokenizer.ts";
import { type IdsText, idsTextOf } from "./lazy_text.ts";
import { freshIds } from "./id_slabs.ts";

/**
 * A prompt's ids gathered as runs of other arrays and copied once into an
 * array of the final length: a long chat prompt grown by `push` is copied
 * several times as it grows (most of a virtual run's allocation).
 */
export class IdsRuns {
  readonly #runs: ArrayLike<number>[] = [];
  readonly #from: number[] = [];
  /** Ids gathered. */
  length = 0;

  /** Appends `ids` from index `from` on (kept by reference until the ids are copied out). */
  add(ids: ArrayLike<number>, from = 0): void {
    this.#runs.push(ids);
    this.#from.push(from);
    this.length += ids.length - from;
  }

  /** The ids in one array. */
  ids(): number[] {
    const out = new Array<number>(this.length);
    let k = 0;
    for (let r = 0; r < this.#runs.length; r++) {
      const run = this.#runs[r];
      for (let i = this.#from[r]; i < run.length; i++) out[k++] = run[i];
    }
    return out;
  }

  /** The ids in one typed array (a slab view, `lib/id_slabs.ts`). */
  typed(): Uint32Array {
    const out = freshIds(this.length);
    this.writeInto(out, 0);
    return out;
  }

  /** Writes the ids into `out` from index `at` on (`out` has room for them). */
  writeInto(out: Uint32Array, at: number): void {
    let k = at;
    for (let r = 0; r < this.#runs.length; r++) {
      const run = this.#runs[r], from = this.#from[r];
      if (from === 0) out.set(run, k); // a copy in one call (typed or array)
      else for (let i = from; i < run.length; i++) out[k + i - from] = run[i];
      k += run.length - from;
    }
  }
}

/** A conversation's prompt ids so far, in a buffer with room for its next turns. */
export interface Thread {
  /** The buffer: the last prompt's ids first. */
  buffer: Uint32Array;
  /** Ids of the last prompt. */
  length: number;
  /** Each message of the last prompt: its text as given (an {@linkcode IdsText}, or a string). */
  texts: (IdsText | string)[];
  roles: string[];
  /** Whose buffer it is (another encoder's is not extended). */
  owner: PromptThreads;
}

/** Recent prompt lengths kept to size a new conversation's buffer. */
const RECENT = 64;

/**
 * Conversations' prompt buffers, each kept on its conversation's first text
 * of known ids ({@linkcode IdsText.thread}).
 */
export class PromptThreads {
  /** The lengths of recent prompts (their longest sizes a new buffer: a conversation grows to it). */
  readonly #recent = new Uint32Array(RECENT);
  #next = 0;

  /**
   * The key of a conversation's messages when they can go in a buffer: the
   * text of its first message after an optional system message of text,
   * when every such message is made of known ids; else undefined.
   */
  keyOf(messages: readonly ChatMessage[]): IdsText | undefined {
    const first = messages[0]?.role === "system" && typeof messages[0].content === "string" ? 1 : 0;
    if (messages.length <= first) return undefined;
    for (let i = first; i < messages.length; i++) {
      const role = messages[i].role;
      if ((role !== "user" && role !== "assistant") || !idsTextOf(messages[i])) return undefined;
    }
    return idsTextOf(messages[first]);
  }

  /**
   * The conversation's buffer when `messages` repeat its last prompt's
   * messages and go on with an answer (the last prompt's ids then lead
   * these), else undefined.
   */
  continued(key: IdsText, messages: readonly ChatMessage[]): Thread | undefined {
    const t = key.thread as Thread | undefined;
    if (!t || t.owner !== this) return undefined;
    const n = t.texts.length;
    if (messages.length <= n || messages[n].role !== "assistant") return undefined;
    for (let i = 0; i < n; i++) {
      const m = messages[i];
      if (m.role !== t.roles[i] || (idsTextOf(m) ?? m.content) !== t.texts[i]) return undefined;
    }
    return t;
  }

  /** A new buffer for the conversation of `key`, holding `runs` (its first prompt seen). */
  start(key: IdsText, messages: readonly ChatMessage[], runs: IdsRuns): Uint32Array {
    const buffer = freshIds(Math.max(runs.length, this.#longest()));
    runs.writeInto(buffer, 0);
    const t: Thread = { buffer, length: runs.length, texts: [], roles: [], owner: this };
    this.#took(t, messages, 0);
    key.thread = t;
    return this.#view(t);
  }

  /** Appends `runs` (what `messages` add to its last prompt) to a conversation's buffer. */
  extend(t: Thread, messages: readonly ChatMessage[], runs: IdsRuns): Uint32Array {
    const n = t.length + runs.length;
    if (n > t.buffer.length) {
      // a new buffer, the old one left to the prompts that view it
      const buffer = freshIds(Math.max(n + (n >> 1), this.#longest()));
      buffer.set(this.#view(t));
      t.buffer = buffer;
    }
    runs.writeInto(t.buffer, t.length);
    t.length = n;
    this.#took(t, messages, t.texts.length);
    return this.#view(t);
  }

  #took(t: Thread, messages: readonly ChatMessage[], from: number): void {
    for (let i = from; i < messages.length; i++) {
      const m = messages[i];
      t.texts.push(idsTextOf(m) ?? (m.content as string));
      t.roles.push(m.role);
    }
    this.#recent[this.#next] = t.length;
    this.#next = (this.#next + 1) % RECENT;
  }

  #longest(): number {
    let max = 0;
    for (let i = 0; i < RECENT; i++) if (this.#recent[i] > max) max = this.#recent[i];
    return max;
  }

  /** The last prompt: a view of the buffer's first ids (made by the constructor: see `lib/id_slabs.ts`). */
  #view(t: Thread): Uint32Array {
    return new Uint32Array(t.buffer.buffer, t.buffer.byteOffset, t.length);
  }
}
