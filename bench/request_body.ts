/**
 * Request bodies: OpenAI completions/chat bodies as `vllm bench serve` sends
 * them (streamed, usage requested, ignore_eos), or a user JSON template for
 * non-OpenAI servers.
 *
 * @module
 */
import { readConfigText } from "../lib/read_config.ts";
import type { RequestSpec } from "./workload/types.ts";
import { IDS_TEXT, idsTextOf } from "../lib/lazy_text.ts";

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
  o: { stream?: boolean } = {},
): string {
  return JSON.stringify(openaiFields(spec, model, sampling, o));
}

/** `stream_options` of a streamed body (one shared object: read, never changed). */
const INCLUDE_USAGE = Object.freeze({ include_usage: true });

/** The fields of {@linkcode openaiBody}, as an object (the virtual sender hands it on unencoded). */
export function openaiFields(
  spec: RequestSpec,
  model: string,
  sampling: SamplingOptions = {},
  o: { stream?: boolean } = {},
): Record<string | symbol, unknown> {
  const body: Record<string | symbol, unknown> = { model };
  if (spec.messages) {
    body.messages = spec.messages;
    body.max_completion_tokens = spec.maxTokens;
  } else {
    const known = idsTextOf(spec);
    if (known) {
      // text of known ids (virtual time reads the ids): built only if something reads the body's
      // prompt (a prefix-hashing router, `JSON.stringify`), as each read of the spec's builds it
      body[IDS_TEXT] = known;
      Object.defineProperty(body, "prompt", {
        get: () => spec.prompt ?? "",
        enumerable: true,
        configurable: true,
      });
    } else body.prompt = spec.prompt ?? "";
    body.max_tokens = spec.maxTokens;
  }
  if (sampling.temperature !== undefined) body.temperature = sampling.temperature;
  if (sampling.topP !== undefined) body.top_p = sampling.topP;
  body.stream = o.stream ?? true;
  if (body.stream) body.stream_options = INCLUDE_USAGE;
  if (spec.ignoreEos) body.ignore_eos = true;
  if (sampling.extraBody) Object.assign(body, sampling.extraBody);
  return body;
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
 * Fills a JSON template: a string equal to `{prompt}`, `{messages}`,
 * `{max_tokens}`, `{model}`, `{request_id}` (or the same in double braces)
 * becomes that value, keeping its JSON type; placeholders inside longer
 * strings are replaced as text (JSON-escaped when the body is written).
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
      const whole = /^\{\{?(\w+)\}?\}$/.exec(v);
      if (whole && whole[1] in vars) return vars[whole[1]];
      return v.replace(/\{\{?(\w+)\}?\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    }
    if (Array.isArray(v)) return v.map(fill);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    }
    return v;
  };
  return JSON.stringify(fill(template));
}

/**
 * Reads a template: inline JSON (starting with `{`) or a file; a bare
 * placeholder value (`"max_new_tokens": {max_tokens}`) is allowed and keeps
 * its type. Throws naming the template when it is not JSON.
 */
export async function loadTemplate(arg: string): Promise<unknown> {
  const inline = arg.trimStart().startsWith("{");
  const text = inline ? arg : await readConfigText(arg, "a request body template");
  // a bare {name} where a JSON value goes becomes the string "{{name}}"
  const quoted = text.replace(
    /([:[,]\s*)\{\{?(prompt|messages|max_tokens|model|request_id)\}?\}(?=\s*[,}\]])/g,
    '$1"{{$2}}"',
  );
  try {
    return JSON.parse(quoted);
  } catch (e) {
    throw new SyntaxError(
      `Cannot use --request-body-template ${
        inline ? "(inline)" : arg
      } as a JSON template: current value is invalid (${(e as Error).message})`,
    );
  }
}
