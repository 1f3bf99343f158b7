/**
 * Output tokens for the simulated engine: real token ids of common English
 * words, so that the text decodes cleanly and token counts stay exact.
 *
 * @module
 */
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { Rng } from "../../lib/rng.ts";

const WORDS =
  "the of and to in is was for that on as with by it from at his an be this are which or had not but were have their one also its after first new two has they other been who more into all time some when than only most her may many over there during such would can three these years later about up between under well where while both before through known city out made world since state being school year them part used including so national three four then states people could area both however group called each high against small still several north south early game team series life local music film long best back water work war century number second family along government name large major public history region area season around left last without until place members although because even led another church university city river house power people system named same five based own found form among became home took took old held them"
    .split(
      /\s+/,
    );

/** A sampling vocabulary: token ids with the text each decodes to alone. */
export interface OutputVocab {
  ids: number[];
  text: Map<number, string>;
  eosId: number;
}

/** Builds the vocabulary from the tokenizer (ids of " word" that decode back exactly). */
export function buildVocab(tok: Tokenizer): OutputVocab {
  const text = new Map<number, string>();
  for (const w of new Set(WORDS)) {
    for (const form of [" " + w, " " + w[0].toUpperCase() + w.slice(1)]) {
      const ids = tok.encode(form);
      if (ids.length === 1 && tok.decode(ids) === form) text.set(ids[0], form);
    }
  }
  for (const p of [".", ",", " and"]) {
    const ids = tok.encode(p);
    if (ids.length === 1) text.set(ids[0], tok.decode(ids));
  }
  if (text.size < 50) {
    throw new RangeError(
      `Cannot build an output vocabulary from tokenizer ${tok.name}: only ${text.size} words encode to one token`,
    );
  }
  return { ids: [...text.keys()], text, eosId: tok.eosTokenId ?? -1 };
}

/** Samples `n` output token ids; with `eos`, the last one is the EOS token. */
export function sampleOutput(vocab: OutputVocab, rng: Rng, n: number, eos: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(rng.pick(vocab.ids));
  if (eos && n > 0 && vocab.eosId >= 0) out[n - 1] = vocab.eosId;
  return out;
}

/** Text of one output token (EOS decodes to nothing, as vLLM skips special tokens). */
export function tokenText(vocab: OutputVocab, id: number): string {
  return vocab.text.get(id) ?? "";
}
