/**
 * Request bodies: OpenAI completions/chat bodies as `vllm bench serve` sends
 * them (streamed, usage requested, ignore_eos), or a user JSON template for
 * non-OpenAI servers.
 *
 * @module
 */
import type { RequestSpec } from "./workload/types.ts";

/** Sampling fields of OpenAI bodies (none unless asked). */
export interface SamplingOptions {
  /** `temperature`; @default none (the server's default) */
  temperature?: number;
  /** `top_p`; @default none */
  topP?: number;
  /** Fields merged into the body last (they win); @default none */
  extraBody?: Record<string, unknown>;
}

/**
 * The OpenAI-compatible JSON body of `spec`, as today's `vllm bench serve`
 * sends it: chat asks for `max_completion_tokens` (which vLLM prefers over
 * `max_tokens`), completions for `max_tokens`; no sampling fields unless given.
 */
export function openaiBody(
  spec: RequestSpec,
  model: string,
  sampling: SamplingOptions = {},
): string {
  const body: Record<string, unknown> = { model };
  if (spec.messages) {
    body.messages = spec.messages;
    body.max_completion_tokens = spec.maxTokens;
  } else {
    body.prompt = spec.prompt ?? "";
    body.max_tokens = spec.maxTokens;
  }
  if (sampling.temperature !== undefined) body.temperature = sampling.temperature;
  if (sampling.topP !== undefined) body.top_p = sampling.topP;
  body.stream = true;
  body.stream_options = { include_usage: true };
  if (spec.ignoreEos) body.ignore_eos = true;
  if (sampling.extraBody) Object.assign(body, sampling.extraBody);
  return JSON.stringify(body);
}

/** Text of a spec as one prompt (the last user message for chat). */
function promptText(spec: RequestSpec): string {
  if (spec.prompt !== undefined) return spec.prompt;
  const m = [...(spec.messages ?? [])].reverse().find((m) => m.role === "user");
  if (!m) return "";
  return typeof m.content === "string"
    ? m.content
    : m.content.map((p) => (p.type === "text" ? p.text : "")).join("");
}

/**
 * Fills a JSON template: a string equal to `{{prompt}}`, `{{messages}}`,
 * `{{max_tokens}}`, `{{model}}`, `{{request_id}}` becomes that value (keeping
 * its JSON type); placeholders inside longer strings are replaced as text.
 */
export function templateBody(template: unknown, spec: RequestSpec, model: string): string {
  const vars: Record<string, unknown> = {
    prompt: promptText(spec),
    messages: spec.messages ?? [{ role: "user", content: spec.prompt ?? "" }],
    max_tokens: spec.maxTokens,
    model,
    request_id: spec.requestId,
  };
  const fill = (v: unknown): unknown => {
    if (typeof v === "string") {
      const whole = /^\{\{(\w+)\}\}$/.exec(v);
      if (whole && whole[1] in vars) return vars[whole[1]];
      return v.replace(/\{\{(\w+)\}\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    }
    return v;
  };
  return JSON.stringify(fill(template));
}

/** Reads a template file; throws naming it when it is not JSON. */
export async function loadTemplate(path: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot use --request-body-template ${path} as a JSON template: current value is invalid (${
        (e as Error).message
      })`,
    );
  }
}
