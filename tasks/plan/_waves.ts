/**
 * The plan's search order with pruning, in waves of `width` candidates: the
 * first wave is searched in full (`rates: auto`); every later candidate first
 * runs one point at the best SLO capacity per GPU found so far (its own GPUs
 * times it): one that misses the SLO there cannot beat the best (attainment
 * falls as load rises) and is left out; one that meets it is searched in full
 * and may raise the bar. A wave's decisions read the bar of the waves before
 * it only, so the result does not depend on how many workers ran them. At the
 * end the left-out candidates closest to the bar (the highest shares within
 * the SLO there; one wave of them) are searched in full as well, so the
 * runner-up is measured and the report draws the leaders' curves.
 *
 * @module
 */
import type { Experiment } from "../_experiment.ts";
import { pointAttainments } from "../_sweep_auto.ts";
import { rateUnit } from "../_sweep_progress.ts";
import { sweepOnly } from "../pipeline.ts";
import type { PipelineOptions } from "../pipeline.ts";
import { sloBracket } from "../../lib/ranking.ts";
import { roundRate } from "../../lib/slo_search.ts";
import type { SweepPoint } from "../sweep.ts";
import type { Candidate, Pruned } from "./candidates.ts";
import { type RoleStepCost, stepCosts } from "./step_costs.ts";

/** What the waves found. */
export interface WavesResult {
  /** Candidates searched in full, in search order. */
  searched: Candidate[];
  /** Candidates that missed the SLO at the bar, with the rate. */
  pruned: Pruned[];
  /** Points run in all (bar points included). */
  points: number;
}

/** Attainment (0..1) of each point, ascending by rate. */
const attainments = async (pts: readonly SweepPoint[]) => (await pointAttainments(pts)).att;

/** {@linkcode stepCosts} of the point at `rate`, null without one. */
function stepCostsAt(pts: readonly SweepPoint[], rate: number): RoleStepCost[] | null {
  const p = pts.find((x) => roundRate(x.rateRps) === rate);
  return p ? stepCosts(p.runDir) : null;
}

/** Candidates in search order: dp first (replicas with session routing usually lead), then the rest. */
export function searchOrder(cands: readonly Candidate[]): Candidate[] {
  const rank = { dp: 0, agg: 1, ppd: 2, pd: 3, epd: 4 } as const;
  return [...cands].sort((a, b) => rank[a.kind] - rank[b.kind]);
}

/** Runs the waves over `cands` (already in search order); `o` as the pipeline takes it. */
export async function runWaves(
  exp: Experiment,
  cands: readonly Candidate[],
  width: number,
  target: number,
  o: PipelineOptions,
): Promise<WavesResult> {
  const byLabel = (labels: string[]) => ({ ...o, only: labels, plot: false });
  let bar = 0; // best SLO capacity per GPU so far
  let points = 0;
  const searched: Candidate[] = [], pruned: Pruned[] = [];
  for (let i = 0; i < cands.length; i += width) {
    const wave = cands.slice(i, i + width);
    let go = wave;
    if (bar > 0) {
      go = [];
      const rates = [...new Set(wave.map((c) => roundRate(bar * c.gpus)))];
      const pts = await sweepOnly(exp, { ...byLabel(wave.map((c) => c.label)), rates });
      for (const c of wave) {
        const att = await attainments(pts[c.label] ?? []);
        points += att.length;
        const at = att.find((a) => a.rate === roundRate(bar * c.gpus));
        if (at && at.value < target) {
          pruned.push({
            label: c.label,
            why:
              `misses the SLO at ${at.rate} ${rateUnit(exp.workload)} (${
                (at.value * 100).toFixed(1)
              }% within it), ` +
              `where the best so far holds it per GPU`,
            at: { rate: at.rate, attainment: at.value },
            step_costs: stepCostsAt(pts[c.label] ?? [], at.rate),
          });
        } else go.push(c);
      }
    }
    if (!go.length) continue;
    const pts = await sweepOnly(exp, byLabel(go.map((c) => c.label)));
    for (const c of go) {
      const att = await attainments(pts[c.label] ?? []);
      points += att.length;
      searched.push(c);
      bar = Math.max(bar, sloBracket(att, target).capacity / c.gpus);
    }
  }
  // the closest of those left out are searched too (one wave): the runner-up is then measured,
  // not guessed, and the report has the curves of the leaders
  const near = pruned.filter((p) => p.at).sort((a, b) => b.at!.attainment - a.at!.attainment)
    .slice(0, width);
  const more = near.map((p) => cands.find((x) => x.label === p.label)!);
  if (more.length) {
    const pts = await sweepOnly(exp, byLabel(more.map((c) => c.label)));
    for (const c of more) {
      points += (await attainments(pts[c.label] ?? [])).length;
      searched.push(c);
    }
    for (const p of near) pruned.splice(pruned.indexOf(p), 1);
  }
  return { searched, pruned, points };
}
