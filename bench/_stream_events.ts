/**
 * The events of one SSE response, folded into a {@linkcode ClientResult} as
 * they come: TTFT, ITL, text, usage, stream errors, `[DONE]`, under
 * topobench's or vLLM's metric definitions (client.ts explains both).
 *
 * @module
 */
import type { ClientResult } from "./client.ts";
import { usageError } from "../lib/usage.ts";

/** Text carried by one streamed chunk (OpenAI chat/completions, TGI-style token). */
export function chunkText(obj: Record<string, unknown>): string {
  const choices = obj.choices as Array<Record<string, unknown>> | undefined;
  if (Array.isArray(choices) && choices.length > 0) {
    const c = choices[0];
    const delta = c.delta as Record<string, unknown> | undefined;
    if (delta) {
      const t = delta.content ?? delta.reasoning_content ?? delta.reasoning;
      return typeof t === "string" ? t : "";
    }
    return typeof c.text === "string" ? c.text : "";
  }
  const token = obj.token as Record<string, unknown> | undefined;
  if (token && typeof token.text === "string" && token.special !== true) return token.text;
  return typeof obj.text === "string" ? obj.text : "";
}

/** A finite number, else null. */
export function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** The message of an error body (OpenAI `error.message`, `message`, `detail`), one line. */
export function errorText(body: string): string {
  let msg = body;
  try {
    const j = JSON.parse(body);
    msg = j?.error?.message ?? j?.message ?? j?.detail ?? body;
    if (typeof msg !== "string") msg = JSON.stringify(msg);
  } catch { /* not JSON */ }
  return msg.replace(/\s+/g, " ").slice(0, 300);
}

/** Folds SSE events into `r`, keeping the text pieces in `parts`. */
export class StreamEvents {
  /** `[DONE]` came. */
  done = false;
  /** vLLM's definitions: the time of the last chunk with choices. */
  lastChoiceMs: number | null = null;
  #last = 0;

  constructor(
    readonly r: ClientResult,
    readonly parts: string[],
    readonly vllm: boolean,
  ) {}

  /** One event's data, received at `t`. */
  event(data: string, t: number): void {
    if (data === "[DONE]" || data.trim() === "[DONE]") {
      this.done = true;
      return;
    }
    const r = this.r;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(data);
    } catch {
      // a malformed event fails the request (vLLM never sends one): keep reading to the end
      r.error ||= `malformed stream event: ${JSON.stringify(data.slice(0, 80))}`;
      return;
    }
    if (obj.error) {
      // vLLM's client skips an event without choices or usage: an error after tokens is a success
      if (!this.vllm || r.firstTokenMs === null) {
        r.error = `stream error: ${errorText(JSON.stringify(obj.error))}`;
      }
      return;
    }
    if (this.vllm) {
      const ch = obj.choices;
      if (Array.isArray(ch) && ch.length > 0) {
        this.#token(chunkText(obj), t);
        this.lastChoiceMs = t;
      }
    }
    this.#usage(obj.usage as Record<string, unknown> | undefined | null);
    if (this.vllm) return;
    const text = chunkText(obj);
    if (text) this.#token(text, t);
  }

  /** A chunk that counts as a token at `t` (its text may be empty under vLLM's rules). */
  #token(text: string, t: number): void {
    const r = this.r;
    if (r.firstTokenMs === null) r.firstTokenMs = t;
    else r.itlMs.push(t - this.#last);
    this.#last = t;
    if (text) {
      r.contentChunks++;
      this.parts.push(text);
    }
  }

  #usage(u: Record<string, unknown> | undefined | null): void {
    const r = this.r;
    const bad = usageError(u); // a negative or absurd count fails the request, unrecorded
    if (bad) r.error ||= bad;
    else if (u) {
      r.promptTokens = num(u.prompt_tokens) ?? r.promptTokens;
      r.completionTokens = num(u.completion_tokens) ?? r.completionTokens;
      const det = u.prompt_tokens_details as Record<string, unknown> | null | undefined;
      r.cachedTokens = num(det?.cached_tokens) ?? r.cachedTokens;
    }
  }
}
