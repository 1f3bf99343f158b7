/**
 * Reads what `deno task plot` draws from: one run directory, or an experiment
 * directory of run directories (and its `merged.csv` when present), into point
 * rows (one per topology × workload × load point, repeated runs averaged) plus
 * the per-run request, GPU and server-metric tables.
 *
 * @module
 */
import { basename, join } from "node:path";
import { parseCsv } from "../lib/csv.ts";
import { parseRequestRow, type RequestRow } from "../lib/result_schema.ts";

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
  /** Point rows, one per topology × workload × load point (means over repeated runs). */
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

const num = (v: unknown): number | null => typeof v === "number" && Number.isFinite(v) ? v : null;

/** Point rows of one run (one per summary object), in merged.csv column names. */
export function runRows(run: RunData, experiment: string): PointRow[] {
  return run.summaries.map((s) => {
    const row: PointRow = {
      experiment,
      topology: run.topology,
      workload: String(s.workload ?? ""),
      model: String(s.model_id ?? run.config.model ?? ""),
      gpus: num(s.gpus),
      load_point: String(s.load_point ?? s.rate_target ?? ""),
      run_index: String(s.run_index ?? 1),
      rate_target: num(s.rate_target),
      max_concurrency: num(s.max_concurrency),
      mean_input_tokens: num(s.total_input_tokens) !== null && num(s.completed)
        ? (s.total_input_tokens as number) / (s.completed as number)
        : null,
      simulated: run.simulated,
      slo_ttft_ms: num((s.slo as Record<string, unknown> | null)?.ttft_ms),
      slo_tpot_ms: num((s.slo as Record<string, unknown> | null)?.tpot_ms),
    };
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === "number" && !(k in row)) row[k] = v;
    }
    const turns = (s.ttft_by_turn ?? {}) as Record<string, { count: number; mean_ms: number }>;
    const t1 = turns["1"];
    row.mean_ttft_turn1_ms = t1 ? t1.mean_ms : null;
    let n = 0, sum = 0;
    for (const [t, v] of Object.entries(turns)) {
      if (Number(t) >= 2 && v.count > 0) (n += v.count, sum += v.mean_ms * v.count);
    }
    row.mean_ttft_turn2plus_ms = n ? sum / n : null;
    return row;
  });
}

/** Averages repeated runs of the same topology × workload × load point (numbers only). */
export function meanRows(rows: PointRow[]): PointRow[] {
  const groups = new Map<string, PointRow[]>();
  for (const r of rows) {
    const k = `${r.topology}\u0000${r.workload}\u0000${r.load_point}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return [...groups.values()].map((g) => {
    if (g.length === 1) return g[0];
    const out: PointRow = { ...g[0], run_index: "mean" };
    for (const k of Object.keys(g[0])) {
      const xs = g.map((r) => r[k]).filter((v): v is number => typeof v === "number");
      if (xs.length && typeof g[0][k] === "number") out[k] = xs.reduce((a, b) => a + b) / xs.length;
    }
    return out;
  });
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
  return means.length ? means : meanRows(rows);
}

/**
 * Reads a run directory or an experiment directory (every subdirectory holding
 * a `summary.json`); uses `merged.csv` for the point rows when the directory has one.
 */
export async function readExperiment(dir: string): Promise<ExperimentData> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch {
    throw new RangeError(
      `Cannot read ${dir} as a run or experiment directory: current value does not exist`,
    );
  }
  if (!info.isDirectory) {
    throw new RangeError(
      `Cannot read ${dir} as a run or experiment directory: current value is a file`,
    );
  }
  const runDirs: string[] = [];
  if (await exists(join(dir, "summary.json"))) runDirs.push(dir);
  else {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
    for (const n of names.sort()) {
      if (await exists(join(dir, n, "summary.json"))) runDirs.push(join(dir, n));
    }
  }
  const mergedPath = join(dir, "merged.csv");
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
  const rows = hasMerged
    ? parseMerged(await Deno.readTextFile(mergedPath), mergedPath)
    : meanRows(runs.flatMap((r) => runRows(r, name)));
  return { name, dir, rows, runs, fromMerged: hasMerged };
}
