/**
 * A TCP connection with its read buffer, shared by our HTTP client's pooled
 * connections (lib/_http1_pool.ts) and our server's connections
 * (lib/_http_conn.ts): bytes are read into `buf[end..]` and consumed from
 * `start`; a read may be started ahead (while a connection waits) so that the
 * peer's close is seen at once, and the next {@linkcode ReadBuffer.fill} takes it.
 *
 * @module
 */

/** Bytes read from `conn` and not yet consumed: `buf[start..end)`. */
export class ReadBuffer {
  buf: Uint8Array<ArrayBuffer>;
  start = 0;
  end = 0;
  #pending: Promise<number | null> | null = null;

  /** `bytes`: the buffer's first size (it grows while a message needs more). @default 16384 */
  constructor(readonly conn: Deno.TcpConn, bytes = 16384) {
    this.buf = new Uint8Array(bytes);
  }

  /** The read started ahead, if one is waiting to be taken by {@linkcode fill}. */
  get pending(): Promise<number | null> | null {
    return this.#pending;
  }

  /**
   * Starts the next read now (the buffer made room for it, up to `limit`
   * bytes); {@linkcode fill} takes its result. Returns the read.
   */
  readAhead(limit = Infinity): Promise<number | null> {
    this.room(limit);
    const p = this.conn.read(this.buf.subarray(this.end));
    this.#pending = p;
    return p;
  }

  /** Reads more bytes (or takes the read started ahead), growing the buffer up to `limit`; false at EOF. */
  async fill(limit = Infinity): Promise<boolean> {
    const p = this.#pending ?? (this.room(limit), this.conn.read(this.buf.subarray(this.end)));
    this.#pending = null;
    const n = await p;
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /**
   * Makes room after `end`: drops what was consumed, else doubles the buffer
   * while it is under `limit`, else calls {@linkcode full}.
   */
  room(limit = Infinity): void {
    if (this.start > 0 && this.start === this.end) this.start = this.end = 0;
    if (this.end < this.buf.length) return;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      return;
    }
    if (this.buf.length >= limit) this.full();
    const b = new Uint8Array(this.buf.length * 2);
    b.set(this.buf);
    this.buf = b;
  }

  /** The buffer reached its limit: throws (a subclass says what that means). */
  protected full(): never {
    throw new RangeError(`Cannot read more as a buffer: current size is ${this.buf.length} bytes`);
  }
}
