/**
 * Reader of bench run directories (`results/<experiment>/<stamp>-<label>/`):
 * config, summaries, per-request rows grouped by run, and optional ITL gaps.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { parseCsv } from "./csv.ts";
import { parseRequestRow, type RequestRow } from "./result_schema.ts";
import { readRequestCsv } from "./request_csv.ts";
import { readBytesIfExists, readTextIfExists } from "./read_file.ts";

/** One run directory as read from disk. */
export interface RunDir {
  path: string;
  /** Name of the parent folder. */
  experiment: string;
  /** `YYYYMMDD-HHMMSS` from the folder name, or "". */
  stamp: string;
  /** Folder name without the stamp. */
  label: string;
  config: Record<string, unknown>;
  /** `summary.json` objects, one per run (empty when missing). */
  summaries: Record<string, unknown>[];
  /** Whether a simulated engine served it (config or logs say so). */
  simulated: boolean;
}

/** Whether `path` is a folder holding `config.json` or `summary.json`. */
export async function isRunDir(path: string): Promise<boolean> {
  for (const f of ["config.json", "summary.json"]) {
    try {
      if ((await Deno.stat(join(path, f))).isFile) return true;
    } catch { /* not there */ }
  }
  return false;
}

async function readJson(path: string): Promise<unknown> {
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${path} as JSON: current value is invalid (${
        e instanceof Error ? e.message : e
      })`,
    );
  }
}

async function logsSaySim(path: string): Promise<boolean> {
  try {
    for await (const e of Deno.readDir(join(path, "logs"))) {
      if (!e.isFile) continue;
      const f = await Deno.open(join(path, "logs", e.name));
      const buf = new Uint8Array(65536);
      const n = (await f.read(buf)) ?? 0;
      f.close();
      if (new TextDecoder().decode(buf.subarray(0, n)).includes("[sim]")) return true;
    }
  } catch { /* no logs */ }
  return false;
}

/** Reads a run directory's metadata (not its requests). */
export async function readRunDir(path: string): Promise<RunDir> {
  const config = (await readJson(join(path, "config.json")) ?? {}) as Record<string, unknown>;
  const sum = await readJson(join(path, "summary.json"));
  if (sum !== undefined && !Array.isArray(sum)) {
    throw new TypeError(
      `Cannot read ${
        join(path, "summary.json")
      } as a list of load points: current value is ${typeof sum}`,
    );
  }
  const name = basename(path);
  const m = /^(\d{8}-\d{6})-(?:\d{8}T\d{6}-)?(.*)$/.exec(name);
  const simulated = config.simulated === true || config.engine === "sim" ||
    String(config.server_version ?? "").startsWith("topobench-sim") ||
    (Array.isArray(sum) && sum.some((s) => (s as Record<string, unknown>)?.simulated === true)) ||
    await logsSaySim(path);
  return {
    path,
    experiment: basename(dirname(path)),
    stamp: m ? m[1] : "",
    label: m ? m[2] : name,
    config,
    summaries: (sum ?? []) as Record<string, unknown>[],
    simulated,
  };
}

/** Reads `requests.csv` grouped by `run_id` (in first-seen order); empty when missing. */
export async function readRunRequests(path: string): Promise<Map<string, RequestRow[]>> {
  const file = join(path, "requests.csv");
  const bytes = await readBytesIfExists(file);
  if (bytes === undefined) return new Map();
  const rows = bytes.includes(34) // a quote: the general CSV parser
    ? parseCsv(new TextDecoder().decode(bytes), file).map((r, i) =>
      parseRequestRow(r, `${file}:${i + 2}`)
    )
    : readRequestCsv(bytes, file);
  const out = new Map<string, RequestRow[]>();
  for (const row of rows) {
    let list = out.get(row.run_id);
    if (!list) out.set(row.run_id, list = []);
    list.push(row);
  }
  return out;
}

/**
 * Reads `itl.jsonl` gaps (ms) grouped by `groupOf(run_id, request_id)` (lines
 * it maps to undefined are skipped); null when the file is missing.
 * @default groupOf the run id
 */
export async function readRunItls(
  path: string,
  groupOf: (runId: string, requestId: string) => string | undefined = (id) => id,
): Promise<Map<string, number[]> | null> {
  const file = join(path, "itl.jsonl");
  const text = await readTextIfExists(file);
  if (text === undefined) return null;
  const out = new Map<string, number[]>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let j: { run_id?: string; request_id?: string; itl_ms?: number[] };
    try {
      j = JSON.parse(lines[i]);
    } catch {
      throw new SyntaxError(
        `Cannot read ${file}:${i + 1} as a JSON line: current value is ${
          JSON.stringify(lines[i].slice(0, 80))
        }`,
      );
    }
    const key = groupOf(String(j.run_id ?? ""), String(j.request_id ?? ""));
    if (key === undefined) continue;
    let list = out.get(key);
    if (!list) out.set(key, list = []);
    for (const g of j.itl_ms ?? []) list.push(g);
  }
  return out;
}
