/**
 * `deno task plot`: figures and the HTML report of a run or experiment directory.
 *
 *     deno task plot results/exp [--only latency_ttft,cdf_ttft] [--format png,svg]
 *       [--out DIR] [--log-y] [--compare A,B] [--slo ttft:500,tpot:50] [--attainment 90]
 *
 * Writes `DIR/plots/<figure>.png|svg` and `DIR/report.html` (DIR defaults to the
 * input directory) and prints one line per figure, `skipped <name>: <why>` for
 * those without data.
 *
 * @module
 */
import { join } from "node:path";
import { type CommandHelp, listFlag, numberFlag, parseCommand, runMain } from "../lib/args.ts";
import { buildFigures, type Figure, type FigureOptions } from "./_figures.ts";
import { type ExperimentData, readExperiment } from "./_runs.ts";
import { specToSvg } from "./render.ts";
import { legendOfDrawn } from "./_legend_values.ts";
import { PngPool } from "./_png_pool.ts";
import { buildReport, type ReportFigure } from "./report.ts";
import { ATTAINMENT_FLAG, attainmentFromFlags, SLO_FLAGS, sloFromFlags } from "../lib/metrics.ts";
import { writeFileAtomic } from "../lib/write_file.ts";

const FLAGS = {
  only: { type: "string" as const, help: "Comma-separated figure names or name prefixes" },
  format: { type: "string" as const, default: "png,svg", help: "Comma-separated: png, svg" },
  out: { type: "string" as const, help: "Output folder (default: the input directory)" },
  "log-y": { type: "boolean" as const, default: false, help: "Log-scale latency axes" },
  compare: { type: "string" as const, help: "Topologies A,B of the ratio figures" },
  ...SLO_FLAGS,
  ...ATTAINMENT_FLAG,
  scale: { type: "string" as const, default: "2", help: "PNG pixel scale" },
};

const HELP: CommandHelp = {
  cmd: "deno task plot <run-or-experiment-dir>",
  summary: "Figures (plots/*.png|svg) and report.html of a run or experiment directory.",
};

/** Result of {@linkcode plot}. */
export interface PlotResult {
  /** Files written (figures, then report.html). */
  files: string[];
  /** Names of skipped figures with the reason. */
  skipped: { name: string; reason: string }[];
  report: string;
}

/** Options of {@linkcode plot}. */
export interface PlotOptions extends FigureOptions {
  /** Figure names or prefixes to keep. @default all */
  only?: string[];
  /** Image formats. @default ["png", "svg"] */
  formats?: ("png" | "svg")[];
  /** Output folder. @default the input directory */
  out?: string;
  /** PNG pixel scale. @default 2 */
  scale?: number;
  /** Workers rasterizing PNGs beside this thread. @default the core count, 1 to 4 */
  workers?: number;
  /** Called with one line per figure. */
  log?: (line: string) => void;
}

/** Builds, renders and writes every figure of `dir` and its report. */
export async function plot(dir: string, o: PlotOptions = {}): Promise<PlotResult> {
  // PNG workers start first: they load while the runs are read
  const pool = (o.formats ?? ["png"]).includes("png") ? new PngPool(o.workers) : null;
  try {
    return await plotWith(dir, o, pool);
  } finally {
    pool?.close();
  }
}

/** The figures of `data`, only those `--only` names when given. */
function selectFigures(data: ExperimentData, o: PlotOptions): Figure[] {
  const figs = buildFigures(data, o);
  if (!o.only?.length) return figs;
  const picked = figs.filter((f) => o.only!.some((n) => f.name === n || f.name.startsWith(n)));
  if (!picked.length) {
    throw new RangeError(
      `Cannot use --only as figure names: current value is ${o.only.join(",")} (known: ${
        buildFigures(data, o).map((f) => f.name).join(", ")
      })`,
    );
  }
  return picked;
}

/**
 * Writes each figure's SVG (and PNG through `pool`) under `out/plots`; returns
 * the files, the skipped figures and the report's figure list, in figure order.
 */
async function renderFigures(
  figs: Figure[],
  out: string,
  o: PlotOptions,
  pool: PngPool | null,
) {
  const formats = o.formats ?? ["png", "svg"];
  const log = o.log ?? (() => {});
  const files: string[] = [];
  const skipped: PlotResult["skipped"] = [];
  const report: ReportFigure[] = [];
  // PNGs rasterize in workers while this thread builds the next figure's SVG
  const jobs: Promise<void>[] = [];
  let failed: unknown = null;
  for (const f of figs) {
    if ("skip" in f.result) {
      skipped.push({ name: f.name, reason: f.result.skip });
      report.push({ name: f.name, skip: f.result.skip });
      log(`skipped ${f.name}: ${f.result.skip}`);
      continue;
    }
    const spec = legendOfDrawn(f.result.spec);
    const svg = await specToSvg(spec);
    if (formats.includes("svg")) {
      const p = join(out, "plots", `${f.name}.svg`);
      await writeFileAtomic(p, svg);
      files.push(p);
    }
    if (pool) {
      const p = join(out, "plots", `${f.name}.png`);
      const name = f.name;
      jobs.push(
        pool.render(svg, o.scale ?? 2)
          .then((png) => writeFileAtomic(p, png))
          .then(() => log(`wrote ${name}`))
          .catch((e) => void (failed ??= e)),
      );
      files.push(p);
    } else log(`wrote ${f.name}`);
    report.push({ name: f.name, svg, spec });
  }
  await pool?.finish();
  await Promise.all(jobs);
  if (failed) throw failed;
  return { files, skipped, report };
}

async function plotWith(dir: string, o: PlotOptions, pool: PngPool | null): Promise<PlotResult> {
  const data = await readExperiment(dir);
  const out = o.out ?? data.dir;
  const text = (f: string) => Deno.readTextFile(join(data.dir, f)).catch(() => null);
  // the comparison's ranking record, so figures and findings.md read the same numbers
  const cross = o.ranking === undefined && !o.slo ? await text("crossover.json") : null;
  const ranking = o.ranking ?? (cross ? JSON.parse(cross).ranking ?? null : null);
  const figs = selectFigures(data, { ...o, ranking });
  await Deno.mkdir(join(out, "plots"), { recursive: true });
  const { files, skipped, report } = await renderFigures(figs, out, o, pool);
  const reportPath = join(out, "report.html");
  await writeFileAtomic(
    reportPath,
    buildReport(data, report, {
      planMd: await text("plan.md"),
      findingsMd: await text("findings.md"),
      compareMd: await text("compare.md"),
    }),
  );
  files.push(reportPath);
  return { files, skipped, report: reportPath };
}

/** CLI entry. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new RangeError(
      `Cannot use the arguments as one run or experiment directory: current value is ${
        JSON.stringify(positionals)
      }`,
    );
  }
  const formats = listFlag(values, "format");
  for (const f of formats) {
    if (f !== "png" && f !== "svg") {
      throw new RangeError(`Cannot use --format as png and/or svg: current value is "${f}"`);
    }
  }
  const compare = listFlag(values, "compare");
  if (compare.length && compare.length !== 2) {
    throw new RangeError(`Cannot use --compare as two topologies A,B: current value is ${compare}`);
  }
  const res = await plot(positionals[0], {
    only: listFlag(values, "only"),
    formats: formats as ("png" | "svg")[],
    out: typeof values.out === "string" ? values.out : undefined,
    logY: values["log-y"] === true,
    compare: compare.length ? [compare[0], compare[1]] : undefined,
    slo: sloFromFlags(values) ?? undefined,
    sloTarget: attainmentFromFlags(values)! / 100,
    scale: numberFlag(values, "scale", { min: 0.25, max: 8 }),
    log: (l) => console.log(l),
  });
  console.log(res.report);
  return 0;
}

if (import.meta.main) await runMain(main);
