/**
 * A streamed answer's token chunks as bytes, from templates: the bytes of
 * `data: <JSON of chunk(...)>\n\n` are the request's fixed head (id, object,
 * created, model), the token's text as a JSON string (cached per token id),
 * and a fixed tail per finish reason. The same bytes as `sseEventBytes(
 * JSON.stringify(chunk(...)))` (a test checks it), without a JSON.stringify
 * and an object per token: at thousands of requests/s a stream's token chunks
 * were a tenth of the engine's CPU.
 *
 * @module
 */
import { chunk, type Endpoint } from "../core/openai.ts";
import { type OutputVocab, tokenText } from "../core/vocab.ts";
import { concat } from "../../../lib/bytes.ts";

const enc = new TextEncoder();
/** Where the token's text goes in a chunk's JSON (not a JSON string's content: no clash). */
const HOLE = "\u0000TEXT\u0000";

/** Each vocabulary's token texts as JSON string bytes, by token id. */
const textBytes = new WeakMap<OutputVocab, Map<number, Uint8Array>>();

/** `JSON.stringify(text of id)` as UTF-8 bytes, cached per vocabulary and id. */
function tokenJson(vocab: OutputVocab, id: number): Uint8Array {
  let byId = textBytes.get(vocab);
  if (!byId) textBytes.set(vocab, byId = new Map());
  let b = byId.get(id);
  if (!b) byId.set(id, b = enc.encode(JSON.stringify(tokenText(vocab, id))));
  return b;
}

/** Tails by endpoint and finish reason (`null` while streaming): the same few for every request. */
const tails = new Map<string, Uint8Array>();

/** The token chunks of one streamed answer. */
export class TokenChunks {
  readonly #head: Uint8Array;
  readonly #endpoint: Endpoint;
  #tail: Uint8Array;

  constructor(
    endpoint: Endpoint,
    id: string,
    created: number,
    model: string,
    readonly vocab: OutputVocab,
  ) {
    this.#endpoint = endpoint;
    const json = JSON.stringify(chunk(endpoint, id, created, model, HOLE, null));
    const hole = json.indexOf(JSON.stringify(HOLE));
    this.#head = enc.encode(`data: ${json.slice(0, hole)}`);
    this.#tail = tailOf(endpoint, null);
  }

  /** The SSE event of token `id`, with `finishReason` (null but on the last token). */
  bytes(id: number, finishReason: string | null): Uint8Array {
    return concat(this.parts(id, finishReason));
  }

  /**
   * {@linkcode TokenChunks.bytes} as its three parts: the request's head, the
   * token's text and the tail (shared arrays: never to be changed).
   */
  parts(id: number, finishReason: string | null): [Uint8Array, Uint8Array, Uint8Array] {
    const tail = finishReason === null ? this.#tail : tailOf(this.#endpoint, finishReason);
    return [this.#head, tokenJson(this.vocab, id), tail];
  }
}

/** What follows the text in a chunk's JSON, then the event's blank line. */
function tailOf(endpoint: Endpoint, finishReason: string | null): Uint8Array {
  const key = `${endpoint} ${finishReason}`;
  let t = tails.get(key);
  if (!t) {
    const json = JSON.stringify(chunk(endpoint, "", 0, "", HOLE, finishReason));
    const after = json.indexOf(JSON.stringify(HOLE)) + JSON.stringify(HOLE).length;
    tails.set(key, t = enc.encode(`${json.slice(after)}\n\n`));
  }
  return t;
}
