/**
 * Reading one HTTP/1.1 response for {@linkcode http1}: the head (interim
 * answers skipped), then the body by `content-length`, chunked, or until the
 * server closes, handed over as each read returns it.
 *
 * @module
 */
import { idleMsOf, type Reader } from "./_http1_pool.ts";
import type { Http1Request } from "./http1.ts";

/** The error of a connection closed before a whole response head came. */
export const HEAD_EOF = "connection closed before the response head";

const CRLF2 = [13, 10, 13, 10];
function indexOfSeq(buf: Uint8Array, from: number, to: number, seq: number[]): number {
  outer: for (let i = from; i <= to - seq.length; i++) {
    for (let k = 0; k < seq.length; k++) if (buf[i + k] !== seq[k]) continue outer;
    return i;
  }
  return -1;
}

const latin1 = new TextDecoder("latin1");

function parseHead(text: string): { status: number; headers: Map<string, string> } {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) throw new Error(`malformed HTTP status line: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const c = lines[i].indexOf(":");
    if (c > 0) headers.set(lines[i].slice(0, c).trim().toLowerCase(), lines[i].slice(c + 1).trim());
  }
  return { status: Number(m[1]), headers };
}

export /** Reads one response; returns how long the connection may be reused (0: not). */
async function readResponse(r: Reader, req: Http1Request, first: () => void): Promise<number> {
  let headEnd = -1;
  while ((headEnd = indexOfSeq(r.buf, r.start, r.end, CRLF2)) < 0) {
    if (!(await r.fill())) {
      if (r.end > r.start) first();
      throw new Error(HEAD_EOF);
    }
    first();
  }
  const { status, headers } = parseHead(latin1.decode(r.buf.subarray(r.start, headEnd)));
  r.start = headEnd + 4;
  // an interim answer (100 Continue, 103 Early Hints): the real one follows
  if (status >= 100 && status < 200 && status !== 101) return await readResponse(r, req, first);
  req.onHead?.(status, headers);
  const keepMs = idleMsOf(headers);
  // no body by definition, whatever the headers say (RFC 9110 6.4.1)
  if (status === 204 || status === 304 || req.method === "HEAD") return keepMs;
  const te = headers.get("transfer-encoding");
  if (te && /chunked/i.test(te)) {
    await readChunked(r, req.onData);
    return keepMs;
  }
  const cl = headers.get("content-length");
  if (cl !== undefined) {
    let left = Number(cl);
    while (left > 0) {
      if (r.start === r.end && !(await r.fill())) {
        throw new Error(`connection closed with ${left} body bytes missing`);
      }
      const n = Math.min(left, r.end - r.start);
      const wait = req.onData(r.buf.subarray(r.start, r.start + n));
      r.start += n;
      left -= n;
      if (wait instanceof Promise) await wait;
    }
    return keepMs;
  }
  // no length: the body runs until the server closes
  for (;;) {
    const wait = r.end > r.start ? req.onData(r.buf.subarray(r.start, r.end)) : undefined;
    r.start = r.end;
    if (wait instanceof Promise) await wait;
    if (!(await r.fill())) return 0;
  }
}

async function readChunked(
  r: Reader,
  onData: (b: Uint8Array) => unknown,
): Promise<void> {
  for (;;) {
    // chunk size line
    let eol: number;
    while ((eol = indexOfSeq(r.buf, r.start, r.end, [13, 10])) < 0) {
      if (!(await r.fill())) throw new Error("connection closed inside a chunked body");
    }
    const line = latin1.decode(r.buf.subarray(r.start, eol));
    const size = parseInt(line, 16);
    if (!(size >= 0)) throw new Error(`malformed chunk size ${JSON.stringify(line.slice(0, 20))}`);
    r.start = eol + 2;
    if (size === 0) {
      // trailers end with an empty line
      for (;;) {
        while ((eol = indexOfSeq(r.buf, r.start, r.end, [13, 10])) < 0) {
          if (!(await r.fill())) return;
        }
        const empty = eol === r.start;
        r.start = eol + 2;
        if (empty) return;
      }
    }
    let left = size;
    while (left > 0) {
      if (r.start === r.end && !(await r.fill())) {
        throw new Error("connection closed inside a chunked body");
      }
      const n = Math.min(left, r.end - r.start);
      const wait = onData(r.buf.subarray(r.start, r.start + n));
      r.start += n;
      left -= n;
      if (wait instanceof Promise) await wait;
    }
    while (r.end - r.start < 2) {
      if (!(await r.fill())) throw new Error("connection closed inside a chunked body");
    }
    r.start += 2;
  }
}
