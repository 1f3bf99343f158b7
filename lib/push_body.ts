/**
 * A streamed body handed from one producer to one reader without web
 * streams: the producer pushes byte chunks (and is held back once the reader
 * leaves `highWaterBytes` unread), the reader reads them as a
 * `ReadableStreamDefaultReader` does (`read`, `cancel`, `releaseLock`), so our
 * server (lib/_http_conn.ts) writes one as it writes a stream. Why not a
 * `ReadableStream`: in Deno 2 each stream, its controller, reader and their
 * promises outlive two scavenges (~500 bytes promoted a stream even at a few
 * thousand streams a second), and the router relays one a request
 * (lib/http1_relay.ts).
 *
 * @module
 */
const DONE: ReadableStreamReadDoneResult<Uint8Array> = Object.freeze({
  done: true,
  value: undefined,
});

/** One producer's chunks for one reader (see the module doc). */
export class PushBody {
  /** Queued chunks from `#head` on (an array emptied whenever it is read out: few chunks wait). */
  #chunks: (Uint8Array | undefined)[] = [];
  #head = 0;
  #queuedBytes = 0;
  #ended = false;
  #failed = false;
  #error: unknown = undefined;
  #cancelled = false;
  /** A read waiting for a chunk: its promise's resolve and reject. */
  #resolveRead: ((r: ReadableStreamReadResult<Uint8Array>) => void) | null = null;
  #rejectRead: ((e: unknown) => void) | null = null;
  /** The producer held back: its promise's resolve. */
  #resume: (() => void) | null = null;

  /** @param highWaterBytes bytes left unread past which {@linkcode push} holds the producer back */
  constructor(readonly highWaterBytes: number) {}

  /**
   * Called once when the reader cancels: a subclass stops its producer here
   * (a method, not a callback given per body: a closure kept on it would keep
   * its creator's whole context).
   */
  protected onCancel(_reason: unknown): void {}

  /** The reader cancelled. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Whether the producer is held back (the reader left {@linkcode highWaterBytes} unread). */
  get paused(): boolean {
    return this.#resume !== null;
  }

  /**
   * Producer: a chunk (kept as given: pass a copy of a reused buffer). A
   * promise when the reader is behind: it resolves once the reader catches up,
   * cancels, or {@linkcode wake} is called.
   */
  push(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#cancelled || this.#ended || this.#failed) return undefined;
    const resolve = this.#resolveRead;
    if (resolve) {
      this.#resolveRead = this.#rejectRead = null;
      resolve({ done: false, value: bytes });
      return undefined;
    }
    this.#chunks.push(bytes);
    this.#queuedBytes += bytes.length;
    if (this.#queuedBytes < this.highWaterBytes) return undefined;
    return new Promise<void>((r) => (this.#resume = r));
  }

  /** Producer: the body is complete (a waiting read gets `done`). */
  end(): void {
    if (this.#ended || this.#failed) return;
    this.#ended = true;
    const resolve = this.#resolveRead;
    this.#resolveRead = this.#rejectRead = null;
    resolve?.(DONE);
  }

  /** Producer: the body failed; reads after the queued chunks reject with `e`. */
  fail(e: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = e;
    const reject = this.#rejectRead;
    this.#resolveRead = this.#rejectRead = null;
    reject?.(e);
  }

  /** Lets a held-back producer go on (an abort must reach its read loop). */
  wake(): void {
    const resume = this.#resume;
    this.#resume = null;
    resume?.();
  }

  /** The oldest queued chunk, taken out; undefined when none. */
  #shift(): Uint8Array | undefined {
    if (this.#head === this.#chunks.length) return undefined;
    const value = this.#chunks[this.#head];
    this.#chunks[this.#head++] = undefined;
    if (this.#head === this.#chunks.length) this.#chunks.length = this.#head = 0;
    return value;
  }

  /** Reader: the next chunk, or `done` at the end; rejects once the body failed. */
  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    const value = this.#shift();
    if (value !== undefined) {
      this.#queuedBytes -= value.length;
      if (this.#queuedBytes < this.highWaterBytes) this.wake();
      return Promise.resolve({ done: false, value });
    }
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#ended || this.#cancelled) return Promise.resolve(DONE);
    if (this.#resolveRead) {
      return Promise.reject(
        new TypeError("Cannot read a PushBody twice at once: current value is a read waiting"),
      );
    }
    return new Promise((resolve, reject) => {
      this.#resolveRead = resolve;
      this.#rejectRead = reject;
    });
  }

  /**
   * Reader: gives up the body (queued chunks dropped, the producer released,
   * `onCancel` called once, unless the body had already failed or ended and
   * been read out).
   */
  cancel(reason?: unknown): Promise<void> {
    if (this.#cancelled) return Promise.resolve();
    // a body already failed, or ended and read out, has no producer left to stop
    const over = this.#failed || (this.#ended && this.#head === this.#chunks.length);
    this.#cancelled = true;
    this.#chunks = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    const resolve = this.#resolveRead;
    this.#resolveRead = this.#rejectRead = null;
    resolve?.(DONE);
    this.wake();
    if (!over) this.onCancel(reason);
    return Promise.resolve();
  }

  /** The reader (this body itself: one reader only). */
  getReader(): PushBody {
    return this;
  }

  /** Nothing to release (one reader only). */
  releaseLock(): void {}

  /** Reader: the whole body as UTF-8 text. */
  async text(): Promise<string> {
    const dec = new TextDecoder();
    let out = "";
    for (let r = await this.read(); !r.done; r = await this.read()) {
      out += dec.decode(r.value, { stream: true });
    }
    return out + dec.decode();
  }
}
