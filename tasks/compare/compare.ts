/**
 * `deno task compare merged.csv --out DIR` (or run dirs / globs instead of a
 * merged.csv): two or more topologies over the same rates to `DIR/compare.md`
 * (a table per metric, deltas against the first topology, whether each delta
 * exceeds run-to-run noise: 95% intervals not overlapping) and `DIR/crossover.json`
 * (crossing rates per topology pair and metric, goodput per GPU for an SLO and
 * its scales, turn-2+ TTFT findings).
 *
 *     deno task compare results/exp/merged.csv --out results/exp/compare \
 *       [--slo ttft:500,tpot:50] [--target 90] [--scales 0.5,1,2]
 *
 * @module
 */
import { turnList } from "../../lib/merged_schema.ts";
import { join } from "node:path";
import { listFlag, numberFlag, parseFlags, runMain, usage } from "../../lib/args.ts";
import { fieldError } from "../../lib/errors.ts";
import { type MergedRow, readMerged } from "../../lib/merged_schema.ts";
import {
  attainment,
  beyondNoise,
  goodputRate,
  improvementPct,
  perGpu,
  type Slo,
  SLO_FLAGS,
  sloFromFlags,
} from "../../lib/metrics.ts";
import type { RunInput } from "../../lib/run_rows.ts";
import { mergeRuns } from "../merge/merge.ts";
import { crossings, type Point, turnFinding } from "./_crossover.ts";
import { findings, findingsMd } from "./_findings.ts";
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
  target: {
    type: "string" as const,
    default: "90",
    aliases: ["atta-target"],
    help: "SLO attainment target (%)",
  },
  scales: {
    type: "string" as const,
    default: "0.5,1,2",
    help: "SLO scales for the SLO-scale curve",
  },
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

const f = (x: unknown, d = 2) => (typeof x === "number" && Number.isFinite(x) ? x.toFixed(d) : "–");

/** Builds compare.md text and the crossover.json object from merged rows and run inputs. */
export function compare(rows: MergedRow[], inputs: RunInput[], o: CompareOptions = {}) {
  const target = (o.targetPct ?? 90) / 100;
  const scales = o.scales ?? [0.5, 1, 2];
  const means = rows.filter((r) => r.run_index === "mean" && r.rate_target !== null);
  const multiWorkload = new Set(means.map((r) => r.workload)).size > 1;
  const label = (r: { topology: string; workload: string }) =>
    multiWorkload ? `${r.topology}/${r.workload}` : r.topology;
  const names = [...new Set(means.map(label))];
  const byName = new Map(names.map((n) => [n, means.filter((r) => label(r) === n)]));
  const curve = (n: string, m: string): Point[] =>
    byName.get(n)!.filter((r) => typeof r[m] === "number").map((r) => ({
      rate: r.rate_target as number,
      value: r[m] as number,
    }));
  const slo: Slo | null = o.slo ??
    (means[0]?.slo_ttft_ms != null || means[0]?.slo_tpot_ms != null
      ? {
        ttftMs: (means[0].slo_ttft_ms as number | null) ?? undefined,
        tpotMs: (means[0].slo_tpot_ms as number | null) ?? undefined,
      }
      : null);
  const md: string[] = [`# Comparison: ${names.join(" vs ")}`, ""];
  md.push(
    `Mean over runs ± 95% CI half-width. Δ is the improvement over **${names[0]}** in percent of`,
    `${
      names[0]
    }'s value, **positive = better** (lower latency, higher throughput); "beyond noise" is`,
    "yes when the two 95% intervals do not overlap, no when they do, n/a with a single run.",
    `GPUs: ${
      names.map((n) => `${n} ${byName.get(n)![0]?.gpus ?? "?"}`).join(", ")
    } (throughputs here are per topology; goodput below is also per GPU).`,
    "",
  );
  const rates = [...new Set(means.map((r) => r.rate_target as number))].sort((a, b) => a - b);
  for (const [m, lower] of COMPARE_METRICS) {
    if (!means.some((r) => typeof r[m] === "number")) continue;
    md.push(`## ${m} (${lower ? "lower" : "higher"} is better)`, "");
    const head = ["rate", ...names.map((n) => n)];
    for (const n of names.slice(1)) head.push(`Δ ${n}`, `beyond noise`);
    md.push(`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`);
    for (const rate of rates) {
      const at = names.map((n) => byName.get(n)!.find((r) => r.rate_target === rate));
      const cells = [rate === Infinity ? "inf" : String(rate)];
      for (const r of at) {
        const h = r?.[`${m}_ci95`];
        cells.push(
          r && typeof r[m] === "number"
            ? `${f(r[m])}${typeof h === "number" ? ` ± ${f(h)}` : ""}`
            : "–",
        );
      }
      const base = at[0];
      for (const r of at.slice(1)) {
        const a = base?.[m], b = r?.[m];
        if (typeof a !== "number" || typeof b !== "number") {
          cells.push("–", "–");
          continue;
        }
        const imp = improvementPct(a, b, lower);
        cells.push(imp === null ? "–" : `${imp >= 0 ? "+" : ""}${f(imp, 1)}%`);
        const nb = beyondNoise(
          a,
          base![`${m}_ci95`] as number | null,
          b,
          r![`${m}_ci95`] as number | null,
        );
        cells.push(nb === null ? "n/a" : nb ? "yes" : "no");
      }
      md.push(`| ${cells.join(" | ")} |`);
    }
    md.push("");
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) pairs.push([names[i], names[j]]);
  }
  const cross = pairs.flatMap((p) =>
    COMPARE_METRICS.map(([m, lower]) => ({
      a: p[0],
      b: p[1],
      metric: m,
      crossings: crossings(p, curve(p[0], m), curve(p[1], m), lower),
    })).filter((c) => c.crossings.length > 0)
  );
  // goodput: attainment recomputed from per-request rows pooled over runs
  const goodput = names.map((n) => {
    const gpus = (byName.get(n)![0]?.gpus as number | null) ?? null;
    const ins = inputs.filter((i) => label(i) === n && i.rateTarget !== null);
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
        const g = goodputRate(at(slo, s), target);
        return {
          scale: s,
          goodput_rps: g.rate,
          goodput_per_gpu: perGpu(g.rate, gpus),
          at_least: g.atLeast,
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
  // improvement of the second of a pair over the first (same convention as the Δ columns)
  const turns = pairs.map(([a, b]) =>
    turnFinding([b, a], curve(b, "mean_ttft_turn2plus_ms"), curve(a, "mean_ttft_turn2plus_ms"))
  ).filter((t) => t.byRate.length > 0);
  if (slo) {
    md.push(`## Goodput (attainment ≥ ${o.targetPct ?? 90}% of requests within SLO)`, "");
    md.push(
      `SLO: ${slo.ttftMs !== undefined ? `TTFT ≤ ${slo.ttftMs} ms` : ""}${
        slo.ttftMs !== undefined && slo.tpotMs !== undefined ? ", " : ""
      }${slo.tpotMs !== undefined ? `TPOT ≤ ${slo.tpotMs} ms` : ""}`,
      "",
    );
    md.push("| topology | GPUs | goodput (req/s) | per GPU |", "|---|---|---|---|");
    for (const g of goodput) {
      md.push(
        `| ${g.topology} | ${g.gpus ?? "?"} | ${g.at_least ? "≥ " : ""}${f(g.goodput_rps)} | ${
          f(g.goodput_per_gpu)
        } |`,
      );
    }
    md.push("");
  }
  if (cross.length) {
    md.push("## Crossovers", "");
    for (const c of cross) {
      for (const x of c.crossings) {
        md.push(
          `- ${c.metric}: ${x.betterBefore} better below ${
            f(x.rate)
          } req/s, ${x.betterAfter} above`,
        );
      }
    }
    md.push("");
  }
  // multi-turn: mean TTFT and cumulative conversation latency per turn, each point
  const perTurn = means.filter((r) => turnList(r.ttft_by_turn_ms).length > 1);
  if (perTurn.length) {
    const T = Math.max(...perTurn.map((r) => turnList(r.ttft_by_turn_ms).length));
    const cols = Array.from({ length: T }, (_, i) => `turn ${i + 1}`);
    md.push(
      "## Per turn (mean TTFT, ms; last column: mean cumulative conversation latency, ms)",
      "",
    );
    md.push(`| topology | rate | ${cols.join(" | ")} | cumulative |`);
    md.push(`|---|---|${cols.map(() => "---").join("|")}|---|`);
    for (
      const r of perTurn.sort((a, b) =>
        String(a.topology).localeCompare(String(b.topology)) ||
        (a.rate_target as number) - (b.rate_target as number)
      )
    ) {
      const t = turnList(r.ttft_by_turn_ms);
      const cum = turnList(r.cum_e2el_by_turn_ms);
      md.push(
        `| ${r.topology} | ${r.load_point} | ${cols.map((_, i) => f(t[i] ?? null)).join(" | ")} | ${
          f(cum.at(-1) ?? null)
        } |`,
      );
    }
    md.push("");
  }
  for (const t of turns) {
    md.push(
      `Turn-2+ mean TTFT, improvement of ${t.a} over ${t.b} (positive = ${t.a} faster): ${
        t.byRate.map((x) => `${f(x.improvementPct, 1)}% at ${x.rate}`).join(", ")
      } req/s.`,
    );
  }
  const json = {
    topologies: names,
    slo: slo ? { ttft_ms: slo.ttftMs ?? null, tpot_ms: slo.tpotMs ?? null } : null,
    target_pct: o.targetPct ?? 90,
    crossovers: cross,
    goodput,
    multi_turn: turns,
  };
  return { markdown: md.join("\n") + "\n", json };
}

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, { allowPositionals: true });
  if (values.help) {
    console.log(usage("deno task compare <merged.csv|run dirs...>", "Compare topologies.", FLAGS));
    return 0;
  }
  const out = values.out as string | undefined;
  if (!out) throw new TypeError("Cannot use --out as an output folder: current value is missing");
  if (positionals.length === 0) {
    throw new TypeError(
      "Cannot use the arguments as merged.csv or run dirs: current value is none",
    );
  }
  const slo = sloFromFlags(values);
  const targetPct = numberFlag(values, "target", { min: 0, max: 100 })!;
  const scales = listFlag(values, "scales").map((s) => {
    const n = Number(s);
    if (!(n > 0)) throw fieldError({ field: "--scales", value: s, expected: "positive numbers" });
    return n;
  });
  let rows: MergedRow[];
  let inputs: RunInput[] = [];
  if (positionals.length === 1 && positionals[0].endsWith(".csv")) {
    rows = await readMerged(positionals[0]);
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
  } else {
    ({ rows, inputs } = await mergeRuns(positionals, { slo }));
  }
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
