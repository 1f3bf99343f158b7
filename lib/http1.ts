/**
 * A small HTTP/1.1 client for plain `http:` URLs on our hot paths (the load
 * generator, the router's legs): one write per request, body bytes handed over
 * as each read returns them (no web streams, no per-chunk promises beyond the
 * socket read), keep-alive connections pooled per host. `fetch` does the same
 * job at several times the CPU per request; `https:` stays on `fetch`.
 *
 * @module
 */

/**
 * Cancels one request without an `AbortSignal` (whose listeners cost several µs
 * each to add and remove on a hot path): call {@linkcode cancel}.
 */
export class Canceller {
  #close: (() => void) | null = null;
  /** Why it was cancelled, once it is. */
  reason: unknown = undefined;
  cancelled = false;

  /** Cancels the request (closes its connection); later calls do nothing. */
  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    this.#close?.();
  }

  /** Used by {@linkcode http1}: what cancelling does now. */
  onCancel(close: (() => void) | null): void {
    this.#close = close;
  }
}

/** One request. */
export interface Http1Request {
  url: URL;
  method?: string;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Bytes, or a writer of them into the request's one write. */
  body?: Http1Body;
  /** Aborting closes the connection; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The same as `signal`, cheaper: cancelling closes the connection and rejects with its reason. */
  canceller?: Canceller;
  /** Status and headers (names in lower case), before any body bytes. */
  onHead?: (status: number, headers: Map<string, string>) => void;
  /**
   * Body bytes (de-chunked) as they arrive; the array is only valid during the
   * call. A returned `Promise` pauses reading (the server is then held back by
   * TCP) until it settles.
   */
  onData: (bytes: Uint8Array) => unknown;
}

import { connectTurn, endConnect, Reader, release, takeIdle } from "./_http1_pool.ts";
import { HEAD_EOF, readResponse } from "./_http1_response.ts";
import { type Http1Body, releaseRequest, requestMessage } from "./_http1_request.ts";

export { closeIdle, DEFAULT_IDLE_MS, idleCount, idleMsOf } from "./_http1_pool.ts";
export { bodyBytes, type BodyWriter, type Http1Body } from "./_http1_request.ts";

/** A new connection (a pooled one is taken by {@linkcode http1} before it comes here). */
async function connect(url: URL): Promise<Reader> {
  const conn = await Deno.connect({
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port || 80),
  });
  conn.setNoDelay(true);
  return new Reader(conn);
}

/**
 * {@linkcode connect}, ended by a cancel or abort that comes first (a connect
 * to an unreachable host may otherwise take the OS's minutes); a connection
 * that opens after that is closed.
 */
function connectOrCancel(req: Http1Request): Promise<Reader> {
  const connecting = connect(req.url);
  if (!req.canceller && !req.signal) return connecting;
  return new Promise((resolve, reject) => {
    let settled = false;
    const stop = (why: unknown) => {
      if (settled) return;
      settled = true;
      req.signal?.removeEventListener("abort", onAbort);
      req.canceller?.onCancel(null);
      reject(why);
    };
    const onAbort = () => stop(req.signal!.reason);
    req.signal?.addEventListener("abort", onAbort, { once: true });
    req.canceller?.onCancel(() => stop(req.canceller!.reason));
    connecting.then((c) => {
      if (settled) return c.conn.close();
      settled = true;
      req.signal?.removeEventListener("abort", onAbort);
      req.canceller?.onCancel(null);
      resolve(c);
    }, (e) => stop(e));
  });
}

/**
 * A connection for a request that found none idle: its own new one, once fewer
 * than `MAX_CONNECTING` attempts to the host are in progress, or one a finished
 * request gives back first (see `connectTurn`).
 */
async function newConnection(req: Http1Request, key: string): Promise<Reader> {
  let onAbort: (() => void) | undefined;
  const turn = connectTurn(key, (withdraw) => {
    if (withdraw) {
      onAbort = () => withdraw(req.signal!.reason);
      req.signal?.addEventListener("abort", onAbort, { once: true });
      req.canceller?.onCancel(() => withdraw(req.canceller!.reason));
    } else {
      if (onAbort) req.signal?.removeEventListener("abort", onAbort);
      req.canceller?.onCancel(null);
    }
  });
  const given = turn === null ? null : await turn;
  if (given !== null) return given;
  try {
    return await connectOrCancel(req);
  } finally {
    endConnect(key);
  }
}

/** Errors that mean the connection went away (worth one more try if no byte came back). */
function closedError(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe ||
    e instanceof Deno.errors.ConnectionAborted || e instanceof Deno.errors.UnexpectedEof ||
    (e instanceof Error && e.message === HEAD_EOF);
}

/**
 * Sends one request and streams its response body to `onData`; resolves when
 * the body is complete. Idle pooled connections expire (the server's
 * `Keep-Alive: timeout=`, else {@linkcode DEFAULT_IDLE_MS}) and are dropped as
 * soon as the server closes them. A request whose kept-alive connection closed
 * before any response byte is retried once on a new connection; one sent on a
 * new connection, or that received bytes, never is. A server that answers and
 * closes before reading the whole body (413, 503) has its answer read.
 */
export async function http1(req: Http1Request): Promise<void> {
  if (req.url.protocol !== "http:") {
    throw new TypeError(
      `Cannot use ${req.url.href} as an http: URL: current value is ${req.url.protocol}`,
    );
  }
  const key = req.url.host;
  for (let attempt = 0;; attempt++) {
    req.signal?.throwIfAborted();
    if (req.canceller?.cancelled) throw req.canceller.reason;
    // a pooled connection at once (no promise, no listeners), else a new one that a cancel can cut
    const r = (attempt === 0 ? takeIdle(key) : null) ?? await newConnection(req, key);
    const conn = r.conn;
    const reused = r.served > 0;
    let got = false;
    const onAbort = () => {
      try {
        conn.close();
      } catch { /* closed */ }
    };
    req.signal?.addEventListener("abort", onAbort, { once: true });
    req.canceller?.onCancel(onAbort);
    try {
      if (cancelReason(req) !== null) throw cancelReason(req);
      const writeError = await writeRequest(conn, req, key);
      // a server may answer (413, 503) and close before reading the whole body: its answer counts
      const idleMs = await readResponse(r, req, () => (got = true)).catch((e) => {
        throw writeError !== null && !got ? writeError : e;
      });
      req.signal?.removeEventListener("abort", onAbort);
      req.canceller?.onCancel(null);
      // cancelled after the last byte (a body cancelled as soon as its head came): the
      // cancel closed the connection, so it is not handed to the next request
      if (cancelReason(req) !== null) return;
      release(key, r, writeError === null ? idleMs : 0);
      return;
    } catch (e) {
      req.signal?.removeEventListener("abort", onAbort);
      req.canceller?.onCancel(null);
      try {
        conn.close();
      } catch { /* closed */ }
      const why = cancelReason(req);
      if (why !== null) throw why;
      // a kept-alive connection the server closed as we sent (never a new one: the server
      // may have taken the request; never once a byte came back)
      if (reused && !got && attempt === 0 && closedError(e)) continue;
      throw e;
    }
  }
}

/** The request's head and body as the one write that sends them (see {@linkcode releaseRequest}). */
function requestBytes(req: Http1Request, host: string): Uint8Array {
  let head = `${
    req.method ?? "POST"
  } ${req.url.pathname}${req.url.search} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [k, v] of Object.entries(req.headers)) head += `${k}: ${v}\r\n`;
  head += `content-length: ${req.body?.byteLength ?? 0}\r\n\r\n`;
  return requestMessage(head, req.body);
}

/**
 * Writes the request (its bytes made now, in a buffer given back once written:
 * a request in flight holds none); the error if the connection broke meanwhile.
 */
async function writeRequest(conn: Deno.TcpConn, req: Http1Request, host: string): Promise<unknown> {
  const msg = requestBytes(req, host);
  try {
    return await writeAll(conn, msg);
  } finally {
    releaseRequest(msg);
  }
}

/** Why the request was cancelled or aborted; null while it is not. */
function cancelReason(req: Http1Request): unknown {
  return req.canceller?.cancelled
    ? req.canceller.reason
    : req.signal?.aborted
    ? req.signal.reason
    : null;
}

/** Writes all of `msg`; the error if the connection broke meanwhile (a reply may still be there). */
async function writeAll(conn: Deno.TcpConn, msg: Uint8Array): Promise<unknown> {
  try {
    for (let off = 0; off < msg.length;) off += await conn.write(msg.subarray(off));
    return null;
  } catch (e) {
    if (!closedError(e)) throw e;
    return e;
  }
}
