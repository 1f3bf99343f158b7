/**
 * Over-saturation: whether a load point's queue has clearly diverged, decided
 * from what the load driver sees while the run goes (modelled on GuideLLM's
 * over-saturation detection: slopes of concurrency and TTFT with a
 * confidence bound; the rule and its thresholds here are our own). No I/O.
 *
 * The rule, checked once per `checkEveryMs` of run time at time t, on the
 * window W = [t/2, t] (the later half of the run so far, so the ramp-up of
 * the first half is left out and the evidence grows with the run). It fires
 * when all of these hold:
 * 1. warm-up: t ≥ `minRunMs` and at least `minFinished` requests finished
 *    (with at least `minFinished` / 2 TTFTs finished inside W);
 * 2. backlog grows: the in-flight count (sent − finished, sampled every
 *    `sampleEveryMs`) has a least-squares slope over W whose lower one-sided
 *    confidence bound (slope − z·se, normal quantile `z`) is at least
 *    `growthShare` × the send rate in W (requests/s): the server finishes
 *    clearly less than it is sent;
 * 3. delay grows: the TTFTs of requests finished in W, against their finish
 *    time, have a slope whose lower bound (the same `z`) is at least
 *    `ttftGrowth` s per s, and their mean is at least `ttftFloorMs`.
 * Below capacity the in-flight count and TTFT are stationary after the
 * ramp-up; a concurrency cap or a closed loop holds the backlog in the client
 * (in-flight bounded), so the rule never fires there.
 *
 * @module
 */
import { PrefixSeries } from "./_prefix_series.ts";

/** Thresholds of the rule (see the module doc). */
export interface SaturationRule {
  /** No verdict before this much run time, ms. @default 10000 */
  minRunMs: number;
  /** Nor before this many requests finished. @default 30 */
  minFinished: number;
  /** Lower bound of the in-flight slope, as a share of the send rate. @default 0.1 */
  growthShare: number;
  /** Lower bound of the TTFT slope, s of TTFT per s of run. @default 0.1 */
  ttftGrowth: number;
  /** Mean TTFT in the window at least this, ms (the SLO's TTFT when higher). @default 2000 */
  ttftFloorMs: number;
  /** One-sided normal quantile of the bounds (2.326: 99%). @default 2.326 */
  z: number;
  /** Checked once per this much run time, ms. @default 1000 */
  checkEveryMs: number;
  /** In-flight count sampled every this many ms. @default 100 */
  sampleEveryMs: number;
}

/** The defaults of {@linkcode SaturationRule}. */
export const SATURATION_DEFAULTS: Readonly<SaturationRule> = Object.freeze({
  minRunMs: 10_000,
  minFinished: 30,
  growthShare: 0.1,
  ttftGrowth: 0.1,
  ttftFloorMs: 2000,
  z: 2.326,
  checkEveryMs: 1000,
  sampleEveryMs: 100,
});

/** Why the rule fired, and when. */
export interface SaturationVerdict {
  /** Run time of the verdict, ms. */
  atMs: number;
  inFlight: number;
  /** Send rate in the window, requests/s. */
  sendRps: number;
  /** In-flight slope and its lower bound, requests/s. */
  inFlightSlope: number;
  inFlightSlopeLow: number;
  /** Mean TTFT in the window, ms; TTFT slope's lower bound, s per s. */
  ttftMeanMs: number;
  ttftSlopeLow: number;
}

/** Follows one run's sends and finishes and tells when its queue has clearly diverged. */
export class SaturationDetector {
  readonly rule: Readonly<SaturationRule>;
  #inFlight = 0;
  #sent = 0;
  #finished = 0;
  /** In-flight count (y) per sample (x: s), tagged with the sends so far. */
  readonly #flight = new PrefixSeries();
  /** TTFT (y: s) per finish time (x: s). */
  readonly #ttft = new PrefixSeries();
  #nextCheckMs: number;
  #verdict: SaturationVerdict | null = null;

  constructor(rule: Partial<SaturationRule> = {}) {
    const r = { ...SATURATION_DEFAULTS, ...rule };
    for (const [k, v] of Object.entries(r)) {
      if (!(Number.isFinite(v) && v >= 0) || (k.endsWith("EveryMs") && v === 0)) {
        throw new RangeError(
          `Cannot use saturation rule ${k} as given: current value is ${v}; allowed: a finite number >= 0 (> 0 for the periods *EveryMs)`,
        );
      }
    }
    this.rule = r;
    this.#nextCheckMs = Math.max(r.minRunMs, r.checkEveryMs);
  }

  /** The verdict once the rule has fired (it fires once), else null. */
  get verdict(): SaturationVerdict | null {
    return this.#verdict;
  }

  /** A request was sent at `tMs`. */
  sent(tMs: number): void {
    this.#advance(tMs);
    this.#inFlight++;
    this.#sent++;
  }

  /** A request ended at `tMs` with this TTFT (null: no token came). */
  finished(tMs: number, ttftMs: number | null): void {
    this.#advance(tMs);
    this.#inFlight--;
    this.#finished++;
    if (ttftMs !== null) this.#ttft.push(tMs / 1000, ttftMs / 1000);
  }

  /** Samples the in-flight count on the grid up to `tMs` (the count held until then). */
  #advance(tMs: number): void {
    const step = this.rule.sampleEveryMs;
    while (this.#flight.length * step <= tMs) {
      this.#flight.push(this.#flight.length * step / 1000, this.#inFlight, this.#sent);
    }
  }

  /** Applies the rule at `tMs` when a check is due; the verdict once it fired, else null. */
  check(tMs: number): SaturationVerdict | null {
    if (this.#verdict || tMs < this.#nextCheckMs) return this.#verdict;
    while (this.#nextCheckMs <= tMs) this.#nextCheckMs += this.rule.checkEveryMs;
    this.#advance(tMs);
    this.#verdict = this.#judge(tMs);
    return this.#verdict;
  }

  #judge(tMs: number): SaturationVerdict | null {
    const r = this.rule;
    if (this.#finished < r.minFinished) return null;
    const t0 = tMs / 2000;
    // the window's start only moves on (t grows): what lies before it is let go
    const a = this.#flight.from(t0), ta = this.#ttft.from(t0);
    this.#flight.letGoBefore(a);
    this.#ttft.letGoBefore(ta);
    const f = this.#flight.fit(a);
    const spanS = (this.#flight.length - 1 - a) * r.sampleEveryMs / 1000;
    if (!(spanS > 0) || !Number.isFinite(f.b)) return null;
    const sendRps = (this.#flight.tag(this.#flight.length - 1) - this.#flight.tag(a)) / spanS;
    const flightLow = f.b - r.z * f.se;
    if (!(sendRps > 0) || flightLow < r.growthShare * sendRps) return null;
    const g = this.#ttft.fit(ta);
    if (g.n < r.minFinished / 2 || !Number.isFinite(g.b)) return null;
    const ttftLow = g.b - r.z * g.se;
    if (ttftLow < r.ttftGrowth || g.meanY * 1000 < r.ttftFloorMs) return null;
    return {
      atMs: tMs,
      inFlight: this.#inFlight,
      sendRps,
      inFlightSlope: f.b,
      inFlightSlopeLow: flightLow,
      ttftMeanMs: g.meanY * 1000,
      ttftSlopeLow: ttftLow,
    };
  }
}

/** One line: the rule that fired and when, e.g. for a progress line or a row's error. */
export function verdictText(v: SaturationVerdict): string {
  return `over-saturated at ${(v.atMs / 1000).toFixed(1)} s: ${v.inFlight} in flight, growing ${
    v.inFlightSlopeLow.toFixed(1)
  }+/s (sent ${v.sendRps.toFixed(1)}/s), mean TTFT ${(v.ttftMeanMs / 1000).toFixed(2)} s growing ${
    v.ttftSlopeLow.toFixed(2)
  }+ s/s`;
}
