/**
 * The figure set of one experiment: turns {@linkcode ExperimentData} into the
 * inputs of each chart builder and returns every figure by name, built or
 * skipped with a reason.
 *
 * @module
 */
import { turnList } from "../lib/merged_schema.ts";
import type { RequestRow } from "../lib/result_schema.ts";
import { type ChartContext, type ChartResult, distinct, num, offeredUnit } from "./_common.ts";
import { type Ranking, type RankInput, rankTopologies } from "../lib/ranking.ts";
import type { ExperimentData, PointRow, RunData } from "./_runs.ts";
import { derivedSlo } from "./_slo.ts";
import { attainmentKinds as attainment, type Slo, sloText as sloWords } from "../lib/metrics.ts";
import { type LatencyMetric, latencyVsRate } from "./charts/latency_vs_rate.ts";
import { throughputVsLatency } from "./charts/throughput_vs_latency.ts";
import { paretoFrontier } from "./charts/pareto.ts";
import { offeredRate, successVsRate, throughputVsRate } from "./charts/throughput_vs_rate.ts";
import { ratioCrossover } from "./charts/ratio_crossover.ts";
import { type SloPoint, sloVsRate, sloVsScale } from "./charts/slo_attainment.ts";
import { ppdImprovement, ttftByTurn, ttftPerTurn, type TurnPoint } from "./charts/multi_turn.ts";
import { throughputVsConcurrency, ttftVsPromptLength } from "./charts/grid_sweep.ts";
import { gpuTimeline, serverTimeline } from "./charts/timeline.ts";
import { latencyCdf } from "./charts/cdf.ts";

/** Options of {@linkcode buildFigures}. */
export interface FigureOptions {
  /** Log-scale latency axes. @default false */
  logY?: boolean;
  /** Topologies A and B of the ratio figures. @default the first two, sorted */
  compare?: [string, string];
  /** Base SLO. @default summary.json `slo`, else 5× the lightest-load p50 */
  slo?: Slo;
  /** SLO attainment target (0..1). @default 0.9 */
  sloTarget?: number;
  /**
   * The comparison's ranking record (`crossover.json`'s `ranking`): the SLO
   * figures draw its capacities. @default computed here from the same requests
   */
  ranking?: Ranking | null;
}

/** One figure by name. */
export interface Figure {
  /** File name stem, e.g. `latency_ttft`. */
  name: string;
  result: ChartResult;
}

/** SLO attainment scales drawn on the vs-scale figure. */
export const SLO_SCALES = [0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5];

interface Group {
  topology: string;
  loadPoint: string;
  offeredRps: number | null;
  ratePerGpu: number | null;
  gpusKnown: boolean;
  requests: RequestRow[];
}

/** Requests grouped by topology × load point (repeated runs pooled) for one grid cell. */
function groups(runs: RunData[], cell: Cell | null): Group[] {
  const out = new Map<string, Group>();
  for (const run of runs) {
    for (const s of run.summaries) {
      if (cell && String(s.workload ?? "") !== cell.workload) continue;
      if (cell && num(s.max_concurrency) !== cell.concurrency) continue;
      const lp = String(s.load_point ?? "");
      const key = `${run.topology}\u0000${lp}`;
      const gpus = num(s.gpus);
      // offered load (the sweep's unit: conv/s on multi-turn), as the ranking counts it
      const offered = num(s.rate_target) ?? num(s.rate_achieved);
      if (!out.has(key)) {
        out.set(key, {
          topology: run.topology,
          loadPoint: lp,
          offeredRps: offered,
          ratePerGpu: offered === null ? null : offered / (gpus ?? 1),
          gpusKnown: gpus !== null,
          requests: [],
        });
      }
      const rid = String(s.run_id ?? "");
      out.get(key)!.requests.push(
        ...run.requests.filter((r) => r.load_point === lp && (!rid || r.run_id === rid)),
      );
    }
  }
  return [...out.values()].filter((g) => g.requests.length);
}

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

function sloFigures(
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
  const rateNotes = gs.some((g) => !g.gpusKnown)
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
    { name: "slo_rate", result: sloVsRate(ratePts, ctx, target, ranking, rateNotes) },
    { name: "slo_scale", result: sloVsScale(scalePts, ctx, target, [...notes, note], common) },
  ];
}

/**
 * The panels of the per-turn figure: the lowest and highest offered load every
 * topology ran, or — when they share no load (rates searched per topology) —
 * each topology's own lowest and its last load meeting the SLO (the ranking's
 * `pass_rate`; its highest without a ranking). Returns the panel of a
 * (topology, load), or null when that load is not drawn.
 */
function turnPanels(loads: { topology: string; offered: number }[], ranking?: Ranking | null) {
  const tops = distinct(loads.map((l) => l.topology));
  const common = [...new Set(loads.map((l) => l.offered))].filter((x) =>
    tops.every((t) => loads.some((l) => l.topology === t && l.offered === x))
  ).sort((a, b) => a - b);
  if (common.length) {
    const picked = [common[0], common.at(-1)!];
    return (_t: string, x: number) => picked.includes(x) ? String(x) : null;
  }
  const own = (t: string) => loads.filter((l) => l.topology === t).map((l) => l.offered);
  const atCapacity = (t: string) =>
    ranking?.topologies.find((r) => r.topology === t)?.pass_rate ?? null;
  return (t: string, x: number) => {
    const xs = own(t), cap = atCapacity(t);
    if (x === Math.min(...xs)) return "lowest";
    if (cap !== null) return x === cap ? "last load meeting the SLO" : null;
    return x === Math.max(...xs) ? "highest" : null;
  };
}

/**
 * Mean TTFT per turn at the lowest and highest load (see {@linkcode turnPanels}):
 * from the requests when the runs are here, else from merged.csv's `ttft_by_turn_ms`.
 */
function perTurnPoints(gs: Group[], rows: PointRow[], ranking?: Ranking | null): TurnPoint[] {
  if (!gs.length) return turnPointsOfMerged(rows, ranking);
  const ok = gs.filter((g) => g.offeredRps !== null);
  const panel = turnPanels(
    ok.map((g) => ({ topology: g.topology, offered: g.offeredRps! })),
    ranking,
  );
  const out: TurnPoint[] = [];
  for (const g of ok) {
    const p = panel(g.topology, g.offeredRps!);
    if (p === null) continue;
    const byTurn = new Map<number, number[]>();
    for (const r of g.requests) {
      if (r.error || r.ttft_ms === null) continue;
      if (!byTurn.has(r.turn)) byTurn.set(r.turn, []);
      byTurn.get(r.turn)!.push(r.ttft_ms);
    }
    for (const [turn, xs] of byTurn) {
      out.push({
        topology: g.topology,
        offered: g.offeredRps!,
        panel: p,
        turn,
        mean_ttft_ms: xs.reduce((a, b) => a + b, 0) / xs.length,
        requests: xs.length,
      });
    }
  }
  return out.sort((a, b) => a.offered - b.offered || a.turn - b.turn);
}

/** {@linkcode perTurnPoints} from merged rows (no run directories beside them). */
function turnPointsOfMerged(rows: PointRow[], ranking?: Ranking | null): TurnPoint[] {
  const withTurns = rows.filter((r) =>
    turnList(r.ttft_by_turn_ms).length > 1 && offeredRate(r) !== null
  );
  const panel = turnPanels(
    withTurns.map((r) => ({ topology: String(r.topology), offered: offeredRate(r)! })),
    ranking,
  );
  const out: TurnPoint[] = [];
  for (const r of withTurns) {
    const p = panel(String(r.topology), offeredRate(r)!);
    if (p === null) continue;
    turnList(r.ttft_by_turn_ms).forEach((v, i) => {
      if (v !== null) {
        out.push({
          topology: String(r.topology),
          offered: offeredRate(r)!,
          panel: p,
          turn: i + 1,
          mean_ttft_ms: v,
          requests: 0,
        });
      }
    });
  }
  return out.sort((a, b) => a.offered - b.offered || a.turn - b.turn);
}

function cdfFigures(gs: Group[], ctx: ChartContext, ranking?: Ranking | null): Figure[] {
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

/** The experiment's title context (model, workloads, topologies, GPU, simulated). */
export function contextOf(data: ExperimentData, rows: PointRow[], o: FigureOptions): ChartContext {
  const gpuNames = distinct(
    data.runs.flatMap((r) => (r.gpu ?? []).map((g) => g.name).filter(Boolean)),
  );
  const counts = distinct(rows.map((r) => num(r.gpus)).filter((x): x is number => x !== null));
  const gpu = [
    gpuNames.join(", "),
    counts.length
      ? `${counts.join("/")} GPU${counts.length === 1 && counts[0] === 1 ? "" : "s"}`
      : "",
  ].filter(Boolean).join(" · ");
  return {
    model: distinct(rows.map((r) => String(r.model ?? "")).filter(Boolean)).join(", "),
    workload: distinct(rows.map((r) => String(r.workload ?? "")).filter(Boolean)).join(", "),
    topologies: distinct(data.rows.map((r) => String(r.topology))),
    gpu,
    simulated: rows.some((r) => r.simulated === true || r.simulated === "true") ||
      data.runs.some((r) => r.simulated),
    logY: o.logY ?? false,
  };
}

/** One grid cell: a workload with one concurrency cap (null: none). */
interface Cell {
  workload: string;
  concurrency: number | null;
}

/** The grid cells of the rows, with a file-name suffix each (none with a single cell). */
function cells(rows: PointRow[]): (Cell & { suffix: string })[] {
  const seen = new Map<string, Cell>();
  for (const r of rows) {
    const c = { workload: String(r.workload ?? ""), concurrency: num(r.max_concurrency) };
    seen.set(JSON.stringify(c), c);
  }
  const list = [...seen.values()];
  const manyW = new Set(list.map((c) => c.workload)).size > 1;
  const manyC = new Set(list.map((c) => c.concurrency)).size > 1;
  if (!list.length) return [{ workload: "", concurrency: null, suffix: "" }];
  return list.map((c) => ({
    ...c,
    suffix: (manyW ? `_${c.workload.replace(/[^\w.-]+/g, "_") || "none"}` : "") +
      (manyC ? `_c${c.concurrency ?? "none"}` : ""),
  }));
}

/** The p99 TTFT and E2E ratio figures of topologies A and B (`--compare`, else the first two). */
function ratioFigures(rows: PointRow[], ctx: ChartContext, o: FigureOptions): Figure[] {
  const figs: Figure[] = [];
  const tops = distinct(rows.map((r) => String(r.topology)));
  const [a, b] = o.compare ?? [tops[0], tops[1]];
  for (const key of ["p99_ttft_ms", "p99_e2el_ms"]) {
    const name = `ratio_${key.replace(/_ms$/, "")}`;
    if (a === undefined || b === undefined) {
      figs.push({ name, result: { skip: "needs two topologies to compare" } });
    } else if (!tops.includes(a) || !tops.includes(b)) {
      figs.push({
        name,
        result: { skip: `--compare names ${a},${b} but the results have ${tops.join(", ")}` },
      });
    } else figs.push({ name, result: ratioCrossover(rows, a, b, key, ctx) });
  }
  return figs;
}

/** The figures of one grid cell, named with its suffix. */
function cellFigures(
  data: ExperimentData,
  cell: Cell & { suffix: string },
  manyCells: boolean,
  o: FigureOptions,
): Figure[] {
  const figs: Figure[] = [];
  const rows = data.rows.filter((r) =>
    String(r.workload ?? "") === cell.workload && num(r.max_concurrency) === cell.concurrency
  );
  const ctx = contextOf(data, rows, o);
  if (cell.concurrency !== null) ctx.workload += ` (max concurrency ${cell.concurrency})`;
  const add = (name: string, result: ChartResult) =>
    figs.push({ name: name + cell.suffix, result });
  for (const m of ["ttft", "tpot", "itl", "e2el"] as LatencyMetric[]) {
    add(`latency_${m}`, latencyVsRate(rows, m, ctx));
  }
  add("throughput_latency_ttft", throughputVsLatency(rows, "ttft", ctx));
  add("throughput_latency_e2el", throughputVsLatency(rows, "e2el", ctx));
  add("throughput_rate", throughputVsRate(rows, ctx));
  add("pareto", paretoFrontier(rows, ctx, o.ranking));
  add("success_rate", successVsRate(rows, ctx));
  for (const f of ratioFigures(rows, ctx, o)) add(f.name, f.result);
  const gs = groups(data.runs, manyCells ? cell : null);
  for (const f of sloFigures(data, gs, ctx, o)) add(f.name, f.result);
  add("ttft_by_turn", ttftByTurn(rows, ctx));
  add("ttft_per_turn", ttftPerTurn(perTurnPoints(gs, rows, o.ranking), ctx));
  for (const f of cdfFigures(gs, ctx, o.ranking)) add(f.name, f.result);
  return figs;
}

/** GPU and server-metric timelines per run, or one skipped figure each when no run has them. */
function timelineFigures(data: ExperimentData, all: ChartContext): Figure[] {
  const figs: Figure[] = [];
  for (const run of data.runs) {
    const id = run.label.replace(/[^\w.-]+/g, "_");
    if (run.gpu) {
      figs.push({ name: `timeline_gpu_${id}`, result: gpuTimeline(run.gpu, all, run.label) });
    }
    if (run.serverMetrics) {
      figs.push({
        name: `timeline_server_${id}`,
        result: serverTimeline(run.serverMetrics, all, run.label),
      });
    }
  }
  if (!data.runs.some((r) => r.gpu)) {
    figs.push({
      name: "timeline_gpu",
      result: { skip: "no run has gpu.csv (bench --gpu-monitor)" },
    });
  }
  if (!data.runs.some((r) => r.serverMetrics)) {
    figs.push({
      name: "timeline_server",
      result: { skip: "no run has server_metrics.csv (bench --scrape-metrics URL)" },
    });
  }
  return figs;
}

/** Builds every figure of `data` (per grid cell when there are several). */
export function buildFigures(data: ExperimentData, o: FigureOptions = {}): Figure[] {
  const list = cells(data.rows);
  const figs = list.flatMap((cell) => cellFigures(data, cell, list.length > 1, o));
  const all = contextOf(data, data.rows, o);
  // grid figures compare the cells, so they read every row
  figs.push({ name: "throughput_concurrency", result: throughputVsConcurrency(data.rows, all) });
  figs.push({ name: "ttft_prompt_len", result: ttftVsPromptLength(data.rows, all) });
  figs.push({
    name: "ppd_improvement",
    result: ppdImprovement(data.rows, all, o.compare),
  });
  figs.push(...timelineFigures(data, all));
  return figs;
}
