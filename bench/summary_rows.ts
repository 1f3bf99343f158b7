/**
 * The rows a run keeps for its summary, as typed columns: what the summary
 * reads of each finished request (a {@linkcode SummaryRow}) in 81 bytes (ten
 * float64 cells and a byte of null marks, in chunks of 1,024 rows), and the
 * error texts of failed requests only. A run of an hour keeps no object per
 * request (an object of eleven fields with its boxed numbers took ~430 bytes),
 * so its live memory stays flat. Values come back bit for bit as they went in
 * (NaN and -0 included), as fresh objects, one per row read.
 *
 * @module
 */
import type { RequestRow } from "../lib/result_schema.ts";
import type { SummaryRow } from "./summary.ts";

/** Rows per chunk. */
const CHUNK_ROWS = 1024;
/** Cells per row: scheduled, sent, first token, end, TTFT, TPOT, E2E, prompt tokens, output tokens, turn. */
const CELLS = 10;
/** Null marks, one bit each, of the cells that may be null. */
const NO_FIRST_TOKEN = 1, NO_TTFT = 2, NO_TPOT = 4, NO_PROMPT_TOKENS = 8;

/** Summary rows in typed columns (see the module doc). */
export class SummaryRows implements Iterable<SummaryRow> {
  readonly #cells: Float64Array[] = [];
  readonly #nulls: Uint8Array[] = [];
  /** Error text by row index, for the rows that have one. */
  readonly #errors = new Map<number, string>();
  #length = 0;

  /** Number of rows. */
  get length(): number {
    return this.#length;
  }

  /** Appends what the summary reads of `r`. */
  push(r: RequestRow | SummaryRow): void {
    const i = this.#length++;
    const k = i % CHUNK_ROWS;
    if (k === 0) {
      this.#cells.push(new Float64Array(CHUNK_ROWS * CELLS));
      this.#nulls.push(new Uint8Array(CHUNK_ROWS));
    }
    const c = this.#cells[this.#cells.length - 1], o = k * CELLS;
    let nulls = 0;
    c[o] = r.scheduled_ms;
    c[o + 1] = r.sent_ms;
    if (r.first_token_ms === null) nulls |= NO_FIRST_TOKEN;
    else c[o + 2] = r.first_token_ms;
    c[o + 3] = r.end_ms;
    if (r.ttft_ms === null) nulls |= NO_TTFT;
    else c[o + 4] = r.ttft_ms;
    if (r.tpot_ms === null) nulls |= NO_TPOT;
    else c[o + 5] = r.tpot_ms;
    c[o + 6] = r.e2e_ms;
    if (r.prompt_tokens === null) nulls |= NO_PROMPT_TOKENS;
    else c[o + 7] = r.prompt_tokens;
    c[o + 8] = r.output_tokens;
    c[o + 9] = r.turn;
    this.#nulls[this.#nulls.length - 1][k] = nulls;
    if (r.error) this.#errors.set(i, r.error);
  }

  /** Row `i` (0-based) as a fresh object. */
  at(i: number): SummaryRow {
    if (!(i >= 0 && i < this.#length && Number.isInteger(i))) {
      throw new RangeError(
        `Cannot read summary row ${i}: current value is out of range; allowed: 0..${
          this.#length - 1
        }`,
      );
    }
    return this.#row(i);
  }

  #row(i: number): SummaryRow {
    const j = Math.floor(i / CHUNK_ROWS), k = i - j * CHUNK_ROWS;
    const c = this.#cells[j], o = k * CELLS, nulls = this.#nulls[j][k];
    return {
      error: this.#errors.size ? this.#errors.get(i) ?? "" : "",
      scheduled_ms: c[o],
      sent_ms: c[o + 1],
      first_token_ms: nulls & NO_FIRST_TOKEN ? null : c[o + 2],
      end_ms: c[o + 3],
      ttft_ms: nulls & NO_TTFT ? null : c[o + 4],
      tpot_ms: nulls & NO_TPOT ? null : c[o + 5],
      e2e_ms: c[o + 6],
      prompt_tokens: nulls & NO_PROMPT_TOKENS ? null : c[o + 7],
      output_tokens: c[o + 8],
      turn: c[o + 9],
    };
  }

  /**
   * Calls `visit` with each row in order, as one object refilled for each (no
   * object per row, no iterator: a summary's pass over an hour's rows): read
   * it, never keep it.
   */
  forEachRow(visit: (r: SummaryRow) => void): void {
    const r: SummaryRow = {
      error: "",
      scheduled_ms: 0.5, // doubles from the start: their fields hold doubles in place
      sent_ms: 0.5,
      first_token_ms: null,
      end_ms: 0.5,
      ttft_ms: null,
      tpot_ms: null,
      e2e_ms: 0.5,
      prompt_tokens: null,
      output_tokens: 0,
      turn: 0,
    };
    const errors = this.#errors;
    for (let j = 0, i = 0; i < this.#length; j++) {
      const c = this.#cells[j], nulls = this.#nulls[j];
      for (let k = 0; k < CHUNK_ROWS && i < this.#length; k++, i++) {
        const o = k * CELLS, z = nulls[k];
        r.error = errors.size ? errors.get(i) ?? "" : "";
        r.scheduled_ms = c[o];
        r.sent_ms = c[o + 1];
        r.first_token_ms = z & NO_FIRST_TOKEN ? null : c[o + 2];
        r.end_ms = c[o + 3];
        r.ttft_ms = z & NO_TTFT ? null : c[o + 4];
        r.tpot_ms = z & NO_TPOT ? null : c[o + 5];
        r.e2e_ms = c[o + 6];
        r.prompt_tokens = z & NO_PROMPT_TOKENS ? null : c[o + 7];
        r.output_tokens = c[o + 8];
        r.turn = c[o + 9];
        visit(r);
      }
    }
  }

  /** The rows in order, each a fresh object. */
  *[Symbol.iterator](): Generator<SummaryRow> {
    for (let i = 0; i < this.#length; i++) yield this.#row(i);
  }
}
