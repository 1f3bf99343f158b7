/**
 * The figure set of one experiment: turns {@linkcode ExperimentData} into the
 * inputs of each chart builder and returns every figure by name, built or
 * skipped with a reason.
 *
 * @module
 */
import { type ChartContext, type ChartResult, distinct, num } from "./_common.ts";
import type { Ranking } from "../lib/ranking.ts";
import type { Slo } from "../lib/metrics.ts";
import type { ExperimentData, PointRow } from "./_runs.ts";
import { type Cell, groups } from "./_groups.ts";
import { cdfFigures, sloFigures } from "./_slo_figures.ts";
import { perTurnPoints } from "./_turn_figures.ts";
import { type LatencyMetric, latencyVsRate } from "./charts/latency_vs_rate.ts";
import { throughputVsLatency } from "./charts/throughput_vs_latency.ts";
import { paretoFrontier } from "./charts/pareto.ts";
import { successVsRate, throughputVsRate } from "./charts/throughput_vs_rate.ts";
import { ratioCrossover } from "./charts/ratio_crossover.ts";
import { ppdImprovement, ttftByTurn, ttftPerTurn } from "./charts/multi_turn.ts";
import { throughputVsConcurrency, ttftVsPromptLength } from "./charts/grid_sweep.ts";
import { gpuTimeline, serverTimeline } from "./charts/timeline.ts";
import { scenarioTimeline } from "./charts/scenario_timeline.ts";

export { SLO_SCALES } from "./_slo_figures.ts";

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
    if (run.scenario) {
      figs.push({
        name: `timeline_scenario_${id}`,
        result: scenarioTimeline(run.scenario, all, run.label),
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
