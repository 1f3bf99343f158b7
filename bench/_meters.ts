/**
 * The meters of {@linkcode sendStreaming} (client.ts), one per metric
 * definition behind one interface: each folds a response's SSE events (or its
 * whole answer) into a {@linkcode ClientResult}: what counts as the first
 * token, the ITL gaps, text, usage, stream errors and where E2E ends.
 * - `topobench`: TTFT at the first chunk with non-empty text (role-only chunks
 *   do not count), ITL between such chunks, E2E at the end of the body; an
 *   error event fails the request, and a stream must end with `[DONE]`.
 * - `vllm`, as `vllm bench serve` measures: TTFT at the first chunk with a
 *   non-empty `choices` (a role-only chunk counts), ITL between such chunks,
 *   E2E at the last one; an error event after a first chunk is ignored, no
 *   `[DONE]` is needed, and success needs a first chunk.
 *
 * A whole (non-SSE) answer is measured alike under both: TTFT = E2E = the full
 * response time.
 *
 * @module
 */
import { e2eMs, ttftMs } from "../lib/metrics.ts";
import type { ClientResult, MetricsCompat, ResponsePaths } from "./client.ts";
import { wholeAnswer } from "./_whole_answer.ts";
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

/** `"choices":[{"index":0,` then the first field of a plain completions / chat chunk. */
const CHOICE_0 = '"choices":[{"index":0,';
const TEXT_FIELD = '"text":"';
const CONTENT_FIELD = '"delta":{"content":"';

/**
 * The text of a plain token chunk read without `JSON.parse` (a parse per
 * event was a tenth of bench's CPU at thousands of requests a second, and
 * most of its garbage), or null for any other event, which is then parsed
 * whole. A plain chunk is an object that ends in `"usage":null}` (vLLM's
 * completions) or in `}]}` with no `"usage"` (vLLM's chat, our engine),
 * holds no `"error"`, and whose first choice opens with `"index":0,` then
 * `"text":"…"` or `"delta":{"content":"…"`, the text without a backslash (no
 * escape to decode). A quote cannot occur unescaped inside a JSON string, so
 * the keys matched are the object's own; nothing else of it is checked (a
 * server that breaks JSON there is not caught, as a parse would).
 */
export function plainChunkText(data: string): string | null {
  if (data.charCodeAt(0) !== 123) return null;
  if (!data.endsWith('"usage":null}') && !(data.endsWith("}]}") && !data.includes('"usage"'))) {
    return null;
  }
  let i = data.indexOf(CHOICE_0);
  if (i < 0) return null;
  i += CHOICE_0.length;
  if (data.startsWith(TEXT_FIELD, i)) i += TEXT_FIELD.length;
  else if (data.startsWith(CONTENT_FIELD, i)) i += CONTENT_FIELD.length;
  else return null;
  const end = data.indexOf('"', i);
  if (end < 0 || data.lastIndexOf("\\", end) >= i || data.includes('"error"')) return null;
  return data.slice(i, end);
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

/** Measures one response into a result under one metric definition. */
export interface Meter {
  /** One SSE event's data, received at `t` (ms since the request's origin). */
  event(data: string, t: number): void;
  /** A whole (non-SSE) answer `body`, complete at `t`; `paths` say where its text and tokens are. */
  whole(body: string, t: number, paths?: ResponsePaths): void;
  /** An SSE body ended without a transport or HTTP error. */
  streamEnded(): void;
  /** The request is over at `endMs`, whatever its outcome: its times and text. */
  finish(endMs: number): void;
}

/** The meter of `compat`'s definitions, writing into `r`. */
export function meterFor(compat: MetricsCompat | undefined, r: ClientResult): Meter {
  return compat === "vllm" ? new VllmMeter(r) : new TopobenchMeter(r);
}

/** What both definitions share: event parsing, tokens and gaps, usage, whole answers. */
abstract class BaseMeter implements Meter {
  /** `[DONE]` came. */
  protected done = false;
  protected readonly parts: string[] = [];
  /** The result's token times, as an array this meter grows. */
  readonly #times: number[] = [];

  constructor(protected readonly r: ClientResult) {
    r.tokenTimesMs = this.#times;
  }

  event(data: string, t: number): void {
    if (data === "[DONE]" || data.trim() === "[DONE]") {
      this.done = true;
      return;
    }
    const text = plainChunkText(data);
    if (text !== null) return this.plain(text, t);
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(data);
    } catch {
      // a malformed event fails the request (vLLM never sends one): keep reading to the end
      this.r.error ||= `malformed stream event: ${JSON.stringify(data.slice(0, 80))}`;
      return;
    }
    if (obj.error) this.errorEvent(obj.error);
    else this.chunk(obj, t);
  }

  /** An event carrying `error`. */
  protected abstract errorEvent(error: unknown): void;
  /** Any other event's object, received at `t`. */
  protected abstract chunk(obj: Record<string, unknown>, t: number): void;
  /** A plain token chunk's text (see {@linkcode plainChunkText}), received at `t`. */
  protected abstract plain(text: string, t: number): void;
  abstract streamEnded(): void;

  whole(body: string, t: number, paths?: ResponsePaths): void {
    wholeAnswer(this.r, body, t, paths, this.parts);
  }

  finish(endMs: number): void {
    const r = this.r;
    r.endMs = endMs;
    // a whole answer: its end is its first (and only) token
    if (!r.streamed && r.firstTokenMs !== null) r.endMs = r.firstTokenMs;
    r.e2eMs = e2eMs(r.sentMs, r.endMs);
    r.ttftMs = ttftMs(r.sentMs, r.firstTokenMs);
    r.text = this.parts.join("");
  }

  /** Fails the request with a stream error event's message. */
  protected fail(error: unknown): void {
    this.r.error = `stream error: ${errorText(JSON.stringify(error))}`;
  }

  /** A chunk that counts as a token at `t` (its text may be empty under vLLM's rules). */
  protected token(text: string, t: number): void {
    const r = this.r;
    if (r.firstTokenMs === null) r.firstTokenMs = t;
    this.#times.push(t);
    if (text) {
      r.contentChunks++;
      this.parts.push(text);
    }
  }

  /** A chunk's `usage`: token counts, or the request failed for an absurd one. */
  protected usage(u: Record<string, unknown> | undefined | null): void {
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

/** topobench's definitions (README "Metric definitions"). */
class TopobenchMeter extends BaseMeter {
  protected errorEvent(error: unknown): void {
    this.fail(error);
  }

  protected chunk(obj: Record<string, unknown>, t: number): void {
    this.usage(obj.usage as Record<string, unknown> | undefined | null);
    const text = chunkText(obj);
    if (text) this.token(text, t);
  }

  protected plain(text: string, t: number): void {
    if (text) this.token(text, t);
  }

  streamEnded(): void {
    if (!this.done && !this.r.error) this.r.error = "stream ended without [DONE]";
  }
}

/** `vllm bench serve`'s definitions. */
class VllmMeter extends BaseMeter {
  /** The time of the last chunk with choices. */
  #lastChoiceMs: number | null = null;

  protected errorEvent(error: unknown): void {
    // vLLM's client skips an event without choices or usage: an error after tokens is a success
    if (this.r.firstTokenMs === null) this.fail(error);
  }

  protected chunk(obj: Record<string, unknown>, t: number): void {
    const ch = obj.choices;
    if (Array.isArray(ch) && ch.length > 0) {
      this.token(chunkText(obj), t);
      this.#lastChoiceMs = t;
    }
    this.usage(obj.usage as Record<string, unknown> | undefined | null);
  }

  protected plain(text: string, t: number): void {
    this.token(text, t);
    this.#lastChoiceMs = t;
  }

  streamEnded(): void {}

  override finish(endMs: number): void {
    // success needs a first chunk, and E2E ends at the last chunk with choices
    if (!this.r.error && this.r.firstTokenMs === null) {
      this.r.error = "Never received a valid chunk to calculate TTFT.";
    }
    super.finish(this.#lastChoiceMs ?? endMs);
  }
}
