/**
 * NVIDIA AIPerf's exports: the per-request `profile_export.jsonl` (one record per
 * request: `metadata` with wall-clock `request_start_ns`, `metrics` as
 * `{tag: {value, unit}}` in display units, `error` on failure) and, beside it,
 * the summary `profile_export_aiperf.json` (model and load settings). AIPerf's
 * `request_latency` ends at the last content chunk, as vLLM's E2E does.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";
import { num, obj, timedFields } from "./_peer.ts";
import type { PeerRun } from "./guidellm_json.ts";

type Obj = Record<string, unknown>;

/** A metric's value in ms (or tokens), converting `s`/`ns`/`us` units; null when absent. */
function metric(m: Obj, tag: string): number | null {
  const x = obj(m[tag]);
  const v = num(x.value);
  if (v === null) return null;
  const unit = String(x.unit ?? "");
  if (unit === "s" || unit === "sec") return v * 1000;
  if (unit === "ns") return v / 1e6;
  if (unit === "us") return v / 1000;
  return v;
}

/** Model and load settings from a summary object (`input_config`), as far as it says. */
function settings(
  summary: Obj,
): { model: string; rate: number | null; concurrency: number | null } {
  const ic = obj(summary.input_config);
  const ep = obj(ic.endpoint);
  const lg = obj(ic.loadgen);
  const names = ep.model_names ?? ic.model_names;
  return {
    model: Array.isArray(names) && names.length ? String(names[0]) : String(ep.model ?? ""),
    rate: num(lg.request_rate) ?? num(ic.request_rate),
    concurrency: num(lg.concurrency) ?? num(ic.concurrency),
  };
}

/**
 * Reads `profile_export.jsonl` text (and the summary object, when there is
 * one) into one run; throws naming the file and line of a bad record.
 */
export function readAiperf(jsonl: string, file: string, summary: unknown = {}): PeerRun {
  const recs: Obj[] = [];
  jsonl.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new SyntaxError(
        `Cannot read ${file}:${i + 1} as an AIPerf record: current value is invalid JSON (${
          (e as Error).message
        })`,
      );
    }
    const m = obj(obj(r).metadata);
    if (num(m.request_start_ns) === null) {
      throw new TypeError(
        `Cannot read ${file}:${
          i + 1
        } as an AIPerf record: current value has no metadata.request_start_ns`,
      );
    }
    // warmup records are not exported by AIPerf; drop them if a file has them
    if (m.benchmark_phase === undefined || m.benchmark_phase === "profiling") recs.push(obj(r));
  });
  const s = settings(obj(summary));
  const starts = recs.map((r) => num(obj(r.metadata).request_start_ns)!);
  const t0 = starts.length ? Math.min(...starts) : 0;
  const lp = s.rate !== null ? String(s.rate) : s.concurrency !== null ? `c${s.concurrency}` : "1";
  const rows = recs.map((r, i): RequestRow => {
    const md = obj(r.metadata);
    const m = obj(r.metrics);
    const err = r.error === undefined || r.error === null ? null : obj(r.error);
    const ok = err === null && md.was_cancelled !== true;
    const sent = (num(md.request_start_ns)! - t0) / 1e6;
    const endNs = num(md.request_end_ns);
    const ttft = ok ? metric(m, "time_to_first_token") : null;
    const e2e = metric(m, "request_latency") ??
      (endNs !== null ? (endNs - num(md.request_start_ns)!) / 1e6 : 0);
    const out = ok
      ? (metric(m, "output_sequence_length") ?? metric(m, "output_token_count") ?? 0)
      : 0;
    const gaps = obj(m.inter_chunk_latency).value;
    const g = Array.isArray(gaps) ? gaps.filter((x): x is number => typeof x === "number") : [];
    return {
      run_id: file,
      load_point: lp,
      request_id: String(md.x_request_id ?? i),
      conversation_id: String(md.conversation_id ?? md.x_correlation_id ?? i),
      turn: (num(md.turn_index) ?? 0) + 1,
      ...timedFields(sent, ttft, e2e),
      tpot_ms: ok && out > 1 ? metric(m, "inter_token_latency") : null,
      itl_mean_ms: g.length ? g.reduce((a, b) => a + b, 0) / g.length : null,
      itl_max_ms: g.length ? Math.max(...g) : null,
      prompt_tokens: metric(m, "input_sequence_length") ?? metric(m, "error_isl"),
      output_tokens: out,
      cached_tokens: null,
      status: ok ? 200 : num(err?.code) ?? 0,
      error: ok ? "" : String(err?.message ?? err?.type ?? "cancelled"),
      backend: "",
    };
  });
  const sum = obj(summary);
  // AIPerf's own denominator (first valid start to last valid content), else the run's span
  const bd = obj(sum.benchmark_duration);
  const toolS = num(bd.avg) === null ? null : bd.unit === "ms" ? num(bd.avg)! / 1000 : num(bd.avg);
  const startS = Date.parse(String(sum.start_time ?? ""));
  const endS = Date.parse(String(sum.end_time ?? ""));
  return {
    label: "aiperf",
    loadPoint: lp,
    rateTarget: s.rate,
    maxConcurrency: s.concurrency,
    model: s.model,
    durationS: toolS ??
      (Number.isFinite(startS) && Number.isFinite(endS) ? (endS - startS) / 1000 : null),
    rows,
  };
}
