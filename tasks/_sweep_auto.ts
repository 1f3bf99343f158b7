/**
 * `rates: auto` of a sweep: a saturating probe gives a first rate, then the
 * SLO search (`lib/slo_search.ts`) brackets the SLO capacity and the
 * throughput knee by running sweep points, and points are placed around them.
 *
 * @module
 */
import { join } from "node:path";
import { type Bracket, placeRates, searchCapacity, type SearchSample } from "../lib/slo_search.ts";
import type { AutoSweep } from "./_experiment.ts";
import { benchHasTimeScale, num, readSummaries } from "./_bench_cmd.ts";
import { pointLabel, type PointRun, runPoint, type SweepRun } from "./_sweep_point.ts";
import type { Progress } from "../lib/progress.ts";
import { rateUnit, sweepPointDone } from "./_sweep_progress.ts";

/** Search points a search typically runs after the current one (progress's estimate). */
const SEARCH_LEFT = 4;

/**
 * Saturation from a rate-inf probe's summary: its request throughput, per
 * conversation on multi-turn workloads (the unit sweep rates are given in).
 * Null when the probe has none.
 */
export function probeCapacity(
  summary: Record<string, unknown> | undefined,
  workload: Record<string, unknown>,
): number | null {
  const thr = num(summary, "request_throughput");
  if (!thr) return null;
  return workload.dataset === "multiturn" ? thr / Number(workload.turns ?? 4) : thr;
}

/** Defaults of `sweep.auto` (the automatic search). */
export const AUTO_DEFAULTS: AutoSweep = {
  probeRequests: 40,
  points: 4,
  resolution: 1.15,
  maxSearchPoints: 12,
};

/** What a search point measured, from its summaries (attainment pooled over its runs). */
export function searchSample(rate: number, summaries: Record<string, unknown>[]): SearchSample {
  let met = 0, n = 0, thr = 0;
  for (const x of summaries) {
    const k = (num(x, "completed") ?? 0) + (num(x, "failed") ?? 0);
    met += (num(x, "slo_attainment") ?? 0) * k;
    n += k;
    thr += num(x, "request_throughput") ?? 0;
  }
  const withSlo = summaries.some((x) => num(x, "slo_attainment") !== null);
  return {
    rate,
    attainment: withSlo && n > 0 ? met / n : null,
    throughputRps: summaries.length ? thr / summaries.length : null,
  };
}

/**
 * The attainment of each finished point (runs pooled), ascending by rate, and
 * the GPUs its summaries recorded (null when none says).
 */
export async function pointAttainments(
  pts: readonly { rateRps: number; runDir: string }[],
): Promise<{ att: { rate: number; value: number }[]; gpus: number | null }> {
  const att: { rate: number; value: number }[] = [];
  let gpus: number | null = null;
  for (const p of pts) {
    const summaries = await readSummaries(p.runDir);
    gpus = num(summaries[0], "gpus") ?? gpus;
    const a = searchSample(p.rateRps, summaries).attainment;
    if (a !== null) att.push({ rate: p.rateRps, value: a });
  }
  return { att: att.sort((a, b) => a.rate - b.rate), gpus };
}

/** `SLO capacity 12.3–13.5 conv/s` (between the last passing and first failing rate). */
function bracketText(what: string, b: Bracket | null, unit: string): string {
  if (!b) return `${what}: no SLO`;
  if (b.pass === null) return `${what}: below ${b.fail} ${unit} (failed at every rate tried)`;
  if (b.fail === null) return `${what}: above ${b.pass} ${unit} (search budget spent)`;
  return `${what} ${b.pass}–${b.fail} ${unit}`;
}

/**
 * The rates of one grid cell under `rates: auto`: a saturating probe for a
 * first guess, then a geometric search that brackets the SLO capacity and
 * the throughput knee (every search point a sweep point), then points placed
 * around them.
 */
export async function autoRates(
  s: SweepRun,
  cell: Record<string, string | number>,
  progress: Progress,
  finished: number,
): Promise<{ rates: number[]; searched: Map<number, PointRun> }> {
  const { o } = s;
  const a = { ...AUTO_DEFAULTS, ...o.auto };
  const label = pointLabel(o.topology, cell, Infinity).replace(/-rinf$/, "-probe");
  const p = await runPoint(
    s,
    label,
    { rate: "inf", "num-requests": a.probeRequests, runs: 1 },
    Infinity,
    cell,
    join(s.expDir, "probes"),
  );
  const sat = probeCapacity(p.summaries[0], { ...s.w, ...cell });
  if (!sat) {
    throw new Error(
      `Cannot read request_throughput of ${p.runDir} as a capacity: current value is ${sat}`,
    );
  }
  const start = sat / (s.f !== 1 && !(await benchHasTimeScale()) ? s.f : 1);
  const target = o.slo ? (o.attainmentPct ?? 90) / 100 : null;
  s.log(
    `${label}: probe ~${start.toPrecision(3)} ${rateUnit({ ...s.w, ...cell })}; searching the ${
      target === null ? "throughput knee" : `SLO capacity (${o.slo}, ${target * 100}% of requests)`
    }`,
  );
  const searched = new Map<number, PointRun>();
  const found = await searchCapacity(async (rate) => {
    const label = pointLabel(o.topology, cell, rate);
    // a guess of what is left: a few more search steps and the placed points
    progress.plan(o.topology, finished + searched.size + 1 + SEARCH_LEFT + a.points, true);
    progress.start(label);
    const pt = await runPoint(s, label, {}, rate, cell);
    searched.set(rate, pt);
    const x = searchSample(rate, pt.summaries);
    const att = (x.attainment === null ? "" : `, attainment ${(x.attainment * 100).toFixed(1)}%`) +
      (pt.summaries.some((y) => y.saturated === true) ? ", saturated: stopped early" : "");
    progress.done(
      sweepPointDone(label, rate, { ...s.w, ...cell }, pt, `(search point${att}; ${pt.runDir})`),
    );
    return x;
  }, { startRate: start, target, resolution: a.resolution, maxPoints: a.maxSearchPoints });
  const rates = placeRates(found, a.points);
  const unit = rateUnit({ ...s.w, ...cell });
  s.log(
    `${o.topology}: ${bracketText("SLO capacity", found.slo, unit)}; ${
      bracketText("throughput knee", found.knee, unit)
    } -> rates ${rates.join(", ")} ${unit}`,
  );
  return { rates, searched };
}
