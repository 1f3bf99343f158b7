/**
 * How {@linkcode sendStreaming} (client.ts) moves one request, whatever the
 * metric definition: our HTTP/1.1 client for `http:` (`fetch` for `https:`),
 * the limits on it (whole-request timeout, a stall once the body started, an
 * outside abort), the response's status and backend, an OK body's text handed
 * to a {@linkcode BodyReader}, and every failure turned into `error` text.
 *
 * @module
 */
import type { BodyReader } from "./_body_reader.ts";
import { errorText } from "./_meters.ts";
import { BodyText } from "./_body_text.ts";
import type { ClientRequest, ClientResult } from "./client.ts";
import { bodyBytes, Canceller, http1 } from "../lib/http1.ts";

const enc = new TextEncoder();

/**
 * Guards in a list each knows its place in: adding, removing (the last one
 * moved into the gap) and iterating touch no hash table. A `Set` here (a
 * request in, a request out) reallocated its table as its size went up and
 * down, and each table, held by the long-lived set, outlived two scavenges
 * (a fifth of bench's survivors at 1,000 req/s).
 */
class GuardList {
  readonly #items: RequestGuard[] = [];

  /** Guards held. */
  get size(): number {
    return this.#items.length;
  }

  add(g: RequestGuard, slot: "sweepAt" | "hookAt"): void {
    g[slot] = this.#items.length;
    this.#items.push(g);
  }

  /** Removes `g` (false when it was not held). */
  delete(g: RequestGuard, slot: "sweepAt" | "hookAt"): boolean {
    const i = g[slot];
    if (i < 0) return false;
    const last = this.#items.pop()!;
    if (last !== g) {
      this.#items[i] = last;
      last[slot] = i;
    }
    g[slot] = -1;
    return true;
  }

  /** Calls `fn` on each guard, last first (one that removes itself moves a visited one into its place). */
  each(fn: (g: RequestGuard) => void): void {
    for (let i = this.#items.length - 1; i >= 0; i--) {
      const g = this.#items[i];
      if (g) fn(g);
    }
  }
}

/** The guards cancelled when a signal aborts, per signal (one listener each). */
const hooks = new WeakMap<AbortSignal, GuardList>();

/** Cancels `g` ("cancelled at shutdown") when `signal` aborts, unless {@linkcode unhook}ed first. */
function hook(signal: AbortSignal, g: RequestGuard): GuardList | undefined {
  if (signal.aborted) return undefined; // the caller checks `aborted` itself
  let list = hooks.get(signal);
  if (!list) {
    const guards = new GuardList();
    list = guards;
    hooks.set(signal, guards);
    signal.addEventListener("abort", () => guards.each((x) => x.shutdown()), { once: true });
  }
  list.add(g, "hookAt");
  return list;
}

/**
 * Limits of this many ms or more are checked by one shared sweep (a timer per
 * process, not one or two per request: at thousands of requests a second the
 * timers were ~3% of a sender's CPU); shorter ones keep a timer of their own.
 */
const SHARED_FROM_MS = 1000;
/** How often the shared sweep looks (ms): a shared limit fires up to this late. */
const SWEEP_MS = 100;

/** The requests whose limits the shared sweep checks; its timer runs while there are some. */
class Sweep {
  readonly #guards = new GuardList();
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #check = (g: RequestGuard): void => g.check(this.#now);
  #now = 0;

  add(g: RequestGuard): void {
    this.#guards.add(g, "sweepAt");
    this.#timer ??= setInterval(() => {
      this.#now = performance.now();
      this.#guards.each(this.#check);
    }, SWEEP_MS);
  }

  delete(g: RequestGuard): void {
    if (!this.#guards.delete(g, "sweepAt") || this.#guards.size) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

const sweep = new Sweep();

/**
 * Fires `onStall` when no byte came for `ms` since the last one, counting from
 * the first: on one timer per `ms`, re-armed for what is left (not one per
 * byte), or, `shared`, when the shared sweep asks ({@linkcode quiet}).
 */
export class StallWatch {
  #last = -1;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(readonly ms: number, readonly onStall: () => void, readonly shared = false) {}

  /** A body byte came. */
  byte(): void {
    const first = this.#last < 0;
    this.#last = performance.now();
    if (first && !this.shared) this.#arm(this.ms);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const quiet = performance.now() - this.#last;
      if (quiet >= this.ms) this.onStall();
      else this.#arm(this.ms - quiet);
    }, ms);
  }

  /** Whether the body started and then sent nothing for `ms` until `now`. */
  quiet(now: number): boolean {
    return this.#last >= 0 && now - this.#last >= this.ms;
  }

  /** The request ended. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#last = Infinity;
  }
}

/**
 * One request's limits: `timeoutMs` for the whole request, `stallMs` of
 * silence once the body started (0: none), an outside `signal`. Each cancels
 * the request and says why; start it before the send time is taken.
 */
export class RequestGuard {
  readonly canceller = new Canceller();
  /** Why the request was cancelled; "" while it was not. */
  why = "";
  readonly stall: StallWatch;
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  /** `performance.now()` past which a shared timeout fires (Infinity: its own timer, or none). */
  readonly #deadline: number;
  readonly #swept: boolean;
  /** The shutdown signal's guards this one is in (cancelled when it aborts). */
  readonly #hooked: GuardList | undefined;
  /** Its place in the shared sweep's list and in {@linkcode #hooked} (-1: none). */
  sweepAt = -1;
  hookAt = -1;

  constructor(readonly timeoutMs: number, readonly stallMs: number, signal?: AbortSignal) {
    const sharedTimeout = timeoutMs >= SHARED_FROM_MS;
    this.#deadline = sharedTimeout ? performance.now() + timeoutMs : Infinity;
    this.#timer = sharedTimeout ? undefined : setTimeout(() => this.#timedOut(), timeoutMs);
    const sharedStall = stallMs >= SHARED_FROM_MS;
    this.stall = new StallWatch(stallMs, () => this.#stalled(), sharedStall);
    this.#swept = sharedTimeout || (stallMs > 0 && sharedStall);
    if (this.#swept) sweep.add(this);
    this.#hooked = signal ? hook(signal, this) : undefined;
  }

  /** The shutdown signal aborted: the request is cancelled. */
  shutdown(): void {
    this.#cancel("cancelled at shutdown");
  }

  /** The shared sweep's look at `now`: a limit past is the request's end. */
  check(now: number): void {
    if (this.why) return; // cancelled: it ends soon
    if (now >= this.#deadline) this.#timedOut();
    else if (this.stallMs > 0 && this.stall.shared && this.stall.quiet(now)) this.#stalled();
  }

  #timedOut(): void {
    this.why = `timeout after ${this.timeoutMs} ms`;
    this.canceller.cancel(new Error(this.why));
  }

  #stalled(): void {
    this.#cancel(`stalled: no byte for ${this.stallMs} ms after the stream started`);
  }

  /** The request is over: no limit fires any more. */
  stop(): void {
    clearTimeout(this.#timer);
    if (this.#swept) sweep.delete(this);
    this.stall.stop();
    this.#hooked?.delete(this, "hookAt");
  }

  #cancel(why: string): void {
    this.why ||= why;
    this.canceller.cancel(new Error(this.why));
  }
}

/** Response headers, from our client (a Map) or fetch (Headers). */
interface HeaderLookup {
  get(name: string): string | null | undefined;
}

/** The response as it comes: status and backend into the result, body text to its reader. */
class ResponseSide {
  #ok = false;
  #errBody = "";
  readonly #dec = new BodyText();

  constructor(
    readonly r: ClientResult,
    readonly body: BodyReader,
    readonly guard: RequestGuard,
  ) {}

  // methods, not arrow-function fields: a per-request object's arrow fields made V8 keep every
  // request's objects through two scavenges (~1 KB a request promoted in a bare loop of this
  // client at 500 req/s, none with methods; 2026-12-07, `--trace-gc-nvp`)
  head(status: number, h: HeaderLookup): void {
    this.r.status = status;
    this.r.backend = h.get("x-backend") ?? h.get("x-served-by") ?? "";
    this.#ok = status >= 200 && status < 300;
    this.body.contentType(h.get("content-type") ?? "");
  }

  data(bytes: Uint8Array): void {
    if (this.guard.stallMs > 0) this.guard.stall.byte();
    const text = this.#dec.decode(bytes);
    if (this.#ok) this.body.push(text);
    else if (this.#errBody.length < 4096) this.#errBody += text;
  }

  /** The body ended: true for a 2xx answer (its last text pushed), else the HTTP error set. */
  ended(): boolean {
    if (!this.#ok) {
      this.r.error = `HTTP ${this.r.status}: ${errorText(this.#errBody + this.#dec.end())}`;
      return false;
    }
    this.body.push(this.#dec.end());
    return true;
  }
}

/** The request headers: JSON, request id, the caller's own, session id. */
function requestHeaders(req: ClientRequest): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-request-id": req.requestId,
    ...req.headers,
  };
  if (req.sessionId) headers["x-session-id"] = req.sessionId;
  return headers;
}

/** The last URL parsed, and its text (a run sends every request to one URL; http1 only reads it). */
let lastUrl: URL | null = null;
let lastHref = "";

/** `new URL(href)`, parsed once for a run of requests to one URL. */
function parsedUrl(href: string): URL {
  if (href !== lastHref || !lastUrl) {
    lastUrl = new URL(href);
    lastHref = href;
  }
  return lastUrl;
}

/**
 * POSTs `req` and streams its response to `res`; throws (or rejects) when the
 * transport fails. Not async itself: the lean path is one promise, http1's.
 */
function exchange(req: ClientRequest, res: ResponseSide): Promise<void> {
  const headers = requestHeaders(req);
  if (req.signal?.aborted) throw new Error("aborted before send");
  const url = parsedUrl(req.url);
  if (url.protocol !== "http:") return fetchExchange(req, headers, res);
  // the lean path: our HTTP/1.1 client, SSE parsed from each read as it returns
  const body = typeof req.body === "string" ? enc.encode(req.body) : req.body;
  const canceller = res.guard.canceller;
  return http1({
    url,
    headers,
    body,
    canceller,
    onHead: (status, h) => res.head(status, h),
    onData: (bytes) => res.data(bytes),
  });
}

/** {@linkcode exchange} over `fetch` (`https:`). */
async function fetchExchange(
  req: ClientRequest,
  headers: Record<string, string>,
  res: ResponseSide,
): Promise<void> {
  const ac = new AbortController();
  const canceller = res.guard.canceller;
  canceller.onCancel(() => ac.abort());
  if (canceller.cancelled) ac.abort();
  const answer = await fetch(req.url, {
    method: "POST",
    headers,
    body: typeof req.body === "string" ? req.body : bodyBytes(req.body),
    signal: ac.signal,
  });
  res.head(answer.status, answer.headers);
  if (answer.body) { for await (const chunk of answer.body) res.data(chunk); }
}

/**
 * Sends `req` under `guard` and reads its response into `r` (status, backend)
 * and `body` (an OK body's text). Returns true when a 2xx body was read to its
 * end (then `body.end()` is due); else `r.error` says what failed: the HTTP
 * status and its message, a refused or broken connection, or why `guard`
 * cancelled it. Never throws; stops `guard`.
 */
export async function transfer(
  req: ClientRequest,
  r: ClientResult,
  body: BodyReader,
  guard: RequestGuard,
): Promise<boolean> {
  const res = new ResponseSide(r, body, guard);
  try {
    await exchange(req, res);
    return res.ended();
  } catch (e) {
    r.error = guard.why ||
      `${r.status ? "stream broken" : "request failed"}: ${
        e instanceof Error ? e.message.split("\n")[0] : e
      }`;
    return false;
  } finally {
    guard.stop();
  }
}
