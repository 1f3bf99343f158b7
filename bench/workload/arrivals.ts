/**
 * Arrival schedules on an absolute clock: offsets (ms from run start) at which
 * requests are due. Inter-arrival gaps are drawn with unit mean in "operational
 * time" (exponential for Poisson, gamma with shape = burstiness, or constant)
 * and mapped to wall time through the cumulative rate, so a constant rate and
 * linear/exponential ramps share one generator. Pure functions of a seeded Rng.
 *
 * @module
 */
import type { Rng } from "../../lib/rng.ts";

/** Inter-arrival processes. */
export const ARRIVAL_PROCESSES = ["poisson", "gamma", "constant"] as const;
/** One of {@linkcode ARRIVAL_PROCESSES}. */
export type ArrivalProcess = typeof ARRIVAL_PROCESSES[number];
/** Rate ramps. */
export const RAMPS = ["none", "linear", "exponential"] as const;
/** One of {@linkcode RAMPS}. */
export type Ramp = typeof RAMPS[number];

/** Options of {@linkcode arrivalOffsets}. */
export interface ArrivalOptions {
  /** @default "poisson" */
  process?: ArrivalProcess;
  /** Requests per second (the start rate of a ramp); Infinity sends all at 0. */
  rateRps: number;
  /** Gamma shape (vLLM's `--burstiness`): 1 is Poisson, < 1 burstier, > 1 smoother. @default 1 */
  burstiness?: number;
  /** @default "none" */
  ramp?: Ramp;
  /** Rate at the end of the ramp. */
  rampToRps?: number;
  /** Length of the ramp; the rate stays at `rampToRps` after it. */
  rampDurationMs?: number;
  /** Stop after this many arrivals. */
  count?: number;
  /** Stop before this offset. */
  durationMs?: number;
  /**
   * Rate bursts (`--rate-burst`): from `atMs` on, for `durationMs`, arrivals come
   * `factor` times as fast (a scenario's `burst` event). @default none
   */
  bursts?: readonly RateBurst[];
  /**
   * vLLM's schedule (`vllm bench serve` `get_request`): with a count, no ramp
   * and no duration, request i is due at the sum of the first i+1 gaps, all
   * rescaled so the last one lands exactly at count / rate. @default false
   */
  vllmRescale?: boolean;
}

/** One rate burst: the offered rate × `factor` from `atMs` for `durationMs`. */
export interface RateBurst {
  atMs: number;
  durationMs: number;
  factor: number;
}

/**
 * The schedule's time warp of bursts (ascending, not overlapping): a base
 * offset `tau` (at the unburst rate) -> its offset, so that within a burst
 * arrivals come `factor` times as fast and after it the base schedule goes on
 * where it left off.
 */
export function burstWarp(bursts: readonly RateBurst[]): (tau: number) => number {
  if (!bursts.length) return (tau) => tau;
  return (tau) => {
    let shift = 0; // how much earlier than the base schedule, after the bursts passed
    for (const b of bursts) {
      const start = b.atMs + shift; // in base time
      const span = b.durationMs * b.factor; // base time the burst consumes
      if (tau < start) break;
      if (tau < start + span) return b.atMs + (tau - start) / b.factor;
      shift += span - b.durationMs;
    }
    return tau - shift;
  };
}

/** Cumulative rate Λ(t) (expected arrivals by t ms) and its inverse, for a rate profile. */
export function rateProfile(o: ArrivalOptions): { inverse: (u: number) => number } {
  const r0 = o.rateRps / 1000;
  const ramp = o.ramp ?? "none";
  if (ramp === "none") return { inverse: (u) => u / r0 };
  const r1 = (o.rampToRps ?? o.rateRps) / 1000;
  const T = o.rampDurationMs ?? o.durationMs ?? 0;
  if (!(T > 0)) {
    throw new RangeError(`Cannot use rampDurationMs as a positive number: current value is ${T}`);
  }
  let atT: number;
  let inside: (u: number) => number;
  if (ramp === "linear" || Math.abs(r1 - r0) < 1e-12) {
    // Λ(t) = r0 t + (r1 - r0) t² / (2T)
    const a = (r1 - r0) / (2 * T);
    atT = r0 * T + a * T * T;
    inside = (u) => Math.abs(a) < 1e-15 ? u / r0 : (-r0 + Math.sqrt(r0 * r0 + 4 * a * u)) / (2 * a);
  } else {
    // Λ(t) = r0 T / ln k (k^(t/T) - 1), k = r1 / r0
    const lnk = Math.log(r1 / r0);
    atT = (r0 * T / lnk) * (Math.exp(lnk) - 1);
    inside = (u) => (T / lnk) * Math.log(1 + (u * lnk) / (r0 * T));
  }
  return { inverse: (u) => (u <= atT ? inside(u) : T + (u - atT) / r1) };
}

/** Checks options; throws RangeError naming the bad field. */
export function checkArrivalOptions(o: ArrivalOptions): void {
  const bad = (field: string, v: unknown, allowed: string) => {
    throw new RangeError(`Cannot use ${field} as ${allowed}: current value is ${v}`);
  };
  if (!(o.rateRps > 0)) bad("rateRps", o.rateRps, "a positive number or Infinity");
  const b = o.burstiness ?? 1;
  if (!(b > 0 && Number.isFinite(b))) bad("burstiness", b, "a positive finite number");
  if ((o.ramp ?? "none") !== "none") {
    if (!Number.isFinite(o.rateRps)) bad("rateRps", o.rateRps, "a finite rate when ramping");
    if (!(o.rampToRps! > 0 && Number.isFinite(o.rampToRps))) {
      bad("rampToRps", o.rampToRps, "a positive finite rate");
    }
  }
  if (o.count === undefined && o.durationMs === undefined) {
    bad("count/durationMs", "undefined", "a limit (one of them is needed)");
  }
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count >= 0)) {
    bad("count", o.count, "an integer >= 0");
  }
  if (o.durationMs !== undefined && !(o.durationMs > 0)) {
    bad("durationMs", o.durationMs, "a positive number");
  }
}

/** Most requests one run schedules when its prompts are built before it starts. */
export const MAX_SCHEDULED = 2_000_000;

/**
 * Scheduled offsets (ms, ascending, first at 0) until `count` arrivals or
 * `durationMs`, whichever comes first, drawn one at a time: memory stays flat
 * in the run's length. With an infinite rate all are 0 (needs `count`).
 */
export function* arrivalStream(o: ArrivalOptions, rng: Rng): Generator<number, void, undefined> {
  checkArrivalOptions(o);
  const max = o.count ?? Infinity;
  if (!Number.isFinite(o.rateRps)) {
    if (o.count === undefined) {
      throw new RangeError(
        "Cannot use an infinite rate as a schedule without a count: current value is rate inf",
      );
    }
    for (let i = 0; i < max; i++) yield 0;
    return;
  }
  const process = o.process ?? ((o.burstiness ?? 1) !== 1 ? "gamma" : "poisson");
  const shape = o.burstiness ?? 1;
  const gap = process === "constant"
    ? () => 1
    : process === "gamma"
    ? () => rng.gamma(shape, 1 / shape)
    : () => rng.exponential(1);
  if (
    o.vllmRescale && o.count !== undefined && o.durationMs === undefined &&
    (o.ramp ?? "none") === "none" && !o.bursts?.length
  ) {
    if (o.count > MAX_SCHEDULED) {
      throw new RangeError(
        `Cannot use --num-requests ${o.count} with --metrics-compat vllm (its schedule is drawn whole to be rescaled): current value is over ${
          MAX_SCHEDULED.toLocaleString("en-US")
        }`,
      );
    }
    const cum = new Float64Array(o.count);
    let u = 0;
    for (let n = 0; n < o.count; n++) cum[n] = u += gap();
    const scale = u > 0 ? (o.count / o.rateRps * 1000) / u : 0;
    for (let n = 0; n < o.count; n++) yield cum[n] * scale;
    return;
  }
  const { inverse } = rateProfile(o);
  const warp = burstWarp(o.bursts ?? []);
  let u = 0;
  for (let n = 0; n < max; n++) {
    const t = warp(inverse(u));
    if (o.durationMs !== undefined && t >= o.durationMs) return;
    yield t;
    u += gap();
  }
}

/** Expected arrivals of a schedule (Infinity when unbounded). */
export function expectedArrivals(o: ArrivalOptions): number {
  const peak = Math.max(o.rateRps, o.rampToRps ?? 0);
  const extraMs = (o.bursts ?? []).reduce((a, b) => a + b.durationMs * (b.factor - 1), 0);
  const byTime = o.durationMs !== undefined ? peak * (o.durationMs + extraMs) / 1000 : Infinity;
  return Math.min(o.count ?? Infinity, byTime);
}

/**
 * The whole schedule as an array, for workloads built up front (datasets read
 * from files, the virtual clock); refuses one that cannot fit in memory.
 */
export function arrivalOffsets(o: ArrivalOptions, rng: Rng): number[] {
  checkArrivalOptions(o);
  const expected = expectedArrivals(o);
  if (Number.isFinite(o.rateRps) && expected > MAX_SCHEDULED) {
    throw new RangeError(
      `Cannot use --rate ${o.rateRps}${
        o.durationMs !== undefined ? ` --duration ${o.durationMs / 1000}` : ""
      }${
        o.count !== undefined ? ` --num-requests ${o.count}` : ""
      } as one run's schedule: current value is ${
        Math.round(expected).toLocaleString("en-US")
      } requests; allowed: at most ${
        MAX_SCHEDULED.toLocaleString("en-US")
      } per run when the workload is built up front (the random dataset is drawn lazily and has no limit; otherwise lower the rate or the duration, or split the run)`,
    );
  }
  return [...arrivalStream(o, rng)];
}
