/**
 * What `deno task validate` finds (the content of `validation.json`): the
 * recorded run and its replay side by side, per metric (TTFT, TPOT, E2E from
 * the pooled per-request values; ITL from all inter-token gaps pooled, when
 * the recording has them) and, when the recording has a running/waiting
 * series, per engine state sample by sample.
 *
 * The simulated running/waiting series is counted from the replay's
 * per-request times (waiting: arrived, no first token yet; running: first
 * token out, not finished), at the recording's own sample instants. The same
 * count over the recorded requests is compared with the recorded series too
 * (`derivation_check`): how far that way of counting is from the engine's own
 * samples bounds what it adds to the error.
 *
 * @module
 */
import type { RequestRow } from "../../lib/result_schema.ts";
import {
  recordedE2eMs,
  type RecordedFormat,
  type RecordedRun,
  recordedTpotMs,
  recordedTtftMs,
} from "../../lib/recorded_run.ts";
import { minOf } from "../../lib/stats.ts";
import {
  compareMetric,
  type MetricComparison,
  type SeriesError,
  seriesError,
  type Span,
  stateAt,
} from "./compare.ts";
import type { Replay } from "./replay.ts";

/** The metrics compared, in table order: key in validation.json and label. */
export const METRICS = [["ttftMs", "TTFT"], ["tpotMs", "TPOT"], ["e2eMs", "E2E"]] as const;
export type MetricKey = typeof METRICS[number][0];

/** The running/waiting comparison. */
export interface TimeseriesComparison {
  /** Seconds from the recording's start to its first arrival (sample t maps to t − this). */
  offsetS: number;
  running: SeriesError;
  waiting: SeriesError;
  /** The recorded requests counted the same way against the recorded series. */
  derivationCheck: { running: SeriesError; waiting: SeriesError };
  samples: {
    tS: number;
    realRunning: number;
    simRunning: number;
    realWaiting: number;
    simWaiting: number;
  }[];
}

/** validation.json. */
export interface Validation {
  tool: "topobench validate";
  recorded: {
    dir: string;
    format: RecordedFormat;
    /** Where the real latencies start: the engine's queueing or the client's send. */
    latencyClock: "engine" | "client";
    /** What served the recorded run: real vLLM, or the simulated engine (--allow-simulated). */
    engine: "vllm" | "simulated";
    /** Whether the arrival times were recorded or rebuilt (see notes). */
    arrivals: "recorded" | "rebuilt";
    /** What was assumed or left out while reading. */
    notes: string[];
    model: string;
    vllmVersion: string | null;
    requests: number;
    tensorParallelSize: number;
    dataParallelSize: number;
    expertParallel: boolean;
    maxNumSeqs: number;
    maxNumBatchedTokens: number;
    /** The GPU it ran on, as given or read from the folder name; null if unknown. */
    gpu: string | null;
  };
  simulated: {
    gpu: string;
    gpuName: string;
    /** What the GPU profile assumes (`GpuProfile.assumed`), or null. */
    gpuAssumed: string | null;
    modelProfile: string;
    runDir: string;
    trace: string;
    topology: string;
    requests: number;
    failed: number;
    simulatedS: number;
    wallS: number;
  };
  /** Whether the simulated GPU differs from the recorded one; null when that is unknown. */
  hardwareDiffers: boolean | null;
  metrics: Record<MetricKey, MetricComparison>;
  /** ITL over all gaps pooled; null when the recording has no per-token times. */
  itl: MetricComparison | null;
  /** Why `itl` is null; null when it is not. */
  itlAbsent: string | null;
  timeseries: TimeseriesComparison | null;
}

const lower = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** Whether `realGpu` names the profile (id, name or an alias, ignoring case and punctuation). */
export function sameGpu(realGpu: string, gpu: Replay["gpu"]): boolean {
  const want = lower(realGpu);
  return [gpu.id, gpu.name, ...(gpu.aliases ?? [])].some((n) => lower(n) === want);
}

/** Real spans on the replay's clock: ms after the first arrival, engine-side durations. */
function realSpans(run: RecordedRun): Span[] {
  const a0 = minOf(run.requests.map((r) => r.arrivalS));
  return run.requests.map((r) => {
    const arriveMs = (r.arrivalS - a0) * 1000;
    return { arriveMs, firstMs: arriveMs + recordedTtftMs(r), endMs: arriveMs + recordedE2eMs(r) };
  });
}

/** Simulated spans, ms after the first send (failed requests never run). */
function simSpans(rows: readonly RequestRow[]): Span[] {
  const t0 = minOf(rows.map((r) => r.sent_ms));
  return rows.filter((r) => r.status === 200 && r.first_token_ms !== null).map((r) => ({
    arriveMs: r.sent_ms - t0,
    firstMs: r.first_token_ms! - t0,
    endMs: r.end_ms - t0,
  }));
}

/** The running/waiting comparison; null without a recorded series. */
export function compareTimeseries(
  run: RecordedRun,
  rows: readonly RequestRow[],
): TimeseriesComparison | null {
  const ts = run.timeseries;
  if (!ts?.length) return null;
  const a0 = minOf(run.requests.map((r) => r.arrivalS));
  const offsetS = run.meta.startedAtMs !== undefined ? a0 - run.meta.startedAtMs / 1000 : 0;
  const at = ts.map((s) => (s.tS - offsetS) * 1000);
  const sim = stateAt(simSpans(rows), at);
  const derived = stateAt(realSpans(run), at);
  const col = <K extends "running" | "waiting">(xs: { [k in K]: number }[], k: K) =>
    xs.map((x) => x[k]);
  return {
    offsetS,
    running: seriesError(col(ts, "running"), col(sim, "running")),
    waiting: seriesError(col(ts, "waiting"), col(sim, "waiting")),
    derivationCheck: {
      running: seriesError(col(ts, "running"), col(derived, "running")),
      waiting: seriesError(col(ts, "waiting"), col(derived, "waiting")),
    },
    samples: ts.map((s, i) => ({
      tS: s.tS,
      realRunning: s.running,
      simRunning: sim[i].running,
      realWaiting: s.waiting,
      simWaiting: sim[i].waiting,
    })),
  };
}

/** The pooled per-request values of each metric, real and simulated (successful requests only). */
export function metricSamples(
  run: RecordedRun,
  rows: readonly RequestRow[],
): Record<MetricKey, { real: number[]; sim: number[] }> {
  const ok = rows.filter((r) => r.status === 200);
  const nums = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  return {
    ttftMs: { real: run.requests.map(recordedTtftMs), sim: nums(ok.map((r) => r.ttft_ms)) },
    tpotMs: {
      real: nums(run.requests.map(recordedTpotMs)),
      sim: nums(ok.map((r) => r.output_tokens > 1 ? r.tpot_ms : null)),
    },
    e2eMs: { real: run.requests.map(recordedE2eMs), sim: ok.map((r) => r.e2e_ms) },
  };
}

/** Per-metric comparison of the pooled per-request values (successful simulated requests only). */
export function compareMetrics(
  run: RecordedRun,
  rows: readonly RequestRow[],
): Record<MetricKey, MetricComparison> {
  const s = metricSamples(run, rows);
  return {
    ttftMs: compareMetric(s.ttftMs.real, s.ttftMs.sim),
    tpotMs: compareMetric(s.tpotMs.real, s.tpotMs.sim),
    e2eMs: compareMetric(s.e2eMs.real, s.e2eMs.sim),
  };
}

const NO_GAPS: Record<RecordedFormat, string> = {
  "trace-folder":
    "the trace folder records no per-token times (requests.jsonl has the first and last token only)",
  "topobench-run": "the run directory has no itl.jsonl (recorded with bench --no-itl)",
  "vllm-bench-json": "the file has no itls (not written with --save-detailed)",
  "client-jsonl": "the client request log records no per-token times (first and last chunk only)",
};

/** ITL over all recorded gaps vs the replay's; null and why when the recording has none. */
export function compareItl(
  run: RecordedRun,
  simItlMs: readonly number[],
): { itl: MetricComparison | null; itlAbsent: string | null } {
  if (!run.requests.every((r) => r.itlMs !== undefined)) {
    return { itl: null, itlAbsent: NO_GAPS[run.format] };
  }
  return { itl: compareMetric(run.requests.flatMap((r) => r.itlMs!), simItlMs), itlAbsent: null };
}

/** The whole comparison of `run` with its replay; `realGpu` null when unknown. */
export function validation(run: RecordedRun, rp: Replay, realGpu: string | null): Validation {
  const { meta } = run;
  return {
    tool: "topobench validate",
    recorded: {
      dir: run.dir,
      format: run.format,
      latencyClock: run.latencyClock,
      engine: run.engine,
      arrivals: run.arrivals === "recorded" ? "recorded" : "rebuilt",
      notes: run.notes,
      model: meta.model,
      vllmVersion: meta.vllmVersion ?? null,
      requests: run.requests.length,
      tensorParallelSize: meta.tensorParallelSize,
      dataParallelSize: meta.dataParallelSize,
      expertParallel: meta.expertParallel,
      maxNumSeqs: meta.maxNumSeqs,
      maxNumBatchedTokens: meta.maxNumBatchedTokens,
      gpu: realGpu,
    },
    simulated: {
      gpu: rp.gpu.id,
      gpuName: rp.gpu.name,
      gpuAssumed: rp.gpu.assumed ?? null,
      modelProfile: rp.model.id,
      runDir: rp.runDir,
      trace: rp.tracePath,
      topology: rp.topologyPath,
      requests: rp.rows.length,
      failed: rp.rows.filter((r) => r.status !== 200).length,
      simulatedS: rp.simulatedMs / 1000,
      wallS: rp.wallMs / 1000,
    },
    hardwareDiffers: realGpu === null ? null : !sameGpu(realGpu, rp.gpu),
    metrics: compareMetrics(run, rp.rows),
    ...compareItl(run, rp.itlMs),
    timeseries: compareTimeseries(run, rp.rows),
  };
}

/** The recorded parallelism, e.g. `TP 2` or `DP 2 x TP 1, expert parallel`. */
export function parallelText(
  r: Pick<Validation["recorded"], "tensorParallelSize" | "dataParallelSize" | "expertParallel">,
): string {
  const dp = r.dataParallelSize > 1 ? `DP ${r.dataParallelSize} x ` : "";
  return `${dp}TP ${r.tensorParallelSize}${r.expertParallel ? ", expert parallel" : ""}`;
}
