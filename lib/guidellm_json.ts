/**
 * GuideLLM's report (`benchmarks.json`, or the same as `benchmarks.yaml`):
 * one load point per benchmark, per-request rows rebuilt from
 * `requests.successful | errored | incomplete` (times in Unix seconds, `_ms`
 * fields in ms), so merge and compare recompute everything as for our runs.
 * Two layouts are read:
 * - 0.3-0.4: `benchmarks[].args.strategy`, the model in `worker.backend_model`,
 *   requests with `start_time` / `end_time`, totals in `request_totals`;
 * - 0.5+ (`metadata.version` 1, 2): `benchmarks[].config.strategy`, the model
 *   in `config.backend.model` (or the report's `config.spec.backend.model`),
 *   requests with `request_start_time` / `request_end_time`, totals in
 *   `metrics.request_totals`.
 * GuideLLM may list a sample of the requests only (`--output-sampling`); the
 * run is then marked incomplete. A benchmark that lists none of its requests
 * is read from GuideLLM's own statistics over all of them (`metrics.*.successful`,
 * in vLLM's key names) and marked complete; its TPOT stays empty.
 * GuideLLM's TPOT counts the first token; the rows take its
 * `inter_token_latency_ms` instead, which is vLLM's TPOT. Its summary
 * `inter_token_latency_ms` is weighted by tokens, as vLLM's ITL.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import type { RequestRow } from "./result_schema.ts";
import { minOf } from "./stats.ts";
import {
  badField,
  idAt,
  loadPointName,
  numAt,
  type Obj,
  objAt,
  parseJson,
  type PeerRun,
  strAt,
  timedFields,
} from "./_peer.ts";

export type { PeerRun } from "./_peer.ts";

const LAYOUTS = "GuideLLM 0.3-0.4 (benchmarks[].args.strategy, worker.backend_model) or " +
  "0.5+ (benchmarks[].config.strategy, config.backend.model)";

/** Whether a parsed JSON value is a GuideLLM report. */
export function isGuidellmReport(j: unknown): boolean {
  const b = j && typeof j === "object" ? (j as Obj).benchmarks : undefined;
  return Array.isArray(b) && b.length > 0 && !!b[0] && typeof b[0] === "object" &&
    "requests" in b[0];
}

/** Whether a path is a GuideLLM YAML report (`benchmarks*.yaml` / `.yml`). */
export const isGuidellmYaml = (p: string): boolean => /(^|\/)benchmarks[^/]*\.ya?ml$/.test(p);

type Status = "ok" | "errored" | "incomplete";

/** The load of one benchmark as GuideLLM recorded it. */
function strategyOf(b: Obj, file: string, at: string) {
  const old = b.args !== undefined;
  const holder = objAt(old ? b.args : b.config, file, old ? `${at}.args` : `${at}.config`);
  const sAt = `${at}.${old ? "args" : "config"}.strategy`;
  const s = objAt(holder.strategy, file, sAt);
  const kind = strAt(s.type_ ?? s.type, file, `${sAt}.type_`);
  if (!kind) {
    throw new TypeError(
      `Cannot read ${file} field ${sAt}.type_: current value is absent (accepted: ${LAYOUTS})`,
    );
  }
  const rate = numAt(s.rate, file, `${sAt}.rate`);
  let conc = numAt(s.streams, file, `${sAt}.streams`) ??
    numAt(s.max_concurrency, file, `${sAt}.max_concurrency`);
  if (kind === "synchronous") conc = 1; // one request at a time, by definition
  if ((kind === "constant" || kind === "poisson") && rate === null) {
    throw badField(file, `${sAt}.rate`, `the rate of a ${kind} strategy`, s.rate);
  }
  if (kind === "concurrent" && conc === null) {
    throw badField(file, `${sAt}.streams`, "the streams of a concurrent strategy", s.streams);
  }
  const lp = kind === "synchronous" || kind === "throughput"
    ? kind
    : loadPointName(rate, conc, kind);
  return { kind, rate, conc, lp, old };
}

function modelOf(b: Obj, rootModel: string | null, file: string, at: string, old: boolean) {
  const m = old
    ? strAt(objAt(b.worker, file, `${at}.worker`).backend_model, file, `${at}.worker.backend_model`)
    : strAt(
      objAt(objAt(b.config, file, `${at}.config`).backend, file, `${at}.config.backend`).model,
      file,
      `${at}.config.backend.model`,
    );
  const model = m ?? rootModel;
  if (!model) {
    throw new TypeError(
      `Cannot read ${file} benchmark ${at} as a GuideLLM benchmark: current value names no model (accepted: ${LAYOUTS})`,
    );
  }
  return model;
}

function requestRow(
  r: Obj,
  st: Status,
  t0: number,
  lp: string,
  file: string,
  at: string,
): RequestRow {
  const info = objAt(r.info, file, `${at}.info`);
  const start = numAt(r.request_start_time ?? r.start_time, file, `${at}.request_start_time`);
  if (start === null) throw badField(file, `${at}.request_start_time`, "a time, s", undefined);
  const end = numAt(r.request_end_time ?? r.end_time, file, `${at}.request_end_time`) ?? start;
  const ok = st === "ok";
  const lat = numAt(r.request_latency, file, `${at}.request_latency`);
  const out = numAt(r.output_tokens, file, `${at}.output_tokens`) ?? 0;
  const id = idAt(r.request_id ?? info.request_id, file, `${at}.request_id`) ?? at;
  const err = strAt(info.error ?? r.error, file, `${at}.info.error`);
  return {
    run_id: file,
    load_point: lp,
    request_id: id,
    conversation_id: idAt(info.conversation_id, file, `${at}.info.conversation_id`) ?? id,
    turn: (numAt(info.turn_index, file, `${at}.info.turn_index`) ?? 0) + 1,
    ...timedFields(
      (start - t0) * 1000,
      ok ? numAt(r.time_to_first_token_ms, file, `${at}.time_to_first_token_ms`) : null,
      (lat ?? end - start) * 1000,
    ),
    tpot_ms: ok && out > 1
      ? numAt(r.inter_token_latency_ms, file, `${at}.inter_token_latency_ms`)
      : null,
    itl_mean_ms: ok ? numAt(r.inter_token_latency_ms, file, `${at}.inter_token_latency_ms`) : null,
    itl_max_ms: null,
    prompt_tokens: numAt(r.prompt_tokens, file, `${at}.prompt_tokens`),
    output_tokens: ok ? out : 0,
    cached_tokens: numAt(r.cached_tokens, file, `${at}.cached_tokens`),
    status: ok ? 200 : 0,
    error: ok ? "" : err ?? st,
    backend: "",
  };
}

/** The rows of one benchmark and the count GuideLLM recorded for it. */
function rowsOf(b: Obj, file: string, at: string, lp: string, old: boolean) {
  const reqs = objAt(b.requests, file, `${at}.requests`);
  const all: [Obj, Status, string][] = [];
  for (
    const [key, st] of [["successful", "ok"], ["errored", "errored"], [
      "incomplete",
      "incomplete",
    ]] as const
  ) {
    const list = reqs[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) throw badField(file, `${at}.requests.${key}`, "a list", list);
    list.forEach((r, i) => {
      const rAt = `${at}.requests.${key}[${i}]`;
      all.push([objAt(r, file, rAt), st, rAt]);
    });
  }
  const starts = all.map(([r, , rAt]) =>
    numAt(r.request_start_time ?? r.start_time, file, `${rAt}.request_start_time`) ?? Infinity
  );
  const t0 = starts.length ? minOf(starts) : 0;
  const rows = all.map(([r, st, rAt]) => requestRow(r, st, t0, lp, file, rAt));
  const totAt = old ? `${at}.request_totals` : `${at}.metrics.request_totals`;
  const tot = objAt(
    old ? b.request_totals : objAt(b.metrics, file, `${at}.metrics`).request_totals,
    file,
    totAt,
  );
  return { rows, tot, totAt };
}

/** GuideLLM's distributions read as vLLM's summary keys: `[ours, theirs, scale to ms]`. */
const DISTRIBUTIONS = [
  ["ttft", "time_to_first_token_ms", 1],
  ["itl", "inter_token_latency_ms", 1],
  ["e2el", "request_latency", 1000],
] as const;

/** The statistics GuideLLM computed over all requests of a benchmark, in vLLM's key names. */
function summaryOf(b: Obj, tot: Obj, totAt: string, durS: number | null, file: string, at: string) {
  const mAt = `${at}.metrics`;
  const m = objAt(b.metrics, file, mAt);
  const count = (k: string) => numAt(tot[k], file, `${totAt}.${k}`) ?? 0;
  const done = count("successful");
  const failed = count("errored") + count("incomplete");
  const dist = (key: string) => {
    const dAt = `${mAt}.${key}.successful`;
    return { d: objAt(objAt(m[key], file, `${mAt}.${key}`).successful, file, dAt), dAt };
  };
  const sum = (key: string) => {
    const { d, dAt } = dist(key);
    return numAt(d.total_sum, file, `${dAt}.total_sum`);
  };
  const s: Obj = { completed: done, failed, num_prompts: done + failed };
  s.success_rate = done + failed ? done / (done + failed) : null;
  s.total_input_tokens = sum("prompt_token_count");
  s.total_output_tokens = sum("output_token_count");
  if (durS) {
    s.duration = durS;
    s.request_throughput = done / durS;
    const [i, o] = [s.total_input_tokens as number | null, s.total_output_tokens as number | null];
    if (o !== null) s.output_throughput = o / durS;
    if (i !== null && o !== null) s.total_token_throughput = (i + o) / durS;
  }
  for (const [ours, theirs, scale] of DISTRIBUTIONS) {
    const { d, dAt } = dist(theirs);
    const p = objAt(d.percentiles, file, `${dAt}.percentiles`);
    const val = (v: unknown, f: string) => {
      const x = numAt(v, file, `${dAt}.${f}`);
      return x === null ? null : x * scale;
    };
    s[`mean_${ours}_ms`] = val(d.mean, "mean");
    s[`median_${ours}_ms`] = val(d.median, "median");
    s[`std_${ours}_ms`] = val(d.std_dev, "std_dev");
    s[`p50_${ours}_ms`] = val(p.p50 ?? d.median, "percentiles.p50");
    for (const q of ["p90", "p95", "p99"]) s[`${q}_${ours}_ms`] = val(p[q], `percentiles.${q}`);
  }
  return s;
}

/** Reads a GuideLLM report (JSON, or YAML by the file's extension); throws naming the file and field. */
export function readGuidellm(text: string, file: string): PeerRun[] {
  let j: unknown;
  if (isGuidellmYaml(file)) {
    try {
      j = parseYaml(text);
    } catch (e) {
      throw new SyntaxError(
        `Cannot read ${file} as GuideLLM benchmarks.yaml: current value is invalid YAML (${
          (e as Error).message
        })`,
      );
    }
  } else j = parseJson(text, file, "GuideLLM benchmarks.json");
  if (!isGuidellmReport(j)) {
    throw new TypeError(
      `Cannot read ${file} as a GuideLLM report: current value has no benchmarks[].requests (accepted: ${LAYOUTS})`,
    );
  }
  const root = j as Obj;
  const spec = objAt(objAt(root.config, file, "config").spec, file, "config.spec");
  const rootModel = strAt(
    objAt(spec.backend, file, "config.spec.backend").model,
    file,
    "config.spec.backend.model",
  );
  return (root.benchmarks as unknown[]).map((raw, k) => {
    const at = `benchmarks[${k}]`;
    const b = objAt(raw, file, at);
    const s = strategyOf(b, file, at);
    const { rows, tot, totAt } = rowsOf(b, file, at, s.lp, s.old);
    const recorded = numAt(tot.total, file, `${totAt}.total`);
    const durationS = numAt(b.duration, file, `${at}.duration`);
    // none listed: GuideLLM's own statistics stand for all requests
    const summary = rows.length === 0 && recorded
      ? summaryOf(b, tot, totAt, durationS, file, at)
      : undefined;
    return {
      label: `${s.kind}${s.rate !== null ? `@${s.rate}` : s.conc !== null ? `@c${s.conc}` : ""}`,
      loadPoint: s.lp,
      rateTarget: s.rate,
      maxConcurrency: s.conc,
      model: modelOf(b, rootModel, file, at, s.old),
      durationS,
      rows,
      requestsRecorded: recorded,
      complete: recorded === null || recorded === rows.length || summary !== undefined,
      ...(summary ? { summary } : {}),
    };
  });
}
