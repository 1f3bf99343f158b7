/**
 * One run's `merged.csv` row, recomputed from its per-request rows (as
 * `bench/summary.ts` computes them; percentiles from raw values), and the
 * aggregate row across repeats: means, pooled percentiles and 95% Student-t
 * half-widths.
 *
 * @module
 */
import { mean, percentile } from "./stats.ts";
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
import { ci95, latencyStats, meetsSlo, perGpu, type Slo } from "./metrics.ts";

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

function latency(out: MergedRow, name: string, xs: ArrayLike<number>) {
  Object.assign(out, latencyStats(name, xs));
}

/** The row of one run: recomputed from rows when present, else copied from the summary. */
export function runRow(r: RunInput): MergedRow {
  const o = blank();
  Object.assign(o, {
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
    slo_ttft_ms: r.slo?.ttftMs ?? null,
    slo_tpot_ms: r.slo?.tpotMs ?? null,
  });
  const s = r.summary;
  if (!r.rows) {
    for (const c of [...MERGED_COLUMNS]) {
      if (o[c] === null && c in s) o[c] = num(s[c]);
    }
    o.num_requests = num(s.num_prompts) ?? ((num(s.completed) ?? 0) + (num(s.failed) ?? 0));
    const done = num(s.completed);
    if (done) {
      o.mean_input_tokens = (num(s.total_input_tokens) ?? NaN) / done;
      o.mean_output_tokens = (num(s.total_output_tokens) ?? NaN) / done;
    }
  } else {
    const rows = r.rows;
    const n = rows.length;
    // one pass: typed columns of successful requests, sizes, span, SLO hits
    const ttft = new Float64Array(n), tpot = new Float64Array(n), e2el = new Float64Array(n);
    const sent = new Float64Array(n);
    let nTtft = 0, nTpot = 0, nOk = 0, met = 0;
    let t1Sum = 0, t1N = 0, t2N = 0;
    const t2: number[] = [];
    let first = Infinity, last = -Infinity, inTok = 0, outTok = 0;
    const slo = r.slo;
    for (let i = 0; i < n; i++) {
      const x = rows[i];
      sent[i] = x.sent_ms;
      if (x.scheduled_ms < first) first = x.scheduled_ms;
      if (x.end_ms > last) last = x.end_ms;
      if (slo && meetsSlo(x, slo)) met++;
      if (x.error) continue;
      nOk++;
      inTok += x.prompt_tokens ?? 0;
      outTok += x.output_tokens;
      e2el[nOk - 1] = x.e2e_ms;
      if (x.tpot_ms !== null) tpot[nTpot++] = x.tpot_ms;
      if (x.ttft_ms !== null) {
        ttft[nTtft++] = x.ttft_ms;
        if (x.turn <= 1) {
          t1Sum += x.ttft_ms;
          t1N++;
        } else if (x.turn >= 2) {
          t2.push(x.ttft_ms);
          t2N++;
        }
      }
    }
    const durS = r.durationS ?? Math.max(1e-9, (last - first) / 1000);
    o.num_requests = n;
    o.completed = nOk;
    o.failed = n - nOk;
    o.success_rate = n ? nOk / n : null;
    o.duration = durS;
    o.total_input_tokens = inTok;
    o.total_output_tokens = outTok;
    o.mean_input_tokens = nOk ? inTok / nOk : null;
    o.mean_output_tokens = nOk ? outTok / nOk : null;
    o.request_throughput = nOk / durS;
    o.output_throughput = outTok / durS;
    o.total_token_throughput = (inTok + outTok) / durS;
    if (r.source === "topobench" && n >= 2) {
      sent.sort();
      const span = (sent[n - 1] - sent[0]) / 1000;
      o.rate_achieved = span > 0 ? (n - 1) / span : null;
    } else o.rate_achieved = num(s.rate_achieved);
    latency(o, "ttft", ttft.subarray(0, nTtft));
    latency(o, "tpot", tpot.subarray(0, nTpot));
    latency(o, "e2el", e2el.subarray(0, nOk));
    if (r.itlGapsMs) latency(o, "itl", r.itlGapsMs);
    else for (const st of LATENCY_STATS) o[`${st}_itl_ms`] = num(s[`${st}_itl_ms`]);
    o.mean_ttft_turn1_ms = t1N ? t1Sum / t1N : null;
    o.mean_ttft_turn2plus_ms = t2N ? mean(t2) : null;
    o.p50_ttft_turn2plus_ms = t2N ? percentile(t2, 50) : null;
    if (t2N) Object.assign(o, byTurn(rows));
    if (typeof s.kv_usage_by_turn === "string") o.kv_usage_by_turn = s.kv_usage_by_turn;
    if (slo) {
      o.slo_attainment = n ? met / n : null;
      o.request_goodput = met / durS;
    }
  }
  o.request_throughput_per_gpu = perGpu(o.request_throughput as number | null, r.gpus);
  o.output_throughput_per_gpu = perGpu(o.output_throughput as number | null, r.gpus);
  return o;
}

const POOLED = new Set<string>([...LATENCY_COLUMNS, ...TURN_COLUMNS, ...TURN_LIST_COLUMNS]);

const r3 = (x: number) => String(Math.round(x * 1000) / 1000);

/** The per-turn list columns ({@linkcode TURN_LIST_COLUMNS}) of multi-turn rows. */
function byTurn(rows: readonly RequestRow[]): Record<string, string> {
  const sums = new Map<number, { ttft: number[]; tpot: number[]; e2e: number[] }>();
  const convs = new Map<string, Map<number, number | null>>();
  for (const x of rows) {
    const t = Math.max(1, x.turn);
    let c = convs.get(x.conversation_id);
    if (!c) convs.set(x.conversation_id, c = new Map());
    c.set(t, x.error ? null : x.e2e_ms);
    if (x.error) continue;
    let s = sums.get(t);
    if (!s) sums.set(t, s = { ttft: [], tpot: [], e2e: [] });
    if (x.ttft_ms !== null) s.ttft.push(x.ttft_ms);
    if (x.tpot_ms !== null) s.tpot.push(x.tpot_ms);
    s.e2e.push(x.e2e_ms);
  }
  const turns = Math.max(...sums.keys());
  const cum: number[][] = Array.from({ length: turns }, () => []);
  for (const c of convs.values()) {
    let acc = 0;
    for (let t = 1; t <= turns; t++) {
      const e = c.get(t);
      if (e === undefined || e === null) break; // not reached, or failed: stops counting
      acc += e;
      cum[t - 1].push(acc);
    }
  }
  const list = (f: (t: number) => number[]) =>
    Array.from({ length: turns }, (_, i) => {
      const xs = f(i + 1);
      return xs.length ? r3(mean(xs)) : "";
    }).join(";");
  return {
    ttft_by_turn_ms: list((t) => sums.get(t)?.ttft ?? []),
    tpot_by_turn_ms: list((t) => sums.get(t)?.tpot ?? []),
    e2el_by_turn_ms: list((t) => sums.get(t)?.e2e ?? []),
    cum_e2el_by_turn_ms: list((t) => cum[t - 1]),
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
