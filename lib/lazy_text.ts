/**
 * Text known by its token ids, built only when something reads it, and not
 * kept. In virtual time a conversation re-sends every earlier message each
 * turn, and nothing there needs the words (the prompt's ids are known) but a
 * prefix-hashing router policy; building each message's text cost more than
 * simulating it. Each id stands for one piece of text (a word with its space,
 * a mark; an id with no piece stands for none, as EOS), so the length and the
 * characters at the ends follow without building the text.
 *
 * A message (or answer, or conversation turn) made with such text carries it
 * under {@linkcode IDS_TEXT}: readers that only need its ids, length or ends
 * ask {@linkcode idsTextOf} first; the rest read `content` (built on each read).
 *
 * @example
 * ```ts
 * const pieces = ["", " the", " city", "."];
 * const m = new LazyMessage("user", new IdsText([1, 2, 3], pieces));
 * idsTextOf(m)?.length; // 10, nothing built
 * m.content; // " the city." (built now)
 * ```
 *
 * @module
 */

/** Where a message, answer or turn made of known ids keeps its {@linkcode IdsText}. */
export const IDS_TEXT: unique symbol = Symbol("ids text");

/** The longest piece, by pieces table. */
const longestOf = new WeakMap<readonly (string | undefined)[], number>();
/** The pieces table asked for last, and its longest piece. */
let lastPieces: readonly (string | undefined)[] | null = null;
let lastLongest = 0;

/** The text of token ids, each standing for one piece. */
export class IdsText {
  /** Texts built so far in this process (tests check that virtual time builds none). */
  static built = 0;
  #length = -1;
  /** The first and last code units, once asked for (-2: not yet; NaN: no text). */
  #first = -2;
  #last = -2;
  /**
   * The prompt buffer of the conversation this text opens, kept here by
   * whoever builds its prompts (`lib/_prompt_threads.ts`): it lives as long
   * as the conversation's text (a `WeakMap` of them cost the collector more
   * than building the prompts).
   */
  thread: unknown = undefined;

  /**
   * @param ids the token ids, in order
   * @param pieces the text of each id, by id (missing: no text)
   * @param exact whether tokenizing the text gives `ids` back (then a prompt of it needs no tokenizing)
   */
  constructor(
    readonly ids: ArrayLike<number>,
    readonly pieces: readonly (string | undefined)[],
    readonly exact = true,
  ) {}

  /** Characters (UTF-16 code units) of the text; counted once, without building it. */
  get length(): number {
    if (this.#length < 0) {
      let n = 0;
      for (let k = 0; k < this.ids.length; k++) n += this.pieces[this.ids[k]]?.length ?? 0;
      this.#length = n;
    }
    return this.#length;
  }

  /** A bound on {@linkcode IdsText.length} that costs nothing: ids times the longest piece. */
  get maxLength(): number {
    // a run reads one pieces table: the last one asked for answers without a WeakMap look-up
    if (this.pieces !== lastPieces) {
      let longest = longestOf.get(this.pieces);
      if (longest === undefined) {
        // an index loop: this runs once per table, before it is optimised, where `for..of`
        // over 128k pieces took ~30 against ~5 ms (an iterator result per piece)
        const pieces = this.pieces;
        longest = 0;
        for (let k = 0; k < pieces.length; k++) longest = Math.max(longest, pieces[k]?.length ?? 0);
        longestOf.set(this.pieces, longest);
      }
      lastPieces = this.pieces;
      lastLongest = longest;
    }
    return this.ids.length * lastLongest;
  }

  /**
   * The code unit at `i`, or at `length + i` for a negative `i` (NaN outside
   * the text), found from that end without building the text or counting it.
   */
  codeAt(i: number): number {
    // the ends are asked for each time a conversation re-sends the text (a chat template trims it)
    if (i === 0) return this.#first < -1 ? (this.#first = this.#codeAt(0)) : this.#first;
    if (i === -1) return this.#last < -1 ? (this.#last = this.#codeAt(-1)) : this.#last;
    return this.#codeAt(i);
  }

  #codeAt(i: number): number {
    const { ids, pieces } = this;
    if (i >= 0) {
      for (let k = 0; k < ids.length; k++) {
        const p = pieces[ids[k]] ?? "";
        if (i < p.length) return p.charCodeAt(i);
        i -= p.length;
      }
      return NaN;
    }
    let j = -i - 1; // from the end
    for (let k = ids.length - 1; k >= 0; k--) {
      const p = pieces[ids[k]] ?? "";
      if (j < p.length) return p.charCodeAt(p.length - 1 - j);
      j -= p.length;
    }
    return NaN;
  }

  /** The text, built now (one flat string; not kept). */
  toString(): string {
    IdsText.built++;
    const { ids, pieces } = this;
    const parts = new Array<string>(ids.length);
    for (let k = 0; k < ids.length; k++) parts[k] = pieces[ids[k]] ?? "";
    return parts.join("");
  }
}

/**
 * A chat message whose `content` is its {@linkcode IdsText}, built on each read
 * (`JSON.stringify` writes it; a spread copies the text's mark, not `content`).
 */
export class LazyMessage<R extends string = string> {
  readonly [IDS_TEXT]: IdsText;

  constructor(readonly role: R, text: IdsText) {
    this[IDS_TEXT] = text;
  }

  /** The text, built now. */
  get content(): string {
    return this[IDS_TEXT].toString();
  }

  toJSON(): { role: R; content: string } {
    return { role: this.role, content: this.content };
  }
}

/** The {@linkcode IdsText} a message, answer or turn was made of, if any (nothing is built). */
export function idsTextOf(o: unknown): IdsText | undefined {
  if (typeof o !== "object" || o === null) return undefined;
  return (o as { [IDS_TEXT]?: IdsText })[IDS_TEXT];
}
