/**
 * Merge inputs: run directories, `vllm bench serve --save-result` JSON files,
 * GuideLLM `benchmarks.json` and AIPerf exports (`profile_export.jsonl`, with
 * its `profile_export_aiperf.json` beside it), each turned into
 * {@linkcode RunInput}s. Which paths the command line names (globs, folders of
 * run directories) is `_input_paths.ts`, re-exported here.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { readRunDir, readRunItls, readRunRequests, type RunDir } from "./run_dir.ts";
import type { RunInput, Slo } from "./run_rows.ts";
import type { RequestRow } from "./result_schema.ts";
import { readVllmResult } from "./vllm_json.ts";
import { isGuidellmReport, isGuidellmYaml, type PeerRun, readGuidellm } from "./guidellm_json.ts";
import { isAiperfRecords as isAiperfExport, readAiperfFiles } from "./aiperf_export.ts";

export { expandGlob, resolveInputs } from "./_input_paths.ts";

const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);
const numOr = (v: unknown): number | null =>
  typeof v === "number" ? v : v === "inf" ? Infinity : null;

function sloOf(flag: Slo | null, s: Record<string, unknown>): Slo | null {
  if (flag) return flag;
  const x = s.slo as { ttft_ms?: number; tpot_ms?: number } | null | undefined;
  if (!x || (x.ttft_ms === undefined && x.tpot_ms === undefined)) return null;
  return { ttftMs: x.ttft_ms, tpotMs: x.tpot_ms };
}

/** A run directory already read: its metadata and `requests.csv` rows by run id. */
export interface ReadRun {
  dir: RunDir;
  byRun: Map<string, RequestRow[]>;
}

/** One input per (run id, load point): a run directory may hold several load points. */
const keyOf = (id: string, lp: string) => `${id}\u0000${lp}`;

/** A run directory's inputs by key, and the request-class summaries of each key. */
interface InputKeys {
  keys: Map<string, { id: string; lp: string | null }>;
  /** Request classes: their summaries follow the run's, with `class` set; inputs of their own. */
  classOf: Map<string, Record<string, unknown>[]>;
}

function summaryKeys(summaries: Record<string, unknown>[]): InputKeys {
  const keys = new Map<string, { id: string; lp: string | null }>();
  const classOf = new Map<string, Record<string, unknown>[]>();
  for (const s of summaries) {
    const id = String(s.run_id ?? "");
    if (!id) continue;
    const k = keyOf(id, str(s.load_point) ?? "");
    if (str(s.class)) {
      if (!classOf.has(k)) classOf.set(k, []);
      classOf.get(k)!.push(s);
      continue;
    }
    keys.set(k, { id, lp: str(s.load_point) ?? null });
  }
  return { keys, classOf };
}

/** `requests.csv` rows by input key; a load point no summary names gets a key of its own. */
function rowsByKey(
  byRun: Map<string, RequestRow[]>,
  keys: InputKeys["keys"],
): Map<string, RequestRow[]> {
  const rowsOf = new Map<string, RequestRow[]>();
  for (const [id, rows] of byRun) {
    let lastLp: string | null = null;
    let list: RequestRow[] = [];
    for (const r of rows) {
      if (r.load_point !== lastLp) { // rows of one load point come together: look up once per run of them
        lastLp = r.load_point;
        const k = keyOf(id, r.load_point);
        if (!keys.has(k) && !keys.has(keyOf(id, ""))) keys.set(k, { id, lp: r.load_point });
        const kk = keys.has(k) ? k : keyOf(id, "");
        if (!rowsOf.has(kk)) rowsOf.set(kk, []);
        list = rowsOf.get(kk)!;
      }
      list.push(r);
    }
  }
  return rowsOf;
}

/** `itl.jsonl` gaps by input key: each successful request's gaps land with its own load point. */
function itlsByKey(
  path: string,
  keys: InputKeys["keys"],
  rowsOf: Map<string, RequestRow[]>,
): Promise<Map<string, number[]> | null> {
  // successful request -> its input (built only when itl.jsonl has lines to place)
  let inputOf: Map<string, string> | null = null;
  const placeOf = () => {
    const m = new Map<string, string>();
    for (const [kk, rows] of rowsOf) {
      const id = keys.get(kk)!.id;
      for (const r of rows) if (!r.error) m.set(`${id}\u0000${r.request_id}`, kk);
    }
    return m;
  };
  return readRunItls(path, (id, rid) => (inputOf ??= placeOf()).get(`${id}\u0000${rid}`));
}

/** The input of run `id` at load point `lp` (null: the run's only one), the `k`-th of its dir. */
function wholeInput(
  rd: RunDir,
  path: string,
  slo: Slo | null,
  at: { key: string; id: string; lp: string | null; k: number },
  rows: RequestRow[] | null,
  itls: Map<string, number[]> | null,
): RunInput {
  const { key, id, lp, k } = at;
  const cfg = rd.config;
  const bench = (cfg.bench ?? {}) as Record<string, unknown>;
  const dataset = (bench.dataset ?? {}) as Record<string, unknown>;
  const s =
    rd.summaries.find((x) =>
      x.run_id === id && !str(x.class) && (lp === null || (str(x.load_point) ?? "") === lp)
    ) ?? {};
  const rate = numOr(s.rate_target) ?? numOr(bench.rateRps);
  return {
    experiment: rd.experiment,
    topology: str(s.topology) ?? str(cfg.topology) ?? rd.label,
    workload: str(s.workload) ?? str(dataset.name) ?? "",
    model: str(s.model_id) ?? str(cfg.model) ?? "",
    gpus: numOr(s.gpus) ?? numOr(bench.gpus),
    loadPoint: lp ?? rows?.[0]?.load_point ?? String(rate ?? ""),
    rateTarget: rate,
    maxConcurrency: numOr(s.max_concurrency),
    runIndex: numOr(s.run_index) ?? k + 1,
    runId: id,
    runDir: path,
    source: "topobench" as const,
    simulated: rd.simulated,
    clock: cfg.clock === "virtual" ? "virtual" as const : "live" as const,
    complete: s.complete === true,
    saturated: s.saturated === true,
    rows: rows && rows.length ? rows : null,
    itlGapsMs: itls?.get(key) ?? null,
    summary: s,
    slo: sloOf(slo, s),
    ...(s.metrics_compat === "vllm" ? { metricsCompat: "vllm" as const } : {}),
  };
}

/** Each class of a run: its rows, its summary (its own ITL statistics). */
function classInputs(w: RunInput, classes: Record<string, unknown>[]): RunInput[] {
  return classes.map((cs) => {
    const name = String(cs.class);
    const rows = w.rows?.filter((r) => r.class === name) ?? null;
    return {
      ...w,
      workload: str(cs.workload) ?? w.workload,
      className: name,
      rateTarget: numOr(cs.rate_target),
      rows: rows && rows.length ? rows : null,
      itlGapsMs: null,
      summary: cs,
    };
  });
}

/**
 * Reads one run directory into one input per run (repeat) it holds; `read`
 * passes what a caller has already read of it.
 */
export async function runDirInputs(
  path: string,
  slo: Slo | null,
  read?: ReadRun,
): Promise<RunInput[]> {
  const rd = read?.dir ?? await readRunDir(path);
  const byRun = read?.byRun ?? await readRunRequests(path);
  const { keys, classOf } = summaryKeys(rd.summaries);
  const rowsOf = rowsByKey(byRun, keys);
  const itls = await itlsByKey(path, keys, rowsOf);
  const whole = [...keys].map(([key, { id, lp }], k) =>
    wholeInput(rd, path, slo, { key, id, lp, k }, rowsOf.get(key) ?? null, itls)
  );
  const classes = whole.flatMap((w) =>
    classInputs(w, classOf.get(keyOf(w.runId, w.loadPoint)) ?? [])
  );
  return [...whole, ...classes];
}

/** Reads one `--save-result` JSON file into one input. */
export async function vllmJsonInput(path: string, slo: Slo | null): Promise<RunInput> {
  const { result: j, rows, itlGapsMs } = readVllmResult(await Deno.readTextFile(path), path);
  const rate = numOr(j.request_rate);
  return {
    experiment: basename(dirname(dirname(path))),
    topology: str(j.topology) ?? str(j.label) ?? basename(dirname(path)),
    workload: str(j.workload) ?? str(j.dataset_name) ?? "vllm",
    model: str(j.model_id) ?? "",
    gpus: numOr(j.gpus),
    loadPoint: rate === null ? "" : rate === Infinity ? "inf" : String(rate),
    rateTarget: rate,
    maxConcurrency: numOr(j.max_concurrency),
    runIndex: 1,
    runId: basename(path),
    runDir: path,
    source: "vllm-json",
    simulated: false,
    clock: "live",
    complete: true,
    rows,
    itlGapsMs,
    summary: j,
    durationS: j.duration as number,
    slo,
  };
}

/** One input of a peer tool's run. */
function peerInput(
  run: PeerRun,
  path: string,
  source: "guidellm" | "aiperf",
  slo: Slo | null,
  k: number,
): RunInput {
  return {
    experiment: basename(dirname(dirname(path))),
    topology: basename(dirname(path)),
    workload: source,
    model: run.model,
    gpus: null,
    loadPoint: run.loadPoint,
    rateTarget: run.rateTarget,
    maxConcurrency: run.maxConcurrency,
    runIndex: 1,
    runId: `${basename(path)}#${k + 1}`,
    runDir: path,
    source,
    simulated: false,
    clock: "live",
    complete: run.complete,
    rows: run.rows.length ? run.rows : null,
    itlGapsMs: null,
    summary: run.summary ?? {},
    ...(run.durationS !== null ? { durationS: run.durationS } : {}),
    slo,
  };
}

/**
 * The inputs of one resolved path: a run directory, a vLLM or GuideLLM JSON
 * file, a GuideLLM YAML report, or an AIPerf records file (`profile_export.jsonl`
 * or `profile_export_records.csv`, with the `profile_export_aiperf.json` of the
 * same folder, which names the model and the load point). Topology = the file's folder.
 */
export async function inputsOf(path: string, slo: Slo | null): Promise<RunInput[]> {
  if (isAiperfExport(path)) {
    return [peerInput(await readAiperfFiles(path), path, "aiperf", slo, 0)];
  }
  if (isGuidellmYaml(path)) {
    const runs = readGuidellm(await Deno.readTextFile(path), path);
    return runs.map((r, k) => peerInput(r, path, "guidellm", slo, k));
  }
  if (path.endsWith(".json")) {
    const text = await Deno.readTextFile(path);
    let j: unknown = null;
    try {
      j = JSON.parse(text);
    } catch { /* readVllmResult names the error */ }
    if (isGuidellmReport(j)) {
      return readGuidellm(text, path).map((r, k) => peerInput(r, path, "guidellm", slo, k));
    }
    return [await vllmJsonInput(path, slo)];
  }
  return await runDirInputs(path, slo);
}
