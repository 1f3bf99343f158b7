/**
 * The one home of topobench's metric definitions: per-request latencies as
 * `vllm bench serve` defines them (TTFT, E2E, TPOT, inter-token gaps), the turn a
 * request counts under and the cumulative latency of a conversation, SLOs (one
 * syntax), whether a request meets them, attainment, DistServe goodput, per-GPU
 * normalisation, latency statistics of a metric (vLLM's keys: mean, median, std,
 * p50..p99) and run-to-run noise (Student-t 95% intervals). `bench`, `predict`,
 * `merge`, `compare` and `plot` all call these; percentiles are only ever
 * computed from per-request values (`lib/stats.ts`), never averaged. The
 * statistics of one load point are computed once, in `lib/load_point.ts`.
 *
 * @module
 */
import { fieldError } from "./errors.ts";
import { type Describable, describe, mean } from "./stats.ts";

/**
 * TTFT: from the send to the first chunk with non-empty content (role-only
 * chunks do not count); null when no content came.
 */
export function ttftMs(sentMs: number, firstTokenMs: number | null): number | null {
  return firstTokenMs === null ? null : firstTokenMs - sentMs;
}

/** E2E latency: from the send to the end of the answer. */
export function e2eMs(sentMs: number, endMs: number): number {
  return endMs - sentMs;
}

/**
 * TPOT as `vllm bench serve` defines it: (e2e − ttft) / (output_tokens − 1);
 * null without a TTFT or below 2 output tokens.
 */
export function tpotMs(e2eMs: number, ttftMs: number | null, outputTokens: number): number | null {
  if (ttftMs === null || outputTokens < 2) return null;
  return (e2eMs - ttftMs) / (outputTokens - 1);
}

/** ITL: the gaps between consecutive content chunks, from their arrival times (ms). */
export function itlGapsMs(chunkTimesMs: ArrayLike<number>): number[] {
  const n = chunkTimesMs.length;
  // sized at once: no array grown gap by gap
  const out = new Array<number>(n > 1 ? n - 1 : 0);
  for (let i = 1; i < n; i++) out[i - 1] = chunkTimesMs[i] - chunkTimesMs[i - 1];
  return out;
}

/** The turn a request counts under in per-turn metrics: turns below 1 count as turn 1. */
export function turnOf(turn: number): number {
  return Math.max(1, turn);
}

/** What the cumulative conversation latency reads of a request. */
export interface ConversationRow {
  conversation_id: string;
  turn: number;
  error: string;
  e2e_ms: number;
}

/**
 * Cumulative conversation latency per turn 1..`turns`: for each conversation
 * that got to turn t without a failure, the sum of its E2E of turns 1..t. Returns
 * per turn the sum over conversations and their count (a mean is sum / count).
 */
export function cumulativeE2el(
  rows: Iterable<ConversationRow>,
  turns: number,
): { sumMs: number[]; count: number[] } {
  const convs = new Map<string, Map<number, number | null>>();
  for (const x of rows) {
    let c = convs.get(x.conversation_id);
    if (!c) convs.set(x.conversation_id, c = new Map());
    c.set(turnOf(x.turn), x.error ? null : x.e2e_ms);
  }
  const sumMs = new Array<number>(turns).fill(0), count = new Array<number>(turns).fill(0);
  for (const c of convs.values()) {
    let acc = 0;
    for (let t = 1; t <= turns; t++) {
      const e = c.get(t);
      if (e === undefined || e === null) break; // not reached, or failed: stops counting
      acc += e;
      sumMs[t - 1] += acc;
      count[t - 1]++;
    }
  }
  return { sumMs, count };
}

/** Latency objectives in ms (either or both). */
export interface Slo {
  ttftMs?: number;
  tpotMs?: number;
}

/** The fields of a request that SLOs read. */
export interface SloRow {
  error: string;
  ttft_ms: number | null;
  tpot_ms: number | null;
}

const SLO_SYNTAX = "ttft:MS,tpot:MS (either or both, ms > 0)";

/** Parses `ttft:500,tpot:50` (either or both; spaces allowed). */
export function parseSlo(s: string, field = "--slo"): Slo {
  const out: Slo = {};
  for (const part of s.split(",").map((x) => x.trim()).filter(Boolean)) {
    const m = /^(ttft|tpot)\s*:\s*(\d+(?:\.\d+)?)$/.exec(part);
    if (!m || !(Number(m[2]) > 0)) throw fieldError({ field, value: s, expected: SLO_SYNTAX });
    out[m[1] === "ttft" ? "ttftMs" : "tpotMs"] = Number(m[2]);
  }
  if (out.ttftMs === undefined && out.tpotMs === undefined) {
    throw fieldError({ field, value: s, expected: SLO_SYNTAX });
  }
  return out;
}

/** Flag definitions of the SLO: `--slo` and its aliases `--ttft-slo`, `--tpot-slo`. */
export const SLO_FLAGS = {
  slo: {
    type: "string" as const,
    help: "SLO for attainment and goodput, e.g. ttft:500,tpot:50 (ms)",
  },
  "ttft-slo": { type: "string" as const, help: "TTFT SLO in ms (same as --slo ttft:MS)" },
  "tpot-slo": { type: "string" as const, help: "TPOT SLO in ms (same as --slo tpot:MS)" },
};

/** Flag definition of the SLO attainment target: `--attainment PCT` (percent, 0-100). */
export const ATTAINMENT_FLAG = {
  attainment: {
    type: "string" as const,
    default: "90",
    help: "SLO attainment target: percent of requests within the SLO, e.g. 90",
    placeholder: "PCT",
    aliases: ["atta-target"], // the predecessor's spelling
    formerly: ["target", "slo-target"],
  },
};

/** What an attainment target may be: a percent, never a fraction (0.9 is refused, not read as 0.9%). */
export const ATTAINMENT_RULE = "a percent in [1, 100] (e.g. 90 for 90% of requests)";

/** `--attainment` of parsed flags as a percent in [1, 100], or undefined when absent. */
export function attainmentFromFlags(values: Record<string, unknown>): number | undefined {
  const v = values.attainment;
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  if (!(n >= 1 && n <= 100)) {
    throw fieldError({ field: "--attainment", value: v, expected: ATTAINMENT_RULE });
  }
  return n;
}

/** The SLO of parsed flags (`--slo`, `--ttft-slo`, `--tpot-slo`), or null when none is given. */
export function sloFromFlags(values: Record<string, unknown>): Slo | null {
  const parts: string[] = [];
  if (typeof values.slo === "string" && values.slo.trim()) parts.push(values.slo);
  for (const k of ["ttft", "tpot"] as const) {
    const v = values[`${k}-slo`];
    if (v === undefined || v === null || v === "") continue;
    if (parts.some((p) => p.includes(k))) {
      throw fieldError({
        field: `--${k}-slo`,
        value: v,
        expected: `no second ${k} objective (--slo already sets one)`,
      });
    }
    parts.push(`${k}:${v}`);
  }
  if (!parts.length) return null;
  return parseSlo(parts.join(","), parts.length > 1 ? "--slo/--ttft-slo/--tpot-slo" : "--slo");
}

/** `ttft ≤ 500 ms, tpot ≤ 50 ms` in words. */
export function sloText(slo: Slo): string {
  return [
    slo.ttftMs !== undefined ? `TTFT ≤ ${slo.ttftMs} ms` : "",
    slo.tpotMs !== undefined ? `TPOT ≤ ${slo.tpotMs} ms` : "",
  ].filter(Boolean).join(", ");
}

/**
 * Whether a request meets the SLO scaled by `scale`: failures never do; a
 * missing TTFT misses a TTFT objective; a missing TPOT (one output token) passes.
 */
export function meetsSlo(row: SloRow, slo: Slo, scale = 1): boolean {
  if (row.error) return false;
  if (slo.ttftMs !== undefined && (row.ttft_ms === null || row.ttft_ms > slo.ttftMs * scale)) {
    return false;
  }
  if (slo.tpotMs !== undefined && row.tpot_ms !== null && row.tpot_ms > slo.tpotMs * scale) {
    return false;
  }
  return true;
}

/** Share (0..1) of all requests meeting the SLO (failures are misses); NaN for none. */
export function attainment(rows: readonly SloRow[], slo: Slo, scale = 1): number {
  if (!rows.length) return NaN;
  let met = 0;
  for (const r of rows) if (meetsSlo(r, slo, scale)) met++;
  return met / rows.length;
}

/** Attainment of the three SLO kinds: both objectives, TTFT only, TPOT only. */
export function attainmentKinds(
  rows: readonly SloRow[],
  slo: Slo,
  scale = 1,
): { both: number; ttft: number; tpot: number } {
  return {
    both: attainment(rows, slo, scale),
    ttft: attainment(rows, { ttftMs: slo.ttftMs }, scale),
    tpot: attainment(rows, { tpotMs: slo.tpotMs }, scale),
  };
}

/** One point of a curve over load: rate (req/s) and a value. */
export interface RatePoint {
  rate: number;
  value: number;
}

/**
 * A curve over load (`pts` ascending by rate) at rate `x`, linearly
 * interpolated between the measured rates around it; null outside them.
 */
export function valueAtRate(pts: readonly RatePoint[], x: number): number | null {
  for (let i = 0; i < pts.length; i++) {
    if (pts[i].rate === x) return pts[i].value;
    if (pts[i].rate > x) {
      if (i === 0) return null;
      const p = pts[i - 1], q = pts[i];
      return p.value + (q.value - p.value) * (x - p.rate) / (q.rate - p.rate);
    }
  }
  return null;
}

/** DistServe goodput: the highest rate whose attainment stays ≥ target. */
export interface Goodput {
  /** Highest rate (req/s) with attainment ≥ target, interpolated at the first drop; 0 if none. */
  rate: number;
  /** True when every measured rate met the target (the true goodput is at least `rate`). */
  atLeast: boolean;
}

/**
 * Goodput from attainment per rate: scanning rates upward, the first rate below
 * `target` (a fraction) ends the search, interpolated with the previous one.
 */
export function goodputRate(points: readonly RatePoint[], target: number): Goodput {
  const pts = points.filter((p) => Number.isFinite(p.rate) && Number.isFinite(p.value))
    .sort((x, y) => x.rate - y.rate);
  if (pts.length === 0 || pts[0].value < target) return { rate: 0, atLeast: false };
  for (let i = 1; i < pts.length; i++) {
    if (pts[i].value < target) {
      const [p, q] = [pts[i - 1], pts[i]];
      return {
        rate: p.rate + (q.rate - p.rate) * (p.value - target) / (p.value - q.value),
        atLeast: false,
      };
    }
  }
  return { rate: pts[pts.length - 1].rate, atLeast: true };
}

/** `x / gpus`, or null when either is unknown (the per-GPU convention of every table). */
export function perGpu(
  x: number | null | undefined,
  gpus: number | null | undefined,
): number | null {
  return typeof x === "number" && Number.isFinite(x) && typeof gpus === "number" && gpus > 0
    ? x / gpus
    : null;
}

/** Statistics kept per latency metric, as vLLM names them (`p99_ttft_ms`). */
export const LATENCY_STAT_NAMES = ["mean", "median", "std", "p50", "p90", "p95", "p99"] as const;
/** One of {@linkcode LATENCY_STAT_NAMES}. */
export type LatencyStat = typeof LATENCY_STAT_NAMES[number];
/** The statistics of metric `N`, keyed as vLLM keys them: `p99_ttft_ms`. */
export type LatencyStats<N extends string> = {
  [S in LatencyStat as `${S}_${N}_ms`]: number | null;
};

/**
 * `{mean,median,std,p50,p90,p95,p99}_<name>_ms` of per-request values `xs`
 * (numpy's percentile and population std; the mean and std sum `xs` in order);
 * nulls when `xs` is empty. `xs` may describe itself (a `ValueLog` of a long run).
 */
export function latencyStats<N extends string>(
  name: N,
  xs: ArrayLike<number> | Describable,
): LatencyStats<N> {
  const d = "describe" in xs ? xs.describe() : describe(xs);
  const v = (x: number) => (d.count && Number.isFinite(x) ? x : null);
  const out: Record<string, number | null> = {
    [`mean_${name}_ms`]: v(d.mean),
    [`median_${name}_ms`]: v(d.median),
    [`std_${name}_ms`]: v(d.std),
  };
  for (const q of [50, 90, 95, 99]) out[`p${q}_${name}_ms`] = v(d.p[q]);
  return out as LatencyStats<N>;
}

const T975 = [
  NaN,
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/** Two-sided 95% Student-t quantile for `df` degrees of freedom (1.96 in the limit). */
export function t975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= 30) return T975[Math.floor(df)];
  if (df <= 40) return 2.042 + (2.021 - 2.042) * (df - 30) / 10;
  if (df <= 60) return 2.021 + (2.0 - 2.021) * (df - 40) / 20;
  if (df <= 120) return 2.0 + (1.98 - 2.0) * (df - 60) / 60;
  return 1.96;
}

/** 95% Student-t confidence half-width of the mean of `xs` (sample std); NaN below 2 values. */
export function ci95(xs: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return t975(n - 1) * Math.sqrt(s / (n - 1)) / Math.sqrt(n);
}

/**
 * Whether `a ± ha` and `b ± hb` (95% half-widths) are apart: true when the
 * intervals do not overlap, false when they do, null when either is unknown
 * (a single run: no noise estimate).
 */
export function beyondNoise(
  a: number,
  ha: number | null | undefined,
  b: number,
  hb: number | null | undefined,
): boolean | null {
  if (typeof ha !== "number" || typeof hb !== "number") return null;
  if (!Number.isFinite(ha) || !Number.isFinite(hb)) return null;
  return a + ha < b - hb || b + hb < a - ha;
}

/**
 * The one sign convention of comparisons: the change of `b` relative to `a` in
 * percent, positive when `b` is better (lower for latencies, higher for
 * throughputs). Null when `a` is 0 or either is not a finite number.
 */
export function improvementPct(a: unknown, b: unknown, lowerIsBetter: boolean): number | null {
  if (typeof a !== "number" || typeof b !== "number") return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === 0) return null;
  const pct = (b - a) / Math.abs(a) * 100;
  return lowerIsBetter ? -pct : pct;
}
