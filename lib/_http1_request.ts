/**
 * The bytes of one {@linkcode http1} request: its head and body as the one
 * write that sends them, in a buffer reused once the request is over. A body
 * may be a {@linkcode BodyWriter} that writes itself straight into that
 * buffer: a load generator sending thousands of requests a second then makes
 * no array per request (each over 64 bytes is memory outside the heap, one
 * allocation and one finaliser apiece).
 *
 * @module
 */

/** A body that writes itself into the request's bytes (no array of its own). */
export interface BodyWriter {
  /** Bytes it writes. */
  readonly byteLength: number;
  /** Writes them into `out` from `at` on. */
  writeInto(out: Uint8Array, at: number): void;
}

/** A request body: bytes, or a writer of them. */
export type Http1Body = Uint8Array | BodyWriter;

const enc = new TextEncoder();

/** Buffers of requests that are over, for the next ones. */
const spare: ArrayBuffer[] = [];
/** Buffers kept, at most. */
const SPARE_MAX = 256;
/** Bytes of the smallest buffer; a larger request gets the next power of two. */
const MIN_BYTES = 4096;
/** Buffers larger than this are not kept. */
const KEEP_BYTES = 256 * 1024;

/** The bytes of a body (a writer's written into an array of their own). */
export function bodyBytes(body: Http1Body): Uint8Array<ArrayBuffer> {
  if (body instanceof Uint8Array) return body as Uint8Array<ArrayBuffer>;
  const out = new Uint8Array(body.byteLength);
  body.writeInto(out, 0);
  return out;
}

/** A buffer of at least `n` bytes: a spare one, else a new one. */
function bufferOf(n: number): ArrayBuffer {
  const b = spare.pop();
  if (b && b.byteLength >= n) return b;
  let size = MIN_BYTES;
  while (size < n) size *= 2;
  return new ArrayBuffer(size);
}

/**
 * `head` (the request line and headers, ending in the blank line) and `body`
 * as one array, in a reused buffer: hand it to {@linkcode releaseRequest}
 * once no write of it is pending or to come.
 */
export function requestMessage(head: string, body: Http1Body | undefined): Uint8Array {
  const bodyLength = body?.byteLength ?? 0;
  const n = head.length;
  const msg = new Uint8Array(bufferOf(n + bodyLength), 0, n + bodyLength);
  // an ASCII head (as every head of ours is) copied here: `TextEncoder` is a call into the runtime
  for (let i = 0; i < n; i++) {
    const c = head.charCodeAt(i);
    if (c > 127) return joined(enc.encode(head), body);
    msg[i] = c;
  }
  if (body instanceof Uint8Array) msg.set(body, n);
  else body?.writeInto(msg, n);
  return msg;
}

/** `head` then `body` in an array of their own (a head that is not ASCII). */
function joined(head: Uint8Array, body: Http1Body | undefined): Uint8Array {
  const b = body ? bodyBytes(body) : new Uint8Array(0);
  const msg = new Uint8Array(head.length + b.length);
  msg.set(head);
  msg.set(b, head.length);
  return msg;
}

/** A request's bytes are no longer written: their buffer serves a later request. */
export function releaseRequest(msg: Uint8Array): void {
  const b = msg.buffer;
  if (b instanceof ArrayBuffer && b.byteLength <= KEEP_BYTES && spare.length < SPARE_MAX) {
    spare.push(b);
  }
}
