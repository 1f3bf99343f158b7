/**
 * vLLM's `/tokenize` and `/detokenize` endpoints for the simulated engine, with
 * vLLM's request and response shapes (`TokenizeCompletionRequest`,
 * `TokenizeChatRequest`, `TokenizeResponse`, `DetokenizeRequest`,
 * `DetokenizeResponse` in `vllm/entrypoints/openai/protocol.py`).
 *
 * @module
 */
import type { ChatMessage, Tokenizer } from "../../../lib/tokenizer.ts";
import type { PromptTokens } from "../../../lib/prompt_tokens.ts";
import { ApiError } from "../core/openai.ts";

/** What the two endpoints need of the engine. */
export interface TokenizeDeps {
  tokenizer: Tokenizer;
  prompts: PromptTokens;
  maxModelLen: number;
  servedModelName: string;
}

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

function flag(body: Record<string, unknown>, key: string, dflt: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") {
    throw new ApiError(400, `${key} must be a boolean, got ${JSON.stringify(v)}`);
  }
  return v;
}

function checkModel(body: Record<string, unknown>, d: TokenizeDeps): void {
  const m = body.model;
  if (m !== undefined && m !== null && m !== d.servedModelName) {
    throw new ApiError(404, `The model \`${String(m)}\` does not exist.`, "NotFoundError");
  }
}

/**
 * `POST /tokenize`: `{prompt, add_special_tokens=true}` or
 * `{messages, add_generation_prompt=true, add_special_tokens=false}` ->
 * `{count, max_model_len, tokens, token_strs}`.
 */
export function tokenizeApi(body: unknown, d: TokenizeDeps): Record<string, unknown> {
  if (!isObj(body)) throw new ApiError(400, "Request body must be a JSON object");
  checkModel(body, d);
  let tokens: number[];
  if (body.messages !== undefined) {
    if (!Array.isArray(body.messages)) throw new ApiError(400, "messages must be a list");
    if (!flag(body, "add_generation_prompt", true)) {
      throw new ApiError(
        400,
        "add_generation_prompt=false is not supported by the simulated engine",
      );
    }
    if (flag(body, "continue_final_message", false)) {
      throw new ApiError(400, "continue_final_message is not supported by the simulated engine");
    }
    const messages = (body.messages as ChatMessage[]).map((m) => ({
      ...m,
      content: m?.content ?? "",
    }));
    tokens = d.prompts.chat(messages);
    // the template holds BOS; add_special_tokens=true adds another, as vLLM does
    if (flag(body, "add_special_tokens", false) && d.tokenizer.bosTokenId !== undefined) {
      tokens = [d.tokenizer.bosTokenId, ...tokens];
    }
  } else if (typeof body.prompt === "string") {
    tokens = flag(body, "add_special_tokens", true)
      ? d.prompts.completion(body.prompt)
      : d.prompts.text(body.prompt);
  } else {
    throw new ApiError(400, "Either prompt (a string) or messages (a list) is required");
  }
  const strs = d.tokenizer.tokenStrings;
  const tokenStrs = flag(body, "return_token_strs", false)
    ? tokens.map((id) => strs?.[id] ?? d.tokenizer.decode([id]))
    : null;
  return {
    count: tokens.length,
    max_model_len: d.maxModelLen,
    tokens,
    token_strs: tokenStrs,
  };
}

/** `POST /detokenize`: `{tokens: [ids]}` -> `{prompt}` (special tokens skipped). */
export function detokenizeApi(body: unknown, d: TokenizeDeps): Record<string, unknown> {
  if (!isObj(body)) throw new ApiError(400, "Request body must be a JSON object");
  checkModel(body, d);
  const ids = body.tokens;
  const n = d.tokenizer.vocabSize;
  if (
    !Array.isArray(ids) ||
    !ids.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) < n)
  ) {
    throw new ApiError(400, `tokens must be a list of token ids in [0, ${n})`);
  }
  return { prompt: d.tokenizer.decode(ids as number[]) };
}
