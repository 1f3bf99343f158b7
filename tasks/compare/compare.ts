/**
 * `deno task compare merged.csv --out DIR` (or run dirs / globs instead of a
 * merged.csv): two or more topologies over the same rates to `DIR/compare.md`
 * (a table per metric, deltas against the first topology, whether each delta
 * exceeds run-to-run noise: 95% intervals not overlapping) and `DIR/crossover.json`
 * (crossing rates per topology pair and metric, goodput per GPU for an SLO and
 * its scales, turn-2+ TTFT findings).
 *
 *     deno task compare results/exp/merged.csv --out results/exp/compare \
 *       [--slo ttft:500,tpot:50] [--attainment 90] [--scales 0.5,1,2]
 *
 * @module
 */
import { dirname, join } from "node:path";
import { type CommandHelp, listFlag, parseCommand, runMain } from "../../lib/args.ts";
import { fieldError } from "../../lib/errors.ts";
import { type MergedRow, readMerged } from "../../lib/merged_schema.ts";
import {
  attainment,
  ATTAINMENT_FLAG,
  attainmentFromFlags,
  goodputRate,
  perGpu,
  type Slo,
  SLO_FLAGS,
  sloFromFlags,
} from "../../lib/metrics.ts";
import type { RunInput } from "../../lib/run_rows.ts";
import { type RankInput, rankTopologies } from "../../lib/ranking.ts";
import { offeredUnit } from "../../lib/rate_unit.ts";
import { mergeRuns } from "../merge/merge.ts";
import { crossings, type Point, turnFinding } from "./_crossover.ts";
import { findings, findingsMd } from "./_findings.ts";
import {
  crossoversMd,
  goodputMd,
  headerMd,
  metricTablesMd,
  perTurnMd,
  turnsMd,
} from "./_compare_md.ts";
import { writeFileAtomic, writeJsonAtomic } from "../../lib/write_file.ts";

/** Compared metrics and whether lower is better. */
export const COMPARE_METRICS: [string, boolean][] = [
  ["request_throughput", false],
  ["output_throughput", false],
  ["output_throughput_per_gpu", false],
  ["mean_ttft_ms", true],
  ["p99_ttft_ms", true],
  ["mean_tpot_ms", true],
  ["p99_tpot_ms", true],
  ["p99_itl_ms", true],
  ["mean_e2el_ms", true],
  ["slo_attainment", false],
  ["mean_ttft_turn2plus_ms", true],
];

const FLAGS = {
  out: {
    type: "string" as const,
    help:
      "Output folder for compare.md, crossover.json and findings.md (default: the folder of a single input; needed with several)",
  },
  ...SLO_FLAGS,
  ...ATTAINMENT_FLAG,
  scales: {
    type: "string" as const,
    default: "0.5,1,2",
    help: "SLO scales for the SLO-scale curve",
  },
};

const HELP: CommandHelp = {
  cmd: "deno task compare <merged.csv|run dirs...>",
  summary: "Compare topologies.",
};

/** Options of {@linkcode compare}. */
export interface CompareOptions {
  /** SLO; when absent, the runs' own SLO from merged.csv. @default null */
  slo?: Slo | null;
  /** Attainment target in percent. @default 90 */
  targetPct?: number;
  /** SLO multipliers. @default [0.5, 1, 2] */
  scales?: number[];
}

/**
 * SLO capacity of one topology at each SLO scale in `crossover.json` (rates in
 * the file's `rate_unit`; scale 1 is the ranking's).
 */
export interface TopologyGoodput {
  topology: string;
  gpus: number | null;
  slo_scales: {
    scale: number;
    /** Highest offered rate meeting the scaled SLO at the target (DistServe goodput). */
    slo_capacity: number;
    slo_capacity_per_gpu: number | null;
    /** True when every measured rate met it: the capacity is at least this. */
    lower_bound: boolean;
  }[];
}

/** The mean rows compared, grouped by display name (topology, or topology/workload). */
interface Groups {
  means: MergedRow[];
  names: string[];
  byName: Map<string, MergedRow[]>;
  label: (r: { topology: string; workload: string }) => string;
}

function groups(rows: MergedRow[]): Groups {
  const means = rows.filter((r) => r.run_index === "mean" && r.rate_target !== null);
  const multiWorkload = new Set(means.map((r) => r.workload)).size > 1;
  const label = (r: { topology: string; workload: string }) =>
    multiWorkload ? `${r.topology}/${r.workload}` : r.topology;
  const names = [...new Set(means.map(label))];
  const byName = new Map(names.map((n) => [n, means.filter((r) => label(r) === n)]));
  return { means, names, byName, label };
}

/** Metric `m` of name `n` over rate (points ended by the saturation stop left out). */
function curve(g: Groups, n: string, m: string): Point[] {
  // a point the saturation stop ended shows its first seconds, not the rate held: left out
  return g.byName.get(n)!.filter((r) => typeof r[m] === "number" && !r.saturated).map((r) => ({
    rate: r.rate_target as number,
    value: r[m] as number,
  }));
}

/** The SLO the runs were merged with (from the first mean row), or null. */
function runsSlo(means: MergedRow[]): Slo | null {
  return means[0]?.slo_ttft_ms != null || means[0]?.slo_tpot_ms != null
    ? {
      ttftMs: (means[0].slo_ttft_ms as number | null) ?? undefined,
      tpotMs: (means[0].slo_tpot_ms as number | null) ?? undefined,
    }
    : null;
}

/** Every pair of names, in order. */
function namePairs(names: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) pairs.push([names[i], names[j]]);
  }
  return pairs;
}

/** A name's GPUs (from its first mean row), or null. */
const gpusOf = (g: Groups, n: string) => (g.byName.get(n)![0]?.gpus as number | null) ?? null;

/**
 * Crossings per pair and compared metric (pairs and metrics without one left
 * out). Equal-budget pairs cross on the offered rate; pairs with different
 * GPU counts on the rate per GPU (`per_gpu`), never 1 GPU against 2 at equal load.
 */
function crossoverList(g: Groups, pairs: [string, string][]) {
  return pairs.flatMap((p) => {
    const [ga, gb] = [gpusOf(g, p[0]), gpusOf(g, p[1])];
    const perGpuX = ga !== gb && ga !== null && gb !== null;
    const x = (pts: Point[], n: number | null) =>
      perGpuX ? pts.map((q) => ({ rate: q.rate / n!, value: q.value })) : pts;
    return COMPARE_METRICS.map(([m, lower]) => ({
      a: p[0],
      b: p[1],
      metric: m,
      per_gpu: perGpuX,
      crossings: crossings(p, x(curve(g, p[0], m), ga), x(curve(g, p[1], m), gb), lower),
    })).filter((c) => c.crossings.length > 0);
  });
}

/** Goodput of each name: attainment recomputed from per-request rows pooled over runs. */
function goodputList(
  g: Groups,
  inputs: RunInput[],
  slo: Slo | null,
  scales: number[],
  target: number,
): TopologyGoodput[] {
  return g.names.map((n) => {
    const gpus = gpusOf(g, n);
    const ins = inputs.filter((i) => g.label(i) === n && i.rateTarget !== null);
    const at = (s: Slo, scale = 1): Point[] =>
      [...new Set(ins.map((i) => i.rateTarget as number))].map((rate) => ({
        rate,
        value: attainment(
          ins.filter((i) => i.rateTarget === rate).flatMap((i) => i.rows ?? []),
          s,
          scale,
        ),
      }));
    const curveAt = slo
      ? scales.map((s) => {
        const gp = goodputRate(at(slo, s), target);
        return {
          scale: s,
          slo_capacity: gp.rate,
          slo_capacity_per_gpu: perGpu(gp.rate, gpus),
          lower_bound: gp.atLeast,
        };
      })
      : [];
    return { topology: n, gpus, slo_scales: curveAt };
  });
}

/** Each name's measured points for the ranking: requests pooled per rate, mean output tok/s. */
function rankInputs(g: Groups, inputs: RunInput[]): RankInput[] {
  return g.names.map((n) => {
    const mean = g.byName.get(n)!;
    const ins = inputs.filter((i) =>
      g.label(i) === n && i.rateTarget !== null && Number.isFinite(i.rateTarget)
    );
    const rates = [...new Set(ins.map((i) => i.rateTarget as number))];
    return {
      topology: n,
      gpus: gpusOf(g, n),
      points: rates.map((rate) => {
        const out = mean.find((r) => r.rate_target === rate)?.output_throughput;
        return {
          rate,
          rows: ins.filter((i) => i.rateTarget === rate).flatMap((i) => i.rows ?? []),
          outputTokS: typeof out === "number" ? out : null,
        };
      }),
    };
  });
}

/** Builds compare.md text and the crossover.json object from merged rows and run inputs. */
export function compare(rows: MergedRow[], inputs: RunInput[], o: CompareOptions = {}) {
  const targetPct = o.targetPct ?? 90;
  const g = groups(rows);
  const slo: Slo | null = o.slo ?? runsSlo(g.means);
  const pairs = namePairs(g.names);
  const cross = crossoverList(g, pairs);
  const goodput = goodputList(g, inputs, slo, o.scales ?? [0.5, 1, 2], targetPct / 100);
  const unit = offeredUnit([...new Set(g.means.map((r) => r.workload))].join(", "));
  const ranking = slo ? rankTopologies(rankInputs(g, inputs), slo, targetPct / 100, unit) : null;
  // improvement of the second of a pair over the first (same convention as the Δ columns),
  // between topologies with the same GPU count only
  const sameGpus = ([a, b]: [string, string]) => gpusOf(g, a) === gpusOf(g, b);
  const turns = pairs.filter(sameGpus).map(([a, b]) =>
    turnFinding(
      [b, a],
      curve(g, b, "mean_ttft_turn2plus_ms"),
      curve(g, a, "mean_ttft_turn2plus_ms"),
    )
  ).filter((t) => t.byRate.length > 0);
  const md = [
    ...headerMd(g.names, g.byName),
    ...(ranking ? goodputMd(ranking, goodput) : []),
    ...metricTablesMd(COMPARE_METRICS, g.names, g.byName, g.means, unit),
    ...crossoversMd(cross, unit),
    ...perTurnMd(g.means),
    ...turnsMd(turns, unit),
  ];
  const json = {
    topologies: g.names,
    /** Unit of every offered rate in this file (conv/s on multi-turn workloads). */
    rate_unit: unit,
    slo: slo ? { ttft_ms: slo.ttftMs ?? null, tpot_ms: slo.tpotMs ?? null } : null,
    target_pct: targetPct,
    ranking,
    crossovers: cross,
    goodput,
    multi_turn: turns,
  };
  return { markdown: md.join("\n") + "\n", json };
}

/** Merged rows and run inputs from one merged.csv (its run dirs still on disk) or run dirs. */
async function readRows(
  positionals: string[],
  slo: Slo | null,
): Promise<{ rows: MergedRow[]; inputs: RunInput[] }> {
  if (!(positionals.length === 1 && positionals[0].endsWith(".csv"))) {
    return await mergeRuns(positionals, { slo });
  }
  const rows = await readMerged(positionals[0]);
  let inputs: RunInput[] = [];
  const dirs = [...new Set(rows.filter((r) => r.run_index !== "mean").map((r) => r.run_dir))];
  const found: string[] = [];
  for (const d of dirs) {
    try {
      await Deno.stat(d);
      found.push(d);
    } catch { /* moved away: attainment falls back to nothing */ }
  }
  if (found.length) inputs = (await mergeRuns(found, { force: true, slo })).inputs;
  if (found.length < dirs.length) {
    console.error(
      `warning: ${dirs.length - found.length} run dirs not found; goodput uses the rest`,
    );
  }
  return { rows, inputs };
}

/** The folder of a single input (a merged.csv's, or the directory itself); several need --out. */
function defaultOut(inputs: string[]): string {
  if (inputs.length > 1) {
    throw new TypeError(
      `Cannot choose one output folder for ${inputs.length} inputs: current value of --out is missing; give --out DIR`,
    );
  }
  return /\.csv$/i.test(inputs[0]) ? dirname(inputs[0]) : inputs[0];
}

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length === 0) {
    throw new TypeError(
      "Cannot use the arguments as merged.csv or run dirs: current value is none",
    );
  }
  const out = (values.out as string | undefined) ?? defaultOut(positionals);
  const slo = sloFromFlags(values);
  const targetPct = attainmentFromFlags(values)!;
  const scales = listFlag(values, "scales").map((s) => {
    const n = Number(s);
    if (!(n > 0)) throw fieldError({ field: "--scales", value: s, expected: "positive numbers" });
    return n;
  });
  const { rows, inputs } = await readRows(positionals, slo);
  const { markdown, json } = compare(rows, inputs, { slo, targetPct, scales });
  await Deno.mkdir(out, { recursive: true });
  await writeFileAtomic(join(out, "compare.md"), markdown);
  await writeJsonAtomic(join(out, "crossover.json"), json);
  const lines = findings(rows, json);
  await writeFileAtomic(join(out, "findings.md"), findingsMd(lines));
  console.log(
    `${join(out, "compare.md")}\n${join(out, "crossover.json")}\n${join(out, "findings.md")}`,
  );
  return 0;
}

if (import.meta.main) await runMain(main);
