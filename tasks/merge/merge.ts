/**
 * `deno task merge <run dirs | globs | vllm, GuideLLM json | AIPerf jsonl...> --out merged.csv`: one row per
 * (topology, workload, load point, run) recomputed from per-request rows, plus a
 * `run_index = mean` row with 95% confidence half-widths per (topology, workload,
 * load point). Columns: `lib/merged_schema.ts`.
 *
 *     deno task merge 'results/exp/*' --out results/exp/merged.csv [--topology a,b]
 *       [--workload w] [--slo ttft:500,tpot:50] [--force]
 *
 * @module
 */
import { dirname } from "node:path";
import { type CommandHelp, listFlag, parseCommand, runMain } from "../../lib/args.ts";
import { type Slo, SLO_FLAGS, sloFromFlags } from "../../lib/metrics.ts";
import { MERGED_COLUMNS, mergedCell, type MergedRow } from "../../lib/merged_schema.ts";
import { mergeInputs, type RunInput } from "../../lib/run_rows.ts";
import { inputsOf, resolveInputs } from "../../lib/run_inputs.ts";
import { writeFileAtomic } from "../../lib/write_file.ts";
import { dropInterrupted } from "../../lib/interrupted_runs.ts";

const FLAGS = {
  out: { type: "string" as const, help: "Output merged.csv path" },
  topology: { type: "string" as const, help: "Keep these topologies (comma-separated)" },
  workload: { type: "string" as const, help: "Keep these workloads (comma-separated)" },
  ...SLO_FLAGS,
  force: {
    type: "boolean" as const,
    default: false,
    help: "Pool repeats of one key even when their GPUs, engine or source differ",
  },
};
const HELP: CommandHelp = {
  cmd: "deno task merge <run dirs|globs|json...>",
  summary: "Run dirs to merged.csv.",
};

/** Options of {@linkcode mergeRuns}. */
export interface MergeOptions {
  /** Keep only these topologies. @default all */
  topologies?: string[];
  /** Keep only these workloads. @default all */
  workloads?: string[];
  /** SLO overriding the runs' own. @default null */
  slo?: Slo | null;
  /** Pool repeats even when their GPUs, engine or source differ. @default false */
  force?: boolean;
}

/** Reads the inputs and returns per-run rows plus aggregate rows, sorted. */
export async function mergeRuns(
  args: string[],
  o: MergeOptions = {},
): Promise<{ rows: MergedRow[]; inputs: RunInput[]; warnings: string[] }> {
  const paths = await resolveInputs(args);
  let inputs: RunInput[] = [];
  for (const p of paths) inputs.push(...await inputsOf(p, o.slo ?? null));
  if (o.topologies?.length) inputs = inputs.filter((i) => o.topologies!.includes(i.topology));
  // a workload filter names a label (`multiturn W1 t3`) or a dataset (`multiturn`)
  if (o.workloads?.length) {
    inputs = inputs.filter((i) =>
      o.workloads!.some((w) => i.workload === w || i.workload.startsWith(`${w} `))
    );
  }
  const kept = dropInterrupted(inputs); // an interrupted attempt never pools with its rerun
  inputs = kept.inputs;
  // runs that say they sent requests but have no rows: a header-only or unreadable file
  const warnings = kept.warnings.concat(
    inputs.filter((i) =>
      i.source === "topobench" && !i.rows &&
      Number(i.summary.num_prompts ?? i.summary.sent ?? 0) > 0
    ).map((i) =>
      `${i.runDir}: requests.csv has no rows for run ${i.runId} (summary says ${
        i.summary.num_prompts ?? i.summary.sent
      } sent); its values come from summary.json`
    ),
  );
  return { rows: mergeInputs(inputs, { force: o.force }), inputs, warnings };
}

/** Writes rows as `merged.csv`. */
export async function writeMerged(path: string, rows: MergedRow[]): Promise<void> {
  const esc = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  const lines = [MERGED_COLUMNS.join(",")];
  for (const r of rows) lines.push(MERGED_COLUMNS.map((c) => esc(mergedCell(r[c]))).join(","));
  await Deno.mkdir(dirname(path) || ".", { recursive: true });
  await writeFileAtomic(path, lines.join("\n") + "\n");
}

/** Runs the CLI. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const out = values.out as string | undefined;
  if (!out) throw new TypeError("Cannot use --out as an output path: current value is missing");
  if (positionals.length === 0) {
    throw new TypeError("Cannot use the arguments as merge inputs: current value is none");
  }
  const { rows, inputs, warnings } = await mergeRuns(positionals, {
    topologies: listFlag(values, "topology"),
    workloads: listFlag(values, "workload"),
    slo: sloFromFlags(values),
    force: values.force as boolean,
  });
  if (inputs.length === 0) {
    throw new RangeError(
      `Cannot merge ${positionals.join(" ")} as runs: current value holds no runs after filters`,
    );
  }
  for (const w of warnings) console.error(`warning: ${w}`);
  await writeMerged(out, rows);
  const groups = rows.filter((r) => r.run_index === "mean").length;
  console.log(`${out}: ${inputs.length} runs, ${groups} load points`);
  return 0;
}

if (import.meta.main) await runMain(main);
