/**
 * A run directory and what identifies it: a fresh folder per run, the time
 * stamp in its name, the labels and key that decide which runs pool, and
 * `summary.json` written whole (temp file + rename). Both clocks use these.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadPointSummary } from "../lib/result_schema.ts";
import type { BenchConfig } from "./bench_config.ts";
import { summarize, type SummaryMeta } from "./summary.ts";
import type { Tally } from "./record.ts";
import { workloadLabel } from "./workload/datasets.ts";
import { readRunItls, readRunRequests } from "../lib/run_dir.ts";
import { toVllmResult, vllmResultName, vllmResultText } from "../lib/vllm_result.ts";
import { writeFileAtomic, writeJsonAtomic } from "../lib/write_file.ts";

/** The workload label of a run: its dataset's, or `classes` with each class's at its rate. */
export function runWorkloadLabel(cfg: BenchConfig): string {
  if (!cfg.classes.length) return workloadLabel(cfg.dataset);
  return `classes ${
    cfg.classes.map((c) => `${c.name}=${workloadLabel(c.cfg.dataset)}@${c.cfg.rateRps}`).join(" + ")
  }`;
}

/** Tool version recorded in config.json. */
export const BENCH_VERSION = "0.1.0";

const pad = (n: number) => String(n).padStart(2, "0");

/** Creates `parent/name` (or `name-2`, `-3`, ... if taken): a run never appends to another run's files. */
export async function freshRunDir(parent: string, name: string): Promise<string> {
  await Deno.mkdir(parent, { recursive: true });
  for (let k = 1;; k++) {
    const dir = join(parent, k === 1 ? name : `${name}-${k}`);
    try {
      await Deno.mkdir(dir);
      return dir;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
}

/** `YYYYMMDD-HHMMSS` in local time. */
export function stamp(d = new Date()): string {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${
    pad(d.getMinutes())
  }${pad(d.getSeconds())}`;
}

/** The checkout's commit, or null outside git. */
export async function gitSha(): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["rev-parse", "HEAD"],
      cwd: dirname(fileURLToPath(import.meta.url)),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** The `load_point` label of a config: its rate, `c<N>` for a concurrency, or `inf`. */
export function loadPointLabel(cfg: BenchConfig): string {
  if (Number.isFinite(cfg.rateRps)) return String(cfg.rateRps);
  return cfg.concurrency !== undefined ? `c${cfg.concurrency}` : "inf";
}

/**
 * What identifies a run's results (repeats differ only in `run_index`): runs
 * pool only when all of it is equal. Written to `config.json` as `run_key`.
 */
export function runKey(cfg: BenchConfig, model: string): Record<string, string | number | null> {
  return {
    topology: cfg.topology,
    model,
    workload: runWorkloadLabel(cfg),
    dataset: cfg.dataset.name,
    input_len: cfg.dataset.inputLen,
    output_len: cfg.dataset.outputLen,
    load_point: loadPointLabel(cfg),
    max_concurrency: cfg.concurrency ?? null,
  };
}

/** The parts of a load point's summary meta that come from its config (both clocks). */
export function summaryMeta(
  cfg: BenchConfig,
  o: { model: string; tokenizer: string; date: string },
): Pick<
  SummaryMeta,
  | "loadPoint"
  | "date"
  | "model"
  | "tokenizer"
  | "endpoint"
  | "label"
  | "rateTarget"
  | "burstiness"
  | "concurrency"
  | "capped"
  | "slo"
  | "topology"
  | "workload"
> {
  return {
    loadPoint: loadPointLabel(cfg),
    date: o.date,
    model: o.model,
    tokenizer: o.tokenizer,
    endpoint: cfg.endpoint,
    label: basename(cfg.out),
    rateTarget: cfg.rateRps,
    burstiness: cfg.burstiness,
    concurrency: cfg.concurrency ?? null,
    capped: cfg.concurrency !== undefined,
    slo: cfg.slo,
    topology: cfg.topology,
    workload: runWorkloadLabel(cfg),
  };
}

/** Writes `summary.json` (the list of load points) whole: a crash never leaves half a file. */
export async function writeSummaries(dir: string, summaries: LoadPointSummary[]): Promise<void> {
  await writeJsonAtomic(join(dir, "summary.json"), summaries);
}

/** Runs larger than this get no vLLM-format copy (one JSON object with every request's arrays). */
export const VLLM_RESULT_MAX_ROWS = 500_000;

/**
 * Writes each load point of a finished run again as a `vllm bench serve
 * --save-result --save-detailed` file under `dir/vllm/`, read back from
 * `requests.csv` and `itl.jsonl`, so vLLM's own tooling reads our results.
 * Returns the files written (none above {@linkcode VLLM_RESULT_MAX_ROWS} requests).
 */
export async function writeVllmResults(
  dir: string,
  summaries: readonly LoadPointSummary[],
): Promise<string[]> {
  if (summaries.length === 0) return [];
  const byRun = await readRunRequests(dir);
  let n = 0;
  for (const rows of byRun.values()) n += rows.length;
  if (n > VLLM_RESULT_MAX_ROWS) return [];
  const itls = await readRunItls(dir, (id, rid) => `${id}\u0000${rid}`);
  await Deno.mkdir(join(dir, "vllm"), { recursive: true });
  const out: string[] = [];
  for (const [k, s] of summaries.entries()) {
    const sum = s as unknown as Record<string, unknown>;
    const id = String(sum.run_id ?? "");
    const lp = String(sum.load_point ?? "");
    const rows = (byRun.get(id) ?? []).filter((r) => lp === "" || r.load_point === lp);
    const gaps = itls &&
      new Map(rows.map((r) => [r.request_id, itls.get(`${id}\u0000${r.request_id}`) ?? []]));
    const file = join(dir, "vllm", vllmResultName(sum, k));
    await writeFileAtomic(file, vllmResultText(toVllmResult(sum, rows, gaps)) + "\n");
    out.push(file);
  }
  return out;
}

/** Writes `config.json`: how the run was made (tool, versions, argv, server, resolved config). */
export async function writeRunConfig(dir: string, config: Record<string, unknown>): Promise<void> {
  await writeJsonAtomic(join(dir, "config.json"), config);
}

/**
 * The summaries of a run's request classes, one per class after the run's own
 * (`total`): each from its class's rows, with `class` set, the run's load
 * point and `extra` fields (simulated, clock, ...). The total gets `class: ""`.
 */
export function classSummaries(
  cfg: BenchConfig,
  byClass: ReadonlyMap<string, Tally>,
  total: LoadPointSummary,
  meta:
    & Pick<
      SummaryMeta,
      "runId" | "runIndex" | "complete" | "maxConcurrent" | "gpus" | "timeScale"
    >
    & { model: string; tokenizer: string; date: string },
  extra: Record<string, unknown> = {},
): LoadPointSummary[] {
  if (!cfg.classes.length) return [];
  total.class = "";
  return cfg.classes.map((c) => {
    const t = byClass.get(c.name);
    const cs = summarize(t?.rows ?? [], t?.itls ?? [], t?.tokensPerSecond ?? new Map(), {
      ...summaryMeta(c.cfg, meta),
      label: total.label,
      topology: cfg.topology,
      runId: meta.runId,
      runIndex: meta.runIndex,
      complete: meta.complete,
      maxConcurrent: meta.maxConcurrent,
      outputTokenMismatches: 0,
      gpus: meta.gpus,
      timeScale: meta.timeScale,
    });
    Object.assign(cs, { class: c.name, load_point: total.load_point, ...extra });
    return cs;
  });
}
