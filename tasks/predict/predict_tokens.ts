/**
 * What the virtual sender knows of a predicted request's tokens: the ids a
 * dataset already holds (a single-turn prompt's; a conversation's user
 * messages) and the ids of answers the engine drew, so that the frontend need
 * not tokenize a prompt built of them; and the answers a conversation's next
 * turn re-sends, as text of their output ids that is built only if something
 * reads it (`lib/lazy_text.ts`: the ids travel with the message). The output
 * itself is drawn by the topology's request frontend, as `deno task sim` draws it.
 *
 * @module
 */
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import { IDS_TEXT, IdsText, idsTextOf } from "../../lib/lazy_text.ts";
import { copyIds } from "../../lib/id_slabs.ts";
import { answerPieces, exactAnswerIds, type OutputVocab } from "../../launch/sim/core/vocab.ts";
import type { ContentPart, Message, RequestSpec } from "../../bench/workload/types.ts";
import type { Answer } from "../../bench/load_driver.ts";
import type { RequestTokens } from "./virtual_sender.ts";
import type { TokenIds } from "../../launch/sim/core/engine.ts";

/** The tokens of predicted requests, over the engine's prompt cache and vocabulary. */
export function predictTokens(prompts: PromptTokens, vocab: OutputVocab): RequestTokens {
  const pieces = answerPieces(vocab);
  return {
    answer(ids: ArrayLike<number>, tokens: number): Answer {
      // exact: the text tokenizes back to these ids (EOS dropped), so a prompt holding it needs no tokenizing
      const exact = exactAnswerIds(vocab, ids);
      const kept = exact ?? ids;
      // kept for the conversation's later turns in a typed array, outside the collected heap: the
      // engine's drawn output is one already (a slab view nothing writes again), else a copy
      return new IdsAnswer(
        new IdsText(kept instanceof Uint32Array ? kept : copyIds(kept), pieces, exact !== null),
        tokens,
      );
    },
    promptTokens(spec: RequestSpec): TokenIds | undefined {
      // the engine copies what it keeps of the prompt: the dataset's array goes in as is
      if (spec.completionTokenIds) return spec.completionTokenIds;
      const ids = spec.promptTokenIds;
      const m = spec.messages;
      // a conversation's turn: its known messages (user words, drawn answers) give their ids
      if (!ids) return m && m.some(known) ? prompts.chatIds(m) : undefined;
      // a single-turn prompt the dataset built from known ids: no text is scanned
      if (!m) return prompts.completionIdsOf(ids);
      if (m.length !== 1) return undefined;
      if (typeof m[0].content === "string") return prompts.chatIds(m, [ids]);
      // text among image parts: the ids of its text (the frontend adds the images' placeholders)
      const text = onlyText(m[0].content);
      return text === undefined
        ? undefined
        : prompts.chatIds([{ role: m[0].role, content: text }], [ids]);
    },
  };
}

/** An answer of output ids: its text is built on each read. */
class IdsAnswer implements Answer {
  readonly [IDS_TEXT]: IdsText;

  constructor(said: IdsText, readonly tokens: number) {
    this[IDS_TEXT] = said;
  }

  get text(): string {
    return this[IDS_TEXT].toString();
  }
}

/**
 * The text of a message's parts when one part holds all of it (the others are
 * images): the chat template renders such a message as that text.
 */
function onlyText(parts: readonly ContentPart[]): string | undefined {
  let text: string | undefined;
  for (const p of parts) {
    if (p.type !== "text") continue;
    if (text !== undefined) return undefined;
    text = p.text;
  }
  return text;
}

/** Whether a message is made of known ids (its text not built). */
function known(m: Message): boolean {
  return idsTextOf(m) !== undefined;
}
