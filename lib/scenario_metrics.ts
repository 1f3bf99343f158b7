/**
 * What a fault or scaling scenario cost, measured from the rows and from what
 * happened when (the events and the router's verdicts, with their times), the
 * same for both clocks:
 *
 * - requests lost (failed), by reason (`lib/failure_reason.ts`);
 * - a per-second timeline: offered (scheduled), completed, failed, and SLO
 *   attainment of the requests that ended in each second (failures are
 *   misses: a request cut by an event counts when the client sees it end);
 * - per event: time to detect (the router took the instance out, or put a new
 *   one in), time until a new instance carries load, time to recover (the
 *   attainment over every {@linkcode WINDOW_S}-second window from then on is at
 *   the target; null when it never is again), and the extra latency of the
 *   requests scheduled while it lasted against those before the first event.
 *
 * @module
 */
import { meetsSlo, type Slo } from "./metrics.ts";
import { percentile } from "./stats.ts";
import { eventText, type ScenarioEvent } from "./scenario_events.ts";

/** The recovery window, s: attainment is judged over this many seconds at a time. */
export const WINDOW_S = 5;

/** What the scenario metrics read of a row. */
export interface ScenarioRow {
  scheduled_ms: number;
  end_ms: number;
  ttft_ms: number | null;
  tpot_ms: number | null;
  e2e_ms: number;
  error: string;
  failure?: string;
}

/** Something that happened to an instance at a time (an action, or the router's verdict). */
export interface InstanceRecord {
  tMs: number;
  instance: string;
  /** `event`, `ejected`, `restored`, `joined`, `first_leg`. */
  what: string;
  detail: string;
}

/** One second of the timeline. */
export interface TimelineSecond {
  t_s: number;
  /** Requests scheduled in this second. */
  offered: number;
  /** Requests that ended without error in this second. */
  completed: number;
  /** Requests that ended with an error in this second. */
  failed: number;
  /** Percent of the requests that ended in this second within the SLO; null when none. */
  attainment_pct: number | null;
}

/** What one event cost. */
export interface EventCost {
  event: string;
  at_s: number;
  /** Seconds until the router took the target out (kill, stop, pause) or put it in (start); null: never. */
  detect_s: number | null;
  /** `start`: seconds until the new instance got its first request. */
  carries_load_s: number | null;
  /** Seconds until attainment is back at the target for good; 0: never lost; null: not by the end. */
  recover_s: number | null;
  /** Median TTFT (successful requests) while it lasted, minus before the first event, ms. */
  extra_ttft_p50_ms: number | null;
  /** Median end-to-end latency likewise, ms. */
  extra_e2e_p50_ms: number | null;
  /** Requests that failed while it lasted (ended with an error from the event on). */
  failed: number;
}

/** The report of one scenario run (`scenario.json`). */
export interface ScenarioReport {
  requests: number;
  failed: number;
  failures: Record<string, number>;
  target_pct: number;
  window_s: number;
  /** Attainment of the requests scheduled before the first event, percent. */
  baseline_attainment_pct: number | null;
  timeline: TimelineSecond[];
  events: EventCost[];
  records: InstanceRecord[];
}

/** Inputs of {@linkcode scenarioReport}. */
export interface ScenarioInputs {
  rows: readonly ScenarioRow[];
  events: readonly ScenarioEvent[];
  records: readonly InstanceRecord[];
  slo: Slo;
  targetPct: number;
  /** The load's length, ms (the timeline's last offered second); @default the last scheduled row */
  durationMs?: number;
}

const perSecond = (n: number) => Array.from({ length: n }, () => 0);

function timeline(x: ScenarioInputs, seconds: number): {
  t: TimelineSecond[];
  met: number[];
  all: number[];
} {
  const offered = perSecond(seconds), completed = perSecond(seconds), failed = perSecond(seconds);
  const met = perSecond(seconds), ended = perSecond(seconds);
  for (const r of x.rows) {
    const s = Math.floor(r.scheduled_ms / 1000);
    if (s < seconds) offered[s]++;
    const e = Math.floor(r.end_ms / 1000);
    if (e >= seconds) continue;
    (r.error ? failed : completed)[e]++;
    ended[e]++;
    if (meetsSlo(r, x.slo)) met[e]++;
  }
  const t = offered.map((n, s) => ({
    t_s: s,
    offered: n,
    completed: completed[s],
    failed: failed[s],
    attainment_pct: ended[s] ? Math.round(1000 * met[s] / ended[s]) / 10 : null,
  }));
  return { t, met, all: ended };
}

/**
 * The first second from `fromS` on after which every full window of
 * {@linkcode WINDOW_S} seconds (up to the load's end) meets the target.
 */
function recoveredAt(met: number[], all: number[], fromS: number, target: number): number | null {
  // up to the last second in which requests ended (an idle tail proves nothing)
  let n = all.length;
  while (n > 0 && all[n - 1] === 0) n--;
  let ok = n; // every window starting at ok or later meets the target
  for (let s = n - WINDOW_S; s >= fromS; s--) {
    let m = 0, a = 0;
    for (let k = s; k < s + WINDOW_S; k++) (m += met[k], a += all[k]);
    if (a > 0 && 100 * m / a < target) break;
    ok = s;
  }
  return ok <= n - WINDOW_S ? ok : null;
}

const median = (xs: number[]) => (xs.length ? percentile(xs, 50) : null);
const minus = (a: number | null, b: number | null) =>
  a === null || b === null ? null : Math.round(a - b);

function eventCost(x: ScenarioInputs, e: ScenarioEvent, tl: ReturnType<typeof timeline>, base: {
  ttft: number | null;
  e2e: number | null;
}): EventCost {
  const atMs = e.atS * 1000;
  const name = e.target && e.target.index !== null
    ? `${e.target.role === "replicas" ? "replica" : e.target.role}-${e.target.index}`
    : null;
  const after = (what: string[], who: (i: string) => boolean) =>
    x.records.find((r) => r.tMs >= atMs && what.includes(r.what) && who(r.instance));
  let detect: InstanceRecord | undefined;
  let carries: InstanceRecord | undefined;
  if (e.action === "start") {
    const started = after(["event"], (i) => i.startsWith(`${e.target!.role}-`));
    const who = (i: string) => i === started?.instance;
    detect = started && after(["joined"], who);
    carries = started && after(["first_leg"], who);
  } else if (name && e.action !== "resume" && e.action !== "slow") {
    detect = after(["ejected"], (i) => i === name);
  } else if (name && e.action === "resume") detect = after(["restored"], (i) => i === name);
  const recover = recoveredAt(tl.met, tl.all, Math.floor(e.atS), x.targetPct);
  const endS = Math.max(e.atS + (e.durationS ?? 0), recover ?? tl.all.length, e.atS + WINDOW_S);
  const during = x.rows.filter((r) => r.scheduled_ms >= atMs && r.scheduled_ms < endS * 1000);
  const ok = during.filter((r) => !r.error);
  const failed = x.rows.filter((r) => r.error && r.end_ms >= atMs && r.end_ms < endS * 1000);
  const secs = (r: InstanceRecord | undefined) => r ? Math.round(r.tMs - atMs) / 1000 : null;
  return {
    event: eventText(e),
    at_s: e.atS,
    detect_s: secs(detect),
    carries_load_s: secs(carries),
    recover_s: recover === null ? null : Math.max(0, recover - Math.floor(e.atS)),
    extra_ttft_p50_ms: minus(median(ok.flatMap((r) => r.ttft_ms ?? [])), base.ttft),
    extra_e2e_p50_ms: minus(median(ok.map((r) => r.e2e_ms)), base.e2e),
    failed: failed.length,
  };
}

/** The scenario's costs from its rows, events and records. */
export function scenarioReport(x: ScenarioInputs): ScenarioReport {
  const lastMs = x.durationMs ?? Math.max(0, ...x.rows.map((r) => r.scheduled_ms));
  const tl = timeline(x, Math.max(1, Math.ceil(lastMs / 1000)));
  const failures: Record<string, number> = {};
  for (const r of x.rows) {
    if (r.error) failures[r.failure || "error"] = (failures[r.failure || "error"] ?? 0) + 1;
  }
  const firstMs = x.events.length ? x.events[0].atS * 1000 : Infinity;
  const before = x.rows.filter((r) => r.scheduled_ms < firstMs);
  const beforeOk = before.filter((r) => !r.error);
  const base = {
    ttft: median(beforeOk.flatMap((r) => r.ttft_ms ?? [])),
    e2e: median(beforeOk.map((r) => r.e2e_ms)),
  };
  const met = before.filter((r) => meetsSlo(r, x.slo)).length;
  return {
    requests: x.rows.length,
    failed: x.rows.filter((r) => r.error).length,
    failures,
    target_pct: x.targetPct,
    window_s: WINDOW_S,
    baseline_attainment_pct: before.length ? Math.round(1000 * met / before.length) / 10 : null,
    timeline: tl.t,
    events: x.events.map((e) => eventCost(x, e, tl, base)),
    records: [...x.records],
  };
}

/** What the router did about an event, in words. */
function routerText(e: EventCost): string {
  if (e.event.includes(" start ")) {
    const joined = e.detect_s === null
      ? "never put in rotation"
      : `in rotation after ${e.detect_s} s`;
    return e.carries_load_s === null
      ? joined
      : `${joined}, first request after ${e.carries_load_s} s`;
  }
  if (/ (slow|burst) /.test(e.event)) return "no router verdict (not a failure it sees)";
  const verb = e.event.includes(" resume ") ? "put back" : "taken out";
  return e.detect_s === null
    ? `never ${verb} by the router`
    : `${verb} by the router after ${e.detect_s} s`;
}

/**
 * One findings line per event: `20 s kill decode[1]: 10 failed (run: reset 10);
 * taken out by the router after 0 s; SLO recovered after 1 s; ...`.
 */
export function scenarioFindings(r: ScenarioReport): string[] {
  const reasons = Object.entries(r.failures).map(([k, n]) => `${k} ${n}`).join(", ");
  return r.events.map((e) =>
    `${e.event}: ${e.failed} failed while it lasted${reasons ? ` (run: ${reasons})` : ""}; ${
      routerText(e)
    }; ${
      e.recover_s === 0
        ? `SLO held (>= ${r.target_pct}% in every ${r.window_s}-s window)`
        : e.recover_s === null
        ? "SLO not recovered by the end"
        : `SLO recovered after ${e.recover_s} s`
    }; p50 TTFT ${signed(e.extra_ttft_p50_ms)} ms, p50 e2e ${
      signed(e.extra_e2e_p50_ms)
    } ms vs before the first event`
  );
}

const signed = (v: number | null) => (v === null ? "n/a" : v >= 0 ? `+${v}` : String(v));

/** One scale action of an autoscaler (`tasks/predict/virtual_autoscaler.ts`). */
export interface ScaleActionRecord {
  t_s: number;
  action: "up" | "down";
  instance: string;
  count: number;
  why: string;
}

/** What a run cost and gave: GPU-hours, SLO attainment, and the autoscaler's actions. */
export interface RunCost {
  /** Sum over instances of up time (start-up included) x GPUs, hours. */
  gpu_hours: number;
  /** Percent of all requests within the SLO (failures are misses); null without requests. */
  attainment_pct: number | null;
  /** The autoscaler's actions in time order; null without an autoscaler. */
  scale_actions: ScaleActionRecord[] | null;
}

/** {@linkcode RunCost} of a run from its rows (judged by `slo`), its GPU-hours and actions. */
export function runCost(
  rows: readonly ScenarioRow[],
  slo: Slo,
  gpuHours: number,
  actions: ScaleActionRecord[] | null,
): RunCost {
  const met = rows.filter((r) => meetsSlo(r, slo)).length;
  return {
    gpu_hours: Math.round(gpuHours * 1e4) / 1e4,
    attainment_pct: rows.length ? Math.round(1000 * met / rows.length) / 10 : null,
    scale_actions: actions,
  };
}

/** One findings line per run: `run: 0.21 GPU-hours, SLO attainment 97.5%; 3 scale actions (...)`. */
export function runFinding(c: RunCost): string {
  const att = c.attainment_pct === null ? "n/a" : `${c.attainment_pct}%`;
  const acts = c.scale_actions === null
    ? "fixed size"
    : `${c.scale_actions.length} scale actions${
      c.scale_actions.length
        ? ` (${c.scale_actions.map((a) => `${a.action} at ${a.t_s} s -> ${a.count}`).join(", ")})`
        : ""
    }`;
  return `run: ${c.gpu_hours} GPU-hours, SLO attainment ${att}; ${acts}`;
}
