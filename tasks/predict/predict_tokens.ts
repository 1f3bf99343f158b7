/**
 * What the virtual sender knows of a predicted request's tokens: the ids a
 * dataset already holds (a single-turn prompt's; a conversation's user
 * messages) and the ids of answers the engine drew, so that the frontend need
 * not tokenize a prompt built of them; and the text of output ids (a
 * conversation's next turn re-sends it). The output itself is drawn by the
 * topology's request frontend, as `deno task sim` draws it.
 *
 * @module
 */
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import { answerTokens, type OutputVocab } from "../../launch/sim/core/vocab.ts";
import type { Job } from "../../bench/work_source.ts";
import type { Conversation, Message, RequestSpec } from "../../bench/workload/types.ts";
import type { RequestTokens } from "./virtual_sender.ts";

/** An answer of a running conversation, with the ids its text tokenizes to. */
interface KnownAnswer {
  text: string;
  ids: readonly number[];
}

/** A conversation in flight: its turns, and the answers its later turns re-send. */
interface Running {
  turns: Conversation["turns"];
  answers: (KnownAnswer | undefined)[];
}

/** The tokens of predicted requests, over the engine's prompt cache and vocabulary. */
export function predictTokens(prompts: PromptTokens, vocab: OutputVocab): RequestTokens {
  const running = new Map<string, Running>();
  // answer text -> its exact ids, from its drawing until the conversation's next turn claims it
  const drawn = new Map<string, readonly number[]>();
  return {
    text(ids: number[]): string {
      const a = answerTokens(vocab, ids);
      if (a.exactIds && a.text.length) drawn.set(a.text, a.exactIds);
      return a.text;
    },
    promptTokens(spec: RequestSpec): number[] | undefined {
      // the engine copies what it keeps of the prompt: the dataset's array goes in as is
      if (spec.completionTokenIds) return spec.completionTokenIds as number[];
      const ids = spec.promptTokenIds;
      const m = spec.messages;
      if (!ids) {
        const r = m && running.get(spec.conversationId);
        return r ? prompts.chat(m!, knownIds(r, m!, drawn)) : undefined;
      }
      // a single-turn prompt the dataset built from known ids: no text is scanned
      if (!m) return prompts.completionOf(ids);
      return m.length === 1 && typeof m[0].content === "string"
        ? prompts.chat(m, [ids])
        : undefined;
    },
    open(job: Job): void {
      const c = job.conversation;
      if (c) running.set(c.conversationId, { turns: c.turns, answers: [] });
    },
    close(job: Job): void {
      const c = job.conversation;
      if (c) running.delete(c.conversationId);
    },
  };
}

/**
 * The known ids of each message of a conversation's turn (undefined where not
 * known: the frontend's own path tokenizes that one): user messages the dataset
 * built, answers drawn with exact ids. A message counts only when its text is
 * the one the ids belong to.
 */
function knownIds(
  r: Running,
  messages: readonly Message[],
  drawn: Map<string, readonly number[]>,
): (readonly number[] | undefined)[] {
  const known = new Array<readonly number[] | undefined>(messages.length);
  let user = 0, answer = 0;
  for (let i = 0; i < messages.length; i++) {
    const { role, content } = messages[i];
    if (typeof content !== "string") continue;
    if (role === "user") {
      const t = r.turns[user++];
      if (t && t.user === content) known[i] = t.userTokenIds;
    } else if (role === "assistant") {
      let a = r.answers[answer];
      if (!a || a.text !== content) {
        const ids = drawn.get(content);
        if (ids) drawn.delete(content);
        a = r.answers[answer] = ids ? { text: content, ids } : undefined;
      }
      known[i] = a?.ids;
      answer++;
    }
  }
  return known;
}
