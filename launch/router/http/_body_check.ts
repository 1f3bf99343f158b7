/**
 * A generation request's body checked at the router's edge, before any leg:
 * its nesting depth, and the types of `prompt` (completions) or `messages`
 * and their `content` (chat), so that a malformed body is a 400 naming the
 * field, not a 500 from deep inside a leg (a deep body overflows the stack
 * of a clone; `content: [null]` breaks whatever reads the parts).
 *
 * @module
 */
import { HttpError } from "./_http.ts";

/** Deepest nesting of objects and arrays accepted (vLLM's bodies need fewer than 10). */
export const MAX_BODY_DEPTH = 32;

const bad = (field: string, value: unknown, allowed: string) => {
  let shown: string;
  try {
    shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    shown = typeof value;
  }
  return new HttpError(
    400,
    `Cannot use ${field} as a request field: current value is ${shown}; ${allowed} is allowed`,
    "BadRequestError",
  );
};

/** Throws a 400 when `body` nests objects/arrays deeper than {@linkcode MAX_BODY_DEPTH}. */
function checkDepth(body: object): void {
  // iterative: a recursive walk would overflow on the very bodies it is meant to refuse
  const stack: [unknown, number][] = [[body, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_BODY_DEPTH) {
      throw new HttpError(
        400,
        `Cannot accept a request body nested ${depth} levels deep: at most ${MAX_BODY_DEPTH} levels are allowed`,
        "BadRequestError",
      );
    }
    const items = Array.isArray(v) ? v : Object.values(v as object);
    for (const x of items) if (typeof x === "object" && x !== null) stack.push([x, depth + 1]);
  }
}

const isInt = (x: unknown) => Number.isInteger(x);

function checkPrompt(p: unknown): void {
  if (typeof p === "string") return;
  if (Array.isArray(p) && p.length > 0) {
    if (p.every((x) => typeof x === "string") || p.every(isInt)) return;
    if (p.every((x) => Array.isArray(x) && x.length > 0 && x.every(isInt))) return;
  }
  throw bad(
    "prompt",
    p,
    "a string, a non-empty array of strings, of token ids, or of token-id arrays",
  );
}

function checkMessages(messages: unknown): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw bad("messages", messages, "a non-empty array of message objects");
  }
  messages.forEach((m, i) => {
    if (typeof m !== "object" || m === null || Array.isArray(m)) {
      throw bad(`messages[${i}]`, m, "an object with a role and a content");
    }
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== "string") throw bad(`messages[${i}].role`, role, "a string");
    if (content === undefined || content === null || typeof content === "string") return;
    if (!Array.isArray(content)) {
      throw bad(`messages[${i}].content`, content, "a string, null or an array of parts");
    }
    content.forEach((part, k) => {
      const type = (part as Record<string, unknown> | null)?.type;
      if (typeof part !== "object" || part === null || typeof type !== "string") {
        throw bad(`messages[${i}].content[${k}]`, part, 'an object with a string "type"');
      }
    });
  });
}

/** Throws a 400 {@linkcode HttpError} naming the field when a generation body is malformed. */
export function checkBody(path: string, body: Record<string, unknown>): void {
  checkDepth(body);
  if (path.endsWith("/chat/completions")) checkMessages(body.messages);
  else checkPrompt(body.prompt);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw bad("stream", body.stream, "true or false");
  }
}
