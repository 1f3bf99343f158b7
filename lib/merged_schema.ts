/**
 * The `merged.csv` contract written by `deno task merge` and read by plots and
 * `deno task compare`: one row per (topology, workload, load point, run), plus one
 * aggregate row per (topology, workload, load point) with `run_index = "mean"`.
 *
 * Per-run rows are recomputed from that run's `requests.csv` rows (percentiles of
 * the raw values, never averaged). Aggregate rows: counts, throughputs, rates and
 * attainment are means of the per-run values; latency percentiles are recomputed
 * from the pooled requests of all runs; each `*_ci95` column is the 95% Student-t
 * half-width of that column's per-run values (the run-to-run noise), empty with one run.
 *
 * `rate_target` is a number or `inf` in the file (`Infinity` in memory). Empty
 * cells are unknown values (null).
 *
 * Units: `rate_target` is the offered load, in conversations/s on multi-turn
 * workloads (`offersConversations` in `lib/rate_unit.ts`) and in req/s
 * otherwise; `rate_achieved`, `request_throughput` and `request_goodput` are
 * always req/s (every turn counts). Multi-turn rows add
 * `conversation_rate_achieved` (conversations started per second) and
 * `output_throughput_steady` (output tok/s without ramp-up and drain tail,
 * `lib/load_point.ts`); both are empty elsewhere. `output_throughput` is
 * vLLM's: all output tokens / `duration`.
 *
 * @module
 */
import { parseDecimal } from "./decimal.ts";
import { readCsv } from "./csv.ts";

/** Latency metrics, as vLLM names them in `--save-result` keys. */
export const LATENCY_METRICS = ["ttft", "tpot", "itl", "e2el"] as const;
/** Latency statistics kept per metric, e.g. `p99_ttft_ms`. */
export const LATENCY_STATS = ["mean", "median", "std", "p50", "p90", "p95", "p99"] as const;

/** Where a row's numbers came from. */
export const MERGED_SOURCES = ["topobench", "vllm-json", "vllm-log", "guidellm", "aiperf"] as const;
/** One of {@linkcode MERGED_SOURCES}. */
export type MergedSource = typeof MERGED_SOURCES[number];

/** Identity columns (text or small values). */
export const ID_COLUMNS = [
  "experiment",
  "topology",
  "workload",
  "class",
  "model",
  "gpus",
  "load_point",
  "rate_target",
  "max_concurrency",
  "run_index",
  "n_runs",
  "run_id",
  "run_dir",
  "source",
  "simulated",
  "complete",
  "saturated",
] as const;

/** Count, throughput and SLO columns. */
export const THROUGHPUT_COLUMNS = [
  "num_requests",
  "completed",
  "failed",
  "success_rate",
  "duration",
  "rate_achieved",
  "conversation_rate_achieved",
  "total_input_tokens",
  "total_output_tokens",
  "mean_input_tokens",
  "mean_output_tokens",
  "request_throughput",
  "output_throughput",
  "output_throughput_steady",
  "total_token_throughput",
  "request_throughput_per_gpu",
  "output_throughput_per_gpu",
  "slo_ttft_ms",
  "slo_tpot_ms",
  "request_goodput",
  "slo_attainment",
] as const;

/** `{mean,median,std,p50,p90,p95,p99}_{ttft,tpot,itl,e2el}_ms`. */
export const LATENCY_COLUMNS = LATENCY_METRICS.flatMap((m) =>
  LATENCY_STATS.map((s) => `${s}_${m}_ms`)
);

/** Multi-turn columns: TTFT of first turns and of later turns (prefix reuse). */
export const TURN_COLUMNS = [
  "mean_ttft_turn1_ms",
  "mean_ttft_turn2plus_ms",
  "p50_ttft_turn2plus_ms",
] as const;

/**
 * Multi-turn, per turn 1..T: mean TTFT, TPOT, E2E of each turn and the mean
 * cumulative conversation latency (sum of E2E of turns 1..t of conversations
 * that got that far without a failure), each a `;`-separated list (ms); and
 * the mean KV-cache usage (0..1) sampled while each turn was in flight (bench
 * `--scrape-metrics`).
 */
export const TURN_LIST_COLUMNS = [
  "ttft_by_turn_ms",
  "tpot_by_turn_ms",
  "e2el_by_turn_ms",
  "cum_e2el_by_turn_ms",
  "kv_usage_by_turn",
] as const;

/** A `;`-separated per-turn list as numbers (null entries for empty cells). */
export function turnList(cell: unknown): (number | null)[] {
  if (typeof cell !== "string" || cell === "") return [];
  return cell.split(";").map((x) => (x === "" ? null : Number(x)));
}

/** Metrics that get a `<name>_ci95` column on aggregate rows. */
export const CI_METRICS = [
  "success_rate",
  "rate_achieved",
  "conversation_rate_achieved",
  "request_throughput",
  "output_throughput",
  "output_throughput_steady",
  "total_token_throughput",
  "request_goodput",
  "slo_attainment",
  ...LATENCY_METRICS.flatMap((m) => ["mean", "median", "p90", "p99"].map((s) => `${s}_${m}_ms`)),
  "mean_ttft_turn2plus_ms",
] as const;

/** All columns of `merged.csv`, in order. */
export const MERGED_COLUMNS: readonly string[] = [
  ...ID_COLUMNS,
  ...THROUGHPUT_COLUMNS,
  ...LATENCY_COLUMNS,
  ...TURN_COLUMNS,
  ...TURN_LIST_COLUMNS,
  ...CI_METRICS.map((m) => `${m}_ci95`),
];

const TEXT = new Set([
  "experiment",
  "topology",
  "workload",
  "model",
  "load_point",
  "run_id",
  "run_dir",
  "source",
  "class",
  ...TURN_LIST_COLUMNS,
]);
const BOOL = new Set(["simulated", "complete", "saturated"]);

/** One row of `merged.csv`; numeric columns not named here are `number | null`. */
export interface MergedRow {
  experiment: string;
  topology: string;
  workload: string;
  model: string;
  gpus: number | null;
  /** The load point label as the run wrote it: `4`, `inf`, `c8`. */
  load_point: string;
  /** Offered rate (conv/s on multi-turn, else req/s); `Infinity` for `inf`; null when unknown (concurrency sweeps). */
  rate_target: number | null;
  max_concurrency: number | null;
  /** 1-based repeat number, or `"mean"` on aggregate rows. */
  run_index: number | "mean";
  /** Runs behind this row (1 on per-run rows). */
  n_runs: number;
  run_id: string;
  run_dir: string;
  source: MergedSource;
  simulated: boolean;
  complete: boolean;
  /**
   * Ended by the saturation stop (over-saturated): its throughput is that of the
   * seconds before the stop, not a steady state (a mean row: any of its runs).
   */
  saturated: boolean;
  [column: string]: string | number | boolean | null;
}

/** Formats a cell for `merged.csv`: `inf`, up to 6 decimals, empty for null/NaN. */
export function mergedCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (v === Infinity) return "inf";
    if (!Number.isFinite(v)) return "";
    return Number.isInteger(v) ? String(v) : String(Math.round(v * 1e6) / 1e6);
  }
  return String(v);
}

/** Converts one parsed `merged.csv` record to a typed row; throws naming file, line and column. */
export function parseMergedRow(rec: Record<string, string>, where = "merged.csv"): MergedRow {
  const out: Record<string, string | number | boolean | null> = {};
  for (const col of Object.keys(rec)) {
    const v = rec[col];
    if (TEXT.has(col)) out[col] = v;
    else if (BOOL.has(col)) out[col] = v === "true";
    else if (col === "run_index" && v === "mean") out[col] = "mean";
    else if (v === "") out[col] = null;
    else if (/^\+?inf(inity)?$/i.test(v)) out[col] = Infinity;
    else out[col] = parseDecimal(v, col, where);
  }
  for (const col of ["experiment", "topology", "workload", "load_point", "source"]) {
    if (typeof out[col] !== "string") {
      throw new TypeError(
        `Cannot read ${where} as merged.csv: current value is missing column ${col}`,
      );
    }
  }
  return out as MergedRow;
}

/** Reads `merged.csv` into typed rows. */
export async function readMerged(path: string): Promise<MergedRow[]> {
  const recs = await readCsv(path);
  return recs.map((r, i) => parseMergedRow(r, `${path}:${i + 2}`));
}
