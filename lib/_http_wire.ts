/**
 * The bytes on the wire of {@linkcode ServerConn} (lib/_http_conn.ts): status
 * reasons, small error answers, chunk framing, and the gentle close that keeps
 * an answer from being lost to a reset.
 *
 * @module
 */
import { concat } from "./bytes.ts";

const enc = new TextEncoder();
/** Reason phrases of the statuses our servers send. */
export const REASONS: Record<number, string> = {
  200: "OK",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
/** A close with request bytes unread first reads (and drops) this much for this long: no RST. */
export const LINGER_MS = 1000;
export const LINGER_BYTES = 1 << 20;

/** The bytes of a small JSON error answer that closes the connection. */
export function errorAnswer(status: number, message: string, type: string): Uint8Array {
  const body = JSON.stringify({ error: { message, type, param: null, code: status } });
  return enc.encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: application/json\r\n` +
      `connection: close\r\ncontent-length: ${enc.encode(body).length}\r\n\r\n${body}`,
  );
}

/**
 * Writes `bytes` (an answer) and closes without losing it to a reset: the
 * write side is shut, then what the client still sends is read and dropped
 * (up to 1 MiB or 1 s) before the socket closes; `linger` false: closed at once.
 */
export async function answerAndClose(
  conn: Deno.TcpConn,
  bytes: Uint8Array,
  linger = true,
): Promise<void> {
  const timer = setTimeout(() => closeQuietly(conn), LINGER_MS);
  try {
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    if (!linger) return;
    await conn.closeWrite();
    const buf = new Uint8Array(65536);
    for (let n = 0, r; n < LINGER_BYTES && (r = await conn.read(buf)) !== null;) n += r;
  } catch {
    /* gone, or closed by the timer */
  } finally {
    clearTimeout(timer);
    closeQuietly(conn);
  }
}

/** Closes `conn`, already closed or not. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* closed */ }
}

const CRLF = enc.encode("\r\n");
const LAST_CHUNK = enc.encode("0\r\n\r\n");

/** `parts[from..]` framed as chunks (and the last chunk when `last`), after `parts[0..from)` as they are. */
export function chunked(parts: Uint8Array[], from: number, last: boolean): Uint8Array {
  const framed: Uint8Array[] = parts.slice(0, from);
  for (let i = from; i < parts.length; i++) {
    framed.push(enc.encode(`${parts[i].length.toString(16)}\r\n`), parts[i], CRLF);
  }
  if (last) framed.push(LAST_CHUNK);
  return concat(framed);
}
