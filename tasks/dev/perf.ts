/**
 * `deno task perf`: the performance harness. Each entry measures one figure on
 * this machine and prints it as a table row (and JSON with `--json`).
 *
 *     deno task perf [--only sim,...] [--seconds 10] [--json]
 *
 * `--only predict-fast` runs only the loop-speed part of `predict` (issue 29's
 * simulated-per-wall figures, about a minute).
 *
 * @module
 */
import { type CommandHelp, listFlag, numberFlag, parseCommand, runMain } from "../../lib/args.ts";
import { simThroughput } from "./perf/sim_throughput.ts";
import { benchRate } from "./perf/bench_rate.ts";
import { routerOverhead } from "./perf/router_overhead.ts";
import { plotRender } from "./perf/plot_render.ts";
import { parseMerge } from "./perf/parse_merge.ts";
import { predictFast, predictSpeed } from "./perf/predict_speed.ts";
import { peers } from "./perf/peers.ts";
import { planSpeed } from "./perf/plan_speed.ts";

/** One measured figure. */
export interface PerfResult {
  entry: string;
  metric: string;
  value: number;
  unit: string;
  note: string;
}

const ENTRIES: Record<string, (seconds: number) => Promise<PerfResult[]>> = {
  sim: simThroughput,
  bench: benchRate,
  router: routerOverhead,
  plot: plotRender,
  parse: parseMerge,
  predict: predictSpeed,
  "predict-fast": predictFast,
  plan: planSpeed,
  peers,
};

/** Entries that are a part of another's figures: run only when named in --only. */
const PARTS = new Set(["predict-fast"]);

const FLAGS = {
  only: {
    type: "string" as const,
    help: `Comma-separated entries: ${Object.keys(ENTRIES).join(", ")}`,
  },
  seconds: { type: "string" as const, default: "10", help: "Measuring time per entry" },
  json: { type: "boolean" as const, default: false, help: "Print JSON lines instead of a table" },
};

const HELP: CommandHelp = {
  cmd: "deno task perf",
  summary: "Performance harness: figures for README tables.",
};

/** Runs the chosen entries and prints their figures. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const seconds = numberFlag(values, "seconds", { min: 1, max: 600 })!;
  const only = listFlag(values, "only");
  for (const name of only) {
    if (!(name in ENTRIES)) {
      throw new RangeError(
        `Cannot use --only as one of ${
          Object.keys(ENTRIES).join(", ")
        }: current value is "${name}"`,
      );
    }
  }
  const chosen = only.length ? only : Object.keys(ENTRIES).filter((n) => !PARTS.has(n));
  for (const name of chosen) {
    for (const r of await ENTRIES[name](seconds)) {
      console.log(
        values.json
          ? JSON.stringify(r)
          : `${r.entry.padEnd(6)} ${r.metric.padEnd(44)} ${r.value.toFixed(2).padStart(10)} ${
            r.unit.padEnd(8)
          } ${r.note}`,
      );
    }
  }
  return 0;
}

if (import.meta.main) await runMain(main);
