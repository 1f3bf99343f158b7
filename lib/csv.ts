/**
 * CSV files with a fixed header: an append-safe writer (one synchronous write
 * per row, so finished rows survive Ctrl-C or a crash) and a reader, over
 * `csv-stringify` and `csv-parse`.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import { parse } from "csv-parse/sync";
import { CsvLineWriter, EXACT_MILLI } from "./csv_bytes.ts";

const enc = new TextEncoder();

/** A cell value; null and undefined become empty cells. */
export type Cell = string | number | boolean | null | undefined;

/**
 * Appends whole lines to a file: a write that fails part-way (a full disk) is
 * cut back to the last whole line, and the error names the path. The size is
 * tracked, not asked for on every write.
 */
export class LineAppender {
  #file: Deno.FsFile;
  #size: number;

  /** Opens (creating) `path` for appending. */
  constructor(readonly path: string) {
    this.#file = Deno.openSync(path, { append: true, create: true });
    this.#size = this.#file.statSync().size;
  }

  /** Bytes in the file (only whole lines). */
  get size(): number {
    return this.#size;
  }

  /** Appends `bytes` (one or more whole lines) or nothing. */
  append(bytes: Uint8Array): void {
    let off = 0;
    try {
      while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    } catch (e) {
      try {
        this.#file.truncateSync(this.#size);
      } catch { /* keep the first error */ }
      throw new Error(`Cannot write ${this.path}: ${e instanceof Error ? e.message : e}`);
    }
    this.#size += bytes.length;
  }

  close(): void {
    this.#file.close();
  }
}

/** Options of {@linkcode CsvAppender}. */
export interface CsvAppenderOptions {
  /**
   * Hold rows until this many bytes are waiting, then write them in one write
   * (also on {@linkcode CsvAppender.flush} and `close`); 0 writes each row at
   * once (a row survives a crash as soon as it is appended). @default 0
   */
  holdBytes?: number;
}

/** Appends rows to a CSV file, writing the header when the file is new or empty. */
export class CsvAppender {
  #file: LineAppender;
  /** The bytes of a row, or of the rows held (the first `#held` bytes). */
  #buf: Uint8Array;
  #held = 0;
  readonly #writer = new CsvLineWriter();
  readonly #holdBytes: number;
  readonly columns: readonly string[];
  readonly path: string;

  /** Opens (creating) `path` for appending; if it has content, its header must equal `columns`. */
  constructor(path: string, columns: readonly string[], o: CsvAppenderOptions = {}) {
    this.path = path;
    this.columns = columns;
    this.#holdBytes = o.holdBytes ?? 0;
    if (!(this.#holdBytes >= 0)) {
      throw new RangeError(
        `Cannot open ${path} with holdBytes as a number >= 0: current value is ${o.holdBytes}`,
      );
    }
    this.#buf = new Uint8Array(Math.max(1024, 2 * this.#holdBytes));
    let size = 0;
    try {
      size = Deno.statSync(path).size;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (size > 0) {
      const head = Deno.readTextFileSync(path).split("\n", 1)[0].replace(/\r$/, "");
      const want = headerLine(columns).trim();
      if (head !== want) {
        throw new RangeError(
          `Cannot append to ${path} as a CSV with columns ${want}: current value is ${
            JSON.stringify(head)
          }`,
        );
      }
    }
    this.#file = new LineAppender(path);
    if (size === 0) this.#file.append(enc.encode(headerLine(columns)));
  }

  /** Appends one row (by column name; unknown keys are ignored). */
  append(row: Record<string, Cell>): void {
    this.appendLine(this.#line(row));
  }

  /**
   * Appends one row already written as CSV: whole lines ending in a newline,
   * cells as {@linkcode csvCell} and numbers as `append` writes them.
   */
  appendLine(line: string): void {
    // one reused buffer: a row's bytes are not allocated anew (up to 3 bytes per UTF-16 unit)
    const room = line.length * 3;
    if (this.#held + room > this.#buf.length) {
      this.flush();
      if (room > this.#buf.length) this.#buf = new Uint8Array(2 * room);
    }
    const { written } = enc.encodeInto(
      line,
      this.#held ? this.#buf.subarray(this.#held) : this.#buf,
    );
    this.#held += written;
    if (this.#held >= this.#holdBytes) this.flush();
  }

  /**
   * Appends one row that `write` writes as bytes, `x` its input (whole lines,
   * cells as `CsvLineWriter` writes them): straight into the bytes held, no text
   * made (a function and its input, not a closure per row).
   */
  appendWritten<T>(write: (w: CsvLineWriter, x: T) => void, x: T): void {
    const w = this.#writer;
    w.buf = this.#buf;
    w.at = this.#held;
    write(w, x);
    this.#buf = w.buf; // grown when a row did not fit
    this.#held = w.at;
    if (this.#held >= this.#holdBytes) this.flush();
  }

  /** Writes the rows held (see {@linkcode CsvAppenderOptions.holdBytes}). */
  flush(): void {
    if (this.#held === 0) return;
    const n = this.#held;
    this.#held = 0;
    this.#file.append(this.#buf.subarray(0, n));
  }

  /** Appends several rows in one write. */
  appendMany(rows: Record<string, Cell>[]): void {
    this.flush();
    if (rows.length) this.#file.append(enc.encode(rows.map((r) => this.#line(r)).join("")));
  }

  #line(row: Record<string, Cell>): string {
    return csvLine(this.columns, row);
  }

  /** Writes the rows held, then closes the file (closed even when that write fails). */
  close(): void {
    try {
      this.flush();
    } finally {
      try {
        this.#file.close();
      } catch { /* already closed */ }
    }
  }
}

function csvLine(cols: readonly string[], row: Record<string, Cell>): string {
  let s = "";
  for (let i = 0; i < cols.length; i++) {
    if (i) s += ",";
    const v = row[cols[i]];
    // a number's text never needs quotes
    s += typeof v === "number" ? numberCell(v) : csvCell(cell(v));
  }
  return s + "\n";
}

/**
 * A whole CSV file's text (header, then one line per row, cells as
 * {@linkcode CsvAppender} writes them), for writing through `lib/write_file.ts`.
 */
export function csvText(columns: readonly string[], rows: Record<string, Cell>[]): string {
  return headerLine(columns) + rows.map((r) => csvLine(columns, r)).join("");
}

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * The header line of `columns` as csv-stringify writes it: names that need no
 * quotes joined here (its generic path costs a short run ~2 ms), others through it.
 */
function headerLine(columns: readonly string[]): string {
  if (columns.some((c) => NEEDS_QUOTES.test(c))) return stringify([columns as string[]]);
  return columns.join(",") + "\n";
}

/** One CSV cell as written (quoted when it holds a comma, quote or line break), as csv-stringify does. */
export function csvCell(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function cell(v: Cell): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return numberCell(v);
  return String(v);
}

/**
 * A number as written: integers whole, others rounded to 3 decimals, non-finite empty.
 * The rounded value's text is `String(Math.round(v * 1000) / 1000)`, written from
 * the whole number of thousandths: below 2^42 two multiples of 0.001 never round to
 * one double, so the shortest text that reads back as it (what `String` gives) is
 * that decimal with its trailing zeros cut; the generic double-to-text is used past it.
 */
export function numberCell(v: number): string {
  if (!Number.isFinite(v)) return "";
  if (Number.isInteger(v)) return String(v);
  const r = Math.round(v * 1000);
  const a = r < 0 ? -r : r;
  if (!(a < EXACT_MILLI)) return String(r / 1000);
  const whole = Math.floor(a / 1000), milli = a - whole * 1000;
  const head = r < 0 ? "-" + whole : String(whole);
  if (milli === 0) return head;
  if (milli % 100 === 0) return head + "." + milli / 100;
  if (milli % 10 === 0) return head + (milli < 100 ? ".0" : ".") + milli / 10;
  return head + (milli < 10 ? ".00" : milli < 100 ? ".0" : ".") + milli;
}

/** Parses CSV text with a header line into records of strings. */
export function parseCsv(text: string, where = "CSV text"): Record<string, string>[] {
  try {
    return parse(text, { columns: true, skip_empty_lines: true, relax_column_count: false });
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${where} as CSV with a header: current value is invalid (${
        e instanceof Error ? e.message : e
      })`,
    );
  }
}

/** Reads a CSV file with a header line into records of strings. */
export async function readCsv(path: string): Promise<Record<string, string>[]> {
  return parseCsv(await Deno.readTextFile(path), path);
}
