/**
 * After an automatic sweep in virtual time: when the two best topologies of
 * the largest GPU budget have SLO-capacity brackets that overlap per GPU
 * (the measured rates cannot tell them apart), bisect both brackets further,
 * a point each per round, until they separate or are within 2%. Points are
 * ordinary sweep points of their topology, so merge and compare see them.
 *
 * @module
 */
import { sloBracket } from "../lib/ranking.ts";
import { roundRate } from "../lib/slo_search.ts";
import type { ExperimentTopology } from "./_experiment.ts";
import { type PipelineRun, runTopology } from "./_pipeline_topology.ts";
import { pointAttainments } from "./_sweep_auto.ts";
import type { SweepPoint } from "./sweep.ts";

/** One topology's measured SLO bracket and capacity (the ranking's rule, from summaries). */
interface Lead {
  t: ExperimentTopology;
  gpus: number;
  pass: number;
  fail: number;
  capacity: number;
}

/** The bracket of `t`'s points: last rate meeting `target` before the first missing it. */
async function leadOf(t: ExperimentTopology, pts: SweepPoint[], target: number) {
  const { att, gpus: recorded } = await pointAttainments(pts);
  const gpus = recorded ?? 1; // as the sweep recorded it in every summary
  const { passAt, failAt, capacity } = sloBracket(att, target); // the ranking's rule
  if (failAt < 0 || passAt < 0) return null;
  return { t, gpus, pass: att[passAt].rate, fail: att[failAt].rate, capacity };
}

/** The two best leads of the largest budget whose brackets overlap per GPU, or null. */
async function overlapping(
  r: PipelineRun,
  tops: ExperimentTopology[],
  points: Record<string, SweepPoint[]>,
) {
  const target = r.exp.targetPct / 100;
  const leads: Lead[] = [];
  for (const t of tops) {
    const l = await leadOf(t, points[t.label] ?? [], target);
    if (l) leads.push(l);
  }
  const budget = Math.max(...leads.map((l) => l.gpus));
  const [a, b] = leads.filter((l) => l.gpus === budget).sort((x, y) => y.capacity - x.capacity);
  if (!a || !b) return null;
  const resolved = a.pass >= b.fail || b.pass >= a.fail;
  const narrow = (l: Lead) => l.fail / l.pass <= 1.02;
  return resolved || (narrow(a) && narrow(b)) ? null : [a, b];
}

/**
 * Bisects the overlapping brackets of the two leaders (virtual clock and
 * `rates: auto` only; at most `rounds` rounds); adds the points to `points`.
 */
export async function refineLeaders(
  r: PipelineRun,
  tops: ExperimentTopology[],
  points: Record<string, SweepPoint[]>,
  rounds = 3,
): Promise<void> {
  const auto = !(r.o.rates?.length) && r.exp.sweep.rates === null;
  if (r.clock !== "virtual" || !auto || !r.exp.slo) return;
  for (let i = 0; i < rounds; i++) {
    const pair = await overlapping(r, tops, points);
    if (!pair) return;
    r.log(
      `${pair[0].t.label} (${pair[0].pass}–${pair[0].fail}) and ${pair[1].t.label} (${
        pair[1].pass
      }–${pair[1].fail}): brackets overlap; narrowing both`,
    );
    for (const l of pair.filter((l) => l.fail / l.pass > 1.02)) {
      const mid = roundRate(Math.sqrt(l.pass * l.fail));
      const more = await runTopology({ ...r, o: { ...r.o, rates: [mid] } }, l.t, {
        counted: points[l.t.label].length,
      });
      points[l.t.label].push(...more);
    }
  }
}
