/**
 * One streamed request, measured as topobench defines it (README "Metric
 * definitions"): TTFT is the first chunk with non-empty content/text
 * (role-only chunks do not count), ITL the gaps between content chunks, E2E
 * until the stream ends; or, with `compat: "vllm"`, as `vllm bench serve` does.
 * A whole (non-SSE) answer is read to its end: TTFT = E2E = the full response
 * time, text and tokens from its JSON. Usage (prompt,
 * completion, cached tokens) comes from the final `include_usage` chunk. HTTP
 * errors, timeouts, broken streams (no `[DONE]`) and cancellations come back as
 * results with `error` set, never as throws.
 *
 * The parts: `_transport.ts` moves the request (limits, errors), `_body_reader.ts`
 * tells SSE from a whole answer, and a meter per metric definition
 * (`_meters.ts`) turns events into TTFT, ITL, text and usage.
 *
 * @module
 */
import { BodyReader } from "./_body_reader.ts";
import { chunkText, meterFor } from "./_meters.ts";
import { RequestGuard, transfer } from "./_transport.ts";
import { atPath } from "./_whole_answer.ts";
import type { BodyPayload } from "./request_body.ts";

export { atPath, chunkText };

/** What to send. */
export interface ClientRequest {
  /** Full URL, e.g. `http://127.0.0.1:8000/v1/completions`. */
  url: string;
  /** JSON body: text, or its UTF-8 bytes. */
  body: BodyPayload;
  /** Sent as `X-Request-Id`. */
  requestId: string;
  /** Sent as `X-Session-Id` (multi-turn), so routers can be sticky. */
  sessionId?: string;
  /** Give up after this long (whole request). @default 300000 */
  timeoutMs?: number;
  /**
   * Give up when a body that has started sends no byte for this long (a hung
   * server: SIGSTOP, a dead GPU); the wait for the first byte is bounded by
   * `timeoutMs` alone (a queued request may wait long). 0: never. @default 0
   */
  stallTimeoutMs?: number;
  /** Aborts the request from outside (shutdown); recorded as cancelled. */
  signal?: AbortSignal;
  /** `performance.now()` of run start; all returned times are relative to it. @default 0 */
  originMs?: number;
  /** Extra headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /**
   * Metric definitions: `topobench` (above), or `vllm` as today's `vllm bench
   * serve` measures: TTFT at the first chunk with a non-empty `choices` (a
   * role-only chunk counts), ITL between such chunks, E2E at the last one, an
   * error event after a first chunk ignored and no `[DONE]` needed.
   * @default "topobench"
   */
  compat?: MetricsCompat;
  /** Where text and output tokens are in a whole (non-SSE) JSON answer. */
  responsePaths?: ResponsePaths;
  /**
   * Whether the request asked for a stream: then a body whose first non-blank
   * line starts with `data:`, `event:`, `id:` or `:` is read as SSE whatever
   * its Content-Type; false reads only `text/event-stream` bodies as SSE.
   * @default true
   */
  stream?: boolean;
}

/**
 * Dotted paths into a whole JSON answer (`choices.0.text`); unset, the
 * OpenAI places are tried (`choices.0.text`, `choices.0.message.content`,
 * `usage.completion_tokens`).
 */
export interface ResponsePaths {
  text?: string;
  tokens?: string;
}

/** Whose metric definitions a run uses (`--metrics-compat`). */
export type MetricsCompat = "topobench" | "vllm";

/** What was measured. Times are ms since `originMs`. */
export interface ClientResult {
  sentMs: number;
  /** Time of the first chunk with non-empty text; null if none came. */
  firstTokenMs: number | null;
  endMs: number;
  /** firstTokenMs - sentMs. */
  ttftMs: number | null;
  e2eMs: number;
  /**
   * When each chunk that counts as a token came, in order (the first at
   * `firstTokenMs`; none for a whole answer): the inter-token gaps are the
   * differences of neighbours. An array over HTTP, the engine's own
   * `Float64Array` in virtual time.
   */
  tokenTimesMs: ArrayLike<number>;
  /** Number of chunks with non-empty text. */
  contentChunks: number;
  /** The generated text. */
  text: string;
  /** From `usage`, null when the server sent none. */
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Empty on success. */
  error: string;
  /** `x-backend` / `x-served-by` response header, if any (which replica served it). */
  backend: string;
  /** False when the answer came whole (not SSE): TTFT is then the full response time. */
  streamed: boolean;
  /** The Content-Type of an SSE stream that did not say `text/event-stream`; "" otherwise. */
  oddContentType: string;
}

/** Sends one streamed request and measures it; never throws. */
export async function sendStreaming(req: ClientRequest): Promise<ClientResult> {
  const origin = req.originMs ?? 0;
  const now = () => performance.now() - origin;
  const guard = new RequestGuard(req.timeoutMs ?? 300_000, req.stallTimeoutMs ?? 0, req.signal);
  const r = emptyResult();
  const meter = meterFor(req.compat, r);
  // SSE is recognised by its bytes, whatever the Content-Type (proxies stream as text/html)
  const body = new BodyReader(req.stream !== false, (d, t) => meter.event(d, t), now);
  r.sentMs = now();
  if (await transfer(req, r, body, guard)) {
    const whole = body.end();
    r.oddContentType = body.oddContentType;
    if (whole !== null) meter.whole(whole, now(), req.responsePaths);
    else meter.streamEnded();
  }
  meter.finish(now());
  return r;
}

/** TPOT as vLLM defines it (its one definition is in `lib/metrics.ts`). */
export { tpotMs } from "../lib/metrics.ts";

const NO_TIMES: readonly number[] = Object.freeze([]);

/** A result before anything was measured (every field set, in one order). */
export function emptyResult(): ClientResult {
  return {
    sentMs: 0,
    firstTokenMs: null,
    endMs: 0,
    ttftMs: null,
    e2eMs: 0,
    tokenTimesMs: NO_TIMES,
    contentChunks: 0,
    text: "",
    promptTokens: null,
    completionTokens: null,
    cachedTokens: null,
    status: 0,
    error: "",
    backend: "",
    streamed: true,
    oddContentType: "",
  };
}
