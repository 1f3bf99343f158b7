/**
 * The `Serving Benchmark Result` console block of `vllm bench serve` (old and new
 * wordings) and of our own bench (extra rate target/achieved, send lag, SLO and
 * completeness lines), mapped to vLLM's `--save-result` key names.
 *
 * @module
 */

/** Columns of the bench CSV, in order. */
export const BENCH_COLUMNS = [
  "file",
  "line",
  "source",
  "request_rate",
  "max_concurrency",
  "completed",
  "failed",
  "duration",
  "total_input_tokens",
  "total_output_tokens",
  "request_throughput",
  "request_goodput",
  "output_throughput",
  "max_output_tokens_per_s",
  "max_concurrent_requests",
  "total_token_throughput",
  ...["ttft", "tpot", "itl", "e2el"].flatMap((m) =>
    ["mean", "median", "p50", "p90", "p95", "p99", "p99.9"].map((s) => `${s}_${m}_ms`)
  ),
  "rate_target",
  "rate_achieved",
  "conversation_rate_achieved",
  "output_throughput_steady",
  "send_lag_p50_ms",
  "send_lag_p99_ms",
  "send_lag_max_ms",
  "ttft_from_scheduled_p50_ms",
  "ttft_from_scheduled_p99_ms",
  "client_saturated",
  "saturated",
  "slo_attainment",
  "output_token_mismatches",
  "complete",
] as const;

/** One result block; null is a row the block did not carry. */
export type BenchRow = Record<string, string | number | boolean | null>;

/** The opening line of a block. */
export const BLOCK_START = /^=+\s*Serving Benchmark Result\s*=+$/;
const BLOCK_END = /^={10,}$/;
const SECTION = /^-{3,}.*-{3,}$/;

const ROWS: Record<string, string> = {
  "successful requests": "completed",
  "failed requests": "failed",
  "maximum request concurrency": "max_concurrency",
  "request rate configured (rps)": "request_rate",
  "request rate target (req/s)": "rate_target",
  "conversation rate target (conv/s)": "rate_target",
  "conversation rate achieved (conv/s)": "conversation_rate_achieved",
  "request rate achieved (req/s)": "rate_achieved",
  "benchmark duration (s)": "duration",
  "total input tokens": "total_input_tokens",
  "total generated tokens": "total_output_tokens",
  "request throughput (req/s)": "request_throughput",
  "request goodput (req/s)": "request_goodput",
  "output token throughput (tok/s)": "output_throughput",
  "steady-state output throughput (tok/s)": "output_throughput_steady",
  "peak output token throughput (tok/s)": "max_output_tokens_per_s",
  "peak concurrent requests": "max_concurrent_requests",
  "total token throughput (tok/s)": "total_token_throughput",
  "slo attainment": "slo_attainment",
  "slo attainment (%)": "slo_attainment",
  "output token count mismatches": "output_token_mismatches",
};
const LATENCY = /^(mean|median|p(\d+(?:\.\d+)?)) (ttft|tpot|itl|e2el) \(ms\)$/i;

/** Reads a number cell: `inf`, `n/a` (null) or a number; undefined when it is none of them. */
function num(s: string): number | null | undefined {
  const t = s.trim();
  if (/^n\/a$/i.test(t) || t === "None") return null;
  if (/^\+?inf(inity)?$/i.test(t)) return Infinity;
  const n = Number(t);
  return t !== "" && Number.isFinite(n) ? n : undefined;
}

/** A problem inside a block, reported with its line number. */
export interface BlockIssue {
  line: number;
  text: string;
  reason: string;
}

/** Collects one block line by line. */
export class BenchBlock {
  readonly row: BenchRow;
  readonly issues: BlockIssue[] = [];
  #ours = false;

  /** Starts a block at `line` of `file`; `context` is the rate/concurrency printed before it. */
  constructor(file: string, line: number, context: { rate?: number; concurrency?: number }) {
    this.row = Object.fromEntries(BENCH_COLUMNS.map((c) => [c, null]));
    this.row.file = file;
    this.row.line = line;
    this.row.complete = true;
    if (context.rate !== undefined) this.row.request_rate = context.rate;
    if (context.concurrency !== undefined) this.row.max_concurrency = context.concurrency;
  }

  /** Feeds one line; returns true when the block is closed. */
  feed(text: string, line: number): boolean {
    const t = text.trim();
    if (BLOCK_END.test(t)) {
      this.row.source = this.#ours ? "topobench" : "vllm";
      if (this.row.request_rate === null && this.row.rate_target !== null) {
        this.row.request_rate = this.row.rate_target;
      }
      return true;
    }
    if (t === "" || SECTION.test(t)) return false;
    if (t.startsWith("INCOMPLETE:")) {
      this.row.complete = false;
      this.#ours = true;
      return false;
    }
    // our flags of a point: the client fell behind its schedule; the saturation stop ended it
    if (t.startsWith("BEHIND SCHEDULE:") || t.startsWith("SATURATED:")) {
      this.row[t.startsWith("SATURATED:") ? "saturated" : "client_saturated"] = true;
      this.#ours = true;
      return false;
    }
    const m = /^([^:]+):\s*(.*)$/.exec(t);
    if (!m) {
      this.issues.push({ line, text, reason: "not a `label: value` row" });
      return false;
    }
    const label = m[1].trim().toLowerCase().replace(/\s+/g, " ");
    const value = m[2];
    if (label === "ttft from schedule p50/p99 (ms)") {
      const vs = value.split("/").map(num);
      if (vs.length !== 2 || vs.some((v) => v === undefined)) {
        this.issues.push({ line, text, reason: "expected two numbers a / b" });
      } else {
        [this.row.ttft_from_scheduled_p50_ms, this.row.ttft_from_scheduled_p99_ms] = vs as (
          | number
          | null
        )[];
      }
      this.#ours = true;
      return false;
    }
    if (label === "send lag p50/p99/max (ms)") {
      const vs = value.split("/").map(num);
      if (vs.length !== 3 || vs.some((v) => v === undefined)) {
        this.issues.push({ line, text, reason: "expected three numbers a / b / c" });
      } else {
        [this.row.send_lag_p50_ms, this.row.send_lag_p99_ms, this.row.send_lag_max_ms] = vs as (
          | number
          | null
        )[];
      }
      this.#ours = true;
      return false;
    }
    let key = ROWS[label];
    const lat = LATENCY.exec(label);
    if (lat) key = `${lat[1].toLowerCase()}_${lat[3].toLowerCase()}_ms`;
    if (!key) {
      this.issues.push({ line, text, reason: `unknown row ${JSON.stringify(m[1].trim())}` });
      return false;
    }
    const v = num(value);
    if (v === undefined) {
      this.issues.push({ line, text, reason: `${key} is not a number` });
      return false;
    }
    if (key === "rate_target" || key.endsWith("rate_achieved")) this.#ours = true;
    if (!(BENCH_COLUMNS as readonly string[]).includes(key)) {
      this.issues.push({ line, text, reason: `percentile ${lat?.[1]} has no column` });
      return false;
    }
    // the block prints attainment in percent (it printed a fraction once): the column is a fraction
    this.row[key] = label === "slo attainment (%)" && v !== null ? v / 100 : v;
    return false;
  }
}

/**
 * Rate or concurrency that sweep scripts print before a block (`Traffic request
 * rate: 4.0`, `request_rate=4`, `RPS: 4`, `--request-rate 4`, `Maximum request
 * concurrency: 8`), or null.
 */
export function blockContext(text: string): { rate?: number; concurrency?: number } | null {
  const r =
    /(?:Traffic request rate|request[_ -]rate|\bRPS|\brate)\s*(?:[:=]|\s)\s*(inf|[0-9.]+)\b/i
      .exec(text);
  if (r && !/Request rate (configured|target|achieved)/i.test(text)) {
    const v = r[1].toLowerCase() === "inf" ? Infinity : Number(r[1]);
    if (Number.isFinite(v) || v === Infinity) return { rate: v };
  }
  const c = /(?:Maximum request concurrency|max[_ -]concurrency)\s*(?:[:=]|\s)\s*(\d+)/i.exec(text);
  if (c) return { concurrency: Number(c[1]) };
  return null;
}
