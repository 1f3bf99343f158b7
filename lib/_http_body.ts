/**
 * The request side of a {@linkcode ServerConn} (lib/_http_conn.ts): a request
 * body read from the connection as its reader pulls (length-framed or
 * chunked), and the error a connection answers itself.
 *
 * @module
 */
import type { ServerConn } from "./_http_conn.ts";

const latin1 = new TextDecoder("latin1");
/** Longest chunk-size or trailer line of a chunked body. */
const MAX_LINE_BYTES = 8192;

/** Thrown for a request the connection answers itself (400, 431, 501). */
export class Refused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Where `\r\n` (or `\r\n\r\n` when `double`) starts in `buf[from, to)`, or -1. */
export function indexOfCrlf(buf: Uint8Array, from: number, to: number, double: boolean): number {
  for (let i = buf.indexOf(13, from); i >= 0 && i < to; i = buf.indexOf(13, i + 1)) {
    if (buf[i + 1] !== 10) continue;
    if (!double) return i + 1 < to ? i : -1;
    if (i + 3 < to && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** A request body read from the connection as its reader pulls (length-framed or chunked). */
export class RequestBody {
  done: boolean;
  onDone: (() => void) | null = null;
  /** A malformed body (the connection answers it with this instead of the handler's answer). */
  refused: Refused | null = null;
  /** Bytes left of a length-framed body, or of the current chunk (chunked). */
  #left: number;
  readonly #chunked: boolean;

  /** Starts the body's deadline (none for an absent body). */
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
        let bytes;
        try {
          bytes = await this.#next();
        } catch (e) {
          if (e instanceof Refused) this.refused = e;
          throw e;
        }
        if (bytes) ctl.enqueue(bytes);
        else ctl.close();
      },
    });
  }

  async #more(): Promise<void> {
    if (!(await this.c.fill())) throw new Error("connection closed inside a request body");
  }

  /** The end of the next line (chunk size or trailer), at most {@linkcode MAX_LINE_BYTES} long. */
  async #line(): Promise<number> {
    const c = this.c;
    for (let from = c.start;;) {
      const eol = indexOfCrlf(c.buf, from, c.end, false);
      if ((eol >= 0 ? eol : c.end) - c.start > MAX_LINE_BYTES) {
        throw new Refused(400, "chunk-size or trailer line too long in a request body");
      }
      if (eol >= 0) return eol;
      from = Math.max(c.start, c.end - 1);
      await this.#more();
    }
  }

  /** Skips the trailers, up to the empty line (all of them within a head's size). */
  async #trailers(): Promise<void> {
    const c = this.c;
    for (let bytes = 0;;) {
      const eol = await this.#line();
      const empty = eol === c.start;
      bytes += eol + 2 - c.start;
      c.start = eol + 2;
      if (empty) return;
      if (bytes > c.s.maxHeaderBytes) throw new Refused(400, "request trailers too large");
    }
  }

  /** The next piece of the body, or null at its end. */
  async #next(): Promise<Uint8Array<ArrayBuffer> | null> {
    const c = this.c;
    if (this.done) return null;
    if (this.#chunked && this.#left === 0) {
      const eol = await this.#line();
      const line = latin1.decode(c.buf.subarray(c.start, eol));
      const size = /^[0-9a-fA-F]+/.test(line) ? parseInt(line, 16) : NaN;
      if (!Number.isSafeInteger(size)) {
        throw new Refused(400, "malformed chunk size in a request body");
      }
      c.start = eol + 2;
      if (size === 0) {
        await this.#trailers();
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
