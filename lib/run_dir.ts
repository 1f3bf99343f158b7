/**
 * Reader of bench run directories (`results/<experiment>/<stamp>-<label>/`):
 * config, summaries, per-request rows grouped by run, and optional ITL gaps.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { parseCsv } from "./csv.ts";
import { parseRequestRow, REQUEST_COLUMNS, type RequestRow } from "./result_schema.ts";

const TEXT_COLS = new Set([
  "run_id",
  "load_point",
  "request_id",
  "conversation_id",
  "error",
  "backend",
]);

/** A numeric cell (null when empty); a bad one is named by column and file:line. */
function numCell(v: string, col: string, file: string, line: number): number | null {
  if (v === "") return null;
  const n = +v;
  if (Number.isNaN(n)) {
    throw new TypeError(
      `Cannot use column ${col} in ${file}:${line} as a number: current value is ${
        JSON.stringify(v)
      }`,
    );
  }
  return n;
}

/**
 * Fast path for `requests.csv` without quotes: rows typed directly, in one
 * object shape (a literal per row: 1,000,000 rows read in about a second),
 * bad cells named by file:line.
 */
function plainRequestRows(text: string, file: string): RequestRow[] {
  const lines = text.split("\n");
  const head = lines[0].replace(/\r$/, "").split(",");
  const at = REQUEST_COLUMNS.map((c) => head.indexOf(c));
  const known = at.every((k) => k >= 0);
  const isText = head.map((h) => TEXT_COLS.has(h));
  const out: RequestRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    let ln = lines[i];
    if (ln.endsWith("\r")) ln = ln.slice(0, -1);
    if (ln === "") continue;
    const c = ln.split(",");
    if (c.length !== head.length) {
      throw new SyntaxError(
        `Cannot read ${file}:${
          i + 1
        } as a CSV row of ${head.length} columns: current value has ${c.length}`,
      );
    }
    if (known) {
      const n = (k: number) => numCell(c[at[k]], REQUEST_COLUMNS[k], file, i + 1);
      out.push({
        run_id: c[at[0]],
        load_point: c[at[1]],
        request_id: c[at[2]],
        conversation_id: c[at[3]],
        turn: n(4)!,
        scheduled_ms: n(5)!,
        sent_ms: n(6)!,
        first_token_ms: n(7),
        end_ms: n(8)!,
        ttft_ms: n(9),
        e2e_ms: n(10)!,
        tpot_ms: n(11),
        itl_mean_ms: n(12),
        itl_max_ms: n(13),
        prompt_tokens: n(14),
        output_tokens: n(15)!,
        cached_tokens: n(16),
        status: n(17)!,
        error: c[at[18]],
        backend: c[at[19]],
      });
      continue;
    }
    const rec: Record<string, string | number | null> = {};
    for (let k = 0; k < head.length; k++) {
      rec[head[k]] = isText[k] ? c[k] : numCell(c[k], head[k], file, i + 1);
    }
    out.push(rec as unknown as RequestRow);
  }
  return out;
}

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
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
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
  const m = /^(\d{8}-\d{6})-(.*)$/.exec(name);
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
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    throw e;
  }
  const rows = text.includes('"')
    ? parseCsv(text, file).map((r, i) => parseRequestRow(r, `${file}:${i + 2}`))
    : plainRequestRows(text, file);
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
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
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
