/**
 * One HTTP/1.1 server connection of {@linkcode serveHttp} (lib/http_server.ts):
 * reads request heads and bodies (lib/_http_body.ts), calls the handler with a
 * `Request`, writes its `Response` (a body known whole when it is first
 * written goes with its length, anything else is streamed as it comes) and
 * keeps the connection alive between requests. Each phase sets a deadline that
 * the server's sweep enforces: the head, the body, the idle wait, each write;
 * the handler's own work has none.
 *
 * @module
 */
import { indexOfCrlf, Refused, RequestBody } from "./_http_body.ts";
import { ReadBuffer } from "./_read_buffer.ts";
import { LeanRequest, type RawRequest } from "./_lean_request.ts";
import { PushBody } from "./push_body.ts";
import { concat } from "./bytes.ts";
import {
  chunked,
  closeQuietly,
  errorAnswer,
  LINGER_BYTES,
  LINGER_MS,
  REASONS,
} from "./_http_wire.ts";

/** Limits and hooks a connection needs from its server. */
export interface ConnSettings {
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  writeTimeoutMs: number;
  maxHeaderBytes: number;
  handler: (req: Request) => Response | Promise<Response>;
  onError: (e: unknown) => Response;
  /** A client went away before its answer was written (counted by the server). */
  onGone: () => void;
  /** The server is stopping: no new request on this connection. */
  stopping: () => boolean;
  /** Lean requests for {@linkcode rawRequest} (see `HttpServeOptions.rawRequests`). */
  rawRequests: boolean;
}

/** A raw response's head lines and, when it was given whole, its bytes (written without reading `res.body`). */
interface RawHead {
  headers: [string, string][];
  /** A body pushed as it comes (written as a stream is), else null. */
  push: PushBody | null;
  whole: Uint8Array | null;
}
/**
 * Where a raw response keeps its {@linkcode RawHead}: a symbol-keyed property
 * of the `Response`, not a `WeakMap` entry (a WeakMap's values outlived
 * scavenges with everything they reached: 3.5 MB promoted a scavenge once a
 * relayed body hung from them).
 */
const RAW = Symbol("rawHead");
type WithRaw = Response & { [RAW]?: RawHead };
const rawHead = (res: Response): RawHead | undefined => (res as WithRaw)[RAW];

/** What the server read of `req` (requests of a server with `rawRequests: true`); else undefined. */
export function rawRequest(req: Request): RawRequest | undefined {
  return (req as unknown) instanceof LeanRequest ? (req as unknown as LeanRequest).raw : undefined;
}

/** The signal aborted when `req`'s client goes away ({@linkcode RawRequest}'s, else `req.signal`). */
export function clientSignal(req: Request): AbortSignal {
  return rawRequest(req)?.signal ?? req.signal;
}

/** What the server reads an answer's body through (a stream's reader, or a {@linkcode PushBody}). */
interface BodyReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A `Response` whose head the server writes from `headers` as given (names
 * in lower case) instead of iterating its `Headers` (~20 KB of garbage an
 * answer in Deno); its own `headers` stay empty. A {@linkcode PushBody} is
 * written as it comes; the `Response` itself then has no body (only our
 * server reads it).
 */
export function rawResponse(
  body: ReadableStream<Uint8Array> | PushBody | Uint8Array | string | null,
  status: number,
  headers: [string, string][],
): Response {
  const whole = typeof body === "string"
    ? enc.encode(body)
    : body instanceof Uint8Array
    ? body
    : null;
  // the server writes a whole or pushed body from RAW, never reading `res.body` (that stream
  // and its reads outlive scavenges in Deno 2: lib/push_body.ts), so the Response holds no copy
  const push = body instanceof PushBody ? body : null;
  const res = new Response((push || whole ? null : body) as BodyInit | null, { status });
  (res as WithRaw)[RAW] = { headers, whole, push };
  return res;
}

/** How an answer went: sent (the connection may be kept or must close), cut (its body failed), gone (the client). */
type Outcome = "kept" | "closed" | "cut" | "gone";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const SKIP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);
/** A served connection: its buffer, its phase deadline and its request loop. */
export class ServerConn extends ReadBuffer {
  /** When the current phase must be over (`performance.now()`); Infinity: none. */
  deadlineMs: number;
  /** Waiting for a request (may be closed at once when the server stops). */
  idle = true;
  /** Requests answered on this connection. */
  served = 0;
  closed = false;
  /** Request bytes may be left unread: close gently (as `answerAndClose` in lib/_http_wire.ts). */
  #unread = false;
  /**
   * The current request's controller (aborted when the client goes away) and
   * its answer's reader (cancelled then). Fields, not a closure: a closure made
   * in `#request` and kept on this long-lived object kept that call's whole
   * context (head strings, header pairs, controller) through two scavenges,
   * ~0.2 MB promoted a scavenge at 500 req/s, 1.6 ms pauses against 0.3.
   */
  #ac: AbortController | null = null;
  #reader: BodyReader | null = null;

  constructor(conn: Deno.TcpConn, readonly s: ConnSettings, readonly host: string) {
    super(conn);
    this.deadlineMs = performance.now() + s.headerTimeoutMs;
  }

  /** Closes the socket (a timeout, the server stopping, an error). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.conn);
    this.#clientGone();
  }

  /** The client went away: the current request's signal aborts, its answer is cancelled. */
  #clientGone(): void {
    const ac = this.#ac, reader = this.#reader;
    this.#ac = this.#reader = null;
    ac?.abort(new Error("client closed the connection"));
    reader?.cancel(new Error("client closed the connection")).catch(() => {});
  }

  /** A request head over the limit. */
  protected override full(): never {
    throw new Refused(431, "request head too large");
  }

  /**
   * After the request body: a read stays pending so that the client's close is
   * seen while its answer is worked out (bytes of a pipelined request are kept).
   */
  #watch(): void {
    if (this.pending || this.closed) return;
    let p: Promise<number | null>;
    try {
      p = this.readAhead(this.s.maxHeaderBytes);
    } catch {
      return;
    }
    p.then((n) => {
      if (n === null && this.pending === p) this.close();
    }, () => {
      if (this.pending === p) this.close();
    });
  }

  /** Serves requests until the connection closes. */
  async run(): Promise<void> {
    try {
      for (let first = true;; first = false) {
        if (!(await this.#head(first))) return;
        const keep = await this.#request();
        this.served++;
        if (!keep || this.closed || this.s.stopping()) return;
        this.idle = true;
        this.deadlineMs = performance.now() + this.s.idleTimeoutMs;
      }
    } catch (e) {
      if (e instanceof Refused && !this.closed) {
        this.#unread = true;
        await this.#write(errorAnswer(e.status, e.message, "BadRequestError")).catch(() => {});
      }
    } finally {
      if (this.#unread || this.end > this.start) await this.#linger();
      this.close();
    }
  }

  /** Shuts the write side and drops what the client still sends (bounded), so the answer is not reset. */
  async #linger(): Promise<void> {
    if (this.closed) return;
    this.#ac = this.#reader = null;
    this.idle = false;
    this.deadlineMs = performance.now() + LINGER_MS; // the sweep closes it then
    try {
      await this.conn.closeWrite();
      for (let n = 0; n < LINGER_BYTES && !this.closed;) {
        this.start = this.end = 0;
        if (!(await this.fill())) return;
        n += this.end;
      }
    } catch { /* closed */ }
  }

  /** Waits for a whole request head in the buffer; false when the client closed first. */
  async #head(first: boolean): Promise<boolean> {
    let armed = first;
    // the search resumes where the last one ended (3 bytes back: a split "\r\n\r\n")
    for (let from = this.start; indexOfCrlf(this.buf, from, this.end, true) < 0;) {
      if (this.end - this.start >= this.s.maxHeaderBytes) {
        throw new Refused(431, "request head too large");
      }
      const searched = this.end - this.start;
      if (!(await this.fill(this.s.maxHeaderBytes))) {
        if (this.end > this.start) {
          throw new Refused(400, "connection closed inside a request head");
        }
        return false;
      }
      from = this.start + Math.max(0, searched - 3);
      // the head's own deadline starts with its first byte (a slow head does not extend it)
      if (!armed) {
        armed = true;
        this.deadlineMs = performance.now() + this.s.headerTimeoutMs;
      }
    }
    return true;
  }

  /** Parses the head, calls the handler, writes the answer; whether to keep the connection. */
  async #request(): Promise<boolean> {
    const headEnd = indexOfCrlf(this.buf, this.start, this.end, true);
    const lines = latin1.decode(this.buf.subarray(this.start, headEnd)).split("\r\n");
    this.start = headEnd + 4;
    this.idle = false;
    // the head is whole: no deadline on the handler's work (a body and each write set their own)
    this.deadlineMs = Infinity;
    const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0]);
    if (!m) throw new Refused(400, "malformed request line");
    const [, method, target, minor] = m;
    const pairs: [string, string][] = [];
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(":");
      if (c <= 0) throw new Refused(400, "malformed header line");
      pairs.push([lines[i].slice(0, c).trim().toLowerCase(), lines[i].slice(c + 1).trim()]);
    }
    const header = (name: string) => pairs.find(([k]) => k === name)?.[1] ?? null;
    const connHdr = header("connection")?.toLowerCase() ?? "";
    let keep = minor === "1" ? !connHdr.includes("close") : connHdr.includes("keep-alive");
    const te = header("transfer-encoding");
    if (te && te.toLowerCase() !== "chunked") {
      throw new Refused(501, "unsupported transfer-encoding");
    }
    const cl = header("content-length");
    const length = te ? -1 : cl === null ? 0 : Number(cl);
    if (!Number.isSafeInteger(length) || length < -1) throw new Refused(400, "bad content-length");
    let url: string;
    try {
      url = target.startsWith("/") ? `http://${header("host") || this.host}${target}` : target;
      if (!URL.canParse(url)) throw new Error("bad URL");
    } catch {
      throw new Refused(400, "bad request target or host");
    }
    const hasBody = method !== "GET" && method !== "HEAD" && length !== 0;
    if (hasBody && header("expect")?.toLowerCase() === "100-continue") {
      await this.#write(enc.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    const body = new RequestBody(this, hasBody ? length : 0);
    if (!hasBody && length !== 0) keep = false; // a body on GET: not read, so not reusable
    const ac = new AbortController();
    const bytes = hasBody ? body.stream() : null;
    let req: Request;
    if (!this.s.rawRequests) req = new Request(url, { method, body: bytes, signal: ac.signal });
    else {
      // lean: no Request (each outlives two scavenges), no copy of a body that came whole
      const whole = bytes instanceof Uint8Array ? bytes : null;
      const raw = { signal: ac.signal, headers: pairs, body: whole };
      const lean = new LeanRequest(
        method,
        url,
        raw,
        bytes instanceof ReadableStream ? bytes : null,
      );
      req = lean as unknown as Request;
    }
    // appended to the request's own headers (a Headers passed in would be copied once more)
    const h = req.headers;
    for (const [k, v] of pairs) h.append(k, v);
    if (body.done) this.#watch();
    else body.onDone = () => this.#watch();
    this.#ac = ac;
    let res: Response;
    try {
      res = await this.s.handler(req);
    } catch (e) {
      res = this.s.onError(e);
    }
    if (body.refused) {
      res.body?.cancel().catch(() => {});
      rawHead(res)?.push?.cancel();
      throw body.refused;
    }
    keep = keep && body.done;
    this.#unread = !body.done || length !== 0 && !hasBody;
    const outcome = await this.#answer(res, method === "HEAD", keep, minor === "1", true);
    this.#ac = this.#reader = null;
    if (outcome === "gone") this.s.onGone();
    return outcome === "kept";
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.deadlineMs = performance.now() + this.s.writeTimeoutMs;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
    this.deadlineMs = Infinity;
  }

  /** Writes `bytes`; false when the client went away first. */
  async #send(bytes: Uint8Array): Promise<boolean> {
    try {
      await this.#write(bytes);
      return !this.closed;
    } catch {
      return false;
    }
  }

  /** The status line and the handler's headers (the framing ones are ours). */
  #head0(res: Response): string {
    let h = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}\r\n`;
    for (const [k, v] of rawHead(res)?.headers ?? res.headers) {
      if (!SKIP.has(k)) h += `${k}: ${v}\r\n`;
    }
    return h;
  }

  #keepLine(keep: boolean): string {
    return keep
      ? `keep-alive: timeout=${Math.round(this.s.idleTimeoutMs / 1000)}\r\n`
      : "connection: close\r\n";
  }

  /**
   * Writes the answer. A body that fails before anything is written is
   * answered by `onError` instead (once: `retry`).
   */
  async #answer(
    res: Response,
    head: boolean,
    keep: boolean,
    http11: boolean,
    retry: boolean,
  ): Promise<Outcome> {
    const status = res.status;
    const raw = rawHead(res);
    if (status < 200 || status === 204 || status === 304) {
      // no body, and no length: none may follow
      res.body?.cancel().catch(() => {});
      raw?.push?.cancel();
      const ok = await this.#send(enc.encode(`${this.#head0(res)}${this.#keepLine(keep)}\r\n`));
      return ok ? (keep ? "kept" : "closed") : "gone";
    }
    if (raw?.whole) return await this.#whole(res, raw.whole, keep, head);
    if (raw?.push) return await this.#stream(res, raw.push, keep, http11, head, retry);
    if (!res.body) return await this.#whole(res, new Uint8Array(0), keep, false);
    const known = head ? res.headers.get("content-length") : null;
    if (known !== null && /^\d+$/.test(known)) {
      res.body.cancel().catch(() => {});
      const out = `${this.#head0(res)}${this.#keepLine(keep)}content-length: ${known}\r\n\r\n`;
      return (await this.#send(enc.encode(out))) ? (keep ? "kept" : "closed") : "gone";
    }
    return await this.#stream(res, res.body, keep, http11, head, retry);
  }

  /** A body known whole: with its length (only the head for HEAD). */
  async #whole(res: Response, bytes: Uint8Array, keep: boolean, head: boolean): Promise<Outcome> {
    const h = enc.encode(
      `${this.#head0(res)}${this.#keepLine(keep)}content-length: ${bytes.length}\r\n\r\n`,
    );
    const ok = await this.#send(head || bytes.length === 0 ? h : concat([h, bytes]));
    return ok ? (keep ? "kept" : "closed") : "gone";
  }

  /**
   * Writes a body as it comes, each write taking every piece already queued
   * (a write is most of this path's cost). A body whose end is queued by its
   * first write goes whole with its length; otherwise chunked (HTTP/1.1) or
   * raw up to the close (HTTP/1.0). HEAD writes the head only.
   */
  async #stream(
    res: Response,
    body: { getReader(): BodyReader },
    keep: boolean,
    http11: boolean,
    head: boolean,
    retry: boolean,
  ): Promise<Outcome> {
    let reader: BodyReader;
    try {
      reader = body.getReader();
    } catch (e) {
      return await this.#failed(e, http11, retry);
    }
    this.#reader = reader;
    if (this.closed) {
      // the client left before the answer began (its hook ran without this reader)
      reader.cancel(new Error("client closed the connection")).catch(() => {});
      return "gone";
    }
    const parts: Uint8Array[] = [];
    let started = false;
    let headParts = 0; // parts[0] is the head, written as it is
    let next = reader.read();
    for (;;) {
      let done = false;
      let failure: { e: unknown } | null = null;
      try {
        const r = await next;
        if (r.done) done = true;
        else {
          if (r.value.length > 0) parts.push(r.value);
          next = reader.read();
          // a read already settled wins the race: it is batched into this write
          if ((await Promise.race([next, PENDING])) !== PENDING_VALUE) continue;
        }
      } catch (e) {
        failure = { e };
      }
      if (!started) {
        // nothing to keep: an error answer instead; else what came is sent, then cut
        if (failure && parts.length === 0) return await this.#failed(failure.e, http11, retry);
        if (done) return await this.#whole(res, concat(parts), keep, head);
        if (head) {
          // the length is not known yet: the head without it
          reader.cancel().catch(() => {});
          const ok = await this.#send(enc.encode(`${this.#head0(res)}${this.#keepLine(keep)}\r\n`));
          return ok ? (keep ? "kept" : "closed") : "gone";
        }
        if (!http11) keep = false;
        const framing = http11 ? "transfer-encoding: chunked\r\n" : "";
        parts.unshift(enc.encode(`${this.#head0(res)}${this.#keepLine(keep)}${framing}\r\n`));
        started = true;
        headParts = 1;
      }
      const out = http11 ? chunked(parts, headParts, done) : concat(parts);
      parts.length = 0;
      headParts = 0;
      if (!(await this.#send(out))) {
        reader.cancel(new Error("client closed the connection")).catch(() => {});
        return "gone";
      }
      if (failure) {
        // the answer is cut (the client sees no end), not the client's doing
        reader.cancel(failure.e).catch(() => {});
        return "cut";
      }
      if (done) return keep ? "kept" : "closed";
    }
  }

  /** The body failed before anything was written: `onError`'s answer instead (once). */
  async #failed(e: unknown, http11: boolean, retry: boolean): Promise<Outcome> {
    let res: Response;
    try {
      if (!retry) return "cut";
      res = this.s.onError(e);
    } catch {
      return "cut";
    }
    const outcome = await this.#answer(res, false, false, http11, false);
    return outcome === "kept" ? "closed" : outcome;
  }
}

const PENDING_VALUE = Symbol("pending");
const PENDING = Promise.resolve(PENDING_VALUE);
