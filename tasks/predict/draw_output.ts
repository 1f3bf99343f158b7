/**
 * A predicted request's tokens, as the simulated engine would make them:
 * prompt ids by the engine's tokenizer ({@linkcode PromptTokens}), the output
 * length drawn like `deno task sim` draws it (exponential around the mean
 * unless EOS is ignored, capped by `max_tokens`) and output ids from its
 * vocabulary. One seeded stream per run, drawn in send order.
 *
 * @module
 */
import { Rng } from "../../lib/rng.ts";
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import { type OutputVocab, sampleOutput, tokenText } from "../../launch/sim/_vocab.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import type { Job } from "../../bench/work_source.ts";
import type { DrawnTokens, RequestTokens } from "./virtual_sender.ts";

/** Options of {@linkcode drawOutput}. */
export interface DrawOutputOptions {
  prompts: PromptTokens;
  vocab: OutputVocab;
  /** Mean output tokens when EOS is not ignored (the engine's `--mean-output-tokens`). @default 256 */
  meanOutputTokens?: number;
  /** Seed of output tokens and lengths. */
  seed: number;
}

/** The tokens of predicted requests: prompt ids, a drawn output. */
export function drawOutput(o: DrawOutputOptions): RequestTokens {
  const rng = new Rng(`predict-output:${o.seed}`);
  const { prompts, vocab } = o;
  return {
    draw(spec: RequestSpec): DrawnTokens {
      const promptTokens = spec.messages
        ? prompts.chat(spec.messages.map((m) => ({ role: m.role, content: m.content })))
        : prompts.completion(spec.prompt ?? "");
      let n = spec.maxTokens;
      let reason: "stop" | "length" = "length";
      if (!spec.ignoreEos) {
        const drawn = Math.max(1, Math.ceil(rng.exponential(o.meanOutputTokens ?? 256)));
        if (drawn < n) [n, reason] = [drawn, "stop"];
      }
      const outputIds = sampleOutput(vocab, rng, n, reason === "stop");
      return { promptTokens, outputIds, finishReason: reason };
    },
    text: (ids) => ids.map((id) => tokenText(vocab, id)).join(""),
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
