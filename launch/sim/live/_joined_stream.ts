/**
 * A streamed answer's body: each write goes to the reader at once when it is
 * waiting for one; writes made while it is busy (the server still writing
 * the last ones to the socket) are joined and handed over as one chunk at its
 * next read. So an idle engine streams token by token, and a loaded one
 * writes each stream's pending tokens in one socket write instead of paying
 * a read, a chunk frame and a write per token. The bytes are the same.
 *
 * @module
 */
import { concat } from "../../../lib/bytes.ts";

/** A byte stream whose writes are joined while its reader is busy. */
export class JoinedStream {
  readonly body: ReadableStream<Uint8Array>;
  #ctrl!: ReadableStreamDefaultController<Uint8Array>;
  readonly #parts: Uint8Array[] = [];
  /** The reader waits for bytes (a pull came with nothing to hand over). */
  #wanted = false;
  /** Closed, errored or cancelled: writes are dropped. */
  #done = false;

  /** `onCancel`: the reader went away (the client closed the connection). */
  constructor(onCancel: () => void) {
    this.body = new ReadableStream<Uint8Array>({
      start: (ctrl) => {
        this.#ctrl = ctrl;
      },
      pull: () => {
        if (this.#parts.length) this.#flush();
        else this.#wanted = true;
      },
      cancel: () => {
        this.#done = true;
        this.#parts.length = 0;
        onCancel();
      },
    }, { highWaterMark: 0 });
  }

  /**
   * Hands `a`, then `b` and `c` when given, over now when the reader waits,
   * else at its next read (the arrays are copied then: they may be shared
   * templates, and are never changed here).
   */
  write(a: Uint8Array, b?: Uint8Array, c?: Uint8Array): void {
    if (this.#done) return;
    const parts = this.#parts;
    parts.push(a);
    if (b) parts.push(b);
    if (c) parts.push(c);
    if (this.#wanted) this.#flush();
  }

  /** Ends the body after what was written. */
  close(): void {
    if (this.#done) return;
    if (this.#parts.length) this.#flush();
    this.#done = true;
    this.#ctrl.close();
  }

  /**
   * Fails the body once its reader has taken everything written so far (an
   * error drops queued chunks), or after about a second.
   */
  fail(e: Error): void {
    if (this.#done) return;
    if (this.#parts.length) this.#flush();
    this.#done = true;
    failWhenTaken(this.#ctrl, e);
  }

  #flush(): void {
    this.#wanted = false;
    const parts = this.#parts;
    // always a fresh array: the parts may be templates shared by every stream
    this.#ctrl.enqueue(parts.length === 1 ? parts[0].slice() : concat(parts));
    parts.length = 0;
  }
}

function failWhenTaken(ctrl: ReadableStreamDefaultController<Uint8Array>, e: Error, tries = 0) {
  if ((ctrl.desiredSize ?? 1) < 0 && tries < 1000) {
    setTimeout(() => failWhenTaken(ctrl, e, tries + 1), 1);
    return;
  }
  try {
    ctrl.error(e);
  } catch { /* cancelled by the client */ }
}
