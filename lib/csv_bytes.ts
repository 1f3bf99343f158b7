/**
 * One CSV line written as UTF-8 bytes straight into a buffer, cell by cell:
 * numbers as `numberCell` writes them and texts as `csvCell` quotes them
 * (`lib/csv.ts`), with no string built per cell or per line. A run's
 * `requests.csv` rows go through it (`CsvAppender.appendWritten`): at
 * thousands of rows a second, the texts of a line and their encoding cost
 * more than the row itself.
 *
 * @module
 */

const enc = new TextEncoder();

/** Below this many thousandths a rounded number is written from its digits (see `numberCell`). */
export const EXACT_MILLI = 4e15;
const ZERO = 48, MINUS = 45, DOT = 46, COMMA = 44, NEWLINE = 10, QUOTE = 34, CR = 13;

/** Bytes of one line being written at `at` of `buf` (grown, copied, when a cell needs room). */
export class CsvLineWriter {
  /** The buffer written into; a new, larger one after a cell that did not fit. */
  buf: Uint8Array;
  /** Where the next byte goes. */
  at: number;

  constructor(buf: Uint8Array = new Uint8Array(1024), at = 0) {
    this.buf = buf;
    this.at = at;
  }

  /** Room for `bytes` more bytes after `at`. */
  room(bytes: number): void {
    if (this.at + bytes <= this.buf.length) return;
    const b = new Uint8Array(Math.max(2 * this.buf.length, this.at + bytes));
    b.set(this.buf.subarray(0, this.at));
    this.buf = b;
  }

  /** A comma (between cells). */
  comma(): void {
    this.room(1);
    this.buf[this.at++] = COMMA;
  }

  /** The line's end. */
  newline(): void {
    this.room(1);
    this.buf[this.at++] = NEWLINE;
  }

  /**
   * A number cell as `numberCell` writes it: integers whole, others rounded to
   * 3 decimals with trailing zeros cut; null, undefined and non-finite: empty.
   */
  number(v: number | null | undefined): void {
    if (v === null || v === undefined || !Number.isFinite(v)) return;
    if (Number.isInteger(v)) {
      if (v < 0 ? v > -EXACT_MILLI : v < EXACT_MILLI) this.#whole(v);
      else this.#ascii(String(v));
      return;
    }
    const r = Math.round(v * 1000);
    const a = r < 0 ? -r : r;
    if (!(a < EXACT_MILLI)) return this.#ascii(String(r / 1000));
    const whole = Math.floor(a / 1000), milli = a - whole * 1000;
    this.room(24);
    if (r < 0) this.buf[this.at++] = MINUS;
    this.#digits(whole);
    if (milli === 0) return;
    const b = this.buf;
    const d1 = Math.floor(milli / 100), d2 = Math.floor(milli / 10) % 10, d3 = milli % 10;
    b[this.at++] = DOT;
    b[this.at++] = ZERO + d1;
    if (d2 === 0 && d3 === 0) return;
    b[this.at++] = ZERO + d2;
    if (d3 !== 0) b[this.at++] = ZERO + d3;
  }

  /** A text cell as `csvCell` writes it (null, undefined: empty). */
  text(s: string | null | undefined): void {
    if (s === null || s === undefined) return;
    const n = s.length;
    this.room(n);
    const b = this.buf, at = this.at;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // quotes, a comma or a line break need quoting; other than ASCII needs encoding
      if (c >= 128 || c === QUOTE || c === COMMA || c === NEWLINE || c === CR) {
        return this.#encoded(/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
      }
      b[at + i] = c;
    }
    this.at = at + n;
  }

  /** A whole number, |v| below 2^52 (-0 as 0, as `String` writes it). */
  #whole(v: number): void {
    this.room(24);
    if (v < 0) {
      this.buf[this.at++] = MINUS;
      v = -v;
    }
    this.#digits(v);
  }

  /** The decimal digits of a whole `x` ≥ 0 (room made by the caller). */
  #digits(x: number): void {
    let len = 1;
    for (let p = 10; p <= x; p *= 10) len++;
    const b = this.buf, end = this.at + len;
    for (let i = end - 1; i >= this.at; i--) {
      const q = Math.floor(x / 10);
      b[i] = ZERO + (x - q * 10);
      x = q;
    }
    this.at = end;
  }

  /** Text of ASCII only (a number's text). */
  #ascii(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.at++] = s.charCodeAt(i);
  }

  /** Any text, UTF-8 encoded (up to 3 bytes per UTF-16 unit). */
  #encoded(s: string): void {
    this.room(3 * s.length);
    this.at += enc.encodeInto(s, this.buf.subarray(this.at)).written;
  }
}
