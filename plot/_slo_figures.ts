/**
 * The SLO figures (attainment vs offered load per GPU, vs SLO scale) and the
 * latency CDFs: the groups they compare, the load each topology is drawn at,
 * and the ranking record whose capacities they show.
 *
 * @module
 */
import type { RequestRow } from "../lib/result_schema.ts";
import { attainmentKinds as attainment, type Slo, sloText as sloWords } from "../lib/metrics.ts";
import { type Ranking, type RankInput, rankTopologies } from "../lib/ranking.ts";
import { type ChartContext, distinct, num, offeredUnit } from "./_common.ts";
import type { Group } from "./_groups.ts";
import type { ExperimentData } from "./_runs.ts";
import { derivedSlo } from "./_slo.ts";
import type { Figure, FigureOptions } from "./_figures.ts";
import { type SloPoint, sloVsRate, sloVsScale } from "./charts/slo_attainment.ts";
import { latencyCdf } from "./charts/cdf.ts";

/** SLO attainment scales drawn on the vs-scale figure. */
export const SLO_SCALES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5];

/** Picks one group per topology: the highest offered rate all share, else each one's highest. */
function fixedLoad(
  gs: Group[],
  unit: string,
  ranking?: Ranking | null,
): { picked: Group[]; note: string; common: boolean } {
  const tops = distinct(gs.map((g) => g.topology));
  const rateSets = tops.map((t) =>
    new Set(gs.filter((g) => g.topology === t).map((g) => g.offeredRps))
  );
  const same = rateSets.every((s) => s.size === rateSets[0].size) &&
    [...rateSets[0]].every((r) => rateSets.every((s) => s.has(r)));
  const common = [...rateSets[0]].filter((r) => r !== null && rateSets.every((s) => s.has(r)))
    .sort((a, b) => b! - a!);
  if (common.length && (same || !ranking)) {
    return {
      picked: gs.filter((g) => g.offeredRps === common[0]),
      note: `at offered load ${common[0]} ${unit} (the highest all topologies ran)`,
      common: true,
    };
  }
  const mine = (t: string) => gs.filter((g) => g.topology === t);
  if (ranking) {
    // rates searched per topology: each at the last load it holds the SLO at (else its lowest)
    const picked = tops.map((t) => {
      const pass = ranking.topologies.find((r) => r.topology === t)?.pass_rate;
      return mine(t).find((g) => g.offeredRps === pass) ??
        mine(t).sort((a, b) => (a.offeredRps ?? 0) - (b.offeredRps ?? 0))[0];
    });
    return {
      picked,
      note: "at each topology's last offered load meeting the SLO (no common load)",
      common: false,
    };
  }
  const picked = tops.map((t) =>
    mine(t).sort((a, b) => (b.offeredRps ?? 0) - (a.offeredRps ?? 0))[0]
  );
  return {
    picked,
    note: "at each topology's highest offered rate (no common rate)",
    common: false,
  };
}

function sloOf(
  data: ExperimentData,
  gs: Group[],
  o: FigureOptions,
): { slo: Slo; note: string } | null {
  if (o.slo) return { slo: o.slo, note: "" };
  for (const r of data.rows) {
    const t = num(r.slo_ttft_ms), p = num(r.slo_tpot_ms);
    if (t !== null || p !== null) {
      return { slo: { ttftMs: t ?? undefined, tpotMs: p ?? undefined }, note: "" };
    }
  }
  const lightest = distinct(gs.map((g) => g.topology)).map((t) =>
    gs.filter((g) => g.topology === t).sort((a, b) => (a.offeredRps ?? 0) - (b.offeredRps ?? 0))[0]
      .requests
  );
  const slo = derivedSlo(lightest);
  return slo ? { slo, note: "no SLO given: base SLO = 5× the lightest-load p50" } : null;
}

/** The groups as the ranking's input: requests per topology and offered rate (GPUs from the per-GPU rate). */
function rankInputsOf(gs: Group[]): RankInput[] {
  return distinct(gs.map((g) => g.topology)).map((t) => {
    const mine = gs.filter((g) => g.topology === t && g.offeredRps !== null);
    const g0 = mine[0];
    const gpus = g0?.gpusKnown && g0.ratePerGpu ? Math.round(g0.offeredRps! / g0.ratePerGpu) : null;
    return {
      topology: t,
      gpus,
      points: mine.map((g) => ({ rate: g.offeredRps!, rows: g.requests, outputTokS: null })),
    };
  });
}

export function sloFigures(
  data: ExperimentData,
  gs: Group[],
  ctx: ChartContext,
  o: FigureOptions,
): Figure[] {
  const target = o.sloTarget ?? 0.9;
  const base = gs.length ? sloOf(data, gs, o) : null;
  if (!base) {
    const skip = { skip: "no per-request rows (requests.csv) to compute SLO attainment from" };
    return [{ name: "slo_rate", result: skip }, { name: "slo_scale", result: skip }];
  }
  const { slo } = base;
  const sloText = `base SLO: ${sloWords(slo)}`;
  const notes = [sloText, ...(base.note ? [base.note] : [])];
  const ranking = o.ranking ??
    rankTopologies(rankInputsOf(gs), slo, target, offeredUnit(ctx));
  const ratePts: SloPoint[] = [];
  for (const g of gs) {
    if (g.ratePerGpu === null) continue;
    const a = attainment(g.requests, slo);
    for (const kind of ["both", "ttft", "tpot"] as const) {
      ratePts.push({ topology: g.topology, x: g.ratePerGpu, kind, attainment: a[kind] });
    }
  }
  const perGpu = gs.some((g) => g.gpusKnown);
  const rateNotes = !perGpu
    ? [...notes, "GPU count unknown: rates are per run, not per GPU"]
    : gs.some((g) => !g.gpusKnown)
    ? [...notes, "GPU count unknown for some runs: their rate is per run, not per GPU"]
    : notes;
  const { picked, note, common } = fixedLoad(gs, offeredUnit(ctx), ranking);
  const scalePts: SloPoint[] = [];
  for (const g of picked) {
    for (const s of SLO_SCALES) {
      const a = attainment(g.requests, slo, s);
      for (const kind of ["both", "ttft", "tpot"] as const) {
        scalePts.push({ topology: g.topology, x: s, kind, attainment: a[kind] });
      }
    }
  }
  return [
    { name: "slo_rate", result: sloVsRate(ratePts, ctx, target, ranking, rateNotes, perGpu) },
    { name: "slo_scale", result: sloVsScale(scalePts, ctx, target, [...notes, note], common) },
  ];
}

export function cdfFigures(gs: Group[], ctx: ChartContext, ranking?: Ranking | null): Figure[] {
  if (!gs.length) {
    const skip = { skip: "no per-request rows (requests.csv) for CDFs" };
    return [{ name: "cdf_ttft", result: skip }, { name: "cdf_e2el", result: skip }];
  }
  const { picked, note } = fixedLoad(gs, offeredUnit(ctx), ranking);
  const pick = (f: (r: RequestRow) => number | null) =>
    new Map(picked.map((g) => [
      g.topology,
      g.requests.filter((r) => !r.error).map(f).filter((x): x is number => x !== null),
    ]));
  return [
    {
      name: "cdf_ttft",
      result: latencyCdf(pick((r) => r.ttft_ms), "CDF of TTFT", "TTFT (ms)", ctx, [note]),
    },
    {
      name: "cdf_e2el",
      result: latencyCdf(
        pick((r) => r.e2e_ms),
        "CDF of end-to-end latency",
        "E2E latency (ms)",
        ctx,
        [
          note,
        ],
      ),
    },
  ];
}
