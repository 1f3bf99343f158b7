/**
 * What the virtual sender knows of a predicted request's tokens: the ids a
 * dataset already holds (a single-turn prompt's ids handed to the frontend;
 * a conversation's told to {@linkcode PromptTokens} while it runs, so the
 * frontend need not tokenize them) and the text of
 * output ids (a conversation's next turn reads it). The output itself is drawn
 * by the topology's request frontend, as `deno task sim` draws it.
 *
 * @module
 */
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import { type OutputVocab, tokenText } from "../../launch/sim/core/vocab.ts";
import type { Job } from "../../bench/work_source.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import type { RequestTokens } from "./virtual_sender.ts";

/** The tokens of predicted requests, over the engine's prompt cache and vocabulary. */
export function predictTokens(prompts: PromptTokens, vocab: OutputVocab): RequestTokens {
  return {
    text: (ids) => ids.map((id) => tokenText(vocab, id)).join(""),
    // a single-turn prompt the dataset built from known ids: no text is scanned
    promptTokens(spec: RequestSpec): number[] | undefined {
      const ids = spec.promptTokenIds;
      if (!ids) return undefined;
      if (typeof spec.prompt === "string") return prompts.completionOf(ids);
      const m = spec.messages;
      return m?.length === 1 && typeof m[0].content === "string"
        ? prompts.chat(m, [ids])
        : undefined;
    },
    // ids the dataset knows need no tokenizing (told while the conversation runs)
    open(job: Job): void {
      for (const t of job.conversation?.turns ?? []) {
        if (t.userTokenIds && typeof t.user === "string") prompts.know(t.user, t.userTokenIds);
      }
    },
    close(job: Job): void {
      for (const t of job.conversation?.turns ?? []) {
        if (typeof t.user === "string") prompts.forget(t.user);
      }
    },
  };
}
