/**
 * Progress of a run of many points (a sweep, a pipeline of topologies, a
 * prediction): k of N points finished, wall time, simulated time per wall
 * time for virtual runs, and an ETA from the mean wall time of the points run
 * so far. The total may change as it goes (an automatic rate search adds
 * points, an early stop drops them): it is the sum of what each group plans,
 * shown as `~N` while a group's count is an estimate.
 *
 * Every finished point is one plain line (through `log`). On a terminal a
 * status line sits below the log lines and is rewritten in place (on each
 * event and every `refreshMs`); log lines written through
 * {@linkcode Progress.log} go above it.
 *
 * @example On a manual clock
 * ```ts
 * import { ManualClock } from "./manual_clock.ts";
 * import { Progress } from "./progress.ts";
 * const clock = new ManualClock();
 * using p = new Progress({ name: "sweep", clock, tty: false, log: console.log });
 * p.plan("agg", 2);
 * clock.advance(4000);
 * p.done({ label: "agg-r1" }); // agg-r1: done 1 of 2, 4.0 s wall, ETA 4 s
 * ```
 *
 * @module
 */
import { repeat, SYSTEM_TIMERS, type TimerClock } from "./clock.ts";

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** Shown in brackets at the head of the status line. */
  name: string;
  /** Wall clock (and the refresh timer). @default SYSTEM_TIMERS */
  clock?: TimerClock;
  /** Show the status line. @default whether stderr is a terminal */
  tty?: boolean;
  /** Where finished-point and log lines go (one line, no newline). @default a line on stderr */
  log?: (line: string) => void;
  /** Writes raw status-line text. @default stderr */
  write?: (text: string) => void;
  /** Status line width (longer lines are cut). @default the terminal's columns, else 120 */
  columns?: number;
  /** Status line refresh on the wall clock (ms; 0: only on events). @default 1000 */
  refreshMs?: number;
  /** Count points found finished, without a line each (they were shown when they ran). @default false */
  quietResumed?: boolean;
}

/** A finished point, as {@linkcode Progress.done} takes it. */
export interface PointDone {
  /** Its label, e.g. `agg-r4`. */
  label: string;
  /** Found finished from an earlier invocation (takes no time; left out of the ETA). @default false */
  resumed?: boolean;
  /** The offered load, e.g. `4 conv/s`. @default none */
  target?: string | null;
  /** Achieved request throughput (req/s). @default none */
  achievedRps?: number | null;
  /** p90 TTFT (ms). @default none */
  p90TtftMs?: number | null;
  /** Simulated seconds of a virtual run. @default none (a live run) */
  simulatedS?: number | null;
  /**
   * Its own wall time, ms, when it ran before it was counted (a worker ran it
   * ahead): shown, and the simulated speed reads it. @default the time since its start
   */
  ownWallMs?: number | null;
  /** Appended after the figures, e.g. the run directory. @default none */
  detail?: string | null;
}

const enc = new TextEncoder();
const CLEAR = "\r\x1b[K";

/** Seconds for people: `42 s`, `3 m 05 s`, `1 h 02 m`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t} s`;
  const p2 = (n: number) => String(n).padStart(2, "0");
  if (t < 3600) return `${Math.floor(t / 60)} m ${p2(t % 60)} s`;
  return `${Math.floor(t / 3600)} h ${p2(Math.floor(t / 60) % 60)} m`;
}

/** A number with three significant digits (no exponent below 1e6). */
function sig(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Number(x.toPrecision(3)).toString();
}

/** Counts finished points of planned groups; see the module doc. */
export class Progress implements Disposable {
  readonly tty: boolean;
  readonly #o: ProgressOptions;
  readonly #clock: TimerClock;
  readonly #t0: number;
  readonly #plans = new Map<string, { points: number; estimated: boolean }>();
  #finished = 0;
  /** Points run (not resumed) and their wall ms. */
  #ran = 0;
  #ranMs = 0;
  /** Simulated s and the wall ms of the points that had them. */
  #simS = 0;
  #simWallMs = 0;
  #markMs: number;
  /** Points started and not done (label -> start ms): several when points run in parallel. */
  readonly #running = new Map<string, number>();
  #current: string | null = null;
  #note: string | null = null;
  #shown = false;
  readonly #stopRefresh: () => void;

  constructor(o: ProgressOptions) {
    this.#o = o;
    this.#clock = o.clock ?? SYSTEM_TIMERS;
    this.tty = o.tty ?? Deno.stderr.isTerminal();
    this.#t0 = this.#markMs = this.#clock.nowMs();
    const every = o.refreshMs ?? 1000;
    this.#stopRefresh = this.tty && every > 0
      ? repeat(this.#clock, every, () => this.#draw())
      : () => {};
  }

  /** Sets the points `group` (a topology, a sweep) will finish, all told; `estimated`: shown `~N`. */
  plan(group: string, points: number, estimated = false): void {
    if (!(Number.isInteger(points) && points >= 0)) {
      throw new RangeError(
        `Cannot plan ${points} points of ${group} in lib/progress.ts: allowed is a whole number 0 or more`,
      );
    }
    this.#plans.set(group, { points, estimated });
    this.#draw();
  }

  /** Points finished so far. */
  get finished(): number {
    return this.#finished;
  }

  /** Points planned (at least those finished), and whether that is an estimate. */
  total(): { points: number; estimated: boolean } {
    let points = 0, estimated = false;
    for (const p of this.#plans.values()) {
      points += p.points;
      estimated ||= p.estimated;
    }
    return { points: Math.max(points, this.#finished), estimated };
  }

  /**
   * Seconds left: the mean wall time of a run point times the points left
   * (shared by the points running in parallel), less the current one's time
   * so far; null before one has run.
   */
  etaS(): number | null {
    if (this.#ran === 0) return null;
    const left = this.total().points - this.#finished;
    const sinceMs = this.#current ? this.#clock.nowMs() - this.#markMs : 0;
    const parallel = Math.max(1, this.#running.size);
    return Math.max(0, (this.#ranMs / this.#ran) * left / parallel - sinceMs) / 1000;
  }

  /** `ETA 1 m 05 s` while points are left, once one has run, and a second or more is left. */
  #etaText(): string | null {
    const eta = this.etaS();
    return eta !== null && eta >= 0.5 && this.#finished < this.total().points
      ? `ETA ${formatSeconds(eta)}`
      : null;
  }

  /** Point `label` begins (shown on the status line); points may run in parallel. */
  start(label: string): void {
    this.#current = label;
    this.#note = null;
    this.#markMs = this.#clock.nowMs();
    this.#running.set(label, this.#markMs);
    this.#draw();
  }

  /** What the running point is doing now (status line only), e.g. its simulated time. */
  note(text: string): void {
    this.#note = text;
    this.#draw();
  }

  /**
   * Counts a finished point and logs its line; returns the line. Its wall
   * time runs from its own {@linkcode Progress.start}, else from the last
   * point's start or end.
   */
  done(p: PointDone): string {
    const now = this.#clock.nowMs();
    const wallMs = now - (this.#running.get(p.label) ?? this.#markMs);
    this.#running.delete(p.label);
    this.#markMs = now;
    this.#finished++;
    if (!p.resumed) {
      this.#ran++;
      this.#ranMs += wallMs;
      if (p.simulatedS != null) {
        this.#simS += p.simulatedS;
        this.#simWallMs += p.ownWallMs ?? wallMs;
      }
    }
    this.#current = [...this.#running.keys()].at(-1) ?? null;
    this.#note = null;
    const line = this.pointLine(p, p.ownWallMs ?? wallMs);
    if (!(p.resumed && this.#o.quietResumed)) this.log(line);
    return line;
  }

  /** `k of N` (or `k of ~N`). */
  count(): string {
    const t = this.total();
    return `${this.#finished} of ${t.estimated ? "~" : ""}${t.points}`;
  }

  /** The line of a point just finished (`k` is already counted), `wallMs` its wall time. */
  pointLine(p: PointDone, wallMs: number): string {
    const parts = [`${p.label}: ${p.resumed ? "already done" : "done"} ${this.count()}`];
    if (p.target) parts.push(p.target);
    // completed requests per second (a multi-turn point's offered load is in conversations)
    if (p.achievedRps != null) parts.push(`throughput ${sig(p.achievedRps)} req/s`);
    if (p.p90TtftMs != null) parts.push(`p90 TTFT ${sig(p.p90TtftMs)} ms`);
    if (!p.resumed) {
      if (p.simulatedS != null) parts.push(`simulated ${sig(p.simulatedS)} s`);
      // a virtual point takes milliseconds: `0.0 s` would say nothing
      parts.push(
        wallMs < 1000 ? `${Math.round(wallMs)} ms wall` : `${(wallMs / 1000).toFixed(1)} s wall`,
      );
    }
    const eta = this.#etaText();
    if (eta) parts.push(eta);
    return parts.join(", ") + (p.detail ? ` ${p.detail}` : "");
  }

  /** The status line: count, wall time, simulated speed, ETA, the running point. */
  statusLine(): string {
    const parts = [
      `[${this.#o.name}] ${this.count()} points`,
      `${formatSeconds((this.#clock.nowMs() - this.#t0) / 1000)} wall`,
    ];
    if (this.#simWallMs > 0) {
      parts.push(
        `simulated ${formatSeconds(this.#simS)} (${
          sig(this.#simS / (this.#simWallMs / 1000))
        }x real time)`,
      );
    }
    const eta = this.#etaText();
    if (eta) parts.push(eta);
    const others = [...this.#running.keys()].filter((l) => l !== this.#current);
    if (this.#current) {
      parts.push([...others, `${this.#current}${this.#note ? `: ${this.#note}` : ""}`].join(", "));
    }
    return parts.join(", ");
  }

  /** Writes a log line above the status line (a plain line without a terminal). */
  log(line: string): void {
    this.#above(() => (this.#o.log ?? ((l: string) => this.#write(l + "\n")))(line));
  }

  /** Writes text as it is (e.g. a result block; lines end with `\n`) above the status line. */
  print(text: string): void {
    this.#above(() => this.#write(text));
  }

  #above(fn: () => void): void {
    if (this.#shown) this.#write(CLEAR);
    this.#shown = false;
    fn();
    this.#draw();
  }

  /** {@linkcode Progress.log} as a function (for options that take a `log`). */
  get logger(): (line: string) => void {
    return (line) => this.log(line);
  }

  #draw(): void {
    if (!this.tty) return;
    const cols = this.#o.columns ?? columns();
    this.#write(CLEAR + this.statusLine().slice(0, Math.max(cols - 1, 10)));
    this.#shown = true;
  }

  #write(text: string): void {
    if (this.#o.write) this.#o.write(text);
    else Deno.stderr.writeSync(enc.encode(text));
  }

  /** Stops the refresh and clears the status line. */
  [Symbol.dispose](): void {
    this.#stopRefresh();
    if (this.#shown) this.#write(CLEAR);
    this.#shown = false;
  }
}

/** The terminal's width, else 120. */
function columns(): number {
  try {
    return Deno.consoleSize().columns || 120;
  } catch {
    return 120;
  }
}
