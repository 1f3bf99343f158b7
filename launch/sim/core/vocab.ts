/**
 * Output tokens for the simulated engine: real token ids of common English
 * words, so that the text decodes cleanly and token counts stay exact.
 *
 * @module
 */
import type { Tokenizer } from "../../../lib/tokenizer.ts";
import type { Rng } from "../../../lib/rng.ts";

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

/** Builds the vocabulary from the tokenizer (forms that encode to one id and decode back). */
export function buildVocab(tok: Tokenizer): OutputVocab {
  const text = new Map<number, string>();
  const words: number[] = [], firstIds: number[] = [], punct: number[] = [];
  const add = (list: number[], form: string) => {
    const id = one(tok, form);
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
export function sampleOutput(vocab: OutputVocab, rng: Rng, n: number, eos: boolean): number[] {
  const out: number[] = [];
  let lastPunct = true;
  for (let i = 0; i < n; i++) {
    let id: number;
    if (i === 0) id = rng.pick(vocab.firstIds);
    else if (!lastPunct && vocab.punct.length && rng.next() < 0.1) id = rng.pick(vocab.punct);
    else id = rng.pick(vocab.words);
    lastPunct = vocab.punct.includes(id);
    out.push(id);
  }
  if (eos && n > 0 && vocab.eosId >= 0) out[n - 1] = vocab.eosId;
  return out;
}

/** Text of one output token (EOS decodes to nothing, as vLLM skips special tokens). */
export function tokenText(vocab: OutputVocab, id: number): string {
  return vocab.text.get(id) ?? "";
}
