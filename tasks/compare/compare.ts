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
import { join } from "node:path";
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
  out: { type: "string" as const, help: "Output folder for compare.md and crossover.json" },
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

/** Goodput of one topology in `crossover.json`. */
export interface TopologyGoodput {
  topology: string;
  gpus: number | null;
  /** Attainment (0..1) per rate for the SLO at scale 1. */
  attainment_by_rate: Point[];
  /** Goodput (req/s) at scale 1, or null without an SLO. */
  goodput_rps: number | null;
  goodput_per_gpu: number | null;
  at_least: boolean | null;
  slo_scales: {
    scale: number;
    goodput_rps: number;
    goodput_per_gpu: number | null;
    at_least: boolean;
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

/** Metric `m` of name `n` over rate. */
function curve(g: Groups, n: string, m: string): Point[] {
  return g.byName.get(n)!.filter((r) => typeof r[m] === "number").map((r) => ({
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

/** Crossings per pair and compared metric (pairs and metrics without one left out). */
function crossoverList(g: Groups, pairs: [string, string][]) {
  return pairs.flatMap((p) =>
    COMPARE_METRICS.map(([m, lower]) => ({
      a: p[0],
      b: p[1],
      metric: m,
      crossings: crossings(p, curve(g, p[0], m), curve(g, p[1], m), lower),
    })).filter((c) => c.crossings.length > 0)
  );
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
    const gpus = (g.byName.get(n)![0]?.gpus as number | null) ?? null;
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
          goodput_rps: gp.rate,
          goodput_per_gpu: perGpu(gp.rate, gpus),
          at_least: gp.atLeast,
        };
      })
      : [];
    const g1 = curveAt.find((c) => c.scale === 1) ?? null;
    return {
      topology: n,
      gpus,
      attainment_by_rate: slo ? at(slo).sort((a, b) => a.rate - b.rate) : [],
      goodput_rps: g1?.goodput_rps ?? null,
      goodput_per_gpu: g1?.goodput_per_gpu ?? null,
      at_least: g1?.at_least ?? null,
      slo_scales: curveAt,
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
  // improvement of the second of a pair over the first (same convention as the Δ columns)
  const turns = pairs.map(([a, b]) =>
    turnFinding(
      [b, a],
      curve(g, b, "mean_ttft_turn2plus_ms"),
      curve(g, a, "mean_ttft_turn2plus_ms"),
    )
  ).filter((t) => t.byRate.length > 0);
  const md = [
    ...headerMd(g.names, g.byName),
    ...metricTablesMd(COMPARE_METRICS, g.names, g.byName, g.means),
    ...(slo ? goodputMd(slo, targetPct, goodput) : []),
    ...crossoversMd(cross),
    ...perTurnMd(g.means),
    ...turnsMd(turns),
  ];
  const json = {
    topologies: g.names,
    slo: slo ? { ttft_ms: slo.ttftMs ?? null, tpot_ms: slo.tpotMs ?? null } : null,
    target_pct: targetPct,
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

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const out = values.out as string | undefined;
  if (!out) throw new TypeError("Cannot use --out as an output folder: current value is missing");
  if (positionals.length === 0) {
    throw new TypeError(
      "Cannot use the arguments as merged.csv or run dirs: current value is none",
    );
  }
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
