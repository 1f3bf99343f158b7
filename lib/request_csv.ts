/**
 * Fast reader of `requests.csv` text without quotes: one scan over the text,
 * numbers parsed from character codes (exactly as `Number(cell)` would: at most
 * 15 digits are read as an integer and divided once by a power of ten, anything
 * else goes through `Number`), repeated text cells (run id, load point, backend,
 * error) shared, rows typed directly in one object shape. 1,000,000 rows read in
 * well under a second. Bad cells are named by column and file:line.
 *
 * @module
 */
import {
  REQUEST_COLUMNS,
  REQUEST_NUMBER_MAX,
  type RequestRow,
  TEXT_COLUMNS,
} from "./result_schema.ts";
import { parseDecimal } from "./decimal.ts";

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * A numeric cell `text[a, b)` (null when empty), as `Number(cell)` reads it;
 * only plain non-negative decimals up to the column's maximum (`lib/decimal.ts`).
 */
function numAt(
  u8: Uint8Array,
  str: (a: number, b: number) => string,
  a: number,
  b: number,
  col: string,
  file: string,
  line: number,
): number | null {
  if (a === b) return null;
  let i = a;
  let neg = false;
  if (u8[i] === 45) {
    neg = true;
    i++;
  }
  let m = 0, digits = 0, frac = -1;
  for (; i < b; i++) {
    const c = u8[i];
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (frac >= 0) frac++;
    } else if (c === 46 && frac < 0) frac = 0;
    else break;
  }
  const max = REQUEST_NUMBER_MAX[col] ?? Number.MAX_VALUE;
  if (i === b && digits > 0 && digits <= 15 && !neg) {
    const v = frac > 0 ? m / POW10[frac] : m;
    if (v <= max) return v;
  }
  // exponents, long mantissas, signs, Infinity, hex, spaces, too large: checked and named
  return parseDecimal(str(a, b), col, `${file}:${line}`, max);
}

/** Bytes `[a, b)` as text, sharing `prev` when `[pa, pb)` holds the same bytes. */
function sameBytes(u8: Uint8Array, a: number, b: number, pa: number, pb: number): boolean {
  if (b - a !== pb - pa) return false;
  for (let i = 0; i < b - a; i++) if (u8[a + i] !== u8[pa + i]) return false;
  return true;
}

/** Repeated text cells of one column: the last value and where its bytes lie. */
class Shared {
  value = "";
  a = 0;
  b = 0;
  /** The text of bytes `[a, b)`, the last value when its bytes are the same. */
  at(u8: Uint8Array, a: number, b: number, str: (a: number, b: number) => string): string {
    if (!sameBytes(u8, a, b, this.a, this.b)) this.value = str(a, b);
    this.a = a;
    this.b = b;
    return this.value;
  }
}

/** The header of a `requests.csv`: where each known column is and how to read the others. */
interface Header {
  head: string[];
  /** Index of each of {@linkcode REQUEST_COLUMNS} in the file, -1 when absent. */
  at: number[];
  /** All known columns present (`class`, `failure` may lack): rows are typed on the fast path. */
  known: boolean;
  /** Per file column: kept as text (text columns and columns we do not know). */
  isText: boolean[];
  /** Byte offset of the header line's end. */
  end: number;
}

const CLASS_AT = REQUEST_COLUMNS.indexOf("class");
const FAILURE_AT = REQUEST_COLUMNS.indexOf("failure");

function readHeader(u8: Uint8Array): Header {
  let end = u8.indexOf(10);
  if (end === -1) end = u8.length;
  const head = new TextDecoder().decode(u8.subarray(0, end)).replace(/\r$/, "").split(",");
  const at = REQUEST_COLUMNS.map((c) => head.indexOf(c));
  // `class` and `failure` came later: files without them are read fast too ("")
  const known = at.every((k, j) => k >= 0 || j === CLASS_AT || j === FAILURE_AT) &&
    head.length === at.filter((k) => k >= 0).length;
  const isText = head.map((h) =>
    TEXT_COLUMNS.has(h) || !(REQUEST_COLUMNS as readonly string[]).includes(h)
  );
  return { head, at, known, isText, end };
}

/** The cells of the current line of one file: where they start, read as numbers or text. */
class Line {
  /** Cell k is bytes `[s[k], s[k + 1] - 1)`. */
  readonly s: Int32Array;
  /** The line number (1 is the header). */
  no = 1;
  readonly #shared = Array.from({ length: REQUEST_COLUMNS.length }, () => new Shared());

  constructor(
    readonly u8: Uint8Array,
    readonly str: (a: number, b: number) => string,
    readonly ncols: number,
    readonly file: string,
  ) {
    this.s = new Int32Array(ncols + 1);
  }

  /**
   * Finds the cells of the line at `pos`; returns its newline's offset and
   * whether it is blank. Throws when the line has another number of cells.
   */
  scan(pos: number): { eol: number; blank: boolean } {
    const { u8, s, ncols } = this;
    this.no++;
    let k = 0;
    s[0] = pos;
    let eol = pos;
    while (eol < u8.length) {
      const c = u8[eol];
      if (c === 10) break;
      if (c === 44 && ++k < ncols) s[k] = eol + 1;
      eol++;
    }
    let stop = eol;
    if (stop > pos && u8[stop - 1] === 13) stop--;
    if (stop === pos) return { eol, blank: true };
    if (k !== ncols - 1) {
      throw new SyntaxError(
        `Cannot read ${this.file}:${this.no} as a CSV row of ${ncols} columns: current value has ${
          k + 1
        }`,
      );
    }
    s[ncols] = stop + 1;
    return { eol, blank: false };
  }

  /** Cell `k` as a number of column `col` (null when empty). */
  num(k: number, col: string): number | null {
    return numAt(this.u8, this.str, this.s[k], this.s[k + 1] - 1, col, this.file, this.no);
  }

  /** Cell `k` as text. */
  text(k: number): string {
    return this.str(this.s[k], this.s[k + 1] - 1);
  }

  /** Cell `k` as text shared with the last line's cell of known column `j` when equal. */
  shared(k: number, j: number): string {
    return this.#shared[j].at(this.u8, this.s[k], this.s[k + 1] - 1, this.str);
  }
}

/** The typed row of a line whose columns are all known (`at`: their cells). */
function typedRow(l: Line, at: number[]): RequestRow {
  const n = (j: number) => l.num(at[j], REQUEST_COLUMNS[j]);
  return {
    run_id: l.shared(at[0], 0),
    load_point: l.shared(at[1], 1),
    request_id: l.text(at[2]),
    conversation_id: l.text(at[3]),
    turn: n(4)!,
    scheduled_ms: n(5)!,
    sent_ms: n(6)!,
    first_token_ms: n(7),
    end_ms: n(8)!,
    ttft_ms: n(9),
    e2e_ms: n(10)!,
    tpot_ms: n(11),
    itl_mean_ms: n(12),
    itl_max_ms: n(13),
    prompt_tokens: n(14),
    output_tokens: n(15)!,
    cached_tokens: n(16),
    status: n(17)!,
    error: l.shared(at[18], 18),
    backend: l.shared(at[19], 19),
    class: at[CLASS_AT] >= 0 ? l.shared(at[CLASS_AT], CLASS_AT) : "",
    failure: at[FAILURE_AT] >= 0 ? l.shared(at[FAILURE_AT], FAILURE_AT) : "",
  };
}

/** The row of a line read by column name (known numeric columns typed, the others text). */
function namedRow(l: Line, h: Header): RequestRow {
  const rec: Record<string, string | number | null> = {};
  for (let j = 0; j < h.head.length; j++) {
    rec[h.head[j]] = h.isText[j] ? l.text(j) : l.num(j, h.head[j]);
  }
  return rec as unknown as RequestRow;
}

/**
 * Reads unquoted `requests.csv` bytes into rows. Columns may come in any order;
 * a file with columns other than {@linkcode REQUEST_COLUMNS} is read by name
 * (known numeric columns typed, other columns kept as text).
 */
export function readRequestCsv(u8: Uint8Array, file: string): RequestRow[] {
  const text = new TextDecoder().decode(u8);
  // ASCII text: byte offsets are string offsets; otherwise decode each text cell
  const dec = new TextDecoder();
  const str = text.length === u8.length
    ? (a: number, b: number) => text.slice(a, b)
    : (a: number, b: number) => dec.decode(u8.subarray(a, b));
  const h = readHeader(u8);
  const l = new Line(u8, str, h.head.length, file);
  const out: RequestRow[] = [];
  for (let pos = h.end + 1; pos < u8.length;) {
    const { eol, blank } = l.scan(pos);
    if (!blank) out.push(h.known ? typedRow(l, h.at) : namedRow(l, h));
    pos = eol + 1;
  }
  return out;
}
