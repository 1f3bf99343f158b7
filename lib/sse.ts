/**
 * Server-sent events, as OpenAI-compatible servers stream them: an
 * incremental parser that turns text chunks into event `data` payloads
 * (multi-line `data:` joined with `\n`, comments and other fields ignored).
 *
 * @module
 */

/** Incremental SSE parser: feed text, get the completed events' data. */
export class SseParser {
  /** Text after the last newline, in chunks joined only once a newline comes (linear in bytes). */
  #pending: string[] = [];
  #data: string[] = [];
  #has = false;

  /** Feeds a text chunk; returns the data of every event completed by it. */
  push(text: string): string[] {
    if (text.indexOf("\n") < 0) {
      if (text) this.#pending.push(text);
      return [];
    }
    const buf = this.#pending.length ? this.#pending.join("") + text : text;
    this.#pending = [];
    const out: string[] = [];
    let start = 0;
    let i: number;
    while ((i = buf.indexOf("\n", start)) >= 0) {
      let line = buf.slice(start, i);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      this.#line(line, out);
      start = i + 1;
    }
    if (start < buf.length) this.#pending.push(buf.slice(start));
    return out;
  }

  /** Ends the stream; returns the data of a last event not followed by a blank line. */
  flush(): string[] {
    const out: string[] = [];
    const rest = this.#pending.join("");
    this.#pending = [];
    if (rest) this.#line(rest.endsWith("\r") ? rest.slice(0, -1) : rest, out);
    this.#line("", out);
    return out;
  }

  #line(line: string, out: string[]) {
    if (line === "") {
      if (this.#has) out.push(this.#data.join("\n"));
      this.#data = [];
      this.#has = false;
      return;
    }
    if (line.startsWith(":")) return;
    const c = line.indexOf(":");
    const field = c < 0 ? line : line.slice(0, c);
    if (field !== "data") return;
    let v = c < 0 ? "" : line.slice(c + 1);
    if (v.startsWith(" ")) v = v.slice(1);
    this.#data.push(v);
    this.#has = true;
  }
}

/** Yields each event's data from a byte stream (UTF-8), including a trailing unterminated one. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const parser = new SseParser();
  const dec = new TextDecoder();
  for await (const chunk of body) {
    for (const d of parser.push(dec.decode(chunk, { stream: true }))) yield d;
  }
  for (const d of parser.push(dec.decode())) yield d;
  for (const d of parser.flush()) yield d;
}

const utf8 = new TextEncoder();

/**
 * The bytes of one SSE event `data: <text>\n\n`. Short ASCII events (every
 * OpenAI chunk of ASCII text) are encoded in JavaScript: `TextEncoder` is a
 * call into the runtime per chunk, which costs more than the copy.
 */
export function sseEventBytes(text: string): Uint8Array<ArrayBuffer> {
  const n = text.length;
  if (n < 2048) {
    const out = new Uint8Array(n + 8);
    out.set(DATA_PREFIX);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 127) return utf8.encode(`data: ${text}\n\n`);
      out[6 + i] = c;
    }
    out[n + 6] = 10;
    out[n + 7] = 10;
    return out;
  }
  return utf8.encode(`data: ${text}\n\n`);
}

const DATA_PREFIX = utf8.encode("data: ");
