/**
 * From one finished request to its `requests.csv` row, and the rows of a run
 * kept for its summary. One code path for both clocks: `deno task bench`
 * records what the HTTP client measured, `deno task predict` what the virtual
 * client saw at virtual instants.
 *
 * @module
 */
import type { CsvAppender, LineAppender } from "../lib/csv.ts";
import type { RequestRow } from "../lib/result_schema.ts";
import { tpotMs } from "./client.ts";
import type { Finished } from "./runner.ts";
import { type SummaryRow, summaryRow } from "./summary.ts";

const enc = new TextEncoder();

/** The row of a finished request; times are multiplied by `scale` (server ms per real ms). */
export function requestRow(
  f: Finished,
  runId: string,
  loadPoint: string,
  scale = 1,
): { row: RequestRow; itlMs: number[] } {
  const r = f.result;
  const s = (ms: number) => ms * scale;
  const itlMs = scale === 1 ? r.itlMs : r.itlMs.map(s);
  const ttft = r.ttftMs === null ? null : s(r.ttftMs);
  let itlSum = 0;
  let itlMax = -Infinity;
  for (const g of itlMs) {
    itlSum += g;
    if (g > itlMax) itlMax = g;
  }
  const row: RequestRow = {
    run_id: runId,
    load_point: loadPoint,
    request_id: f.spec.requestId,
    conversation_id: f.spec.conversationId,
    turn: f.spec.turn,
    scheduled_ms: s(f.scheduledMs),
    sent_ms: s(r.sentMs),
    first_token_ms: r.firstTokenMs === null ? null : s(r.firstTokenMs),
    end_ms: s(r.endMs),
    ttft_ms: ttft,
    e2e_ms: s(r.e2eMs),
    tpot_ms: r.error ? null : tpotMs(s(r.e2eMs), ttft, f.outputTokens),
    itl_mean_ms: itlMs.length ? itlSum / itlMs.length : null,
    itl_max_ms: itlMs.length ? itlMax : null,
    prompt_tokens: r.promptTokens ?? f.spec.promptTokens,
    output_tokens: f.outputTokens,
    cached_tokens: r.cachedTokens,
    status: r.status,
    error: r.error,
    backend: r.backend,
    class: f.spec.className ?? "",
  };
  return { row, itlMs };
}

/** What a summary reads of a set of rows: the rows, the gaps, chunks per second. */
export class Tally {
  /** What the summary needs of each row (not the whole row: memory per request stays small). */
  readonly rows: SummaryRow[] = [];
  /** All inter-token gaps of successful requests. */
  readonly itls: number[] = [];
  /** Content chunks of successful requests per whole second of the run's clock (peak output tokens/s). */
  readonly tokensPerSecond = new Map<number, number>();

  add(row: RequestRow, s: SummaryRow, itlMs: number[]): void {
    this.rows.push(s);
    if (row.error) return;
    for (const g of itlMs) this.itls.push(g);
    if (row.first_token_ms !== null) {
      let t = row.first_token_ms;
      this.#count(t);
      for (const g of itlMs) this.#count(t += g);
    }
  }

  #count(tMs: number): void {
    const b = Math.floor(tMs / 1000);
    this.tokensPerSecond.set(b, (this.tokensPerSecond.get(b) ?? 0) + 1);
  }
}

/** The rows of one run: appended to `requests.csv` (and `itl.jsonl`) as they come, kept for the summary. */
export class RunRows {
  /** Every row of the run. */
  readonly total = new Tally();
  /** The rows of each request class (`--class`), when there are classes. */
  readonly byClass = new Map<string, Tally>();
  /** TTFT of the last 200 successes (progress line). */
  readonly recent: number[] = [];

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

  /** What the summary needs of each row. */
  get rows(): SummaryRow[] {
    return this.total.rows;
  }
  /** All inter-token gaps of successful requests. */
  get itls(): number[] {
    return this.total.itls;
  }
  /** Content chunks per whole second (peak output tokens/s). */
  get tokensPerSecond(): Map<number, number> {
    return this.total.tokensPerSecond;
  }

  /** Records one row with its inter-token gaps (nothing after a write failure). */
  add(row: RequestRow, itlMs: number[]): void {
    if (this.writeError) return;
    try {
      // gaps first: a gap line without its row is ignored by readers, a row without gaps is not
      if (this.itlFile) {
        this.itlFile.append(
          enc.encode(
            JSON.stringify({
              run_id: this.runId,
              request_id: row.request_id,
              itl_ms: itlMs.map((x) => Math.round(x * 1000) / 1000),
            }) + "\n",
          ),
        );
      }
      this.csv.append(row as unknown as Record<string, string | number | null>);
    } catch (e) {
      this.writeError = e instanceof Error ? e : new Error(String(e));
      this.onWriteError(this.writeError);
      return;
    }
    const s = summaryRow(row);
    this.total.add(row, s, itlMs);
    if (row.class) {
      let t = this.byClass.get(row.class);
      if (!t) this.byClass.set(row.class, t = new Tally());
      t.add(row, s, itlMs);
    }
    if (!row.error && row.ttft_ms !== null) {
      this.recent.push(row.ttft_ms);
      if (this.recent.length > 200) this.recent.shift();
    }
  }
}
