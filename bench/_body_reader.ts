/**
 * How {@linkcode sendStreaming} (client.ts) reads a response body: SSE or a
 * whole answer, decided by its bytes.
 *
 * @module
 */
import { SseParser } from "../lib/sse.ts";

/** Lines that open an SSE stream (a whole JSON or text answer starts otherwise). */
const SSE_START = /^(data|event|id|retry)\s*:|^:/;

/**
 * A response body, decided to be SSE or a whole answer: by `text/event-stream`,
 * else (when a stream was asked for) by its first non-blank line. SSE events
 * go to `onEvent` as they complete; a whole answer is returned by {@linkcode end}.
 */
export class BodyReader {
  #mode: "sse" | "whole" | "sniff" = "sniff";
  #ctype = "";
  #held = "";
  #sse = new SseParser();
  /** The Content-Type of a body read as SSE by its bytes. */
  oddContentType = "";

  constructor(
    readonly sniff: boolean,
    readonly onEvent: (data: string, t: number) => void,
    readonly now: () => number,
  ) {}

  /** The response's Content-Type, before any body text. */
  contentType(ctype: string): void {
    this.#ctype = ctype;
    if (ctype.includes("text/event-stream")) this.#mode = "sse";
    else if (!this.sniff) this.#mode = "whole";
  }

  /** Body text as it arrives. */
  push(text: string): void {
    if (this.#mode === "sniff") {
      this.#held += text;
      const lead = this.#held.trimStart();
      if (!lead.includes("\n") && lead.length < 16) return; // not enough to tell yet
      text = this.#decide(lead);
    }
    if (this.#mode === "whole") {
      this.#held += text;
      return;
    }
    const events = this.#sse.push(text);
    if (events.length === 0) return;
    const t = this.now();
    for (const d of events) this.onEvent(d, t);
  }

  /** The body ended: the whole answer's text, or null for a stream (its last events sent). */
  end(): string | null {
    if (this.#mode === "sniff") this.push(this.#decide(this.#held.trimStart()));
    if (this.#mode === "whole") return this.#held;
    const t = this.now();
    for (const d of this.#sse.flush()) this.onEvent(d, t);
    return null;
  }

  /** Decides the mode by the body's first line (`lead`); returns the text held so far. */
  #decide(lead: string): string {
    if (SSE_START.test(lead)) {
      this.#mode = "sse";
      this.oddContentType = this.#ctype || "(none)";
    } else this.#mode = "whole";
    const held = this.#held;
    this.#held = "";
    return held;
  }
}
