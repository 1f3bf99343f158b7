/**
 * GuideLLM's `benchmarks.json` (report schema v2, `guidellm benchmark --output-path`):
 * one load point per benchmark, per-request rows rebuilt from
 * `requests.successful | errored | incomplete` (times in Unix seconds, `_ms`
 * fields in ms), so merge and compare recompute everything as for our runs.
 * GuideLLM's TPOT counts the first token; the rows take its
 * `inter_token_latency_ms` instead, which is vLLM's TPOT.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";
import { num, obj, timedFields } from "./_peer.ts";

/** One benchmark of a peer tool's file, as merge needs it. */
export interface PeerRun {
  /** Strategy and rate, e.g. `constant@2`. */
  label: string;
  loadPoint: string;
  rateTarget: number | null;
  maxConcurrency: number | null;
  model: string;
  /** The tool's own benchmark duration, s (its throughput denominator). */
  durationS: number | null;
  rows: RequestRow[];
}

type Obj = Record<string, unknown>;

/** Whether a parsed JSON value is a GuideLLM report. */
export function isGuidellmReport(j: unknown): boolean {
  const b = obj(j).benchmarks;
  return Array.isArray(b) && b.length > 0 && typeof obj(b[0]).requests === "object";
}

/** Reads a GuideLLM report; throws naming the file and the field when it is not one. */
export function readGuidellm(text: string, file: string): PeerRun[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${file} as GuideLLM benchmarks.json: current value is invalid JSON (${
        (e as Error).message
      })`,
    );
  }
  if (!isGuidellmReport(j)) {
    throw new TypeError(
      `Cannot read ${file} as GuideLLM benchmarks.json: current value has no benchmarks[].requests`,
    );
  }
  const root = obj(j);
  const spec = obj(obj(root.config).spec);
  const rootModel = String(obj(spec.backend).model ?? "");
  return (root.benchmarks as unknown[]).map((raw, k) => {
    const b = obj(raw);
    const cfg = obj(b.config);
    const strategy = obj(cfg.strategy);
    const kind = String(strategy.type_ ?? strategy.type ?? "");
    const rate = num(strategy.rate);
    const conc = num(strategy.max_concurrency) ?? num(strategy.streams);
    const model = String(obj(cfg.backend).model ?? rootModel);
    const reqs = obj(b.requests);
    const all: [Obj, "ok" | "errored" | "incomplete"][] = [];
    for (
      const [key, st] of [["successful", "ok"], ["errored", "errored"], [
        "incomplete",
        "incomplete",
      ]] as const
    ) {
      const list = reqs[key];
      if (Array.isArray(list)) { for (const r of list) all.push([obj(r), st]); }
    }
    const starts = all.map(([r]) => num(r.request_start_time)).filter((x): x is number =>
      x !== null
    );
    const t0 = starts.length ? Math.min(...starts) : 0;
    const lp = rate !== null ? String(rate) : conc !== null ? `c${conc}` : kind || String(k + 1);
    const rows = all.map(([r, st], i): RequestRow => {
      const info = obj(r.info);
      const start = num(r.request_start_time) ?? t0;
      const end = num(r.request_end_time) ?? start;
      const ok = st === "ok";
      const ttft = ok ? num(r.time_to_first_token_ms) : null;
      const sent = (start - t0) * 1000;
      const e2e = num(r.request_latency) !== null
        ? num(r.request_latency)! * 1000
        : (end - start) * 1000;
      const out = num(r.output_tokens) ?? 0;
      return {
        run_id: file,
        load_point: lp,
        request_id: String(r.request_id ?? info.request_id ?? i),
        conversation_id: String(info.conversation_id ?? r.request_id ?? i),
        turn: (num(info.turn_index) ?? 0) + 1,
        ...timedFields(sent, ttft, e2e),
        tpot_ms: ok && out > 1 ? num(r.inter_token_latency_ms) : null,
        itl_mean_ms: ok ? num(r.inter_token_latency_ms) : null,
        itl_max_ms: null,
        prompt_tokens: num(r.prompt_tokens),
        output_tokens: ok ? out : 0,
        cached_tokens: num(r.cached_tokens),
        status: ok ? 200 : 0,
        error: ok ? "" : String(info.error ?? (st === "incomplete" ? "incomplete" : "errored")),
        backend: "",
      };
    });
    return {
      label: `${kind || "benchmark"}${
        rate !== null ? `@${rate}` : conc !== null ? `@c${conc}` : ""
      }`,
      loadPoint: lp,
      rateTarget: rate,
      maxConcurrency: conc,
      model,
      durationS: num(b.duration),
      rows,
    };
  });
}
