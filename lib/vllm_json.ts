/**
 * `vllm bench serve --save-result` JSON: key normalization (the old
 * `request_goodput:` key with a trailing colon) and per-request rows rebuilt
 * from the `input_lens`, `output_lens`, `ttfts`, `itls` (seconds) and `errors`
 * arrays, so merge and compare recompute everything as for our own runs.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";
import { timedFields } from "./_peer.ts";
import { tpotMs } from "./metrics.ts";
import { maxOf, minOf } from "./stats.ts";

/** A normalized result object plus the rows rebuilt from its arrays (null when absent). */
export interface VllmResult {
  result: Record<string, unknown>;
  rows: RequestRow[] | null;
  /** All inter-token gaps (ms) of successful requests, or null. */
  itlGapsMs: number[] | null;
}

const arr = (v: unknown): unknown[] | null => (Array.isArray(v) ? v : null);

/** Reads one result object; throws naming the file when it is not one. */
export function readVllmResult(text: string, file: string): VllmResult {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${file} as vllm bench JSON: current value is invalid JSON (${
        e instanceof Error ? e.message : e
      })`,
    );
  }
  if (j === null || typeof j !== "object" || Array.isArray(j)) {
    throw new TypeError(
      `Cannot read ${file} as vllm bench JSON: current value is not one object`,
    );
  }
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j as Record<string, unknown>)) {
    result[k.replace(/:+$/, "").trim()] = v;
  }
  // vLLM's median is its p50 (np.median, np.percentile(x, 50)): a plain file
  // written without `--metric-percentiles 50` still has it
  for (const m of ["ttft", "tpot", "itl", "e2el"]) {
    const med = result[`median_${m}_ms`];
    if (result[`p50_${m}_ms`] === undefined && typeof med === "number") result[`p50_${m}_ms`] = med;
  }
  if (typeof result.completed !== "number" || typeof result.duration !== "number") {
    throw new TypeError(
      `Cannot read ${file} as vllm bench JSON: current value lacks numeric completed and duration`,
    );
  }
  const ttfts = arr(result.ttfts);
  const outs = arr(result.output_lens);
  if (!ttfts || !outs || ttfts.length !== outs.length) {
    return { result, rows: null, itlGapsMs: null };
  }
  const ins = arr(result.input_lens) ?? [];
  const itls = arr(result.itls) ?? [];
  const errors = arr(result.errors) ?? [];
  // `latencies` (s) in today's files, always kept; `e2els` in some older ones
  const e2els = arr(result.e2els) ?? arr(result.latencies);
  // `start_times`: perf-counter seconds of each send (only their differences mean anything)
  const starts = arr(result.start_times)?.map(Number) ?? null;
  const t0 = starts && starts.length === ttfts.length ? minOf(starts) : null;
  const rows: RequestRow[] = [];
  const gaps: number[] = [];
  const rate = result.request_rate;
  const lp = typeof rate === "number" ? String(rate) : String(rate ?? "inf");
  for (let i = 0; i < ttfts.length; i++) {
    const out = Number(outs[i] ?? 0);
    const ttftMs = Number(ttfts[i]) * 1000;
    const g = (arr(itls[i]) ?? []).map((x) => Number(x) * 1000);
    const err = typeof errors[i] === "string" ? errors[i] as string : "";
    const failed = err !== "" || (out === 0 && !(ttftMs > 0));
    const sumG = g.reduce((a, b) => a + b, 0);
    const e2e = e2els ? Number(e2els[i]) * 1000 : ttftMs + sumG;
    if (!failed) gaps.push(...g);
    const sent = t0 === null ? 0 : (starts![i] - t0) * 1000;
    rows.push({
      run_id: file,
      load_point: lp,
      request_id: String(i),
      conversation_id: String(i),
      turn: 1,
      ...timedFields(sent, failed ? null : ttftMs, e2e),
      tpot_ms: failed ? null : tpotMs(e2e, ttftMs, out),
      itl_mean_ms: g.length ? sumG / g.length : null,
      itl_max_ms: g.length ? maxOf(g) : null,
      prompt_tokens: ins[i] === undefined ? null : Number(ins[i]),
      output_tokens: out,
      cached_tokens: null,
      status: failed ? 0 : 200,
      error: failed ? (err || "failed") : "",
      backend: "",
    });
  }
  return { result, rows, itlGapsMs: gaps };
}
