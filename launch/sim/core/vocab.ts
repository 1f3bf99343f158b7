/**
 * Output tokens for the simulated engine: real token ids of common English
 * words, so that the text decodes cleanly and token counts stay exact.
 *
 * @module
 */
import { SHIPPED, type Tokenizer } from "../../../lib/tokenizer.ts";
import shipped from "./_llama3_1_vocab.json" with { type: "json" };
import type { Rng } from "../../../lib/rng.ts";
import { freshIds } from "../../../lib/id_slabs.ts";

const WORDS =
  "the of and to in is was for that on as with by it from at his an be this are which or had not but were have their one also its after first new two has they other been who more into all time some when than only most her may many over there during such would can three these years later about up between under well where while both before through known city out made world since state being school year them part used including so national three four then states people could area both however group called each high against small still several north south early game team series life local music film long best back water work war century number second family along government name large major public history region area season around left last without until place members although because even led another church university city river house power people system named same five based own found form among became home took took old held them"
    .split(
      /\s+/,
    );

/**
 * A sampling vocabulary: token ids with the text each decodes to alone. An
 * answer starts with a word without its leading space (as a model's answer after
 * the chat template's `\n\n` does) and never puts two punctuation tokens side by
 * side, so its text re-tokenizes to the same ids: re-sent in the next turn's
 * prompt, it hits the prefix cache block for block, as in vLLM.
 */
export interface OutputVocab {
  /** Every id (words, then punctuation). */
  ids: number[];
  /** Word ids (`" word"`). */
  words: number[];
  /** Ids of capitalised words without a leading space, to start an answer. */
  firstIds: number[];
  /** Punctuation ids (`.` `,`). */
  punct: number[];
  text: Map<number, string>;
  eosId: number;
}

const one = (tok: Tokenizer, form: string): number | null => {
  const ids = tok.encode(form);
  return ids.length === 1 && tok.decode(ids) === form ? ids[0] : null;
};

/**
 * Builds the vocabulary from the tokenizer (forms that encode to one id and
 * decode back). The shipped tokenizer's forms come from `_llama3_1_vocab.json`
 * (made by {@linkcode vocabForms}; a test checks it), so the tokenizer itself
 * is not built for them.
 */
export function buildVocab(tok: Tokenizer): OutputVocab {
  if (tok.name === SHIPPED) {
    const forms = shipped.forms as Record<string, number | null>;
    return vocabOf(tok, (form) => {
      const id = forms[form];
      if (id === undefined) {
        throw new RangeError(
          `Cannot find form ${
            JSON.stringify(form)
          } in _llama3_1_vocab.json: current value is missing`,
        );
      }
      return id;
    });
  }
  return vocabOf(tok, (form) => one(tok, form));
}

/** Each form the vocabulary tries, with its one id (null: not one token), as `_llama3_1_vocab.json` holds them. */
export function vocabForms(tok: Tokenizer): Record<string, number | null> {
  const forms: Record<string, number | null> = {};
  vocabOf(tok, (form) => forms[form] = one(tok, form));
  return forms;
}

function vocabOf(tok: Tokenizer, idOf: (form: string) => number | null): OutputVocab {
  const text = new Map<number, string>();
  const words: number[] = [], firstIds: number[] = [], punct: number[] = [];
  const add = (list: number[], form: string) => {
    const id = idOf(form);
    if (id !== null && !text.has(id)) {
      text.set(id, form);
      list.push(id);
    }
  };
  for (const w of new Set(WORDS)) {
    const cap = w[0].toUpperCase() + w.slice(1);
    add(words, " " + w);
    add(words, " " + cap);
    add(firstIds, cap);
  }
  for (const p of [".", ","]) add(punct, p);
  if (words.length < 50 || firstIds.length < 10) {
    throw new RangeError(
      `Cannot build an output vocabulary from tokenizer ${tok.name}: only ${words.length} words and ${firstIds.length} first words encode to one token`,
    );
  }
  return {
    ids: [...words, ...punct],
    words,
    firstIds,
    punct,
    text,
    eosId: tok.eosTokenId ?? -1,
  };
}

/**
 * Samples `n` output token ids: a first word, then words with a punctuation mark
 * now and then (never two in a row); with `eos`, the last one is the EOS token.
 */
export function sampleOutput(vocab: OutputVocab, rng: Rng, n: number, eos: boolean): Uint32Array {
  // a view of a shared slab (`lib/id_slabs.ts`): the output lives as long as its request, and
  // as an array it was most of what young-generation collections still copied
  const out = freshIds(n > 0 ? Math.ceil(n) : 0);
  const { words, punct } = vocab, W = words.length, P = punct.length;
  // the draws of rng.pick (an index from one next()), without a call per token: this
  // runs once per output token of a run, mostly before the code is optimised
  if (n > 0) out[0] = rng.pick(vocab.firstIds);
  let lastPunct = false;
  for (let i = 1; i < n; i++) {
    if (!lastPunct && P && rng.next() < 0.1) {
      out[i] = punct[Math.floor(rng.next() * P)];
      lastPunct = true;
    } else {
      out[i] = words[Math.floor(rng.next() * W)];
      lastPunct = false;
    }
  }
  if (eos && n > 0 && vocab.eosId >= 0) out[n - 1] = vocab.eosId;
  return out;
}

/** Text of one output token (EOS decodes to nothing, as vLLM skips special tokens). */
export function tokenText(vocab: OutputVocab, id: number): string {
  return vocab.text.get(id) ?? "";
}

/** An answer's text, and its ids when the text tokenizes back to exactly them. */
export interface AnswerTokens {
  text: string;
  /**
   * The ids the tokenizer gives for `text` (EOS dropped: it decodes to nothing),
   * or null when that is not certain (then the text must be tokenized).
   */
  exactIds: ArrayLike<number> | null;
}

const FIRST = 1, WORD = 2, PUNCT = 3;

/** Each id's kind (0: none) and text, by id. */
interface ById {
  kind: Uint8Array;
  text: string[];
}
const byIdOf = new WeakMap<OutputVocab, ById>();

function byId(vocab: OutputVocab): ById {
  let t = byIdOf.get(vocab);
  if (!t) {
    const n = Math.max(0, ...vocab.text.keys()) + 1;
    t = { kind: new Uint8Array(n), text: new Array<string>(n).fill("") };
    const lists = [[vocab.firstIds, FIRST], [vocab.words, WORD], [vocab.punct, PUNCT]] as const;
    for (const [ids, kind] of lists) {
      for (const id of ids) {
        t.kind[id] = kind;
        t.text[id] = vocab.text.get(id)!;
      }
    }
    byIdOf.set(vocab, t);
  }
  return t;
}

/**
 * The text of output ids, and whether re-tokenizing it gives them back. Each
 * form encodes to its one id alone (as {@linkcode buildVocab} checked); the
 * text splits into exactly those forms when it starts with a first word
 * (no leading space, which a chat template would trim), every later id is a
 * ` word` or a punctuation mark, and no two marks touch (`.,` would be one
 * pre-token). {@linkcode sampleOutput} draws only such answers.
 */
export function answerTokens(vocab: OutputVocab, ids: ArrayLike<number>): AnswerTokens {
  const text = byId(vocab).text;
  const parts: string[] = [];
  for (let i = 0; i < ids.length; i++) parts.push(text[ids[i]] ?? "");
  return { text: parts.join(""), exactIds: exactAnswerIds(vocab, ids) };
}

/**
 * The `exactIds` of {@linkcode answerTokens} without building the text: `ids`
 * itself when it holds no EOS, else a copy without it; null when not exact.
 */
export function exactAnswerIds(
  vocab: OutputVocab,
  ids: ArrayLike<number>,
): ArrayLike<number> | null {
  const kinds = byId(vocab).kind;
  let exact: number[] | null = null; // a copy, once an EOS was dropped
  let prev = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    const kind = kinds[id] ?? 0;
    if (kind === 0) {
      // EOS (or an id outside the vocabulary) decodes to nothing
      if (id !== vocab.eosId) return null;
      exact ??= Array.prototype.slice.call(ids, 0, i) as number[];
      continue;
    }
    const fits = prev === 0 ? kind === FIRST : kind === WORD || (kind === PUNCT && prev !== PUNCT);
    if (!fits) return null;
    exact?.push(id);
    prev = kind;
  }
  return exact ?? ids;
}

/**
 * The text of each output id, by id ("" for EOS and ids outside the
 * vocabulary): the pieces of an answer's `IdsText` (lib/lazy_text.ts).
 */
export function answerPieces(vocab: OutputVocab): readonly string[] {
  return byId(vocab).text;
}
