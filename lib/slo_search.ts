/**
 * Where a topology stops meeting its SLO, found by running load points: a
 * geometric search (double while the SLO holds, halve while it does not, then
 * bisect on a log scale) brackets the SLO capacity (the highest rate whose
 * attainment stays at or above the target) and the throughput knee (the
 * highest rate whose completed requests still keep up with the offered load,
 * relative to a load that meets the SLO). Every point run is kept, so the
 * sweep that follows places its points around both brackets and reuses them.
 * No I/O: the caller runs a point through `evaluate` (virtual or live clock).
 *
 * @module
 */

/** What one load point measured. */
export interface SearchSample {
  /** Offered rate (the workload's unit: conv/s on multi-turn, else req/s). */
  rate: number;
  /** SLO attainment 0..1 (pooled requests), or null without an SLO. */
  attainment: number | null;
  /** Completed requests per second, or null when none completed. */
  throughputRps: number | null;
}

/** A bracket: the highest rate that passed and the lowest that failed (null: not found). */
export interface Bracket {
  pass: number | null;
  fail: number | null;
}

/** Options of {@linkcode searchCapacity}. */
export interface SearchOptions {
  /** First rate tried (e.g. a saturating probe's throughput). */
  startRate: number;
  /** Attainment target 0..1; null searches the knee only. */
  target: number | null;
  /** A bracket is narrow enough when fail / pass ≤ this. @default 1.15 */
  resolution?: number;
  /** At most this many points in all. @default 16 */
  maxPoints?: number;
  /** The knee is where throughput / rate falls below this share of the reference's. @default 0.9 */
  kneeShare?: number;
  /** The knee's bracket is narrow enough at this ratio (it places points, not ranks). @default 1.3 */
  kneeResolution?: number;
}

/** Result of {@linkcode searchCapacity}. */
export interface SearchResult {
  /** SLO capacity bracket, or null without a target. */
  slo: Bracket | null;
  knee: Bracket;
  /** Every point run, ascending by rate. */
  samples: SearchSample[];
}

/** A rate rounded to 3 significant digits (run folder labels stay short). */
export function roundRate(r: number): number {
  return Number(r.toPrecision(3));
}

type Pass = (s: SearchSample) => boolean;

/** Runs points at most once per rate and at most `max` in all. */
class Points {
  readonly byRate = new Map<number, SearchSample>();
  constructor(
    private readonly evaluate: (rate: number) => Promise<SearchSample>,
    private readonly max: number,
  ) {}
  get full(): boolean {
    return this.byRate.size >= this.max;
  }
  async at(rate: number): Promise<SearchSample> {
    const r = roundRate(rate);
    const known = this.byRate.get(r);
    if (known) return known;
    const s = await this.evaluate(r);
    this.byRate.set(r, { ...s, rate: r });
    return this.byRate.get(r)!;
  }
  /** The bracket the points already run give for `pass`: highest pass below the lowest fail. */
  known(pass: Pass): Bracket {
    const xs = [...this.byRate.values()].sort((a, b) => a.rate - b.rate);
    const fail = xs.find((s) => !pass(s))?.rate ?? null;
    const ok = xs.filter((s) => pass(s) && (fail === null || s.rate < fail));
    return { pass: ok.at(-1)?.rate ?? null, fail };
  }
}

/** Widens from `start` until one pass and one fail are known (or the budget ends). */
async function widen(p: Points, pass: Pass, start: number): Promise<Bracket> {
  let b = p.known(pass);
  if (b.pass === null && b.fail === null) {
    await p.at(start);
    b = p.known(pass);
  }
  const floor = (b.fail ?? start) / 256, ceiling = (b.pass ?? start) * 256;
  while (b.fail === null && !p.full && b.pass! * 2 <= ceiling) {
    await p.at(b.pass! * 2);
    b = p.known(pass);
  }
  while (b.pass === null && !p.full && b.fail! / 2 >= floor) {
    await p.at(b.fail! / 2);
    b = p.known(pass);
  }
  return b;
}

/** Brackets the last rate where `pass` holds, then narrows it to `resolution`. */
async function bracket(p: Points, pass: Pass, start: number, resolution: number) {
  let b = await widen(p, pass, start);
  while (b.pass !== null && b.fail !== null && b.fail / b.pass > resolution && !p.full) {
    const mid = roundRate(Math.sqrt(b.pass * b.fail));
    if (mid <= b.pass || mid >= b.fail) break;
    await p.at(mid);
    b = p.known(pass);
  }
  return b;
}

/** Throughput per offered rate (the same ratio holds below the knee, whatever the unit). */
function share(s: SearchSample): number | null {
  return s.throughputRps === null || !(s.rate > 0) ? null : s.throughputRps / s.rate;
}

/**
 * Brackets the SLO capacity (with a target) and the throughput knee by
 * running points through `evaluate`. Without a target the knee's reference
 * is a point at a quarter of `startRate`.
 */
export async function searchCapacity(
  evaluate: (rate: number) => Promise<SearchSample>,
  o: SearchOptions,
): Promise<SearchResult> {
  if (!(o.startRate > 0)) {
    throw new RangeError(
      `Cannot search capacity from startRate ${o.startRate}: current value is not a positive rate`,
    );
  }
  const res = o.resolution ?? 1.15;
  const p = new Points(evaluate, o.maxPoints ?? 16);
  let slo: Bracket | null = null;
  let ref: SearchSample | undefined;
  if (o.target !== null) {
    const target = o.target;
    slo = await bracket(p, (s) => (s.attainment ?? 0) >= target, o.startRate, res);
    ref = slo.pass === null ? undefined : p.byRate.get(slo.pass);
  }
  ref ??= await p.at(o.startRate / 4);
  const refShare = share(ref) ?? 0;
  const kneeShare = o.kneeShare ?? 0.9;
  const keepsUp: Pass = (s) => s.rate <= ref!.rate || (share(s) ?? 0) >= kneeShare * refShare;
  const knee = refShare > 0
    ? await bracket(p, keepsUp, slo?.fail ?? o.startRate, o.kneeResolution ?? Math.max(res, 1.3))
    : { pass: null, fail: null };
  return { slo, knee, samples: [...p.byRate.values()].sort((a, b) => a.rate - b.rate) };
}

/**
 * The rates a sweep runs after a search: every point the search ran, plus
 * `points` rates spread geometrically from a quarter of the capacity to 1.25×
 * the higher of the two failing rates, leaving out any within 10% of a rate
 * already run. Ascending, 2–3 significant digits.
 */
export function placeRates(r: SearchResult, points: number): number[] {
  const run = r.samples.map((s) => s.rate);
  const cap = r.slo?.pass ?? r.knee.pass ?? run[0];
  const top = Math.max(r.slo?.fail ?? 0, r.knee.fail ?? 0, cap) * 1.25;
  const lo = cap / 4;
  const placed: number[] = [];
  for (let i = 0; i < points; i++) {
    const x = points === 1 ? top : lo * (top / lo) ** (i / (points - 1));
    const rate = Number(x.toPrecision(2));
    if (![...run, ...placed].some((y) => Math.abs(y - rate) <= 0.1 * Math.max(y, rate))) {
      placed.push(rate);
    }
  }
  return [...run, ...placed].sort((a, b) => a - b);
}
