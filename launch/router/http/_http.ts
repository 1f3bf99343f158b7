/**
 * HTTP helpers of the router: OpenAI-style JSON errors, a size-limited body
 * reader, the headers passed on to engines, and the SSE error tail.
 *
 * @module
 */
import { readBodyText } from "../../../lib/read_body.ts";
import { rawRequest } from "../../../lib/http_server.ts";

/** An error answered to the client as `{"error": {...}}` with `status`. */
export class HttpError extends Error {
  /**
   * @param status HTTP status for the client
   * @param message what went wrong, naming the backend and leg where known
   * @param type OpenAI-style error type
   * @param passBody an engine's own error body, passed through verbatim
   */
  constructor(
    readonly status: number,
    message: string,
    readonly type = "BadGatewayError",
    readonly passBody?: string,
  ) {
    super(message);
  }
}

/** The `{"error": {...}}` object vLLM uses. */
export function errorObject(status: number, message: string, type: string): unknown {
  return { error: { message, type, param: null, code: status } };
}

/** A JSON response. */
export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  return new Response(JSON.stringify(body), { status, headers: h });
}

/** The response for an {@linkcode HttpError}, with extra headers. */
export function errorResponse(e: HttpError, headers: HeadersInit = {}): Response {
  if (e.passBody !== undefined) {
    const h = new Headers(headers);
    h.set("content-type", "application/json");
    return new Response(e.passBody, { status: e.status, headers: h });
  }
  return json(errorObject(e.status, e.message, e.type), e.status, headers);
}

/**
 * Reads a request body as text (the bytes the server kept, {@linkcode rawRequest},
 * else `req.body`); 413 when it is larger than `maxBytes`.
 */
export async function readBody(req: Request, maxBytes: number): Promise<string> {
  const whole = rawRequest(req)?.body;
  if (whole) return bodyText(whole, maxBytes).text;
  return await readBodyText(req, maxBytes, (n) => tooLarge(n, maxBytes));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A request body read whole by the server ({@linkcode rawRequest}) as text,
 * and the bytes themselves where they are valid UTF-8 (forwarded as they
 * are); 413 when it is larger than `maxBytes`.
 */
export function bodyText(
  bytes: Uint8Array<ArrayBuffer>,
  maxBytes: number,
): { text: string; bytes: Uint8Array<ArrayBuffer> | undefined } {
  if (bytes.length > maxBytes) throw tooLarge(bytes.length, maxBytes);
  try {
    return { text: utf8.decode(bytes), bytes };
  } catch {
    return { text: new TextDecoder().decode(bytes), bytes: undefined };
  }
}

function tooLarge(n: number | null, maxBytes: number): HttpError {
  return new HttpError(
    413,
    `Cannot accept a request body of ${
      n ?? `more than ${maxBytes}`
    } bytes: the limit is ${maxBytes} bytes (maxBodyBytes)`,
    "RequestTooLargeError",
  );
}

const DROP = new Set([
  "host",
  "content-length",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "accept-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-connection",
  "x-request-id",
]);

/**
 * The client's headers an engine should see (hop-by-hop ones and the request
 * id dropped): from `Headers`, or from the head's lines as the server read
 * them (names in lower case; a repeated name joined with ", " as `Headers` does).
 */
export function forwardHeaders(h: Headers | [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  if (h instanceof Headers) {
    h.forEach((v, k) => {
      if (!DROP.has(k)) out[k] = v;
    });
  } else {
    for (const [k, v] of h) if (!DROP.has(k)) out[k] = k in out ? `${out[k]}, ${v}` : v;
  }
  out["content-type"] = "application/json";
  return out;
}

const enc = new TextEncoder();

/** The end of a stream that failed after it started: an SSE error event, then `[DONE]`. */
export function sseErrorTail(status: number, message: string, type: string): Uint8Array {
  return enc.encode(
    `data: ${JSON.stringify(errorObject(status, message, type))}\n\ndata: [DONE]\n\n`,
  );
}

/** Milliseconds with three decimals, for timing headers. */
export const ms3 = (x: number): string => x.toFixed(3);
