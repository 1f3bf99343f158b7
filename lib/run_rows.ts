/**
 * One run's `merged.csv` row, a view of the load-point record of its
 * per-request rows (`lib/load_point.ts`, the record `summary.json` is a view of
 * too; percentiles from raw values), and the aggregate row across repeats:
 * means, pooled percentiles and 95% Student-t half-widths.
 *
 * @module
 */
import { mean } from "./stats.ts";
import type { RequestRow } from "./result_schema.ts";
import {
  CI_METRICS,
  LATENCY_COLUMNS,
  LATENCY_METRICS,
  LATENCY_STATS,
  MERGED_COLUMNS,
  type MergedRow,
  type MergedSource,
  TURN_COLUMNS,
  TURN_LIST_COLUMNS,
} from "./merged_schema.ts";
import { ci95, perGpu, type Slo } from "./metrics.ts";
import { type LoadPointStats, loadPointStats, type TurnMeans } from "./load_point.ts";
import { offersConversations } from "./rate_unit.ts";

export type { Slo };

/** One run to merge. */
export interface RunInput {
  experiment: string;
  topology: string;
  workload: string;
  model: string;
  gpus: number | null;
  loadPoint: string;
  rateTarget: number | null;
  maxConcurrency: number | null;
  runIndex: number;
  runId: string;
  runDir: string;
  source: MergedSource;
  simulated: boolean;
  /** `virtual` for `deno task predict` runs, else `live` (the wall clock). */
  clock: "virtual" | "live";
  complete: boolean;
  /** Ended by the saturation stop (`summary.json` `saturated`). @default false */
  saturated?: boolean;
  /** Per-request rows, or null when only summary values exist. */
  rows: RequestRow[] | null;
  /** All inter-token gaps (ms) of successful requests, or null. */
  itlGapsMs: number[] | null;
  /** Summary values (vLLM key names) used where rows cannot tell. */
  summary: Record<string, unknown>;
  /** Benchmark duration (s) when the source states it (vLLM JSON). */
  durationS?: number;
  /** SLO for attainment and goodput, or null. */
  slo: Slo | null;
  /** Whose metric definitions the run used (`--metrics-compat`). @default "topobench" */
  metricsCompat?: "topobench" | "vllm";
  /** The request class (`--class`) these rows are, or "" for a whole run. @default "" */
  className?: string;
}

const num = (v: unknown): number | null =>
  typeof v === "number" && Number.isFinite(v) ? v : v === "inf" ? Infinity : null;

function blank(): MergedRow {
  return Object.fromEntries(MERGED_COLUMNS.map((c) => [c, null])) as unknown as MergedRow;
}

/** The row of one run: a view of its load-point record when it has rows, else copied from the summary. */
export function runRow(r: RunInput): MergedRow {
  const o = blank();
  Object.assign(o, identity(r));
  if (r.rows) {
    const st = loadPointStats(r.rows, {
      itlsMs: r.itlGapsMs,
      slo: r.slo,
      durationS: r.durationS,
      conversations: offersConversations(r.workload),
    });
    Object.assign(o, rowOf(st, r));
  } else Object.assign(o, fromSummary(o, r.summary));
  o.request_throughput_per_gpu = perGpu(o.request_throughput as number | null, r.gpus);
  o.output_throughput_per_gpu = perGpu(o.output_throughput as number | null, r.gpus);
  return o;
}

/** The identity columns of a run's row. */
function identity(r: RunInput): Partial<MergedRow> {
  return {
    experiment: r.experiment,
    topology: r.topology,
    workload: r.workload,
    class: r.className ?? "",
    model: r.model,
    gpus: r.gpus,
    load_point: r.loadPoint,
    rate_target: r.rateTarget,
    max_concurrency: r.maxConcurrency,
    run_index: r.runIndex,
    n_runs: 1,
    run_id: r.runId,
    run_dir: r.runDir,
    source: r.source,
    simulated: r.simulated,
    complete: r.complete,
    saturated: r.saturated ?? false,
    slo_ttft_ms: r.slo?.ttftMs ?? null,
    slo_tpot_ms: r.slo?.tpotMs ?? null,
  };
}

/** The columns of a run without rows: the summary's values where a column is still empty. */
function fromSummary(o: MergedRow, s: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of MERGED_COLUMNS) if (o[c] === null && c in s) out[c] = num(s[c]);
  out.num_requests = num(s.num_prompts) ?? ((num(s.completed) ?? 0) + (num(s.failed) ?? 0));
  const done = num(s.completed);
  if (done) {
    out.mean_input_tokens = (num(s.total_input_tokens) ?? NaN) / done;
    out.mean_output_tokens = (num(s.total_output_tokens) ?? NaN) / done;
  }
  return out;
}

/**
 * The merged columns of a load-point record. The achieved rate is the record's
 * for our own runs of 2+ requests (null when all were sent at one instant), else
 * the summary's; ITL statistics come from the summary when the run kept no gaps.
 */
function rowOf(st: LoadPointStats, r: RunInput): Record<string, unknown> {
  const s = r.summary, n = st.num_prompts, ok = st.completed;
  const out: Record<string, unknown> = {
    num_requests: n,
    completed: ok,
    failed: st.failed,
    success_rate: st.success_rate,
    duration: st.duration,
    total_input_tokens: st.total_input_tokens,
    total_output_tokens: st.total_output_tokens,
    mean_input_tokens: ok ? st.total_input_tokens / ok : null,
    mean_output_tokens: ok ? st.total_output_tokens / ok : null,
    request_throughput: st.request_throughput,
    output_throughput: st.output_throughput,
    total_token_throughput: st.total_token_throughput,
    rate_achieved: r.source === "topobench" && n >= 2
      ? (Number.isFinite(st.rate_achieved) ? st.rate_achieved : null)
      : num(s.rate_achieved),
    conversation_rate_achieved: r.source === "topobench"
      ? num(st.conversation_rate_achieved)
      : num(s.conversation_rate_achieved),
    output_throughput_steady: st.output_throughput_steady,
    mean_ttft_turn1_ms: st.mean_ttft_turn1_ms,
    mean_ttft_turn2plus_ms: st.mean_ttft_turn2plus_ms,
    p50_ttft_turn2plus_ms: st.p50_ttft_turn2plus_ms,
    ...(st.by_turn ? turnLists(st.by_turn) : {}),
  };
  for (const m of LATENCY_METRICS) {
    const own = m !== "itl" || r.itlGapsMs;
    for (const k of LATENCY_STATS) {
      out[`${k}_${m}_ms`] = own ? st[`${k}_${m}_ms`] : num(s[`${k}_${m}_ms`]);
    }
  }
  if (typeof s.kv_usage_by_turn === "string") out.kv_usage_by_turn = s.kv_usage_by_turn;
  if (r.slo) {
    out.slo_attainment = st.slo_attainment;
    out.request_goodput = st.request_goodput;
  }
  return out;
}

const POOLED = new Set<string>([...LATENCY_COLUMNS, ...TURN_COLUMNS, ...TURN_LIST_COLUMNS]);

const r3 = (x: number) => String(Math.round(x * 1000) / 1000);

/** The per-turn list columns ({@linkcode TURN_LIST_COLUMNS}): `;`-separated means, "" for none. */
function turnLists(turns: readonly TurnMeans[]): Record<string, string> {
  const list = (f: (t: TurnMeans) => number | null) =>
    turns.map((t) => {
      const x = f(t);
      return x === null ? "" : r3(x);
    }).join(";");
  return {
    ttft_by_turn_ms: list((t) => t.ttft_ms),
    tpot_by_turn_ms: list((t) => t.tpot_ms),
    e2el_by_turn_ms: list((t) => t.e2el_ms),
    cum_e2el_by_turn_ms: list((t) => t.cum_e2el_ms),
  };
}

/**
 * The aggregate row of repeats of one (topology, workload, load point): means of
 * per-run values, latency percentiles recomputed from the pooled requests when every
 * run has rows, and `*_ci95` half-widths of the per-run values.
 */
export function aggregateRow(inputs: RunInput[], perRun: MergedRow[]): MergedRow {
  const o = blank();
  const first = perRun[0];
  for (const c of ["experiment", "topology", "workload", "class", "model", "gpus", "load_point"]) {
    o[c] = first[c];
  }
  Object.assign(o, {
    rate_target: first.rate_target,
    max_concurrency: first.max_concurrency,
    run_index: "mean",
    n_runs: perRun.length,
    run_id: "",
    run_dir: [...new Set(perRun.map((r) => r.run_dir))].join(";"),
    source: first.source,
    simulated: perRun.every((r) => r.simulated),
    complete: perRun.every((r) => r.complete),
    saturated: perRun.some((r) => r.saturated),
    slo_ttft_ms: first.slo_ttft_ms,
    slo_tpot_ms: first.slo_tpot_ms,
  });
  const skip = new Set(Object.keys(o).filter((k) => o[k] !== null));
  for (const c of MERGED_COLUMNS) {
    if (skip.has(c) || c.endsWith("_ci95")) continue;
    const xs = perRun.map((r) => r[c]).filter((x): x is number => typeof x === "number");
    o[c] = xs.length ? mean(xs) : null;
  }
  if (inputs.length === 1 && inputs[0].rows) {
    for (const c of POOLED) o[c] = first[c]; // one run: its own rows are the pool
  } else if (inputs.every((i) => i.rows)) {
    const pooled: RunInput = {
      ...inputs[0],
      rows: inputs.flatMap((i) => i.rows!),
      itlGapsMs: inputs.every((i) => i.itlGapsMs) ? inputs.flatMap((i) => i.itlGapsMs!) : null,
      durationS: 1,
    };
    const p = runRow(pooled);
    for (const c of POOLED) {
      if (c.includes("_itl_") && !pooled.itlGapsMs) continue;
      o[c] = p[c];
    }
  }
  for (const c of CI_METRICS) {
    const xs = perRun.map((r) => r[c]).filter((x): x is number => typeof x === "number");
    const h = ci95(xs);
    o[`${c}_ci95`] = Number.isFinite(h) ? h : null;
  }
  return o;
}

/** Latency metric names, re-exported for callers that build per-metric tables. */
export const METRIC_NAMES = LATENCY_METRICS;

/** A run's identity without its repeat index: runs pool only when these are equal. */
export function poolKey(i: RunInput): string {
  return JSON.stringify([
    i.topology,
    i.model,
    i.workload,
    i.className ?? "",
    i.loadPoint,
    i.maxConcurrency,
  ]);
}

const rateKey = (r: number | null) => (r === null ? Number.MAX_VALUE : r);

/**
 * Per-run rows plus one aggregate (`run_index = mean`) row per pool key,
 * sorted. Repeats of a key that differ in GPUs, engine (simulated or not), clock,
 * source or metric definitions are refused (unless `force`), naming what differs.
 */
export function mergeInputs(inputs: RunInput[], o: { force?: boolean } = {}): MergedRow[] {
  const groups = new Map<string, RunInput[]>();
  for (const i of inputs) {
    const k = poolKey(i);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(i);
  }
  const rows: MergedRow[] = [];
  for (const g of groups.values()) {
    if (!o.force) {
      for (const i of g.slice(1)) {
        for (const f of ["gpus", "simulated", "clock", "source", "metricsCompat"] as const) {
          if ((i[f] ?? "topobench") !== (g[0][f] ?? "topobench")) {
            throw new RangeError(
              `Cannot pool ${i.runDir} with ${
                g[0].runDir
              } as repeats of ${i.topology} / ${i.workload} / ${i.loadPoint}: current value of ${f} is ${
                JSON.stringify(i[f])
              }, the other has ${JSON.stringify(g[0][f])} (rerun, filter, or pass --force)`,
            );
          }
        }
      }
    }
    // repeats from several run dirs (or JSON files) are renumbered in order
    g.sort((a, b) => a.runDir.localeCompare(b.runDir) || a.runIndex - b.runIndex);
    const perRun = g.map((i, k) => ({ ...runRow(i), run_index: k + 1 }));
    rows.push(...perRun, aggregateRow(g, perRun));
  }
  rows.sort((a, b) =>
    a.topology.localeCompare(b.topology) || a.workload.localeCompare(b.workload) ||
    rateKey(a.rate_target) - rateKey(b.rate_target) ||
    rateKey(a.max_concurrency) - rateKey(b.max_concurrency) ||
    a.load_point.localeCompare(b.load_point) ||
    (a.run_index === "mean" ? 1e9 : a.run_index) - (b.run_index === "mean" ? 1e9 : b.run_index)
  );
  return rows;
}
