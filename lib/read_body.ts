/**
 * A server's request body as text, with a size limit checked on the declared
 * length and again as the bytes stream in (the simulated engine and the
 * router answer 413 above theirs).
 *
 * @module
 */
import { concat } from "./bytes.ts";
import { rawRequest } from "./_http_conn.ts";

/**
 * Reads `req`'s body as UTF-8 text; above `limitBytes` throws
 * `tooLarge(declared)`: the declared size, or null once streamed bytes pass it.
 */
export async function readBodyText(
  req: Request,
  limitBytes: number,
  tooLarge: (declaredBytes: number | null) => Error,
): Promise<string> {
  // a server with `rawRequests` kept the whole body beside the request (req.body is then null)
  const whole = rawRequest(req)?.body;
  if (whole) {
    if (whole.length > limitBytes) throw tooLarge(whole.length);
    return new TextDecoder().decode(whole);
  }
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > limitBytes) throw tooLarge(declared);
  if (!req.body) return "";
  // a declared length within the limit: the server frames the body by it, so
  // read it whole (a streamed read costs a reader and its release per request)
  if (Number.isInteger(declared)) return await req.text();
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of req.body) {
    n += chunk.length;
    if (n > limitBytes) throw tooLarge(null);
    parts.push(chunk);
  }
  return new TextDecoder().decode(concat(parts));
}
