/**
 * The one load-point record: every statistic of one load point (or one request
 * class of it), computed once from its request rows in one pass. `summary.json`
 * (`bench/summary.ts`), the merged row (`lib/run_rows.ts`) and, through the
 * summary, the vLLM-format file (`lib/vllm_result.ts`) are views of it: they
 * round, rename and add their run's identity, and compute nothing of their own.
 *
 * Keys are the `summary.json` names (vLLM `--save-result` keys plus ours);
 * values are unrounded, null where a value is unknown (no requests, no SLO).
 * Sums run in row order, so every view gets the same bits whatever reads it.
 *
 * @module
 */
import { type Describable, describe, percentileSorted, sortedView } from "./stats.ts";
import {
  cumulativeE2el,
  type LatencyStats,
  latencyStats,
  meetsSlo,
  type Slo,
  turnOf,
} from "./metrics.ts";
import type { LoadPointTotals, RequestRow } from "./result_schema.ts";

/**
 * What the record reads of a request row. `conversation_id` is needed only for the
 * cumulative conversation latency of multi-turn runs (null there without it).
 */
export type StatsRow =
  & Pick<
    RequestRow,
    | "error"
    | "scheduled_ms"
    | "sent_ms"
    | "first_token_ms"
    | "end_ms"
    | "ttft_ms"
    | "tpot_ms"
    | "e2e_ms"
    | "prompt_tokens"
    | "output_tokens"
    | "turn"
  >
  & { conversation_id?: string };

/**
 * A load point's rows: an array, or anything that gives them in order and
 * counts them (`SummaryRows`: typed columns). Read in a few passes.
 */
export type StatsRows = Iterable<StatsRow> & {
  readonly length: number;
  /**
   * Calls `visit` with each row in order, without an iterator or an object per
   * row (`SummaryRows`): the object passed may be reused from call to call, so
   * it is read, never kept. @default iterating the rows
   */
  forEachRow?(visit: (x: StatsRow) => void): void;
};

/** Each row of `rows` in order (see `StatsRows.forEachRow`: read, never kept). */
function eachRow(rows: StatsRows, visit: (x: StatsRow) => void): void {
  if (rows.forEachRow) rows.forEachRow(visit);
  else for (const x of rows) visit(x);
}

/** Counts per whole second, in any order (a `Map` of second -> count is one). */
export interface PerSecondCounts {
  values(): Iterable<number>;
}

/** Inputs of {@linkcode loadPointStats} besides the rows. */
export interface LoadPointOptions {
  /**
   * All inter-token gaps (ms) of successful requests, or what describes them (a
   * `ValueLog`); null: ITL statistics unknown. @default null
   */
  itlsMs?: ArrayLike<number> | Describable | null;
  /** Content chunks per whole second of the run's clock (for the peak output rate): their counts. @default none */
  tokensPerSecond?: PerSecondCounts;
  /** SLO for attainment and goodput. @default null */
  slo?: Slo | null;
  /** Server ms per real ms (`--time-scale`): send lag is divided by it to stay in real ms. @default 1 */
  timeScale?: number;
  /** Benchmark duration (s) when the source states it. @default the span of the rows */
  durationS?: number;
  /**
   * Whether the offered load is conversations (`offersConversations` in
   * `lib/rate_unit.ts`): then the conversation rate and the steady-state output
   * throughput are computed, else they are null. @default false
   */
  conversations?: boolean;
}

/** TTFT of one turn (the turn as the rows number it). */
export interface TurnTtft {
  turn: number;
  count: number;
  mean_ms: number;
  p50_ms: number;
  p99_ms: number;
}

/** Means of one turn 1..T of a multi-turn load point (null where no request of it counts). */
export interface TurnMeans {
  ttft_ms: number | null;
  tpot_ms: number | null;
  e2el_ms: number | null;
  /** Cumulative conversation latency (see `cumulativeE2el` in `lib/metrics.ts`). */
  cum_e2el_ms: number | null;
}

/** Latency statistics of the four metrics: `{mean,median,std,p50,p90,p95,p99}_{ttft,tpot,itl,e2el}_ms`. */
export type LatencyRecord =
  & LatencyStats<"ttft">
  & LatencyStats<"tpot">
  & LatencyStats<"itl">
  & LatencyStats<"e2el">;

/** Every statistic of one load point (see the module doc). */
export interface LoadPointStats extends LatencyRecord, LoadPointTotals {
  /** Share of all requests meeting the SLO (failures miss); null without an SLO or requests. */
  slo_attainment: number | null;
  /** Sends per second between the first and last send: 0 below 2 sends, Infinity at one instant. */
  rate_achieved: number;
  /**
   * Conversations started per second: first-turn sends (turn ≤ 1) between the first
   * and last of them, as `rate_achieved` counts all sends; null unless `conversations`.
   */
  conversation_rate_achieved: number | null;
  /**
   * Output tokens per second generated in the steady window, without the ramp-up
   * and the drain tail (see `steadyOutput`); null unless `conversations`, or when
   * the window is empty. `output_throughput` (vLLM's: tokens / duration) is unchanged.
   */
  output_throughput_steady: number | null;
  /** Send lag (sent − scheduled, real ms) percentiles and maximum; null without requests. */
  send_lag_p50_ms: number | null;
  send_lag_p99_ms: number | null;
  send_lag_max_ms: number | null;
  /** Completed share of all requests; null without requests. */
  success_rate: number | null;
  /**
   * TTFT and E2E from the schedule (first token or end − scheduled: send lag
   * included, so a client that fell behind cannot hide it: no coordinated omission).
   */
  mean_ttft_from_scheduled_ms: number | null;
  p50_ttft_from_scheduled_ms: number | null;
  p99_ttft_from_scheduled_ms: number | null;
  p50_e2el_from_scheduled_ms: number | null;
  p99_e2el_from_scheduled_ms: number | null;
  /** TTFT per turn as numbered in the rows, turns ascending. */
  ttft_by_turn: TurnTtft[];
  /** Mean TTFT of first turns (turn ≤ 1) and of later turns (prefix reuse). */
  mean_ttft_turn1_ms: number | null;
  mean_ttft_turn2plus_ms: number | null;
  p50_ttft_turn2plus_ms: number | null;
  /** Turns 1..T (turns below 1 count as 1) when some later turn succeeded, else null. */
  by_turn: TurnMeans[] | null;
}

/** A column of numbers filled in row order (at most `capacity`). */
class Column {
  readonly #a: Float64Array;
  #n = 0;
  constructor(capacity: number) {
    this.#a = new Float64Array(capacity);
  }
  push(x: number): void {
    this.#a[this.#n++] = x;
  }
  values(): Float64Array {
    return this.#a.subarray(0, this.#n);
  }
}

/** Running sums of the successful requests of one turn, in row order. */
class TurnSums {
  /** TTFTs of the turn (kept for its percentiles), or null when only sums are needed. */
  readonly ttft: number[] | null;
  ttftSum = 0;
  ttftN = 0;
  tpotSum = 0;
  tpotN = 0;
  e2eSum = 0;
  e2eN = 0;
  constructor(keepTtft: boolean) {
    this.ttft = keepTtft ? [] : null;
  }
  add(x: StatsRow): void {
    if (x.ttft_ms !== null) {
      this.ttftSum += x.ttft_ms;
      this.ttftN++;
      this.ttft?.push(x.ttft_ms);
    }
    if (x.tpot_ms !== null) {
      this.tpotSum += x.tpot_ms;
      this.tpotN++;
    }
    this.e2eSum += x.e2e_ms;
    this.e2eN++;
  }
}

/** The one pass over a load point's rows: counts, sums, extremes and value columns. */
class Pass {
  n = 0;
  ok = 0;
  met = 0;
  inTokens = 0;
  outTokens = 0;
  firstMs = Infinity;
  lastMs = -Infinity;
  sentMinMs = Infinity;
  sentMaxMs = -Infinity;
  /** First-turn sends (conversation starts): count, first and last send, last schedule. */
  starts = 0;
  startSentMinMs = Infinity;
  startSentMaxMs = -Infinity;
  lastStartMs = -Infinity;
  readonly lags: Column;
  readonly ttft: Column;
  readonly tpot: Column;
  readonly e2el: Column;
  readonly ttftFromScheduled: Column;
  readonly e2elFromScheduled: Column;
  /** Per turn as the rows number it. */
  readonly turns = new Map<number, TurnSums>();
  /** Turns ≤ 1 together: the first turn of per-turn metrics. */
  readonly firstTurns = new TurnSums(false);
  /** TTFT of turns ≥ 2, in row order, and their sum. */
  readonly laterTtft: number[] = [];
  laterTtftSum = 0;

  constructor(capacity: number, readonly slo: Slo | null, readonly timeScale: number) {
    this.lags = new Column(capacity);
    this.ttft = new Column(capacity);
    this.tpot = new Column(capacity);
    this.e2el = new Column(capacity);
    this.ttftFromScheduled = new Column(capacity);
    this.e2elFromScheduled = new Column(capacity);
  }

  add(x: StatsRow): void {
    this.n++;
    // send lag stays in real ms: it is the client's own property, not the server's
    this.lags.push((x.sent_ms - x.scheduled_ms) / this.timeScale);
    if (x.scheduled_ms < this.firstMs) this.firstMs = x.scheduled_ms;
    if (x.end_ms > this.lastMs) this.lastMs = x.end_ms;
    if (x.sent_ms < this.sentMinMs) this.sentMinMs = x.sent_ms;
    if (x.sent_ms > this.sentMaxMs) this.sentMaxMs = x.sent_ms;
    if (x.turn <= 1) this.#start(x);
    if (this.slo && meetsSlo(x, this.slo)) this.met++;
    if (x.error) return;
    this.ok++;
    this.inTokens += x.prompt_tokens ?? 0;
    this.outTokens += x.output_tokens;
    this.e2el.push(x.e2e_ms);
    this.e2elFromScheduled.push(x.end_ms - x.scheduled_ms);
    if (x.tpot_ms !== null) this.tpot.push(x.tpot_ms);
    if (x.ttft_ms !== null) this.ttft.push(x.ttft_ms);
    if (x.first_token_ms !== null) this.ttftFromScheduled.push(x.first_token_ms - x.scheduled_ms);
    this.#turn(x);
  }

  #start(x: StatsRow): void {
    this.starts++;
    if (x.sent_ms < this.startSentMinMs) this.startSentMinMs = x.sent_ms;
    if (x.sent_ms > this.startSentMaxMs) this.startSentMaxMs = x.sent_ms;
    if (x.scheduled_ms > this.lastStartMs) this.lastStartMs = x.scheduled_ms;
  }

  #turn(x: StatsRow): void {
    let s = this.turns.get(x.turn);
    if (!s) this.turns.set(x.turn, s = new TurnSums(true));
    s.add(x);
    if (x.turn <= 1) this.firstTurns.add(x);
    else if (x.turn >= 2 && x.ttft_ms !== null) {
      this.laterTtft.push(x.ttft_ms);
      this.laterTtftSum += x.ttft_ms;
    }
  }

  /** What the summary reads of the send lags sorted: p50, p99 and the greatest (reordered in place). */
  sortedLags(): ArrayLike<number> {
    return sortedView(this.lags.values(), [50, 99]);
  }
}

const orNull = (x: number) => (Number.isFinite(x) ? x : null);
const meanOf = (sum: number, n: number) => (n ? sum / n : null);

/** The record of one load point's rows (see the module doc). */
export function loadPointStats(
  rows: StatsRows,
  o: LoadPointOptions = {},
): LoadPointStats {
  const p = new Pass(rows.length, o.slo ?? null, o.timeScale ?? 1);
  eachRow(rows, (x) => p.add(x));
  const n = p.n, ok = p.ok;
  const durationS = o.durationS ?? Math.max(1e-9, (p.lastMs - p.firstMs) / 1000);
  const lags = p.sortedLags();
  return {
    num_prompts: n,
    completed: ok,
    failed: n - ok,
    duration: durationS,
    total_input_tokens: p.inTokens,
    total_output_tokens: p.outTokens,
    request_throughput: ok / durationS,
    output_throughput: p.outTokens / durationS,
    total_token_throughput: (p.inTokens + p.outTokens) / durationS,
    request_goodput: o.slo ? p.met / durationS : null,
    slo_attainment: o.slo && n ? p.met / n : null,
    max_output_tokens_per_s: peak(o.tokensPerSecond),
    rate_achieved: sendRate(n, p.sentMinMs, p.sentMaxMs),
    conversation_rate_achieved: o.conversations
      ? sendRate(p.starts, p.startSentMinMs, p.startSentMaxMs)
      : null,
    output_throughput_steady: o.conversations ? steadyOutput(p, rows) : null,
    send_lag_p50_ms: orNull(percentileSorted(lags, 50)),
    send_lag_p99_ms: orNull(percentileSorted(lags, 99)),
    send_lag_max_ms: n ? lags[n - 1] : null,
    success_rate: n ? ok / n : null,
    ...latencyStats("ttft", p.ttft.values()),
    ...latencyStats("tpot", p.tpot.values()),
    ...latencyStats("itl", o.itlsMs ?? []),
    ...latencyStats("e2el", p.e2el.values()),
    ...fromScheduled(p.ttftFromScheduled.values(), p.e2elFromScheduled.values()),
    ttft_by_turn: ttftByTurn(p.turns),
    mean_ttft_turn1_ms: meanOf(p.firstTurns.ttftSum, p.firstTurns.ttftN),
    mean_ttft_turn2plus_ms: meanOf(p.laterTtftSum, p.laterTtft.length),
    p50_ttft_turn2plus_ms: p.laterTtft.length ? percentileOf(p.laterTtft, 50) : null,
    by_turn: p.laterTtft.length ? turnMeans(p, rows) : null,
  };
}

/** Sends per second between the first and last of `n` sends: 0 below 2, Infinity at one instant. */
function sendRate(n: number, firstMs: number, lastMs: number): number {
  return n >= 2 ? (n - 1) / ((lastMs - firstMs) / 1000) : 0;
}

/**
 * Output tokens per second generated in the steady window of a multi-turn load:
 * from the first arrival plus the drain tail (last end − last conversation
 * start, the time a conversation takes to finish: the ramp-up lasts about as
 * long) to the last conversation start, the ramp-up cut to at most half the
 * arrival window. Each successful request's tokens are spread evenly from its
 * first token to its end. Null when the window is empty.
 */
function steadyOutput(p: Pass, rows: StatsRows): number | null {
  const arrivalMs = p.lastStartMs - p.firstMs;
  if (!(arrivalMs > 0)) return null;
  const rampMs = Math.min(p.lastMs - p.lastStartMs, arrivalMs / 2);
  const lo = p.firstMs + rampMs, hi = p.lastStartMs;
  const sum = { tokens: 0 }; // a field, not a captured let (boxed anew per update)
  eachRow(rows, (x) => {
    if (x.error || !x.output_tokens) return;
    const a = x.first_token_ms ?? x.end_ms, b = x.end_ms;
    if (b > a) {
      sum.tokens += x.output_tokens * Math.max(0, Math.min(b, hi) - Math.max(a, lo)) / (b - a);
    } else if (a >= lo && a <= hi) sum.tokens += x.output_tokens;
  });
  return sum.tokens / ((hi - lo) / 1000);
}

/** The largest count of a per-second tally; 0 when there is none. */
function peak(perSecond: PerSecondCounts | undefined): number {
  let max = 0;
  for (const v of perSecond?.values() ?? []) if (v > max) max = v;
  return max;
}

function percentileOf(xs: readonly number[], p: number): number {
  return percentileSorted(sortedView(Float64Array.from(xs), [p]), p);
}

function fromScheduled(ttft: Float64Array, e2el: Float64Array) {
  const d = describe(ttft, [50, 99]), e = describe(e2el, [50, 99]);
  return {
    mean_ttft_from_scheduled_ms: orNull(d.mean),
    p50_ttft_from_scheduled_ms: orNull(d.p[50]),
    p99_ttft_from_scheduled_ms: orNull(d.p[99]),
    p50_e2el_from_scheduled_ms: orNull(e.p[50]),
    p99_e2el_from_scheduled_ms: orNull(e.p[99]),
  };
}

function ttftByTurn(turns: ReadonlyMap<number, TurnSums>): TurnTtft[] {
  const out: TurnTtft[] = [];
  for (const [turn, s] of turns) {
    if (!s.ttftN) continue;
    const sorted = sortedView(Float64Array.from(s.ttft!), [50, 99]);
    out.push({
      turn,
      count: s.ttftN,
      mean_ms: s.ttftSum / s.ttftN,
      p50_ms: percentileSorted(sorted, 50),
      p99_ms: percentileSorted(sorted, 99),
    });
  }
  return out.sort((a, b) => a.turn - b.turn);
}

/** Means of turns 1..T, T the highest turn with a successful request. */
function turnMeans(p: Pass, rows: StatsRows): TurnMeans[] {
  let turns = 1;
  for (const t of p.turns.keys()) turns = Math.max(turns, turnOf(t)); // turns of successes
  let withConv = true;
  for (const r of rows) {
    if (r.conversation_id === undefined) {
      withConv = false;
      break;
    }
  }
  const cum = withConv
    ? cumulativeE2el(rows as Iterable<StatsRow & { conversation_id: string }>, turns)
    : null;
  return Array.from({ length: turns }, (_, i) => {
    const s = i === 0 ? p.firstTurns : p.turns.get(i + 1);
    return {
      ttft_ms: s ? meanOf(s.ttftSum, s.ttftN) : null,
      tpot_ms: s ? meanOf(s.tpotSum, s.tpotN) : null,
      e2el_ms: s ? meanOf(s.e2eSum, s.e2eN) : null,
      cum_e2el_ms: cum ? meanOf(cum.sumMs[i], cum.count[i]) : null,
    };
  });
}
