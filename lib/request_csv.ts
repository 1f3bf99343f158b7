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
  let end = u8.indexOf(10);
  if (end === -1) end = u8.length;
  const head = dec.decode(u8.subarray(0, end)).replace(/\r$/, "").split(",");
  const ncols = head.length;
  const at = REQUEST_COLUMNS.map((c) => head.indexOf(c));
  // `class` came later: files without it are read fast too (class "")
  const classAt = REQUEST_COLUMNS.indexOf("class");
  const known = at.every((k, j) => k >= 0 || j === classAt) &&
    head.length === at.filter((k) => k >= 0).length;
  // text columns and columns we do not know stay text; known numeric ones are typed
  const isText = head.map((h) =>
    TEXT_COLUMNS.has(h) || !(REQUEST_COLUMNS as readonly string[]).includes(h)
  );
  const s = new Int32Array(ncols + 1); // cell k is bytes [s[k], s[k + 1] - 1)
  const out: RequestRow[] = [];
  const runId = new Shared(), lp = new Shared(), backend = new Shared(), error = new Shared();
  const cls = new Shared();
  const hasClass = at[classAt] >= 0;
  const len = u8.length;
  let pos = end + 1;
  let line = 1;
  while (pos < len) {
    line++;
    // one pass over the line: cell starts up to the newline
    let k = 0;
    s[0] = pos;
    let eol = pos;
    while (eol < len) {
      const c = u8[eol];
      if (c === 10) break;
      if (c === 44 && ++k < ncols) s[k] = eol + 1;
      eol++;
    }
    let stop = eol;
    if (stop > pos && u8[stop - 1] === 13) stop--;
    if (stop === pos) {
      pos = eol + 1;
      continue;
    }
    if (k !== ncols - 1) {
      throw new SyntaxError(
        `Cannot read ${file}:${line} as a CSV row of ${ncols} columns: current value has ${k + 1}`,
      );
    }
    s[ncols] = stop + 1;
    if (known) {
      const n = (j: number) =>
        numAt(u8, str, s[at[j]], s[at[j] + 1] - 1, REQUEST_COLUMNS[j], file, line);
      const t = (j: number, sh: Shared) => sh.at(u8, s[at[j]], s[at[j] + 1] - 1, str);
      out.push({
        run_id: t(0, runId),
        load_point: t(1, lp),
        request_id: str(s[at[2]], s[at[2] + 1] - 1),
        conversation_id: str(s[at[3]], s[at[3] + 1] - 1),
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
        error: t(18, error),
        backend: t(19, backend),
        class: hasClass ? t(classAt, cls) : "",
      });
    } else {
      const rec: Record<string, string | number | null> = {};
      for (let j = 0; j < ncols; j++) {
        const a = s[j], b = s[j + 1] - 1;
        rec[head[j]] = isText[j] ? str(a, b) : numAt(u8, str, a, b, head[j], file, line);
      }
      out.push(rec as unknown as RequestRow);
    }
    pos = eol + 1;
  }
  return out;
}
