/**
 * Reader of a client-side request log (`.jsonl`, one JSON object a request)
 * into a {@linkcode RecordedRun}: the layout ai-computing/LLMServingSim's
 * `validation/send_requests.py` writes against a real vLLM server (its
 * `vllm_*_results.jsonl`). Per line: `req_idx`, `input_toks` (sent as token
 * ids, so exact), `output_toks` (the request's `max_tokens`),
 * `actual_output_toks` (streamed chunks that carried text), `arrival_time_ns`
 * (the send, ns after the run's start), `ttft_ns` and `total_latency_ns`
 * (from the send to the first chunk / the last one), or `error`.
 *
 * Output length: a request stopped before `max_tokens` also generated the
 * end-of-sequence token, which vLLM streams as a last chunk with no text, so
 * it counts `actual_output_toks + 1`; one that reached `max_tokens` counts
 * `actual_output_toks`. A request whose first chunk was that empty last one
 * (`actual_output_toks` 0, a TTFT) generated one token. Requests with an
 * `error` or no TTFT are left out and counted in a note. The log holds no
 * engine settings and no model: `settleSettings` takes them, the model comes
 * from `--model`.
 *
 * @module
 */
import { fieldError } from "./errors.ts";
import type { RecordedRequest, RecordedRun } from "./recorded_run.ts";
import { oneEngineMeta, type RecordedReadOptions, settleSettings } from "./_recorded_settings.ts";

/** Keys whose presence on the first line marks a client request log. */
export const CLIENT_LOG_KEYS = ["req_idx", "arrival_time_ns", "ttft_ns"] as const;

type Obj = Record<string, unknown>;

function intAt(o: Obj, k: string, where: string, min: number): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw fieldError({ field: k, file: where, value: v, expected: `a whole number >= ${min}` });
  }
  return v;
}

/** One line as a request; null for a failed one (an error, or no first chunk). */
function requestOf(o: Obj, where: string): RecordedRequest | null {
  if (o.error !== undefined || o.ttft_ns === null || o.ttft_ns === undefined) return null;
  const sent = intAt(o, "arrival_time_ns", where, 0) / 1e9;
  const ttft = intAt(o, "ttft_ns", where, 0) / 1e9;
  const e2e = intAt(o, "total_latency_ns", where, 0) / 1e9;
  const asked = intAt(o, "output_toks", where, 1);
  const chunks = intAt(o, "actual_output_toks", where, 0);
  if (chunks > asked) {
    throw fieldError({
      field: "actual_output_toks",
      file: where,
      value: chunks,
      expected: `at most output_toks (${asked})`,
    });
  }
  return {
    id: String(intAt(o, "req_idx", where, 0)),
    inputTokens: intAt(o, "input_toks", where, 1),
    outputTokens: chunks < asked ? chunks + 1 : chunks,
    arrivalS: sent,
    queuedS: sent,
    scheduledS: sent,
    firstTokenS: sent + ttft,
    lastTokenS: sent + Math.max(e2e, ttft),
  };
}

/** The log's lines as objects, each checked to be one. */
function linesOf(text: string, file: string): Obj[] {
  const out: Obj[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw fieldError({
        field: `line ${i + 1}`,
        file,
        value: line.slice(0, 80),
        expected: "a JSON object",
        kind: "syntax",
      });
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw fieldError({ field: `line ${i + 1}`, file, value: v, expected: "a JSON object" });
    }
    out.push(v as Obj);
  });
  return out;
}

/** Whether `text`'s first line looks like a client request log. */
export function isClientLog(text: string): boolean {
  const first = text.slice(0, text.indexOf("\n") >>> 0).trim();
  try {
    const o = JSON.parse(first);
    return o !== null && typeof o === "object" && CLIENT_LOG_KEYS.every((k) => k in o);
  } catch {
    return false;
  }
}

/** Reads one client request log (its text) as a recorded run; the model comes from `o.given`. */
export function parseClientLogRecorded(
  text: string,
  file: string,
  o: RecordedReadOptions = {},
): RecordedRun {
  const model = o.given?.model;
  if (!model) {
    throw new RangeError(
      `Cannot read ${file} as a recorded run: current value has no model (a client request log names none); allowed: give --model`,
    );
  }
  const requests: RecordedRequest[] = [];
  let dropped = 0;
  const lines = linesOf(text, file);
  lines.forEach((line, i) => {
    const r = requestOf(line, `${file} line ${i + 1}`);
    if (r) requests.push(r);
    else dropped++;
  });
  if (!requests.length) {
    throw new RangeError(
      `Cannot read ${file} as a recorded run: current value has no successful request`,
    );
  }
  requests.sort((a, b) => a.arrivalS - b.arrivalS);
  const notes = [
    "output tokens = streamed text chunks, + 1 (the end-of-sequence token) when stopped before max_tokens",
  ];
  if (dropped) {
    notes.push(`${dropped} failed requests of ${lines.length} left out (error or no TTFT)`);
  }
  const s = settleSettings({}, o, notes, file);
  return {
    dir: file,
    format: "client-jsonl",
    latencyClock: "client",
    engine: "vllm",
    arrivals: "recorded",
    notes,
    meta: oneEngineMeta(model, s),
    requests,
  };
}
