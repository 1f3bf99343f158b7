/**
 * From one finished request to its `requests.csv` row, and the rows of a run
 * kept for its summary. One code path for both clocks: `deno task bench`
 * records what the HTTP client measured, `deno task predict` what the virtual
 * client saw at virtual instants.
 *
 * @module
 */
import type { CsvAppender, LineAppender } from "../lib/csv.ts";
import { CsvLineWriter } from "../lib/csv_bytes.ts";
import type { RequestRow } from "../lib/result_schema.ts";
import { tpotMs } from "./client.ts";
import type { Finished } from "./runner.ts";
import { SummaryRows } from "./summary_rows.ts";
import { ValueLog } from "../lib/value_log.ts";
import { failureReason } from "../lib/failure_reason.ts";

const enc = new TextEncoder();

/**
 * A request's inter-token gaps, read in place: the differences of its token
 * times multiplied by `scale`, or gaps as given (`scale` then unused).
 */
export class Gaps {
  /** How many gaps. */
  readonly length: number;

  private constructor(
    readonly values: ArrayLike<number>,
    readonly fromTimes: boolean,
    readonly scale: number,
  ) {
    this.length = fromTimes ? Math.max(0, values.length - 1) : values.length;
  }

  /** The gaps between neighbours of `timesMs`, each times `scale` (no array is made). */
  static between(timesMs: ArrayLike<number>, scale = 1): Gaps {
    return new Gaps(timesMs, true, scale);
  }

  /** Gaps as given (ms). */
  static of(gapsMs: ArrayLike<number>): Gaps {
    return new Gaps(gapsMs, false, 1);
  }

  /** Gap `i` (0-based), ms. */
  at(i: number): number {
    const v = this.values;
    return this.fromTimes ? (v[i + 1] - v[i]) * this.scale : v[i];
  }
}

/** The row of a finished request; times are multiplied by `scale` (server ms per real ms). */
export function requestRow(
  f: Finished,
  runId: string,
  loadPoint: string,
  scale = 1,
): { row: RequestRow; itlMs: Gaps } {
  const r = f.result, spec = f.spec;
  const itlMs = Gaps.between(r.tokenTimesMs, scale);
  const ttft = r.ttftMs === null ? null : r.ttftMs * scale;
  const e2e = r.e2eMs * scale;
  const [itlSum, itlMax] = sumMax(itlMs);
  const n = itlMs.length;
  const row: RequestRow = {
    run_id: runId,
    load_point: loadPoint,
    request_id: spec.requestId,
    conversation_id: spec.conversationId,
    turn: spec.turn,
    scheduled_ms: f.scheduledMs * scale,
    sent_ms: r.sentMs * scale,
    first_token_ms: r.firstTokenMs === null ? null : r.firstTokenMs * scale,
    end_ms: r.endMs * scale,
    ttft_ms: ttft,
    e2e_ms: e2e,
    tpot_ms: r.error ? null : tpotMs(e2e, ttft, f.outputTokens),
    itl_mean_ms: n ? itlSum / n : null,
    itl_max_ms: n ? itlMax : null,
    prompt_tokens: r.promptTokens ?? spec.promptTokens,
    output_tokens: f.outputTokens,
    cached_tokens: r.cachedTokens,
    status: r.status,
    error: r.error,
    backend: r.backend,
    class: spec.className ?? "",
    failure: failureReason(r.status, r.error),
  };
  return { row, itlMs };
}

/**
 * The sum (in order) and the largest of `gaps` (0 and -Infinity when none),
 * read in place: a short run's loop is still cold, and a call per gap costs there.
 * Gaps from token times are kept in the scratch array as they are computed,
 * for the `Tally` of the same request (see `gapsOf`).
 */
function sumMax(gaps: Gaps): [number, number] {
  let sum = 0, max = -Infinity;
  const v = gaps.values, n = gaps.length;
  if (gaps.fromTimes) {
    const g = room(n), scale = gaps.scale;
    for (let i = 0; i < n; i++) {
      const x = (v[i + 1] - v[i]) * scale;
      g[i] = x;
      sum += x;
      if (x > max) max = x;
    }
    scratchOf = gaps;
  } else {
    for (let i = 0; i < n; i++) {
      const x = v[i];
      sum += x;
      if (x > max) max = x;
    }
  }
  return [sum, max];
}

/**
 * Writes the `requests.csv` line of a row (with its newline), the bytes
 * `CsvAppender.append` writes for it, field by field rather than by column
 * name: in the order of `REQUEST_COLUMNS` (a new column goes here too; the
 * test compares them).
 */
export function writeRequestLine(w: CsvLineWriter, r: RequestRow): void {
  w.text(r.run_id);
  w.comma();
  w.text(r.load_point);
  w.comma();
  w.text(r.request_id);
  w.comma();
  w.text(r.conversation_id);
  w.comma();
  w.number(r.turn);
  w.comma();
  w.number(r.scheduled_ms);
  w.comma();
  w.number(r.sent_ms);
  w.comma();
  w.number(r.first_token_ms);
  w.comma();
  w.number(r.end_ms);
  w.comma();
  w.number(r.ttft_ms);
  w.comma();
  w.number(r.e2e_ms);
  w.comma();
  w.number(r.tpot_ms);
  w.comma();
  w.number(r.itl_mean_ms);
  w.comma();
  w.number(r.itl_max_ms);
  w.comma();
  w.number(r.prompt_tokens);
  w.comma();
  w.number(r.output_tokens);
  w.comma();
  w.number(r.cached_tokens);
  w.comma();
  w.number(r.status);
  w.comma();
  w.text(r.error);
  w.comma();
  w.text(r.backend);
  w.comma();
  w.text(r.class);
  w.comma();
  w.text(r.failure);
  w.newline();
}

const lineWriter = new CsvLineWriter();
const dec = new TextDecoder();

/** The `requests.csv` line of a row (with its newline), as text (see {@linkcode writeRequestLine}). */
export function requestLine(r: RequestRow): string {
  lineWriter.at = 0;
  writeRequestLine(lineWriter, r);
  return dec.decode(lineWriter.buf.subarray(0, lineWriter.at));
}

/** Seconds past this are counted in a map, not the array (a clock far off zero). */
const DENSE_SECONDS = 1 << 22;

/**
 * Counts per whole second of a run's clock: an array indexed by second
 * (seconds from 0 on), a map for any other second.
 */
export class SecondCounts {
  #dense = new Uint32Array(64);
  #sparse: Map<number, number> | null = null;

  /** Counts one event at `tMs` (ms) in its whole second. */
  add(tMs: number): void {
    const s = Math.floor(tMs / 1000);
    if (s >= 0 && s < this.#dense.length) this.#dense[s]++;
    else this.#far(s);
  }

  #far(s: number): void {
    if (s >= 0 && s < DENSE_SECONDS) {
      const a = new Uint32Array(Math.min(DENSE_SECONDS, Math.max(2 * this.#dense.length, s + 1)));
      a.set(this.#dense);
      this.#dense = a;
      this.#dense[s]++;
      return;
    }
    this.#sparse ??= new Map();
    this.#sparse.set(s, (this.#sparse.get(s) ?? 0) + 1);
  }

  /**
   * Counts one event at `firstMs` and one at each running sum `firstMs + gaps[0] + …
   * + gaps[i]` (summed in that order), for `i` below `n`: as many `add` calls,
   * with a division only where an event may leave the second of the one before
   * (within [s·1000, (s+1)·1000·(1 − 2⁻⁵⁰)) every time's second is s).
   */
  addSums(firstMs: number, gaps: ArrayLike<number>, n: number): void {
    let t = firstMs, s = 0, c = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0;; i++) {
      if (t >= lo && t < hi) c++;
      else {
        if (c) this.#dense[s] += c;
        c = 0;
        this.add(t);
        s = Math.floor(t / 1000);
        if (s >= 0 && s < this.#dense.length) {
          lo = s * 1000;
          hi = lo + 1000 - (lo + 1000) * 2 ** -50;
        } else {
          lo = Infinity;
          hi = -Infinity;
        }
      }
      if (i === n) break;
      t += gaps[i];
    }
    if (c) this.#dense[s] += c;
  }

  /** The counts of the seconds that have some, in no set order. */
  *values(): Generator<number> {
    for (const c of this.#dense) if (c) yield c;
    if (this.#sparse) yield* this.#sparse.values();
  }
}

/** Scratch for one request's gaps (grown as needed; valid until the next call). */
let scratch = new Float64Array(1024);
/** Whose gaps the scratch holds (set by `sumMax`, the row of the same request), else null. */
let scratchOf: Gaps | null = null;

/** The scratch array, with room for `n` values (what it held is lost). */
function room(n: number): Float64Array {
  scratchOf = null;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  return scratch;
}

/** The values of `gaps` in a scratch array (its first `gaps.length`); computed by its row when it was the last. */
function gapsOf(gaps: Gaps): Float64Array {
  if (scratchOf === gaps) return scratch;
  const v = gaps.values, n = gaps.length, scale = gaps.scale;
  const g = room(n);
  if (gaps.fromTimes) { for (let i = 0; i < n; i++) g[i] = (v[i + 1] - v[i]) * scale; }
  else for (let i = 0; i < n; i++) g[i] = v[i];
  scratchOf = gaps;
  return g;
}

/** What a summary reads of a set of rows: the rows, the gaps, chunks per second. */
export class Tally {
  /** What the summary needs of each row, in typed columns (memory per request stays small). */
  readonly rows = new SummaryRows();
  /** All inter-token gaps of successful requests, in order (in a temporary file past 8 MiB). */
  readonly itls = new ValueLog();
  /** Content chunks of successful requests per whole second of the run's clock (peak output tokens/s). */
  readonly tokensPerSecond = new SecondCounts();

  add(row: RequestRow, itlMs: Gaps): void {
    this.rows.push(row);
    if (row.error) return;
    // the gaps in a scratch array, computed once (by the row's sumMax when it was the last
    // row made; this runs for every token of a run), and appended in one call
    const n = itlMs.length, g = gapsOf(itlMs);
    this.itls.pushAll(g, n);
    if (row.first_token_ms !== null) this.tokensPerSecond.addSums(row.first_token_ms, g, n);
  }
}

/**
 * Bytes of `requests.csv` rows held before one write (~60 rows): a write per
 * row was 4% of bench's CPU at 1,500 req/s.
 */
export const HOLD_BYTES = 16 * 1024;
/** Rows held are written within this many ms (and when the run's files close). */
export const HOLD_MS = 100;

/**
 * The rows of one run: appended to `requests.csv` (and `itl.jsonl`) as they
 * come, held for at most {@linkcode HOLD_MS} (a Ctrl-C or an error writes them
 * too; only a killed process loses the last of them), kept for the summary.
 */
export class RunRows {
  /** Every row of the run. */
  readonly total = new Tally();
  /** The rows of each request class (`--class`), when there are classes. */
  readonly byClass = new Map<string, Tally>();
  /** TTFT of the last 200 successes, in no set order (progress line). */
  readonly recent: number[] = [];
  #recentNext = 0;
  /** Send lag (sent − scheduled, the rows' ms) of the last 200 rows, in no set order (progress line). */
  readonly recentLag: number[] = [];
  #lagNext = 0;

  /** The first write failure (a full disk): rows after it are not recorded. */
  writeError: Error | null = null;

  /**
   * @param onWriteError called once when a row cannot be written (the run should stop)
   */
  constructor(
    readonly runId: string,
    readonly csv: CsvAppender,
    readonly itlFile: LineAppender | null = null,
    readonly onWriteError: (e: Error) => void = () => {},
  ) {}

  #holding: ReturnType<typeof setTimeout> | undefined;

  /** Writes the rows the CSV file holds back (a failure is recorded as `writeError`). */
  flush(): void {
    clearTimeout(this.#holding);
    this.#holding = undefined;
    if (this.writeError) return;
    try {
      this.csv.flush();
    } catch (e) {
      this.#failed(e);
    }
  }

  #failed(e: unknown): void {
    this.writeError = e instanceof Error ? e : new Error(String(e));
    this.onWriteError(this.writeError);
  }

  /** Frees the gaps' storage (its temporary file) once the run is summarised. */
  close(): void {
    this.total.itls.close();
    for (const t of this.byClass.values()) t.itls.close();
  }

  /** What the summary needs of each row. */
  get rows(): SummaryRows {
    return this.total.rows;
  }
  /** All inter-token gaps of successful requests. */
  get itls(): ValueLog {
    return this.total.itls;
  }
  /** Content chunks per whole second (peak output tokens/s). */
  get tokensPerSecond(): SecondCounts {
    return this.total.tokensPerSecond;
  }

  /** Records one row with its inter-token gaps (nothing after a write failure). */
  add(row: RequestRow, gaps: Gaps | ArrayLike<number>): void {
    if (this.writeError) return;
    const itlMs = gaps instanceof Gaps ? gaps : Gaps.of(gaps);
    try {
      // gaps first: a gap line without its row is ignored by readers, a row without gaps is not
      if (this.itlFile) this.itlFile.append(enc.encode(this.#itlLine(row, itlMs)));
      this.csv.appendWritten(writeRequestLine, row);
    } catch (e) {
      this.#failed(e);
      return;
    }
    if (this.#holding === undefined) {
      this.#holding = setTimeout(() => this.flush(), HOLD_MS);
      Deno.unrefTimer(this.#holding);
    }
    this.#tally(row, itlMs);
    const lag = row.sent_ms - row.scheduled_ms;
    if (this.recentLag.length < 200) this.recentLag.push(lag);
    else this.recentLag[this.#lagNext++ % 200] = lag;
    if (!row.error && row.ttft_ms !== null) {
      if (this.recent.length < 200) this.recent.push(row.ttft_ms);
      else this.recent[this.#recentNext++ % 200] = row.ttft_ms;
    }
  }

  #itlLine(row: RequestRow, itlMs: Gaps): string {
    return JSON.stringify({
      run_id: this.runId,
      request_id: row.request_id,
      itl_ms: Array.from({ length: itlMs.length }, (_, i) => Math.round(itlMs.at(i) * 1000) / 1000),
    }) + "\n";
  }

  #tally(row: RequestRow, itlMs: Gaps): void {
    this.total.add(row, itlMs);
    if (row.class) {
      let t = this.byClass.get(row.class);
      if (!t) this.byClass.set(row.class, t = new Tally());
      t.add(row, itlMs);
    }
  }
}
