/**
 * The OpenAI-compatible wire format as vLLM serves it: request validation with
 * vLLM's error codes and shape, and the bodies of responses and stream chunks.
 *
 * @module
 */
import type { ChatMessage } from "../../../lib/tokenizer.ts";
import { type IdsText, idsTextOf } from "../../../lib/lazy_text.ts";

/** An error returned to the client with vLLM's status code, type and message. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly type = "BadRequestError") {
    super(message);
  }
}

/** vLLM's error body: `{"error": {"message", "type", "param", "code"}}`. */
export function errorBody(e: ApiError): Record<string, unknown> {
  return { error: { message: e.message, type: e.type, param: null, code: e.status } };
}

/** Which endpoint a request came to. */
export type Endpoint = "completion" | "chat";

/** A validated completion or chat request. */
export interface ParsedRequest {
  endpoint: Endpoint;
  model: string;
  /** Completions: prompt text, or token ids. */
  prompt?: string | number[];
  /** Completions: the prompt as text of known ids (`lib/lazy_text.ts`; then `prompt` is built on each read). */
  promptText?: IdsText;
  /** Chat: the conversation. */
  messages?: ChatMessage[];
  /** null = up to the context limit. */
  maxTokens: number | null;
  minTokens: number;
  ignoreEos: boolean;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  /** NIXL and friends: `kv_transfer_params` as sent by a disaggregation proxy. */
  kvTransferParams?: Record<string, unknown>;
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function intField(body: Record<string, unknown>, name: string, min: number): number | null {
  return intValue(body[name], name, min);
}

function intValue(v: unknown, name: string, min: number): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new ApiError(400, `${name} must be an integer, got ${JSON.stringify(v)}`);
  }
  if (v < min) throw new ApiError(400, `${name} must be at least ${min}, got ${v}.`);
  return v;
}

/** Validates a request body (already JSON-parsed) for `endpoint`. */
export function parseRequest(endpoint: Endpoint, body: unknown): ParsedRequest {
  if (!isObj(body)) throw new ApiError(400, "Request body must be a JSON object");
  const model = body.model;
  if (model !== undefined && model !== null && typeof model !== "string") {
    throw new ApiError(400, `model must be a string, got ${JSON.stringify(model)}`);
  }
  const n = body.n ?? 1;
  if (n !== 1) {
    throw new ApiError(
      400,
      `Only n=1 is supported by the simulated engine, got n=${JSON.stringify(n)}`,
    );
  }
  const out: ParsedRequest = {
    endpoint,
    model: (model as string | undefined) ?? "",
    maxTokens: intField(body, "max_completion_tokens", 1) ?? intField(body, "max_tokens", 1),
    minTokens: intField(body, "min_tokens", 0) ?? 0,
    ignoreEos: body.ignore_eos === true,
    stream: body.stream === true,
    includeUsage: false,
    continuousUsage: false,
  };
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!out.stream) {
      throw new ApiError(400, "Stream options can only be defined when `stream=True`.");
    }
    const so = body.stream_options as Record<string, unknown>;
    out.includeUsage = so.include_usage === true;
    out.continuousUsage = so.continuous_usage_stats === true;
  }
  if (out.maxTokens !== null && out.minTokens > out.maxTokens) {
    throw new ApiError(
      400,
      `min_tokens must be less than or equal to max_tokens=${out.maxTokens}, got ${out.minTokens}.`,
    );
  }
  if (isObj(body.kv_transfer_params)) out.kvTransferParams = body.kv_transfer_params;
  const known = endpoint === "completion" ? idsTextOf(body) : undefined;
  if (known) {
    // a prompt of known ids (virtual time): its text is built only if something reads it
    out.promptText = known;
    Object.defineProperty(out, "prompt", { get: () => body.prompt, enumerable: true });
  } else if (endpoint === "completion") out.prompt = completionPrompt(body.prompt);
  else out.messages = chatMessages(body.messages);
  return out;
}

/**
 * What a client in this process hands over instead of a body (virtual time):
 * chat `messages` (when set), else a completion `prompt` (text, or text of
 * known ids that is built only if read), the output cap, `ignore_eos`.
 */
export interface ClientFields {
  messages?: unknown;
  prompt?: string;
  maxTokens?: unknown;
  ignoreEos?: boolean;
}

/**
 * {@linkcode parseRequest} of the body bench's client sends for `f`
 * (`bench/request_body.ts` `openaiFields(f, "")`: streamed, usage asked, no
 * model), the same request and the same errors, without building the body:
 * chat when `f.messages` is set, else completion.
 */
export function clientRequest(f: ClientFields): ParsedRequest {
  const chat = !!f.messages;
  const maxTokens = intValue(f.maxTokens, chat ? "max_completion_tokens" : "max_tokens", 1);
  if (chat) {
    return new FieldsRequest("chat", maxTokens, !!f.ignoreEos, chatMessages(f.messages), f);
  }
  const r = new FieldsRequest("completion", maxTokens, !!f.ignoreEos, undefined, f);
  r.promptText = idsTextOf(f);
  if (!r.promptText) r.text = completionPrompt(f.prompt ?? "");
  return r;
}

/** A request from {@linkcode ClientFields}; a prompt of known ids is read from them when read. */
class FieldsRequest implements ParsedRequest {
  readonly model = "";
  readonly minTokens = 0;
  readonly stream = true;
  readonly includeUsage = true;
  readonly continuousUsage = false;
  promptText: IdsText | undefined = undefined;
  /** The prompt when not of known ids. */
  text: string | number[] | undefined = undefined;

  constructor(
    readonly endpoint: Endpoint,
    readonly maxTokens: number | null,
    readonly ignoreEos: boolean,
    readonly messages: ChatMessage[] | undefined,
    readonly fields: ClientFields,
  ) {}

  get prompt(): string | number[] | undefined {
    return this.promptText ? this.fields.prompt ?? "" : this.text;
  }
}

/** A completion's `prompt`: a string, token ids, or a one-element list of either. */
function completionPrompt(prompt: unknown): string | number[] {
  let p = prompt;
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === "string" || Array.isArray(p[0]))) {
    p = p[0];
  }
  if (typeof p === "string") return p;
  if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0)) {
    return p as number[];
  }
  if (p === undefined) throw new ApiError(400, "Field required: prompt");
  throw new ApiError(
    400,
    "prompt must be a string, a list of token ids, or a one-element list of either",
  );
}

/** A chat's `messages`, each an object with a string role and string/part-list content. */
function chatMessages(msgs: unknown): ChatMessage[] {
  if (!Array.isArray(msgs)) throw new ApiError(400, "Field required: messages");
  if (msgs.length === 0) throw new ApiError(400, "messages must not be empty");
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (!isObj(m) || typeof m.role !== "string") {
      throw new ApiError(400, `messages[${i}] must be an object with a string role`);
    }
    if (idsTextOf(m)) continue; // text of known ids is a string: not built to be checked
    if (typeof m.content !== "string" && !Array.isArray(m.content) && m.content !== null) {
      throw new ApiError(400, `messages[${i}].content must be a string or a list of parts`);
    }
    if (Array.isArray(m.content)) {
      const k = m.content.findIndex((p) => !isObj(p) || typeof p.type !== "string");
      if (k >= 0) {
        throw new ApiError(
          400,
          `messages[${i}].content[${k}] must be an object with a string type`,
        );
      }
    }
  }
  return msgs as ChatMessage[];
}

/** The `usage` object, with `prompt_tokens_details.cached_tokens`. */
export function usage(prompt: number, completion: number, cached: number): Record<string, unknown> {
  return {
    prompt_tokens: prompt,
    total_tokens: prompt + completion,
    completion_tokens: completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

/** One streamed chunk for `endpoint`; `text` null means the chat role-only chunk. */
export function chunk(
  endpoint: Endpoint,
  id: string,
  created: number,
  model: string,
  text: string | null,
  finishReason: string | null,
  usageObj?: Record<string, unknown>,
): Record<string, unknown> {
  const base: Record<string, unknown> = endpoint === "chat"
    ? { id, object: "chat.completion.chunk", created, model }
    : { id, object: "text_completion", created, model };
  if (endpoint === "chat") {
    const delta = text === null ? { role: "assistant", content: "" } : { content: text };
    base.choices = [{
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finishReason,
      stop_reason: null,
    }];
  } else {
    base.choices = [{
      index: 0,
      text: text ?? "",
      logprobs: null,
      finish_reason: finishReason,
      stop_reason: null,
    }];
  }
  if (usageObj) base.usage = usageObj;
  return base;
}

/** The final usage-only chunk of `stream_options.include_usage` (`choices: []`). */
export function usageChunk(
  endpoint: Endpoint,
  id: string,
  created: number,
  model: string,
  usageObj: Record<string, unknown>,
): Record<string, unknown> {
  const object = endpoint === "chat" ? "chat.completion.chunk" : "text_completion";
  return { id, object, created, model, choices: [], usage: usageObj };
}

/** A whole non-streamed response. */
export function fullResponse(
  endpoint: Endpoint,
  id: string,
  created: number,
  model: string,
  text: string,
  finishReason: string,
  usageObj: Record<string, unknown>,
  kvTransferParams?: Record<string, unknown> | null,
): Record<string, unknown> {
  const choice = endpoint === "chat"
    ? {
      index: 0,
      message: {
        role: "assistant",
        content: text,
        refusal: null,
        tool_calls: [],
        reasoning_content: null,
      },
      logprobs: null,
      finish_reason: finishReason,
      stop_reason: null,
    }
    : {
      index: 0,
      text,
      logprobs: null,
      finish_reason: finishReason,
      stop_reason: null,
      prompt_logprobs: null,
    };
  return {
    id,
    object: endpoint === "chat" ? "chat.completion" : "text_completion",
    created,
    model,
    choices: [choice],
    usage: usageObj,
    prompt_logprobs: null,
    kv_transfer_params: kvTransferParams ?? null,
  };
}
