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
 * @module
 */
import { BodyReader, StallWatch } from "./_body_reader.ts";
import { chunkText, errorText, num, StreamEvents } from "./_stream_events.ts";

export { chunkText };
import { Canceller, http1 } from "../lib/http1.ts";
import { tokenCountError, usageError } from "../lib/usage.ts";

const enc = new TextEncoder();

/** What to send. */
export interface ClientRequest {
  /** Full URL, e.g. `http://127.0.0.1:8000/v1/completions`. */
  url: string;
  /** JSON body text. */
  body: string;
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

/** The value at a dotted path (`a.0.b`), or undefined. */
export function atPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
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
  /** Gaps between consecutive content chunks. */
  itlMs: number[];
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

/** Callbacks per signal behind one listener each: adding and removing is a Set operation. */
const hooks = new WeakMap<AbortSignal, Set<() => void>>();

/** Calls `fn` once when `signal` aborts; returns the unregister function. */
function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) return () => {}; // the caller checks `aborted` itself
  let set = hooks.get(signal);
  if (!set) {
    const fns = new Set<() => void>();
    set = fns;
    hooks.set(signal, fns);
    signal.addEventListener("abort", () => {
      for (const f of [...fns]) f();
      fns.clear();
    }, { once: true });
  }
  set.add(fn);
  const s = set;
  return () => void s.delete(fn);
}

/** Sends one streamed request and measures it; never throws. */
export async function sendStreaming(req: ClientRequest): Promise<ClientResult> {
  const origin = req.originMs ?? 0;
  const now = () => performance.now() - origin;
  const timeoutMs = req.timeoutMs ?? 300_000;
  const cancel = new Canceller();
  let why = "";
  const timer = setTimeout(() => {
    why = `timeout after ${timeoutMs} ms`;
    cancel.cancel(new Error(why));
  }, timeoutMs);
  const stallMs = req.stallTimeoutMs ?? 0;
  const stall = new StallWatch(stallMs, () => {
    why ||= `stalled: no byte for ${stallMs} ms after the stream started`;
    cancel.cancel(new Error(why));
  });
  const unhook = req.signal
    ? onAbort(req.signal, () => {
      why ||= "cancelled at shutdown";
      cancel.cancel(new Error(why));
    })
    : undefined;
  const r = newResult();

  const parts: string[] = [];
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-request-id": req.requestId,
    ...req.headers,
  };
  if (req.sessionId) headers["x-session-id"] = req.sessionId;
  const vllm = req.compat === "vllm";
  const ev = new StreamEvents(r, parts, vllm);
  r.sentMs = now();
  // SSE is recognised by its bytes, whatever the Content-Type (proxies stream as text/html)
  const body = new BodyReader(req.stream !== false, (d, t) => ev.event(d, t), now);
  try {
    if (req.signal?.aborted) throw new Error("aborted before send");
    const url = new URL(req.url);
    let ok = false;
    let errBody = "";
    const head = (status: number, h: { get(k: string): string | null | undefined }) => {
      r.status = status;
      r.backend = h.get("x-backend") ?? h.get("x-served-by") ?? "";
      ok = status >= 200 && status < 300;
      body.contentType(h.get("content-type") ?? "");
    };
    const dec = new TextDecoder();
    const data = (bytes: Uint8Array) => {
      if (stallMs > 0) stall.byte();
      const text = dec.decode(bytes, { stream: true });
      if (ok) body.push(text);
      else if (errBody.length < 4096) errBody += text;
    };
    if (url.protocol === "http:") {
      // the lean path: our HTTP/1.1 client, SSE parsed from each read as it returns
      await http1({
        url,
        headers,
        body: enc.encode(req.body),
        canceller: cancel,
        onHead: head,
        onData: data,
      });
    } else {
      const ac = new AbortController();
      cancel.onCancel(() => ac.abort());
      if (cancel.cancelled) ac.abort();
      const res = await fetch(req.url, {
        method: "POST",
        headers,
        body: req.body,
        signal: ac.signal,
      });
      head(res.status, res.headers);
      if (res.body) { for await (const chunk of res.body) data(chunk); }
    }
    if (!ok) r.error = `HTTP ${r.status}: ${errorText(errBody + dec.decode())}`;
    else {
      body.push(dec.decode());
      const whole = body.end();
      r.oddContentType = body.oddContentType;
      if (whole !== null) wholeAnswer(r, whole, now(), req.responsePaths, parts);
      else if (!ev.done && !r.error && !vllm) r.error = "stream ended without [DONE]";
    }
  } catch (e) {
    r.error = why ||
      `${r.status ? "stream broken" : "request failed"}: ${
        e instanceof Error ? e.message.split("\n")[0] : e
      }`;
  } finally {
    clearTimeout(timer);
    stall.stop();
    unhook?.();
  }
  r.endMs = now();
  // vLLM: success needs a first chunk, and E2E ends at the last chunk with choices
  if (vllm && !r.error && r.firstTokenMs === null) {
    r.error = "Never received a valid chunk to calculate TTFT.";
  }
  if (vllm && ev.lastChoiceMs !== null) r.endMs = ev.lastChoiceMs;
  // a whole answer: its end is its first (and only) token
  if (!r.streamed && r.firstTokenMs !== null) r.endMs = r.firstTokenMs;
  r.e2eMs = r.endMs - r.sentMs;
  r.ttftMs = r.firstTokenMs === null ? null : r.firstTokenMs - r.sentMs;
  r.text = parts.join("");
  return r;
}

/**
 * A whole JSON answer: its text and token counts (by `paths`, else the OpenAI
 * places), and TTFT at the full response time `t` (nothing streamed earlier).
 */
function wholeAnswer(
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

/** TPOT as vLLM defines it (its one definition is in `lib/metrics.ts`). */
export { tpotMs } from "../lib/metrics.ts";

/** A result before anything was measured. */
function newResult(): ClientResult {
  return {
    sentMs: 0,
    firstTokenMs: null,
    endMs: 0,
    ttftMs: null,
    e2eMs: 0,
    itlMs: [],
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
