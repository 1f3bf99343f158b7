/**
 * Reader of a `vllm bench serve --save-result --save-detailed` JSON file into
 * a {@linkcode RecordedRun} (keys and their vLLM source:
 * docs/vllm_result_format.md). Per request: `input_lens`, `output_lens`,
 * `ttfts` and `itls` (s), `errors`, and `start_times` (perf-counter s of each
 * send, vLLM since PR #32667) when the file has them; E2E is `latencies` when
 * present, else TTFT + the request's gaps. A file without `start_times` has no
 * arrival times: the run says what its schedule was drawn from
 * (`request_rate`, `burstiness`, `max_concurrency`) and the caller rebuilds
 * one. Failed requests (an error, or no output) are left out and counted in a
 * note. Engine settings are not in the file: `settleSettings` takes them.
 *
 * @module
 */
import { readVllmResult } from "./vllm_json.ts";
import type { RequestRow } from "./result_schema.ts";
import type { MissingArrivals, RecordedRequest, RecordedRun } from "./recorded_run.ts";
import { oneEngineMeta, type RecordedReadOptions, settleSettings } from "./_recorded_settings.ts";

/** `request_rate` etc. of a file without `start_times`. */
function missingArrivals(r: Record<string, unknown>, file: string): MissingArrivals {
  const rate = r.request_rate === "inf" ? Infinity : Number(r.request_rate);
  if (!(rate > 0)) {
    throw new RangeError(
      `Cannot use request_rate in ${file} as a schedule to rebuild arrivals from (the file has no start_times): current value is ${
        JSON.stringify(r.request_rate)
      }; allowed: a positive number or "inf"`,
    );
  }
  const b = r.burstiness === undefined ? 1 : Number(r.burstiness);
  const c = r.max_concurrency;
  return {
    rateRps: rate,
    burstiness: b > 0 ? b : 1,
    maxConcurrency: typeof c === "number" && c > 0 ? c : null,
  };
}

/** The successful rows with their gaps (arrivals 0 without start_times); counts the others. */
function vllmRequests(rows: RequestRow[], itls: unknown[], starts: boolean, file: string) {
  const requests: RecordedRequest[] = [];
  let dropped = 0;
  rows.forEach((row, i) => {
    if (row.status !== 200 || row.ttft_ms === null || row.output_tokens < 1) return void dropped++;
    if (row.prompt_tokens === null || row.prompt_tokens < 1) {
      throw new RangeError(
        `Cannot use input_lens[${i}] in ${file} as a prompt length: current value is ${row.prompt_tokens}; allowed: a whole number >= 1`,
      );
    }
    const a = starts ? row.sent_ms / 1000 : 0;
    const g = itls[i];
    requests.push({
      id: String(i),
      inputTokens: row.prompt_tokens,
      outputTokens: row.output_tokens,
      arrivalS: a,
      queuedS: a,
      scheduledS: a,
      firstTokenS: a + row.ttft_ms / 1000,
      lastTokenS: a + row.e2e_ms / 1000,
      ...(Array.isArray(g) ? { itlMs: g.map((x) => Number(x) * 1000) } : {}),
    });
  });
  if (!requests.length) {
    throw new RangeError(
      `Cannot read ${file} as a recorded run: current value has no successful request`,
    );
  }
  return { requests, dropped };
}

/** Reads one vLLM bench JSON file (its text) as a recorded run. */
export function parseVllmRecorded(
  text: string,
  file: string,
  o: RecordedReadOptions = {},
): RecordedRun {
  const { result: r, rows } = readVllmResult(text, file);
  if (!rows) {
    throw new RangeError(
      `Cannot read ${file} as a recorded run: current value has no per-request ttfts/output_lens; allowed: a file written with --save-detailed`,
    );
  }
  const model = o.given?.model ?? r.model_id;
  if (typeof model !== "string" || !model) {
    throw new RangeError(
      `Cannot use model_id in ${file} as a model name: current value is ${
        JSON.stringify(model)
      }; allowed: a Hugging Face id (or give --model)`,
    );
  }
  const starts = Array.isArray(r.start_times) && r.start_times.length === rows.length;
  const itls = Array.isArray(r.itls) ? r.itls : [];
  const { requests, dropped } = vllmRequests(rows, itls, starts, file);
  const notes: string[] = [];
  if (dropped) {
    notes.push(`${dropped} failed requests of ${rows.length} left out (errors or no output)`);
  }
  if (!Array.isArray(r.latencies) && !Array.isArray(r.e2els)) {
    notes.push(
      "E2E = TTFT + the sum of the request's ITLs (the file has no per-request latencies)",
    );
  }
  if (starts) requests.sort((x, y) => x.arrivalS - y.arrivalS);
  const s = settleSettings({}, o, notes, file);
  return {
    dir: file,
    format: "vllm-bench-json",
    latencyClock: "client",
    engine: "vllm",
    arrivals: starts ? "recorded" : missingArrivals(r, file),
    notes,
    meta: oneEngineMeta(model, s),
    requests,
  };
}
