/**
 * A recorded real vLLM run, read whole ({@linkcode RecordedRun}), from one of
 * three formats ({@linkcode RECORDED_FORMATS}, declared once here, one reader
 * each; {@linkcode readRecorded} picks the one the path is):
 * - a folder in LLMServingSim's layout (`meta.json` + `requests.jsonl` [+
 *   `timeseries.csv`]; the fields are explained in
 *   ../shared/calibration/traces/README.md), read here;
 * - a topobench run directory (`requests.csv` + `config.json`, as `deno task
 *   bench` writes them), read by `_recorded_run_dir.ts`;
 * - a `vllm bench serve --save-result --save-detailed` JSON file, read by
 *   `_recorded_vllm.ts`;
 * - a client request log `.jsonl` (ai-computing/LLMServingSim's
 *   `send_requests.py`), read by `_recorded_client_jsonl.ts`.
 * Every field is checked as it is read; a bad one throws naming the file,
 * line, field, value and what is allowed.
 *
 * Per-request metrics use the times on the recording's own clock: in a trace
 * folder the engine-side ones (TTFT = first_token_ts − queued_ts, E2E =
 * last_token_ts − queued_ts), in the others the client's (from the send).
 * TPOT = (last − first token) / (output tokens − 1), none for one token.
 *
 * @module
 */
import { join } from "node:path";
import { parseCsv } from "./csv.ts";
import { fieldError } from "./errors.ts";
import { parseJson } from "./_peer.ts";
import { readTextIfExists } from "./read_file.ts";
import { type RecordedReadOptions, settleSettings } from "./_recorded_settings.ts";
import { parseVllmRecorded } from "./_recorded_vllm.ts";
import { readRunDirRecorded } from "./_recorded_run_dir.ts";
import { isClientLog, parseClientLogRecorded } from "./_recorded_client_jsonl.ts";
import {
  intAt,
  type Obj,
  objectAt,
  parseRecordedMeta,
  type RecordedMeta,
} from "./_recorded_meta.ts";

export type { EngineSettings, RecordedReadOptions } from "./_recorded_settings.ts";
export { parseRecordedMeta, type RecordedMeta };

/** One request of `requests.jsonl` (times in seconds, as recorded). */
export interface RecordedRequest {
  id: string;
  inputTokens: number;
  outputTokens: number;
  /** Client wall clock, s. */
  arrivalS: number;
  /** Engine monotonic clock, s (a client's recording: its send time, on the arrival clock). */
  queuedS: number;
  scheduledS: number;
  firstTokenS: number;
  lastTokenS: number;
  /** Gaps between output chunks, ms, when the recording has them (never in a trace folder). */
  itlMs?: number[];
}

/** One row of `timeseries.csv`: the engine's state `tS` seconds after the start. */
export interface RecordedSample {
  tS: number;
  running: number;
  waiting: number;
}

/** The formats a recorded run is read from, each with what it is (for messages). */
export const RECORDED_FORMATS = {
  "trace-folder":
    "a folder with meta.json + requests.jsonl [+ timeseries.csv] (LLMServingSim's layout)",
  "topobench-run": "a topobench run directory with requests.csv + config.json (deno task bench)",
  "vllm-bench-json": "a `vllm bench serve --save-result --save-detailed` .json file",
  "client-jsonl":
    "a client request log .jsonl (req_idx, input_toks, actual_output_toks, arrival_time_ns, ttft_ns, total_latency_ns; ai-computing/LLMServingSim's send_requests.py)",
} as const;
/** One key of {@linkcode RECORDED_FORMATS}. */
export type RecordedFormat = keyof typeof RECORDED_FORMATS;

/** Arrivals a recording lacks (vLLM files before `start_times`): what the schedule was drawn from. */
export interface MissingArrivals {
  /** `request_rate`, requests/s; Infinity for "inf". */
  rateRps: number;
  burstiness: number;
  maxConcurrency: number | null;
}

/** A recorded run read whole. */
export interface RecordedRun {
  /** The folder or file read. */
  dir: string;
  format: RecordedFormat;
  /** Where its latencies start: at the engine's queueing, or at the client's send. */
  latencyClock: "engine" | "client";
  /** What served it: real vLLM, or (a run directory read with allowSimulated) the simulated engine. */
  engine: "vllm" | "simulated";
  /**
   * "recorded", or what the schedule was drawn from: the reader then leaves
   * every `arrivalS` at 0 for the caller to rebuild (tasks/validate/inputs.ts).
   */
  arrivals: "recorded" | MissingArrivals;
  /** What was assumed or left out while reading (settings from flags or defaults, failed requests). */
  notes: string[];
  meta: RecordedMeta;
  /** In the file's order. */
  requests: RecordedRequest[];
  /** Absent when the folder has no `timeseries.csv`. */
  timeseries?: RecordedSample[];
}

/** TTFT of a recorded request, ms (engine side: from queued). */
export const recordedTtftMs = (r: RecordedRequest): number => (r.firstTokenS - r.queuedS) * 1000;
/** E2E of a recorded request, ms (engine side: from queued). */
export const recordedE2eMs = (r: RecordedRequest): number => (r.lastTokenS - r.queuedS) * 1000;
/** TPOT of a recorded request, ms; null with one output token. */
export const recordedTpotMs = (r: RecordedRequest): number | null =>
  r.outputTokens > 1 ? (r.lastTokenS - r.firstTokenS) * 1000 / (r.outputTokens - 1) : null;

function numAt(o: Obj, k: string, file: string): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw fieldError({ field: k, file, value: v, expected: "a number of seconds >= 0" });
  }
  return v;
}

const TIMES = ["queued_ts", "scheduled_ts", "first_token_ts", "last_token_ts"] as const;

/** One line of `requests.jsonl`; `where` is `file:line`. */
function recordedRequest(line: string, where: string): RecordedRequest {
  const raw = parseJson(line, where, "a request record");
  const o = objectAt(raw, "the line", where);
  const t = TIMES.map((k) => numAt(o, k, where));
  for (let i = 1; i < t.length; i++) {
    if (t[i] < t[i - 1]) {
      throw fieldError({
        field: TIMES[i],
        file: where,
        value: t[i],
        expected: `a time >= ${TIMES[i - 1]} (${t[i - 1]})`,
      });
    }
  }
  const id = o.request_id ?? where;
  return {
    id: String(id),
    inputTokens: intAt(o, "input_toks", where, 1),
    outputTokens: intAt(o, "output_toks", where, 1),
    arrivalS: numAt(o, "arrival_time", where),
    queuedS: t[0],
    scheduledS: t[1],
    firstTokenS: t[2],
    lastTokenS: t[3],
  };
}

/** Parses `requests.jsonl` (blank lines skipped). */
export function parseRecordedRequests(text: string, file: string): RecordedRequest[] {
  const out: RecordedRequest[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim()) out.push(recordedRequest(line, `${file}:${i + 1}`));
  });
  if (out.length === 0) {
    throw new RangeError(`Cannot use ${file} as recorded requests: current value has no records`);
  }
  return out;
}

/** Parses `timeseries.csv` (columns `t`, `running`, `waiting`; others ignored). */
export function parseRecordedTimeseries(text: string, file: string): RecordedSample[] {
  return parseCsv(text, file).map((row, i) => {
    const where = `${file}:${i + 2}`;
    const cell = (k: string, int: boolean) => {
      const v = row[k] === undefined || row[k] === "" ? NaN : Number(row[k]);
      if (!Number.isFinite(v) || v < 0 || (int && !Number.isInteger(v))) {
        throw fieldError({
          field: k,
          file: where,
          value: row[k],
          expected: int ? "a whole number >= 0" : "a number of seconds >= 0",
        });
      }
      return v;
    };
    return { tS: cell("t", false), running: cell("running", true), waiting: cell("waiting", true) };
  });
}

/** What a trace folder's meta sets beyond the engine_kwargs every replay keeps. */
function metaNotes(meta: RecordedMeta): string[] {
  const kv = meta.kvCache;
  return [
    ...(kv
      ? [
        `KV cache as recorded (meta.json kv_cache): ${kv.numGpuBlocks} blocks of ${kv.blockSize} tokens, not sized from the GPU's memory`,
      ]
      : []),
    ...(meta.quantization ? [`weights quantized as recorded: ${meta.quantization}`] : []),
    ...(meta.kvCacheDtype && meta.kvCacheDtype !== "auto"
      ? [`KV cache dtype as recorded: ${meta.kvCacheDtype}`]
      : []),
    ...(meta.disableCustomAllReduce && meta.tensorParallelSize > 1
      ? [
        "custom all-reduce off as recorded (disable_custom_all_reduce): every all-reduce through NCCL",
      ]
      : []),
  ];
}

/**
 * Reads a recorded run's folder; `timeseries.csv` is optional. `given` (the
 * command line's settings) fills a scheduler setting meta.json leaves out.
 */
export async function readRecordedRun(
  dir: string,
  given: RecordedReadOptions["given"] = {},
): Promise<RecordedRun> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch {
    throw fieldError({ field: "the recorded run", value: dir, expected: "an existing folder" });
  }
  if (!st.isDirectory) {
    throw fieldError({
      field: "the recorded run",
      value: dir,
      expected: "a folder with meta.json and requests.jsonl",
    });
  }
  const need = async (name: string) => {
    const text = await readTextIfExists(join(dir, name));
    if (text === undefined) {
      throw new RangeError(
        `Cannot read ${dir} as a recorded run: current value has no ${name}; allowed: a folder with meta.json and requests.jsonl (timeseries.csv optional)`,
      );
    }
    return text;
  };
  const notes: string[] = [];
  const meta = parseRecordedMeta(await need("meta.json"), join(dir, "meta.json"), given, notes);
  const requests = parseRecordedRequests(await need("requests.jsonl"), join(dir, "requests.jsonl"));
  const ts = await readTextIfExists(join(dir, "timeseries.csv"));
  return {
    dir,
    format: "trace-folder",
    latencyClock: "engine",
    engine: "vllm",
    arrivals: "recorded",
    notes: [...notes, ...metaNotes(meta)],
    meta,
    requests,
    ...(ts !== undefined
      ? { timeseries: parseRecordedTimeseries(ts, join(dir, "timeseries.csv")) }
      : {}),
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Which of {@linkcode RECORDED_FORMATS} `path` is; null when none. */
export async function recordedFormatOf(path: string): Promise<RecordedFormat | null> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(path);
  } catch {
    return null;
  }
  if (st.isFile) {
    const p = path.toLowerCase();
    if (p.endsWith(".json")) return "vllm-bench-json";
    return p.endsWith(".jsonl") && isClientLog(await Deno.readTextFile(path))
      ? "client-jsonl"
      : null;
  }
  if (await isFile(join(path, "meta.json"))) return "trace-folder";
  const run = await isFile(join(path, "requests.csv")) && await isFile(join(path, "config.json"));
  return run ? "topobench-run" : null;
}

/**
 * Reads a recorded run from whichever of {@linkcode RECORDED_FORMATS} `path`
 * is (a folder with meta.json; a folder with requests.csv + config.json; a
 * .json file); throws listing the three when it is none.
 */
export async function readRecorded(
  path: string,
  o: RecordedReadOptions = {},
): Promise<RecordedRun> {
  const format = await recordedFormatOf(path);
  if (format === "vllm-bench-json") {
    try {
      return parseVllmRecorded(await Deno.readTextFile(path), path, o);
    } catch (e) {
      // any .json lands here: name the three inputs a recorded run can be
      if (!(e instanceof TypeError)) throw e;
      throw new TypeError(
        `${e.message}; allowed: ${Object.values(RECORDED_FORMATS).join(", or ")}`,
      );
    }
  }
  if (format === "topobench-run") return await readRunDirRecorded(path, o);
  if (format === "client-jsonl") {
    return parseClientLogRecorded(await Deno.readTextFile(path), path, o);
  }
  if (format === "trace-folder") {
    const run = await readRecordedRun(path, o.given);
    Object.assign(run.meta, settleSettings(run.meta, { given: o.given }, run.notes, path));
    if (o.given?.model && o.given.model !== run.meta.model) {
      run.notes.push(`model from the command line: ${o.given.model} (recorded ${run.meta.model})`);
      run.meta.model = o.given.model;
    }
    return run;
  }
  const what = await Deno.stat(path).then(
    (st) =>
      st.isFile
        ? "a file neither .json nor a client request log .jsonl"
        : "a folder with neither meta.json nor requests.csv + config.json",
    () => "no such file or folder",
  );
  throw new RangeError(
    `Cannot read ${path} as a recorded run: current value is ${what}; allowed: ${
      Object.values(RECORDED_FORMATS).map((w, i) => `(${i + 1}) ${w}`).join(", ")
    }`,
  );
}
