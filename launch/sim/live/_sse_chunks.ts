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
import { sseEventBytes } from "../../../lib/sse.ts";

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

/** Each vocabulary's text and streaming tail of a token, by endpoint, then token id. */
const textTails = new WeakMap<OutputVocab, Map<Endpoint, Map<number, Uint8Array>>>();

/** A token's text (JSON) and the tail of a chunk that does not finish: one array, cached. */
function textTail(vocab: OutputVocab, endpoint: Endpoint, id: number): Uint8Array {
  let byEndpoint = textTails.get(vocab);
  if (!byEndpoint) textTails.set(vocab, byEndpoint = new Map());
  let byId = byEndpoint.get(endpoint);
  if (!byId) byEndpoint.set(endpoint, byId = new Map());
  let b = byId.get(id);
  if (!b) byId.set(id, b = concat([tokenJson(vocab, id), tailOf(endpoint, null)]));
  return b;
}

/** Tails by endpoint and finish reason (`null` while streaming): the same few for every request. */
const tails = new Map<string, Uint8Array>();

/** The token chunks of one streamed answer. */
export class TokenChunks {
  readonly #head: Uint8Array;
  readonly #endpoint: Endpoint;

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
    // `data: ` and the JSON before the text (encoded in JavaScript when ASCII: no runtime call)
    this.#head = sseEventBytes(json.slice(0, hole)).subarray(0, -2);
  }

  /** The SSE event of token `id`, with `finishReason` (null but on the last token). */
  bytes(id: number, finishReason: string | null): Uint8Array {
    return concat(this.parts(id, finishReason));
  }

  /**
   * {@linkcode TokenChunks.bytes} in parts: the request's head, then the
   * token's text with the tail (one cached array while streaming; two on the
   * last token). Shared arrays: never to be changed.
   */
  parts(id: number, finishReason: string | null): Uint8Array[] {
    const e = this.#endpoint;
    return finishReason === null
      ? [this.#head, textTail(this.vocab, e, id)]
      : [this.#head, tokenJson(this.vocab, id), tailOf(e, finishReason)];
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
