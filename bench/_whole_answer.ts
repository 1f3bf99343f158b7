/**
 * A whole (non-SSE) answer read by {@linkcode sendStreaming} (client.ts): its
 * text and token counts from its JSON (by the caller's dotted paths, else the
 * OpenAI places), or a plain-text answer as the text itself.
 *
 * @module
 */
import type { ClientResult, ResponsePaths } from "./client.ts";
import { num } from "./_meters.ts";
import { tokenCountError, usageError } from "../lib/usage.ts";

/** The value at a dotted path (`a.0.b`), or undefined. */
export function atPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * A whole JSON answer: its text and token counts (by `paths`, else the OpenAI
 * places), and TTFT at the full response time `t` (nothing streamed earlier).
 */
export function wholeAnswer(
  r: ClientResult,
  body: string,
  t: number,
  paths: ResponsePaths = {},
  parts: string[],
): void {
  let j: unknown;
  try {
    j = JSON.parse(body);
  } catch {
    // a plain-text answer is the text itself (unless a path says where to look)
    if (paths.text || paths.tokens) {
      r.error = `answer is not JSON: ${JSON.stringify(body.slice(0, 80))}`;
      return;
    }
    j = null;
  }
  const text = j === null
    ? body
    : paths.text !== undefined
    ? atPath(j, paths.text)
    : atPath(j, "choices.0.text") ?? atPath(j, "choices.0.message.content");
  if (typeof text !== "string") {
    r.error = `no text at ${
      paths.text ?? "choices.0.text or choices.0.message.content"
    } in the answer`;
    return;
  }
  const tokens = paths.tokens !== undefined
    ? atPath(j, paths.tokens)
    : atPath(j, "usage.completion_tokens");
  if (paths.tokens !== undefined && typeof tokens !== "number") {
    r.error = `no token count at ${paths.tokens} in the answer`;
    return;
  }
  const badUsage = usageError(atPath(j, "usage")) ??
    tokenCountError(paths.tokens ?? "usage.completion_tokens", tokens);
  if (badUsage) {
    r.error = badUsage;
    return;
  }
  r.completionTokens = num(tokens) ?? r.completionTokens;
  r.promptTokens = num(atPath(j, "usage.prompt_tokens")) ?? r.promptTokens;
  r.firstTokenMs = t;
  r.streamed = false;
  if (text) {
    r.contentChunks = 1;
    parts.push(text);
  }
}
