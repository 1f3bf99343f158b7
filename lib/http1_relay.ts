/**
 * {@linkcode http1} for a relay (the router's legs): resolves at the response
 * head with the status, the headers and a {@linkcode PushBody} that a server
 * of ours writes on as it comes (`rawResponse(body, …)`), watched through a
 * {@linkcode BodyTap}: no `Response` or `ReadableStream` (both outlive
 * scavenges in Deno 2: see lib/push_body.ts).
 *
 * @module
 */
import { Canceller, http1 } from "./http1.ts";
import { PushBody } from "./push_body.ts";

/**
 * Watches a body that {@linkcode http1Relay} passes on (the router's relay),
 * without a second stream around it.
 */
export interface BodyTap {
  /** Before each chunk is passed on. */
  data?(): void;
  /**
   * The body ended: `error` is undefined when it completed. Bytes returned are
   * passed on last and the stream then closes instead of failing.
   */
  end?(error: unknown): Uint8Array | undefined;
  /** The body's reader cancelled it (the request is then cancelled too). */
  cancel?(reason: unknown): void;
  /**
   * Reading paused (`true`: the reader left {@linkcode BODY_BUFFER_BYTES}
   * unread) or resumed: time paused is the reader's, not the server's.
   */
  paused?(on: boolean): void;
}

/** Bytes of a streamed body held for a reader that does not read before the server is paused. */
export const BODY_BUFFER_BYTES = 64 * 1024;

const OWN_HEADERS = new Set(["content-length", "host", "connection", "transfer-encoding"]);

/** The caller's headers, less those {@linkcode http1} writes itself (copied, never `delete`d: a slow object after). */
function requestHeaders(h: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const k in h) if (!OWN_HEADERS.has(k)) headers[k] = h[k];
  return headers;
}

/** A relayed answer at its head. */
export interface RelayAnswer {
  status: number;
  /** Status 200–299. */
  ok: boolean;
  /** As received, names in lower case (hop-by-hop ones too: http1 reads the framing from them). */
  headers: Map<string, string>;
  /** The body as it arrives (empty for 204 and 304); cancelling it cancels the request. */
  body: PushBody;
}

/** Options of {@linkcode http1Relay}. */
export interface Http1RelayInit {
  /** @default "POST" */
  method?: string;
  /** Header names in lower case (content-length, host, connection and transfer-encoding are {@linkcode http1}'s own: dropped). */
  headers: Record<string, string>;
  /** A string is sent as UTF-8. */
  body?: string | Uint8Array<ArrayBuffer>;
  signal?: AbortSignal;
  /** Watches the body as it streams. */
  tap?: BodyTap;
}

const enc = new TextEncoder();

/**
 * POSTs (or `method`s) to `url` and resolves at the answer's head (see the
 * module doc); a URL other than plain `http:` (`https:`) goes to `fetch`,
 * its body pumped into the same {@linkcode PushBody}.
 */
export function http1Relay(url: string, init: Http1RelayInit): Promise<RelayAnswer> {
  const u = new URL(url);
  if (u.protocol !== "http:") return fetchRelay(url, init);
  const { tap, signal } = init;
  const canceller = new Canceller();
  const body = new RelayBody(canceller, tap);
  // an abort while the producer is held back must reach the read loop (it closes the connection)
  const wake = () => body.wake();
  return new Promise<RelayAnswer>((resolve, reject) => {
    let headed = false;
    http1({
      url: u,
      method: init.method,
      headers: requestHeaders(init.headers),
      body: typeof init.body === "string" ? enc.encode(init.body) : init.body,
      signal,
      canceller,
      onHead: (status, h) => {
        headed = true;
        resolve({ status, ok: status >= 200 && status < 300, headers: h, body });
      },
      onData: (bytes) => {
        if (body.cancelled) return;
        tap?.data?.();
        const held = body.push(bytes.slice());
        // aborted: the read loop goes on to find its connection closed (a wait would never end)
        if (!held || signal?.aborted) return;
        tap?.paused?.(true);
        signal?.addEventListener("abort", wake, { once: true });
        return held.then(() => {
          signal?.removeEventListener("abort", wake);
          tap?.paused?.(false);
        });
      },
    }).then(
      () => !body.cancelled && endBody(body, tap, undefined),
      (e) => {
        if (!headed) reject(e);
        else if (!body.cancelled) endBody(body, tap, e);
      },
    );
  });
}

/** {@linkcode http1Relay} through `fetch` (`https:`): the body read into a {@linkcode PushBody}. */
async function fetchRelay(url: string, init: Http1RelayInit): Promise<RelayAnswer> {
  const { tap, signal } = init;
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal!.reason);
  if (signal?.aborted) ac.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  const body = new RelayBody({ cancel: (why) => ac.abort(why) }, tap);
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? "POST",
      headers: requestHeaders(init.headers),
      body: init.body,
      signal: ac.signal,
    });
  } catch (e) {
    signal?.removeEventListener("abort", onAbort);
    throw e;
  }
  const headers = new Map<string, string>();
  res.headers.forEach((v, k) => headers.set(k, v));
  pump(res, body, tap).finally(() => signal?.removeEventListener("abort", onAbort));
  return { status: res.status, ok: res.ok, headers, body };
}

/** `res`'s body into `body` (held back while its reader is behind), then its end or failure. */
async function pump(res: Response, body: PushBody, tap: BodyTap | undefined): Promise<void> {
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        if (body.cancelled) return;
        tap?.data?.();
        const held = body.push(chunk);
        if (!held) continue;
        tap?.paused?.(true);
        await held;
        tap?.paused?.(false);
      }
    }
    if (!body.cancelled) endBody(body, tap, undefined);
  } catch (e) {
    if (!body.cancelled) endBody(body, tap, e);
  }
}

/** A relayed body: the reader's cancel cancels the request and tells the tap. */
class RelayBody extends PushBody {
  constructor(
    readonly canceller: { cancel(why: unknown): void },
    readonly tap: BodyTap | undefined,
  ) {
    super(BODY_BUFFER_BYTES);
  }

  protected override onCancel(why: unknown): void {
    this.canceller.cancel(why ?? new Error("response body cancelled"));
    this.tap?.cancel?.(why);
  }
}

/** The body ended (`e` undefined) or failed: the tap's tail, then the end or the failure. */
function endBody(body: PushBody, tap: BodyTap | undefined, e: unknown): void {
  const tail = tap?.end?.(e);
  if (tail) body.push(tail);
  if (e === undefined || tail) body.end();
  else body.fail(e);
}
