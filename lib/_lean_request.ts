/**
 * The request a server with `rawRequests: true` (lib/http_server.ts) hands its
 * handler in place of a `Request`: the members our hot-path handlers read
 * (method, url, headers, signal, body, and the body readers), and the
 * {@linkcode RawRequest} beside them. Why not a `Request`: in Deno 2 every
 * `Request` outlives two scavenges (a loop making 200,000 of them promoted
 * ~230 bytes each to the old generation; a `Headers`, a `URL`, an
 * `AbortController` or a `Response` of bytes promoted nothing), so at 500
 * req/s the router spent 2.5–3 ms a scavenge copying them, and the requests
 * that met a scavenge made its p99.
 *
 * @module
 */
import { concat } from "./bytes.ts";

/**
 * What the server read of a request, kept beside it for handlers on a hot path
 * (reading headers and a body through the web APIs costs tens of µs and KBs of
 * garbage a request in Deno).
 */
export interface RawRequest {
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** The head's header lines in order, names in lower case. */
  headers: [string, string][];
  /** The whole body when it came with the head (then `req.body` is null); null otherwise (read `req.body`). */
  body: Uint8Array<ArrayBuffer> | null;
}

/** A served request without a `Request` (see the module doc); handlers see it typed as one. */
export class LeanRequest {
  /** The head's headers (appended in order). */
  readonly headers: Headers = new Headers();
  #used = false;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly raw: RawRequest,
    /** The body still to come from the client; null when it came whole (`raw.body`) or there is none. */
    readonly body: ReadableStream<Uint8Array<ArrayBuffer>> | null,
  ) {}

  /** Aborted when the client goes away. */
  get signal(): AbortSignal {
    return this.raw.signal;
  }

  /** Whether a body reader ran. */
  get bodyUsed(): boolean {
    return this.#used;
  }

  /** The whole body. */
  async bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#used) {
      throw new TypeError("Cannot read a request body twice: current value is already read");
    }
    this.#used = true;
    if (this.raw.body) return this.raw.body;
    if (!this.body) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    for await (const chunk of this.body) parts.push(chunk);
    // (the body's chunks are copies on ArrayBuffers: lib/_http_body.ts)
    return concat(parts) as Uint8Array<ArrayBuffer>;
  }

  /** The whole body as an `ArrayBuffer`. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const b = await this.bytes();
    return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength
      ? b.buffer
      : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }

  /** The whole body as UTF-8 text. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  /** The whole body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }
}
