/**
 * The ranking of a comparison, computed once: per topology its SLO capacity
 * (the highest offered rate whose attainment stays at or above the target,
 * interpolated at the first drop — DistServe's goodput), the bracket the
 * measured rates give it (last passing, first failing), the same per GPU, the
 * output tokens/s per GPU at capacity, and the objective that fails first as load rises.
 * Findings, tables, `crossover.json` and every figure read this record, so
 * they cannot disagree. Rates are in the workload's unit (`conv/s` for
 * multi-turn workloads, where one conversation brings several requests, else
 * `req/s`); per GPU always divides by the topology's own GPUs.
 *
 * @module
 */
import { attainment, goodputRate, perGpu, type Slo, type SloRow } from "./metrics.ts";

/** One measured load point of one topology (runs at the same rate pooled). */
export interface RankPoint {
  /** Offered rate, in the ranking's unit. */
  rate: number;
  /** Every request of the point (pooled over runs). */
  rows: readonly SloRow[];
  /** Output tokens/s of the point (mean over runs), or null. */
  outputTokS: number | null;
}

/** One topology's measured points. */
export interface RankInput {
  topology: string;
  gpus: number | null;
  points: RankPoint[];
}

/** One topology in the ranking. */
export interface RankedTopology {
  topology: string;
  gpus: number | null;
  /** 1 = highest SLO capacity per GPU; null when it met the SLO at no rate. */
  rank: number | null;
  /** SLO capacity (interpolated at the first drop), in the ranking's unit; 0 if none. */
  slo_capacity: number;
  /** Last measured rate meeting the target before the first that misses it (null: none). */
  pass_rate: number | null;
  /** First measured rate missing the target (null: every rate met it — a lower bound only). */
  fail_rate: number | null;
  slo_capacity_per_gpu: number | null;
  /** Output tokens/s per GPU at the last passing rate, or null. */
  output_tok_s_per_gpu: number | null;
  /** Which objective misses first at `fail`: "ttft", "tpot", "both" (equally), or null. */
  binding: "ttft" | "tpot" | "both" | null;
  /** Attainment (0..1) per rate, ascending. */
  attainment_by_rate: { rate: number; value: number }[];
}

/** The ranking record. */
export interface Ranking {
  /** Unit of every rate: `conv/s` or `req/s`. */
  rate_unit: string;
  slo: { ttft_ms: number | null; tpot_ms: number | null };
  /** Attainment target in percent. */
  target_pct: number;
  /** Best first (by SLO capacity per GPU, then capacity); unranked ones last. */
  topologies: RankedTopology[];
}

/** Which objective binds at a failing point: the one with the lower attainment. */
function bindingOf(rows: readonly SloRow[], slo: Slo): RankedTopology["binding"] {
  if (slo.ttftMs === undefined || slo.tpotMs === undefined) {
    return slo.ttftMs !== undefined ? "ttft" : "tpot";
  }
  const t = attainment(rows, { ttftMs: slo.ttftMs }), p = attainment(rows, { tpotMs: slo.tpotMs });
  return Math.abs(t - p) < 0.005 ? "both" : t < p ? "ttft" : "tpot";
}

/**
 * The SLO bracket of attainment per rate (ascending): the index of the first
 * rate missing `target` (-1: none), of the last rate meeting it before that
 * (-1: none), and the capacity interpolated at that first drop (goodput).
 */
export function sloBracket(
  att: readonly { rate: number; value: number }[],
  target: number,
): { passAt: number; failAt: number; capacity: number } {
  const failAt = att.findIndex((a) => a.value < target);
  const passAt = failAt < 0 ? att.length - 1 : failAt - 1;
  return { passAt, failAt, capacity: goodputRate(att, target).rate };
}

/** One topology's capacity, bracket and binding objective. */
function rankOne(x: RankInput, slo: Slo, target: number): RankedTopology {
  const pts = [...x.points].filter((p) => Number.isFinite(p.rate) && p.rows.length)
    .sort((a, b) => a.rate - b.rate);
  const att = pts.map((p) => ({ rate: p.rate, value: attainment(p.rows, slo) }));
  const { passAt, failAt, capacity } = sloBracket(att, target);
  const out = passAt >= 0 ? pts[passAt].outputTokS : null;
  return {
    topology: x.topology,
    gpus: x.gpus,
    rank: null,
    slo_capacity: capacity,
    pass_rate: passAt >= 0 ? att[passAt].rate : null,
    fail_rate: failAt >= 0 ? att[failAt].rate : null,
    slo_capacity_per_gpu: perGpu(capacity, x.gpus),
    output_tok_s_per_gpu: perGpu(out, x.gpus),
    binding: failAt >= 0 ? bindingOf(pts[failAt].rows, slo) : null,
    attainment_by_rate: att,
  };
}

/** Ranks topologies by SLO capacity per GPU (capacity itself when GPUs are unknown). */
export function rankTopologies(
  inputs: readonly RankInput[],
  slo: Slo,
  target: number,
  unit: string,
): Ranking {
  const key = (t: RankedTopology) => t.slo_capacity_per_gpu ?? t.slo_capacity;
  const ts = inputs.map((x) => rankOne(x, slo, target))
    .sort((a, b) => key(b) - key(a) || b.slo_capacity - a.slo_capacity);
  let rank = 0;
  for (const t of ts) t.rank = t.pass_rate === null ? null : ++rank;
  return {
    rate_unit: unit,
    slo: { ttft_ms: slo.ttftMs ?? null, tpot_ms: slo.tpotMs ?? null },
    target_pct: target * 100,
    topologies: ts,
  };
}

/**
 * Whether `a` beats `b` beyond what the measured rates resolve: per GPU, `a`
 * meets the SLO at or above a rate where `b` fails it. False when their
 * brackets overlap; null when `b` has no failing rate (only a lower bound).
 */
export function beyondBracket(a: RankedTopology, b: RankedTopology): boolean | null {
  if (b.fail_rate === null) return null;
  const ga = a.gpus ?? 1, gb = b.gpus ?? 1;
  return a.pass_rate !== null && a.pass_rate / ga >= b.fail_rate / gb;
}

/**
 * The ranking in one line, as the findings and the figures print it: each
 * topology's SLO capacity per GPU and the leader's factor over it, marked
 * "not resolved" when their measured brackets overlap (per GPU):
 * `1. agg 15.1, 2. dp 14.8 (agg 1.02×, not resolved), 3. pd 9.74 (agg 1.55×) conv/s per GPU`.
 */
export function rankingSummary(r: Ranking): string {
  const per = (t: RankedTopology) => t.slo_capacity_per_gpu ?? t.slo_capacity;
  const [best] = r.topologies;
  const fmt = (x: number) => String(Number(x.toPrecision(3)));
  const factor = (t: RankedTopology) => {
    if (per(t) <= 0) return "";
    const sep = beyondBracket(best, t);
    return ` (${best.topology} ${(per(best) / per(t)).toFixed(2)}×${
      sep === false ? ", not resolved" : ""
    })`;
  };
  return `${
    r.topologies.map((t, i) =>
      t.rank === null
        ? `${t.topology} met it at no rate`
        : `${t.rank}. ${t.topology} ${t.fail_rate === null ? "≥" : ""}${fmt(per(t))}${
          i > 0 ? factor(t) : ""
        }`
    ).join(", ")
  } ${r.rate_unit} per GPU`;
}
