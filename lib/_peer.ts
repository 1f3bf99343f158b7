/**
 * Helpers of the peer-result readers (GuideLLM, AIPerf): the run they return,
 * strict JSON field access (a field of the wrong type is refused, naming the
 * file, the field and the value) and the timing fields of a request row.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";

/** One benchmark of a peer tool's file, as merge needs it. */
export interface PeerRun {
  /** Strategy and load, e.g. `constant@2` or `concurrency@c4`. */
  label: string;
  loadPoint: string;
  rateTarget: number | null;
  maxConcurrency: number | null;
  model: string;
  /** The tool's own benchmark duration, s (its throughput denominator). */
  durationS: number | null;
  rows: RequestRow[];
  /** Requests the tool counted for this benchmark, or null when it does not say. */
  requestsRecorded: number | null;
  /** False when the file lists fewer requests than the tool counted (a sampled report). */
  complete: boolean;
}

/** A JSON object. */
export type Obj = Record<string, unknown>;

const shown = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** A TypeError shaped `Cannot read FILE field FIELD as WHAT: current value is V`. */
export function badField(file: string, field: string, what: string, v: unknown): TypeError {
  return new TypeError(
    `Cannot read ${file} field ${field} as ${what}: current value is ${shown(v)}`,
  );
}

/** `v` when it is an object, `{}` when absent (undefined or null); else throws. */
export function objAt(v: unknown, file: string, field: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v === "object" && !Array.isArray(v)) return v as Obj;
  throw badField(file, field, "an object", v);
}

/** `v` when it is a finite number, null when absent (undefined or null); else throws. */
export function numAt(v: unknown, file: string, field: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  throw badField(file, field, "a number", v);
}

/** `v` when it is a string, null when absent (undefined or null); else throws. */
export function strAt(v: unknown, file: string, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  throw badField(file, field, "a string", v);
}

/** `v` when it is a boolean, null when absent (undefined or null); else throws. */
export function boolAt(v: unknown, file: string, field: string): boolean | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "boolean") return v;
  throw badField(file, field, "a boolean", v);
}

/** An id field that tools write as a string or a number; null when absent. */
export function idAt(v: unknown, file: string, field: string): string | null {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return strAt(v, file, field);
}

/** Parses JSON text, naming the file and the format expected when it is not JSON. */
export function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot read ${file} as ${what}: current value is invalid JSON (${(e as Error).message})`,
    );
  }
}

/** The time fields of a row sent at `sentMs` (ms from the run's first send). */
export function timedFields(
  sentMs: number,
  ttftMs: number | null,
  e2eMs: number,
): Pick<
  RequestRow,
  "scheduled_ms" | "sent_ms" | "first_token_ms" | "end_ms" | "ttft_ms" | "e2e_ms"
> {
  return {
    scheduled_ms: sentMs,
    sent_ms: sentMs,
    first_token_ms: ttftMs === null ? null : sentMs + ttftMs,
    end_ms: sentMs + e2eMs,
    ttft_ms: ttftMs,
    e2e_ms: e2eMs,
  };
}

/** The load point's name: the rate, else `c<concurrency>`, else the strategy's own name. */
export function loadPointName(
  rate: number | null,
  concurrency: number | null,
  kind: string,
): string {
  return rate !== null ? String(rate) : concurrency !== null ? `c${concurrency}` : kind;
}
