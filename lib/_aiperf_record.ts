/**
 * One AIPerf per-request record, read from either of its per-request files:
 * a `profile_export.jsonl` line (`metadata`, `metrics` as `{tag: {value,
 * unit}}`, `error`) or a `profile_export_records.csv` row (AIPerf 0.8+: the
 * same fields as columns, metrics named `tag (unit)`). The start time is
 * `metadata.request_start_ns` (0.2+) or `metadata.timestamp_ns` (October 2025,
 * 0.1.x); the phase `benchmark_phase` (0.2+) or `credit_phase` (0.1.x); TTFT
 * is tagged `time_to_first_token` (0.2+) or `ttft` (0.1.x).
 *
 * @module
 */
import { badField, boolAt, idAt, numAt, objAt, strAt } from "./_peer.ts";

/** A record with the times in ms and the tokens as counts. */
export interface AiperfRecord {
  startNs: number;
  endNs: number | null;
  /** `profiling`, `warmup`, or null when the record does not say. */
  phase: string | null;
  cancelled: boolean;
  error: { code: number | null; message: string } | null;
  requestId: string | null;
  conversationId: string | null;
  turnIndex: number | null;
  /** The metrics merge uses, by AIPerf 0.2+ tag, in ms or tokens. */
  metrics: Map<string, number>;
  /** `inter_chunk_latency` gaps, ms, when the record has them. */
  chunkGapsMs: number[] | null;
}

/** AIPerf 0.1.x metric tags and the 0.2+ tags they became. */
const RENAMED: Record<string, string> = {
  ttft: "time_to_first_token",
  ttst: "time_to_second_token",
};
const USED = new Set([
  "time_to_first_token",
  "request_latency",
  "inter_token_latency",
  "output_sequence_length",
  "output_token_count",
  "input_sequence_length",
  "error_isl",
]);
const PER_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, us: 1e-3, ns: 1e-6 };

/** A value in `unit` as ms (time units) or as is (`tokens`); throws on another unit. */
function scaled(v: number, unit: string | null, where: string, field: string): number {
  if (unit === null || unit === "tokens") return v;
  const k = PER_MS[unit];
  if (k === undefined) throw badField(where, `${field}.unit`, "ms, s, sec, us, ns or tokens", unit);
  return v * k;
}

/** Reads a parsed JSONL record; `where` is `file:line`. */
export function fromJsonRecord(raw: unknown, where: string): AiperfRecord {
  const r = objAt(raw, where, "(record)");
  const md = objAt(r.metadata, where, "metadata");
  const startNs = numAt(md.request_start_ns, where, "metadata.request_start_ns") ??
    numAt(md.timestamp_ns, where, "metadata.timestamp_ns");
  if (startNs === null) {
    throw new TypeError(
      `Cannot read ${where} as an AIPerf record: current value has neither metadata.request_start_ns (AIPerf 0.2+) nor metadata.timestamp_ns (AIPerf 0.1)`,
    );
  }
  const metrics = new Map<string, number>();
  let chunkGapsMs: number[] | null = null;
  for (const [tag0, m0] of Object.entries(objAt(r.metrics, where, "metrics"))) {
    const tag = RENAMED[tag0] ?? tag0;
    if (!USED.has(tag) && tag !== "inter_chunk_latency") continue;
    const f = `metrics.${tag0}`;
    const m = objAt(m0, where, f);
    const unit = strAt(m.unit, where, `${f}.unit`);
    if (tag === "inter_chunk_latency") {
      if (!Array.isArray(m.value)) {
        throw badField(where, `${f}.value`, "a list of numbers", m.value);
      }
      chunkGapsMs = m.value.map((x, i) =>
        scaled(numAt(x, where, `${f}.value[${i}]`)!, unit, where, f)
      );
      continue;
    }
    const v = numAt(m.value, where, `${f}.value`);
    if (v !== null) metrics.set(tag, scaled(v, unit, where, f));
  }
  const e = r.error === undefined || r.error === null ? null : objAt(r.error, where, "error");
  return {
    startNs,
    endNs: numAt(md.request_end_ns, where, "metadata.request_end_ns"),
    phase: strAt(md.benchmark_phase ?? md.credit_phase, where, "metadata.benchmark_phase"),
    cancelled: boolAt(md.was_cancelled, where, "metadata.was_cancelled") ?? false,
    error: e && {
      code: numAt(e.code, where, "error.code"),
      message: strAt(e.message, where, "error.message") ?? strAt(e.type, where, "error.type") ??
        "error",
    },
    requestId: idAt(md.x_request_id, where, "metadata.x_request_id"),
    conversationId: idAt(md.conversation_id, where, "metadata.conversation_id") ??
      idAt(md.x_correlation_id, where, "metadata.x_correlation_id"),
    turnIndex: numAt(md.turn_index, where, "metadata.turn_index"),
    metrics,
    chunkGapsMs,
  };
}

/** A CSV cell as a number, null when empty; throws naming the cell otherwise. */
function cellNum(rec: Record<string, string>, col: string, where: string): number | null {
  const s = (rec[col] ?? "").trim();
  if (s === "") return null;
  const v = Number(s);
  if (!Number.isFinite(v)) throw badField(where, col, "a number", s);
  return v;
}

/** Reads one `profile_export_records.csv` row; `where` is `file:line`. */
export function fromCsvRow(rec: Record<string, string>, where: string): AiperfRecord {
  const startNs = cellNum(rec, "request_start_ns", where);
  if (startNs === null) {
    throw new TypeError(
      `Cannot read ${where} as an AIPerf record: current value has no request_start_ns`,
    );
  }
  const metrics = new Map<string, number>();
  for (const col of Object.keys(rec)) {
    const m = /^(\w+) \(([^)]*)\)$/.exec(col);
    if (!m || !USED.has(m[1])) continue;
    const v = cellNum(rec, col, where);
    if (v !== null) metrics.set(m[1], scaled(v, m[2], where, col));
  }
  const cancelled = (rec.was_cancelled ?? "").trim();
  if (!["True", "False", "true", "false", ""].includes(cancelled)) {
    throw badField(where, "was_cancelled", "True or False", cancelled);
  }
  const code = cellNum(rec, "error_code", where);
  const message = (rec.error_message ?? "").trim();
  const text = (c: string) => (rec[c] ?? "").trim() || null;
  return {
    startNs,
    endNs: cellNum(rec, "request_end_ns", where),
    phase: text("benchmark_phase"),
    cancelled: cancelled.toLowerCase() === "true",
    error: code === null && message === "" ? null : { code, message: message || "error" },
    requestId: text("x_request_id"),
    conversationId: text("conversation_id") ?? text("x_correlation_id"),
    turnIndex: cellNum(rec, "turn_index", where),
    metrics,
    chunkGapsMs: null,
  };
}
