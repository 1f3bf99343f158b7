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
import { parseRequestRow, type RequestRow } from "../lib/result_schema.ts";
import { mergeInputs, type RunInput } from "../lib/run_rows.ts";
import { runDirInputs } from "../lib/run_inputs.ts";

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

const TS_PREFIX = /^\d{8}-\d{6}-(\d{8}T\d{6}-)?/;

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

/** Whether a run used the simulated engine: an explicit flag, else names that say `sim`. */
export function isSimulated(config: Record<string, unknown>, names: string[]): boolean {
  for (const k of ["simulated", "engine", "server_version"]) {
    const v = config[k];
    if (typeof v === "boolean") return v;
    if (typeof v === "string" && v) return /sim/i.test(v);
  }
  return names.some((n) => /(^|[-_.])sim($|[-_.])/i.test(n));
}

/** Reads one run directory; throws when `summary.json` is missing or not a JSON list. */
export async function readRunDir(dir: string): Promise<RunData> {
  const sumPath = join(dir, "summary.json");
  let summaries: unknown;
  try {
    summaries = JSON.parse(await Deno.readTextFile(sumPath));
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${sumPath} as a run summary: current value is invalid (${
        e instanceof Error ? e.message : e
      })`,
    );
  }
  if (!Array.isArray(summaries)) {
    throw new TypeError(
      `Cannot read ${sumPath} as a JSON list of load points: current value is ${typeof summaries}`,
    );
  }
  const config = (await exists(join(dir, "config.json")))
    ? JSON.parse(await Deno.readTextFile(join(dir, "config.json")))
    : {};
  const label = basename(dir).replace(TS_PREFIX, "");
  const first = (summaries[0] ?? {}) as Record<string, unknown>;
  const topology = String(first.topology || config.topology || label);
  const reqRecs = await readOptionalCsv(join(dir, "requests.csv"));
  const requests = (reqRecs ?? []).map((r) => parseRequestRow(r, join(dir, "requests.csv")));
  return {
    dir,
    label,
    topology,
    config,
    summaries: summaries as Record<string, unknown>[],
    requests,
    gpu: await readOptionalCsv(join(dir, "gpu.csv")),
    serverMetrics: await readOptionalCsv(join(dir, "server_metrics.csv")),
    simulated: isSimulated(config, [label, topology]),
  };
}

/** Reads merged.csv text into point rows (numeric-looking cells become numbers). */
export function parseMerged(text: string, where = "merged.csv"): PointRow[] {
  const recs = parseCsv(text, where);
  const rows = recs.map((r) => {
    const row: PointRow = {};
    for (const [k, v] of Object.entries(r)) {
      row[k] = v === ""
        ? null
        : v === "true" || v === "false"
        ? v === "true"
        : /^-?[\d.]+(e[-+]?\d+)?$/i.test(v) && k !== "load_point" && k !== "run_index"
        ? Number(v)
        : v;
    }
    return row;
  });
  const means = rows.filter((r) => r.run_index === "mean");
  if (!means.length) {
    throw new RangeError(
      `Cannot read ${where} as merged.csv: current value has no run_index=mean rows (rerun deno task merge)`,
    );
  }
  return means;
}

/** Aggregate rows of run directories, through `lib/run_rows.ts` (as `deno task merge`). */
async function mergedPoints(runDirs: string[]): Promise<PointRow[]> {
  const inputs: RunInput[] = [];
  for (const d of runDirs) inputs.push(...await runDirInputs(d, null));
  return mergeInputs(inputs).filter((r) => r.run_index === "mean") as PointRow[];
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
  const runs = await Promise.all(runDirs.map(readRunDir));
  const isRun = runDirs.length === 1 && runDirs[0] === dir;
  const name = basename(isRun ? join(dir, "..") : dir);
  // without merged.csv, the same merge as `deno task merge` (pooled percentiles, never averaged)
  const rows = hasMerged
    ? parseMerged(await Deno.readTextFile(mergedPath), mergedPath)
    : await mergedPoints(runDirs);
  return { name, dir, rows, runs, fromMerged: hasMerged };
}
