/**
 * What a virtual topology takes and answers: a request as the client sends it,
 * the client's side of its end, the inputs the instances' request frontends
 * need, and a request once a frontend admitted it. SIMULATED, virtual clock.
 *
 * @module
 */
import type { PromptTokens } from "../../lib/prompt_tokens.ts";
import type { Tokenizer } from "../../lib/tokenizer.ts";
import type { FinishInfo, TokenIds } from "../../launch/sim/core/engine.ts";
import type { PromptImage } from "../../launch/sim/core/image.ts";
import type { OutputPlan } from "../../launch/sim/core/frontend.ts";
import type { ClientFields } from "../../launch/sim/core/openai.ts";
import type { OutputVocab } from "../../launch/sim/core/vocab.ts";

/**
 * One request as a client sends it: the body the HTTP client would send, read
 * by the engine's request frontend.
 */
export interface VirtualRequest {
  id: string;
  /** Session key (conversation id) for sticky policies and PPD. */
  session?: string;
  /**
   * The OpenAI body: `messages` (chat) or `prompt` (completions), `max_tokens` or
   * `max_completion_tokens` (absent: what the context leaves), `min_tokens`,
   * `ignore_eos`; the routing policies read its prompt part.
   */
  body: Record<string, unknown>;
  /**
   * The fields the body is built from (`bench/request_body.ts` `openaiFields(fields, "")`),
   * when the caller has them: the frontend then reads them instead of the body
   * (`launch/sim/core/openai.ts` `clientRequest`), and the body is read only where
   * its text is needed (a prefix-hashing router, an epd request's images). @default none
   */
  fields?: ClientFields;
  /** The prompt's token ids when the caller has them; else the frontend tokenizes the body. */
  promptTokens?: TokenIds;
}

/** What the client hears back. */
export interface VirtualResponse {
  /**
   * The end: `status` 200 with `info`, else `error` as bench's client records it
   * (`HTTP 400: <vLLM's message>` for a refused body). `outputIds` are the ids the
   * engine was to produce (`info.outputTokens` of them were; empty when refused);
   * `info.tokenTimesMs` says when each came out (the engine records them instead
   * of calling back per token).
   */
  onFinish(
    r: { error: string; status: number; info?: FinishInfo; backend: string; outputIds: TokenIds },
  ): void;
}

/** What the instances' request frontends need: a topology without them cannot take requests. */
export interface VirtualInputs {
  tokenizer: Tokenizer;
  /** Prompt token ids (cached pre-tokens, and ids the dataset told it). */
  prompts: PromptTokens;
  vocab: OutputVocab;
  /**
   * Seed of output lengths and tokens: one `Rng("predict-output:<seed>")` for the
   * whole topology, drawn in submit order (refused requests draw nothing).
   */
  seed: number;
}

/** An admitted request: the engine request's parts. */
export interface Admitted extends OutputPlan {
  id: string;
  promptTokens: TokenIds;
  /** Its image parts, each with its vision token count (placeholders are in `promptTokens`). */
  images: PromptImage[];
  session?: string;
}
