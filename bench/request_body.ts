/**
 * Request bodies: OpenAI completions/chat bodies as `vllm bench serve` sends
 * them (streamed, usage requested, ignore_eos), or a user JSON template for
 * non-OpenAI servers.
 *
 * @module
 */
import { readConfigText } from "../lib/read_config.ts";
import type { RequestSpec } from "./workload/types.ts";
import { IDS_TEXT, type IdsText, idsTextOf } from "../lib/lazy_text.ts";
import { jsonTextByteLength, writeJsonText } from "../lib/json_text_bytes.ts";
import type { BodyWriter, Http1Body } from "../lib/http1.ts";

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

/** A request body as sent: JSON text, or its UTF-8 bytes (or a writer of them). */
export type BodyPayload = string | Http1Body;

/** Stands for the prompt in a body's JSON while its bytes around the prompt are cut out. */
const PROMPT_MARK = "\u0000topobench prompt\u0000";
/** Distinct (max tokens, ignore EOS) pairs whose bytes around the prompt are kept. */
const MAX_FRAMES = 256;

/**
 * {@linkcode openaiBody} as bytes, the same bytes `TextEncoder` gives of it: a
 * completions spec whose prompt is a known {@linkcode IdsText} has its prompt
 * written straight from its ids between the body's other bytes (kept per max
 * tokens), so no prompt text, JSON text or copy of them is made; any other
 * spec gets {@linkcode openaiBody}'s text.
 */
export function openaiBodyWriter(
  model: string,
  sampling: SamplingOptions = {},
  o: { stream?: boolean } = {},
): (spec: RequestSpec) => BodyPayload {
  const frames = new Map<number, [Uint8Array, Uint8Array] | null>();
  const frameOf = (spec: RequestSpec) => {
    const key = spec.maxTokens * 2 + (spec.ignoreEos ? 1 : 0);
    let f = frames.get(key);
    if (f === undefined) {
      if (frames.size >= MAX_FRAMES) frames.clear();
      f = promptFrame(spec, model, sampling, o);
      frames.set(key, f);
    }
    return f;
  };
  return (spec) => {
    const known = spec.messages ? undefined : idsTextOf(spec);
    const frame = known && Number.isInteger(spec.maxTokens) ? frameOf(spec) : null;
    const n = frame ? jsonTextByteLength(known!) : -1;
    if (n < 0) return openaiBody(spec, model, sampling, o);
    return new PromptBody(frame![0], known!, n, frame![1]);
  };
}

/** A body's bytes around its prompt, and the prompt written from its ids between them. */
class PromptBody implements BodyWriter {
  readonly byteLength: number;

  constructor(
    readonly head: Uint8Array,
    readonly text: IdsText,
    textBytes: number,
    readonly tail: Uint8Array,
  ) {
    this.byteLength = head.length + textBytes + tail.length;
  }

  writeInto(out: Uint8Array, at: number): void {
    out.set(this.head, at);
    out.set(this.tail, writeJsonText(this.text, out, at + this.head.length));
  }
}

/**
 * The bytes of `spec`'s body before and after its prompt's text, or null when
 * the prompt is not one string in it (`extra_body` replaced it).
 */
function promptFrame(
  spec: RequestSpec,
  model: string,
  sampling: SamplingOptions,
  o: { stream?: boolean },
): [Uint8Array, Uint8Array] | null {
  const marked: RequestSpec = {
    requestId: "",
    conversationId: "",
    turn: 1,
    prompt: PROMPT_MARK,
    promptTokens: 0,
    maxTokens: spec.maxTokens,
    ignoreEos: spec.ignoreEos,
  };
  const parts = JSON.stringify(openaiFields(marked, model, sampling, o))
    .split(JSON.stringify(PROMPT_MARK));
  if (parts.length !== 2) return null;
  return [enc.encode(parts[0] + '"'), enc.encode('"' + parts[1])];
}

const enc = new TextEncoder();

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
    // an extra body's own prompt replaces it: a plain field then (a getter cannot be assigned)
    const known = sampling.extraBody && "prompt" in sampling.extraBody
      ? undefined
      : idsTextOf(spec);
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
