/**
 * `deno task demo`: the whole pipeline on the embedded simulated engine (no GPU):
 * agg, pd (1P1D), ppd and dp(2) on a simulated H100 with the Llama-3.1-8B
 * profile, multi-turn chat W1 at a short rate sweep on each, teardown, merge,
 * compare and plot; ends with the path of `report.html` and five lines of findings.
 *
 *     deno task demo [--speed 4] [--rates 2,4,8] [--num-requests 16] [--out results]
 *
 * The experiment is `tasks/experiments/demo.yaml`; every flag of the pipeline
 * applies (`--only agg,pd`, `--no-plot`, ...).
 *
 * @module
 */
import { join } from "node:path";
import { parseFlags, runMain, usage } from "../lib/args.ts";
import { loadExperiment, ROOT } from "./_experiment.ts";
import { findings } from "./_findings.ts";
import {
  PIPELINE_FLAGS,
  type PipelineOptions,
  pipelineOptions,
  type PipelineResult,
  runPipeline,
  withSignals,
} from "./pipeline.ts";

/** The demo's experiment file. */
export const DEMO_EXPERIMENT = join(ROOT, "tasks/experiments/demo.yaml");

const FLAGS = {
  ...PIPELINE_FLAGS,
  experiment: { type: "string" as const, default: DEMO_EXPERIMENT, help: "Experiment file" },
};

/** Result of {@linkcode runDemo}: the pipeline's plus the summary lines. */
export interface DemoResult extends PipelineResult {
  findings: string[];
  /** Wall-clock seconds. */
  wallS: number;
}

/** Runs the demo experiment through the pipeline and summarizes it. */
export async function runDemo(
  o: PipelineOptions & { experiment?: string } = {},
): Promise<DemoResult> {
  const t0 = performance.now();
  const exp = await loadExperiment(o.experiment ?? DEMO_EXPERIMENT);
  const res = await runPipeline(exp, o);
  const cmp = exp.plots.compare ?? ["ppd", "pd"];
  return {
    ...res,
    findings: findings(res.rows, res.crossover, cmp[0], cmp[1]),
    wallS: (performance.now() - t0) / 1000,
  };
}

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) {
    console.log(
      usage("deno task demo", "agg vs pd vs ppd vs dp on the simulated engine, end to end.", FLAGS),
    );
    return 0;
  }
  console.error(
    "topobench demo: agg, pd (1P1D), ppd, dp(2) on the SIMULATED engine (H100 x Llama-3.1-8B)",
  );
  const res = await withSignals((signal) =>
    runDemo({ ...pipelineOptions(values), experiment: values.experiment as string, signal })
  );
  console.log(`\nReport: ${res.report ?? "(not drawn: --no-plot)"}`);
  console.log(`Tables: ${res.compareMd}, ${res.mergedCsv}`);
  console.log(`\nFindings (simulated engine, ${res.wallS.toFixed(0)} s):`);
  for (const l of res.findings) console.log(`- ${l}`);
  return 0;
}

if (import.meta.main) await runMain(main);
