/**
 * NVIDIA AIPerf's exports as one run: the per-request records
 * (`profile_export.jsonl`, or AIPerf 0.8+'s `profile_export_records.csv`) and,
 * beside them, the aggregate `profile_export_aiperf.json`, which names the
 * model and the load point (the records do not). Layouts from October 2025
 * (0.1.x) to 0.8+ are read (see `_aiperf_record.ts`, `aiperf_summary.ts`).
 * AIPerf's `request_latency` ends at the last content chunk, as vLLM's E2E does.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import type { RequestRow } from "./result_schema.ts";
import { parseJson, type PeerRun, timedFields } from "./_peer.ts";
import { type AiperfRecord, fromCsvRow, fromJsonRecord } from "./_aiperf_record.ts";
import { type AiperfSummary, readAiperfSummary } from "./aiperf_summary.ts";
import { parseCsv } from "./csv.ts";
import { maxOf, minOf } from "./stats.ts";

/** The aggregate file AIPerf writes beside the records. */
export const AIPERF_SUMMARY_FILE = "profile_export_aiperf.json";

/** Whether a path is an AIPerf per-request file (`profile_export*.jsonl`, `profile_export_records.csv`). */
export const isAiperfRecords = (p: string): boolean =>
  /(^|\/)profile_export[^/]*\.jsonl$/.test(p) || /(^|\/)profile_export_records\.csv$/.test(p);

/** The records of a `.jsonl` or `_records.csv` text; throws naming the file and line. */
export function parseAiperfRecords(text: string, file: string): AiperfRecord[] {
  if (file.endsWith(".csv")) {
    return parseCsv(text, file).map((r, i) => fromCsvRow(r, `${file}:${i + 2}`));
  }
  const out: AiperfRecord[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file}:${i + 1}`;
    out.push(fromJsonRecord(parseJson(line, where, "an AIPerf record"), where));
  });
  return out;
}

/** A metric that a successful record must have. */
function needed(r: AiperfRecord, tags: string[], file: string, k: number): number {
  for (const t of tags) if (r.metrics.has(t)) return r.metrics.get(t)!;
  throw new TypeError(
    `Cannot read ${file} record ${
      k + 1
    } as a successful AIPerf request: current value has no metrics.${tags.join(" or metrics.")}`,
  );
}

function row(r: AiperfRecord, k: number, t0Ns: number, file: string, lp: string): RequestRow {
  const ok = r.error === null && !r.cancelled;
  const m = r.metrics;
  const sent = (r.startNs - t0Ns) / 1e6;
  // failed records of October 2025 carry no end time: they ended when they started
  const e2e = ok ? needed(r, ["request_latency"], file, k) : m.get("request_latency") ??
    (r.endNs !== null ? (r.endNs - r.startNs) / 1e6 : 0);
  const out = ok ? needed(r, ["output_sequence_length", "output_token_count"], file, k) : 0;
  const g = r.chunkGapsMs ?? [];
  return {
    run_id: file,
    load_point: lp,
    request_id: r.requestId ?? String(k),
    conversation_id: r.conversationId ?? r.requestId ?? String(k),
    turn: (r.turnIndex ?? 0) + 1,
    ...timedFields(sent, ok ? m.get("time_to_first_token") ?? null : null, e2e),
    tpot_ms: ok && out > 1 ? m.get("inter_token_latency") ?? null : null,
    itl_mean_ms: ok && g.length ? g.reduce((a, b) => a + b, 0) / g.length : null,
    itl_max_ms: ok && g.length ? maxOf(g) : null,
    prompt_tokens: m.get("input_sequence_length") ?? m.get("error_isl") ?? null,
    output_tokens: out,
    cached_tokens: null,
    status: ok ? 200 : r.error?.code ?? 499,
    error: ok ? "" : r.error?.message ?? "cancelled",
    backend: "",
  };
}

/** Throws when the records and the summary disagree on how many requests there were. */
function checkCounts(rows: RequestRow[], s: AiperfSummary, file: string, sumFile: string) {
  const ok = rows.filter((r) => r.status === 200).length;
  const bad = rows.length - ok;
  if ((s.validCount !== null && s.validCount !== ok) || (s.errorCount ?? 0) !== bad) {
    throw new RangeError(
      `Cannot read ${file} with ${sumFile} as one AIPerf run: current value has ${ok} valid and ${bad} failed records, the summary counts ${s.validCount} and ${
        s.errorCount ?? 0
      }`,
    );
  }
}

/**
 * Reads per-request records text (`.jsonl`, or `_records.csv` by the file's
 * name) with the parsed aggregate beside it into one run; throws naming the
 * file and line of a bad record or the field of the summary that is missing.
 */
export function readAiperf(
  text: string,
  file: string,
  summary: unknown,
  summaryFile = join(dirname(file), AIPERF_SUMMARY_FILE),
): PeerRun {
  const s = readAiperfSummary(summary, summaryFile);
  const recs = parseAiperfRecords(text, file).filter((r) =>
    r.phase === null || r.phase === "profiling"
  );
  const t0 = recs.length ? minOf(recs.map((r) => r.startNs)) : 0;
  const rows = recs.map((r, k) => row(r, k, t0, file, s.loadPoint));
  checkCounts(rows, s, file, summaryFile);
  return {
    label: s.label,
    loadPoint: s.loadPoint,
    rateTarget: s.rate,
    maxConcurrency: s.concurrency,
    model: s.model,
    durationS: s.durationS,
    rows,
    requestsRecorded: rows.length,
    complete: true,
  };
}

/** Reads an AIPerf records file and the `profile_export_aiperf.json` in its folder. */
export async function readAiperfFiles(path: string): Promise<PeerRun> {
  const sumFile = join(dirname(path), AIPERF_SUMMARY_FILE);
  let sumText: string;
  try {
    sumText = await Deno.readTextFile(sumFile);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new TypeError(
      `Cannot read ${path} as an AIPerf run: current value has no ${AIPERF_SUMMARY_FILE} beside it (it names the model and the load point; ${
        basename(path)
      } does not)`,
    );
  }
  const summary = parseJson(sumText, sumFile, "AIPerf's profile_export_aiperf.json");
  return readAiperf(await Deno.readTextFile(path), path, summary, sumFile);
}
