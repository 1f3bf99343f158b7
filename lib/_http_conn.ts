/**
 * One HTTP/1.1 server connection of {@linkcode serveHttp} (lib/http_server.ts):
 * reads request heads and bodies (length-framed or chunked), calls the
 * handler with a `Request`, writes its `Response` (an event stream chunked
 * and written as it comes, anything else whole with a length) and keeps the
 * connection alive between requests. Each phase sets a deadline that the
 * server's sweep enforces: the head, the body, the idle wait, each write.
 *
 * @module
 */

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
}

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
const SKIP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length"]);

/** Thrown inside the connection for a request it answers itself (400, 431, 501). */
class Refused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The bytes of a small JSON error answer that closes the connection. */
export function errorAnswer(status: number, message: string, type: string): Uint8Array {
  const body = JSON.stringify({ error: { message, type, param: null, code: status } });
  return enc.encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: application/json\r\n` +
      `connection: close\r\ncontent-length: ${enc.encode(body).length}\r\n\r\n${body}`,
  );
}

function indexOfCrlf(buf: Uint8Array, from: number, to: number, double: boolean): number {
  for (let i = buf.indexOf(13, from); i >= 0 && i < to; i = buf.indexOf(13, i + 1)) {
    if (buf[i + 1] !== 10) continue;
    if (!double) return i + 1 < to ? i : -1;
    if (i + 3 < to && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** A served connection: its buffer, its phase deadline and its request loop. */
export class ServerConn {
  buf: Uint8Array<ArrayBuffer> = new Uint8Array(16384);
  start = 0;
  end = 0;
  /** When the current phase must be over (`performance.now()`); Infinity: none. */
  deadlineMs: number;
  /** Waiting for a request (may be closed at once when the server stops). */
  idle = true;
  closed = false;
  #pending: Promise<number | null> | null = null;
  /** Aborts the current request's signal and cancels its answer (client gone). */
  #onClose: (() => void) | null = null;

  constructor(readonly conn: Deno.TcpConn, readonly s: ConnSettings, readonly host: string) {
    this.deadlineMs = performance.now() + s.headerTimeoutMs;
  }

  /** Closes the socket (a timeout, the server stopping, an error). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch { /* closed */ }
    this.#onClose?.();
  }

  /** Reads more bytes into the buffer (growing it up to `limit`); false at EOF. */
  async fill(limit = Infinity): Promise<boolean> {
    if (this.#pending) {
      const p = this.#pending;
      this.#pending = null;
      const n = await p;
      if (n === null) return false;
      this.end += n;
      return true;
    }
    this.#room(limit);
    const n = await this.conn.read(this.buf.subarray(this.end));
    if (n === null) return false;
    this.end += n;
    return true;
  }

  #room(limit: number): void {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end < this.buf.length) return;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    } else {
      if (this.buf.length >= limit) throw new Refused(431, "request head too large");
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
  }

  /**
   * After the request body: a read stays pending so that the client's close is
   * seen while its answer is worked out (bytes of a pipelined request are kept).
   */
  #watch(): void {
    if (this.#pending || this.closed) return;
    try {
      this.#room(this.s.maxHeaderBytes);
    } catch {
      return;
    }
    const p = this.conn.read(this.buf.subarray(this.end));
    this.#pending = p;
    p.then((n) => {
      if (n === null && this.#pending === p) this.close();
    }, () => {
      if (this.#pending === p) this.close();
    });
  }

  /** Serves requests until the connection closes. */
  async run(): Promise<void> {
    try {
      for (let first = true;; first = false) {
        if (!(await this.#head(first))) return;
        const keep = await this.#request();
        if (!keep || this.closed || this.s.stopping()) return;
        this.idle = true;
        this.deadlineMs = performance.now() + this.s.idleTimeoutMs;
      }
    } catch (e) {
      if (e instanceof Refused && !this.closed) {
        await this.conn.write(errorAnswer(e.status, e.message, "BadRequestError")).catch(() => {});
      }
    } finally {
      this.close();
    }
  }

  /** Waits for a whole request head in the buffer; false when the client closed first. */
  async #head(first: boolean): Promise<boolean> {
    let armed = first;
    while (indexOfCrlf(this.buf, this.start, this.end, true) < 0) {
      if (this.end - this.start >= this.s.maxHeaderBytes) {
        throw new Refused(431, "request head too large");
      }
      if (!(await this.fill(this.s.maxHeaderBytes))) {
        if (this.end > this.start) {
          throw new Refused(400, "connection closed inside a request head");
        }
        return false;
      }
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
    if (length !== 0 && header("expect")?.toLowerCase() === "100-continue") {
      await this.#write(enc.encode("HTTP/1.1 100 Continue\r\n\r\n"));
    }
    const body = new RequestBody(this, length);
    const ac = new AbortController();
    const hasBody = method !== "GET" && method !== "HEAD" && length !== 0;
    const req = new Request(url, {
      method,
      body: hasBody ? body.stream() : null,
      signal: ac.signal,
    });
    // appended to the request's own headers (a Headers passed in would be copied once more)
    const h = req.headers;
    for (const [k, v] of pairs) h.append(k, v);
    if (!hasBody && length !== 0) keep = false; // a body on GET: not read, so not reusable
    if (body.done) this.#watch();
    else body.onDone = () => this.#watch();
    this.#onClose = () => ac.abort(new Error("client closed the connection"));
    let res: Response;
    try {
      res = await this.s.handler(req);
    } catch (e) {
      res = this.s.onError(e);
    }
    keep = keep && body.done;
    const ok = await this.#answer(res, method === "HEAD", keep, minor === "1");
    this.#onClose = null;
    if (!ok) this.s.onGone();
    return keep && ok;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.deadlineMs = performance.now() + this.s.writeTimeoutMs;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
    this.deadlineMs = Infinity;
  }

  /** Writes the answer; false when the client went away first. */
  async #answer(res: Response, head: boolean, keep: boolean, http11: boolean): Promise<boolean> {
    let h = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}\r\n`;
    for (const [k, v] of res.headers) if (!SKIP.has(k)) h += `${k}: ${v}\r\n`;
    h += keep
      ? `keep-alive: timeout=${Math.round(this.s.idleTimeoutMs / 1000)}\r\n`
      : "connection: close\r\n";
    const sse = (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
    if (head || !res.body || !sse || !http11) {
      let bytes: Uint8Array;
      try {
        bytes = head || !res.body ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
      } catch {
        bytes = new Uint8Array(0);
        keep = false;
      }
      const out = enc.encode(`${h}content-length: ${bytes.length}\r\n\r\n`);
      try {
        await this.#write(head ? out : concat(out, bytes));
        return !this.closed;
      } catch {
        return false;
      }
    }
    return await this.#stream(res.body, h);
  }

  /** An event stream, chunked, each piece written as it comes (the socket paces the reads). */
  async #stream(body: ReadableStream<Uint8Array>, h: string): Promise<boolean> {
    const reader = body.getReader();
    const onClose = this.#onClose;
    this.#onClose = () => {
      onClose?.();
      reader.cancel(new Error("client closed the connection")).catch(() => {});
    };
    try {
      // the head goes with the first piece, and every piece already queued (and the end,
      // if it is known) goes in one write: a write is most of this path's cost
      let out: Uint8Array[] = [enc.encode(`${h}transfer-encoding: chunked\r\n\r\n`)];
      let next: Promise<ReadableStreamReadResult<Uint8Array>> = reader.read();
      for (let r = await next;; r = await next) {
        if (r.done) {
          out.push(LAST_CHUNK);
          break;
        }
        if (r.value.length > 0) {
          out.push(enc.encode(`${r.value.length.toString(16)}\r\n`), r.value, CRLF);
        }
        next = reader.read();
        // a read already settled wins the race: it is batched into this write
        if ((await Promise.race([next, PENDING])) !== PENDING_VALUE) continue;
        await this.#write(concat(...out));
        out = [];
      }
      await this.#write(concat(...out));
      return !this.closed;
    } catch {
      // the client went away (a write failed) or the body failed: the answer is cut
      reader.cancel(new Error("client closed the connection")).catch(() => {});
      this.close();
      return false;
    }
  }
}

const CRLF = enc.encode("\r\n");
const PENDING_VALUE = Symbol("pending");
const PENDING = Promise.resolve(PENDING_VALUE);
const LAST_CHUNK = enc.encode("0\r\n\r\n");

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A request body read from the connection as its reader pulls (length-framed or chunked). */
class RequestBody {
  done: boolean;
  onDone: (() => void) | null = null;
  /** Bytes left of a length-framed body, or of the current chunk (chunked). */
  #left: number;
  readonly #chunked: boolean;

  constructor(readonly c: ServerConn, length: number) {
    this.#chunked = length < 0;
    this.#left = this.#chunked ? 0 : length;
    this.done = length === 0;
    if (!this.done) c.deadlineMs = performance.now() + c.s.bodyTimeoutMs;
  }

  #finish(): void {
    this.done = true;
    this.c.deadlineMs = Infinity;
    this.onDone?.();
  }

  stream(): ReadableStream<Uint8Array<ArrayBuffer>> | Uint8Array<ArrayBuffer> {
    const c = this.c;
    // the whole body is in the buffer already (most requests): no stream
    if (!this.#chunked && c.end - c.start >= this.#left) {
      const bytes = c.buf.slice(c.start, c.start + this.#left);
      c.start += this.#left;
      this.#left = 0;
      this.#finish();
      return bytes;
    }
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (ctl) => {
        const bytes = await this.#next();
        if (bytes) ctl.enqueue(bytes);
        else ctl.close();
      },
    });
  }

  async #more(): Promise<void> {
    if (!(await this.c.fill())) throw new Error("connection closed inside a request body");
  }

  /** The next piece of the body, or null at its end. */
  async #next(): Promise<Uint8Array<ArrayBuffer> | null> {
    const c = this.c;
    if (this.done) return null;
    if (this.#chunked && this.#left === 0) {
      let eol: number;
      while ((eol = indexOfCrlf(c.buf, c.start, c.end, false)) < 0) await this.#more();
      const size = parseInt(latin1.decode(c.buf.subarray(c.start, eol)), 16);
      if (!(size >= 0)) throw new Error("malformed chunk size in a request body");
      c.start = eol + 2;
      if (size === 0) {
        // trailers, up to the empty line
        for (;;) {
          while ((eol = indexOfCrlf(c.buf, c.start, c.end, false)) < 0) await this.#more();
          const empty = eol === c.start;
          c.start = eol + 2;
          if (empty) break;
        }
        this.#finish();
        return null;
      }
      this.#left = size;
    }
    if (c.start === c.end) await this.#more();
    const n = Math.min(this.#left, c.end - c.start);
    const bytes = c.buf.slice(c.start, c.start + n);
    c.start += n;
    this.#left -= n;
    if (this.#chunked && this.#left === 0) {
      while (c.end - c.start < 2) await this.#more();
      c.start += 2;
    } else if (!this.#chunked && this.#left === 0) this.#finish();
    return bytes;
  }
}
