/**
 * AIPerf's aggregate `profile_export_aiperf.json`: model, load point, the
 * tool's own benchmark duration and request counts, in the three layouts
 * AIPerf has written:
 * - October 2025 (0.1.x): metrics under `records.<tag>`, the model in
 *   `input_config.endpoint.model_names`, the load in `input_config.loadgen`;
 * - 0.2 to 0.7: the same settings, metrics at the top level (`<tag>.avg`);
 * - 0.8 and later: metrics at the top level, the model in
 *   `input_config.models.items[].name`, the load in `input_config.phases[]`.
 *
 * @module
 */
import { badField, loadPointName, numAt, type Obj, objAt, strAt } from "./_peer.ts";

/** What the aggregate file says about a run. */
export interface AiperfSummary {
  model: string;
  rate: number | null;
  concurrency: number | null;
  loadPoint: string;
  /** Strategy label, e.g. `concurrency@c4`. */
  label: string;
  /** AIPerf's `benchmark_duration`, s, or null when absent. */
  durationS: number | null;
  /** `request_count` (valid requests) and `error_request_count`, or null when absent. */
  validCount: number | null;
  errorCount: number | null;
}

const LAYOUTS =
  "AIPerf 0.8+ (input_config.models.items[].name, input_config.phases[]) or AIPerf 0.1-0.7 " +
  "(input_config.endpoint.model_names, input_config.loadgen)";

/** The model name(s) the run used, joined with `,` when it round-robined several. */
function modelOf(ic: Obj, file: string): string {
  const items = objAt(ic.models, file, "input_config.models").items;
  const names: string[] = [];
  if (Array.isArray(items)) {
    items.forEach((it, i) => {
      const f = `input_config.models.items[${i}].name`;
      const n = strAt(objAt(it, file, `input_config.models.items[${i}]`).name, file, f);
      if (n) names.push(n);
    });
  } else {
    const ep = objAt(ic.endpoint, file, "input_config.endpoint");
    const list = ep.model_names ?? ic.model_names;
    if (list !== undefined && !Array.isArray(list)) {
      throw badField(file, "input_config.endpoint.model_names", "a list of names", list);
    }
    (list ?? []).forEach((n: unknown, i: number) => {
      const s = strAt(n, file, `input_config.endpoint.model_names[${i}]`);
      if (s) names.push(s);
    });
  }
  if (names.length === 0) {
    throw new TypeError(
      `Cannot read ${file} as an AIPerf summary: current value names no model (accepted: ${LAYOUTS})`,
    );
  }
  return names.join(",");
}

/** Rate and concurrency of the one profiling phase (AIPerf 0.8+). */
function phaseLoad(phases: unknown[], file: string) {
  const prof = phases.map((p, i) => ({ p: objAt(p, file, `input_config.phases[${i}]`), i }))
    .filter(({ p }) => (p.kind ?? p.name) !== "warmup");
  if (prof.length !== 1) {
    throw new RangeError(
      `Cannot read ${file} field input_config.phases as one profiling phase: current value has ${prof.length}`,
    );
  }
  const { p, i } = prof[0];
  const at = `input_config.phases[${i}]`;
  const type = strAt(p.type, file, `${at}.type`) ?? "";
  if (p.rate_series !== undefined && p.rate_series !== null) {
    throw badField(file, `${at}.rate_series`, "a fixed rate (rate series are not read)", "...");
  }
  return {
    type,
    rate: numAt(p.rate, file, `${at}.rate`),
    concurrency: numAt(p.concurrency, file, `${at}.concurrency`),
  };
}

/** Rate and concurrency from `input_config.loadgen` (AIPerf 0.1-0.7). */
function loadgenLoad(ic: Obj, file: string) {
  const lg = objAt(ic.loadgen, file, "input_config.loadgen");
  const mode = strAt(lg.request_rate_mode, file, "input_config.loadgen.request_rate_mode");
  return {
    type: mode ?? "",
    rate: numAt(lg.request_rate, file, "input_config.loadgen.request_rate"),
    concurrency: numAt(lg.concurrency, file, "input_config.loadgen.concurrency"),
  };
}

/** The `avg` of a metric tag, at the top level or under `records` (October 2025). */
function avgOf(root: Obj, tag: string, file: string): { v: number | null; unit: string | null } {
  const recs = objAt(root.records, file, "records");
  const inRecs = root.records !== undefined;
  const at = inRecs ? `records.${tag}` : tag;
  const m = objAt(inRecs ? recs[tag] : root[tag], file, at);
  return { v: numAt(m.avg, file, `${at}.avg`), unit: strAt(m.unit, file, `${at}.unit`) };
}

function durationOf(root: Obj, file: string): number | null {
  const { v, unit } = avgOf(root, "benchmark_duration", file);
  if (v === null) return null;
  if (unit === "sec" || unit === "s") return v;
  if (unit === "ms") return v / 1000;
  if (unit === "ns") return v / 1e9;
  throw badField(file, "benchmark_duration.unit", 'one of "sec", "s", "ms", "ns"', unit);
}

/** Reads a parsed `profile_export_aiperf.json`; throws naming the file and what is missing. */
export function readAiperfSummary(json: unknown, file: string): AiperfSummary {
  const root = objAt(json, file, "(root)");
  if (root.input_config === undefined) {
    throw new TypeError(
      `Cannot read ${file} as an AIPerf summary: current value has no input_config (accepted: ${LAYOUTS})`,
    );
  }
  const ic = objAt(root.input_config, file, "input_config");
  const model = modelOf(ic, file);
  const load = Array.isArray(ic.phases) ? phaseLoad(ic.phases, file) : loadgenLoad(ic, file);
  if (load.rate === null && load.concurrency === null && load.type !== "fixed_schedule") {
    throw new TypeError(
      `Cannot read ${file} as an AIPerf summary: current value states neither a request rate nor a concurrency (accepted: ${LAYOUTS})`,
    );
  }
  const loadPoint = loadPointName(load.rate, load.concurrency, load.type);
  return {
    model,
    rate: load.rate,
    concurrency: load.concurrency,
    loadPoint,
    label: `${load.type || "aiperf"}@${load.rate !== null ? load.rate : loadPoint}`,
    durationS: durationOf(root, file),
    validCount: avgOf(root, "request_count", file).v,
    errorCount: avgOf(root, "error_request_count", file).v,
  };
}
