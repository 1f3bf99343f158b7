/**
 * Reads what `deno task plot` draws from: one run directory, or an experiment
 * directory of run directories (and its `merged.csv` when present), into point
 * rows (the aggregate rows of `deno task merge`: one per run key, latency
 * percentiles from pooled requests, never averaged) plus the per-run request,
 * GPU and server-metric tables.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { parseCsv } from "../lib/csv.ts";
import { parseMergedRow } from "../lib/merged_schema.ts";
import type { RequestRow } from "../lib/result_schema.ts";
import { readRunDir, readRunRequests } from "../lib/run_dir.ts";
import { mergeInputs, type RunInput } from "../lib/run_rows.ts";
import { type ReadRun, runDirInputs } from "../lib/run_inputs.ts";
import { dropInterrupted } from "../lib/interrupted_runs.ts";

/** One cell of a point row. */
export type Cell = string | number | boolean | null;
/** One point row: merged.csv column names (`topology`, `rate_achieved`, `p99_ttft_ms`, ...). */
export type PointRow = Record<string, Cell>;

/** One run directory as read. */
export interface RunData {
  /** Absolute or given path of the run directory. */
  dir: string;
  /** Directory name without the `YYYYMMDD-HHMMSS-` prefix. */
  label: string;
  /** Topology name (summary, else config, else label). */
  topology: string;
  config: Record<string, unknown>;
  /** `summary.json` objects, one per load point / run. */
  summaries: Record<string, unknown>[];
  /** `requests.csv` rows (empty when the file is missing). */
  requests: RequestRow[];
  /** `gpu.csv` records, or null when absent. */
  gpu: Record<string, string>[] | null;
  /** `server_metrics.csv` records, or null when absent. */
  serverMetrics: Record<string, string>[] | null;
  /** `scenario.json` (a run with scenario events), or null when absent. */
  scenario: Record<string, unknown> | null;
  /** Whether the run measured the simulated engine. */
  simulated: boolean;
}

/** Everything one plot invocation draws from. */
export interface ExperimentData {
  /** Experiment name (the experiment directory's name). */
  name: string;
  dir: string;
  /** Point rows: merge's aggregate rows, one per run key. */
  rows: PointRow[];
  runs: RunData[];
  /** Whether `rows` came from `merged.csv`. */
  fromMerged: boolean;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readOptionalCsv(p: string): Promise<Record<string, string>[] | null> {
  if (!(await exists(p))) return null;
  const text = await Deno.readTextFile(p);
  return text.trim() ? parseCsv(text, p) : [];
}

/** Reads one run directory (through `lib/run_dir.ts`); throws when `summary.json` is missing. */
export async function readRunData(dir: string): Promise<{ run: RunData; read: ReadRun }> {
  const sumPath = join(dir, "summary.json");
  if (!(await exists(sumPath))) {
    throw new RangeError(
      `Cannot read ${dir} as a run directory: current value has no summary.json`,
    );
  }
  const rd = await readRunDir(dir);
  const byRun = await readRunRequests(dir);
  const first = rd.summaries[0] ?? {};
  const topology = String(first.topology || rd.config.topology || rd.label);
  const run: RunData = {
    dir,
    label: rd.label,
    topology,
    config: rd.config,
    summaries: rd.summaries,
    requests: byRun.size === 1 ? [...byRun.values()][0] : [...byRun.values()].flat(),
    gpu: await readOptionalCsv(join(dir, "gpu.csv")),
    serverMetrics: await readOptionalCsv(join(dir, "server_metrics.csv")),
    scenario: await exists(join(dir, "scenario.json"))
      ? JSON.parse(await Deno.readTextFile(join(dir, "scenario.json")))
      : null,
    simulated: rd.simulated,
  };
  return { run, read: { dir: rd, byRun } };
}

/** Reads merged.csv text into point rows (typed and checked as `lib/merged_schema.ts` reads them). */
export function parseMerged(text: string, where = "merged.csv"): PointRow[] {
  const recs = parseCsv(text, where);
  const rows: PointRow[] = recs.map((r, i) => parseMergedRow(r, `${where}:${i + 2}`));
  const means = rows.filter((r) => r.run_index === "mean");
  if (!means.length) {
    throw new RangeError(
      `Cannot read ${where} as merged.csv: current value has no run_index=mean rows (rerun deno task merge)`,
    );
  }
  return means;
}

/**
 * Reads a run directory or an experiment directory (every subdirectory holding
 * a `summary.json`); uses `merged.csv` for the point rows when the directory has one.
 */
export async function readExperiment(path: string): Promise<ExperimentData> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch {
    throw new RangeError(
      `Cannot read ${path} as a run or experiment directory: current value does not exist`,
    );
  }
  // a merged.csv names its experiment folder (its rows, the runs beside it)
  const csv = info.isFile && /\.csv$/i.test(path);
  if (!info.isDirectory && !csv) {
    throw new RangeError(
      `Cannot read ${path} as a run or experiment directory or merged.csv: current value is a file`,
    );
  }
  const dir = csv ? dirname(path) : path;
  const runDirs: string[] = [];
  if (await exists(join(dir, "summary.json"))) runDirs.push(dir);
  else {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
    for (const n of names.sort()) {
      if (await exists(join(dir, n, "summary.json"))) runDirs.push(join(dir, n));
    }
  }
  const mergedPath = csv ? path : join(dir, "merged.csv");
  const hasMerged = await exists(mergedPath);
  if (!runDirs.length && !hasMerged) {
    throw new RangeError(
      `Cannot read ${dir} as a run or experiment directory: current value has no summary.json ` +
        `in it or in its subdirectories, and no merged.csv`,
    );
  }
  let reads = await Promise.all(runDirs.map(readRunData));
  // an interrupted attempt beside its rerun is left out (as deno task merge does), with a warning
  // (rows are read for this only without merged.csv or when a summary says incomplete)
  const suspect = !hasMerged ||
    reads.some((r) =>
      r.run.summaries.length === 0 || r.run.summaries.some((s) => s.complete === false)
    );
  const inputs: RunInput[] = [];
  if (suspect) {
    for (const r of reads) {
      inputs.push(...await runDirInputs(r.run.dir, null, r.read));
    }
  }
  const kept = dropInterrupted(inputs);
  for (const w of kept.warnings) console.error(`warning: ${w}`);
  const keptDirs = new Set(kept.inputs.map((i) => i.runDir));
  reads = reads.filter((r) =>
    keptDirs.has(r.run.dir) || !inputs.some((i) => i.runDir === r.run.dir)
  );
  const runs = reads.map((r) => r.run);
  const isRun = runDirs.length === 1 && runDirs[0] === dir;
  const name = basename(isRun ? join(dir, "..") : dir);
  // without merged.csv, the same merge as `deno task merge` (pooled percentiles, never averaged)
  const rows = hasMerged
    ? parseMerged(await Deno.readTextFile(mergedPath), mergedPath)
    : mergeInputs(kept.inputs).filter((r) => r.run_index === "mean") as PointRow[];
  return { name, dir, rows, runs, fromMerged: hasMerged };
}
