/**
 * Helpers of the peer-result readers (GuideLLM, AIPerf): loose JSON access and
 * the timing fields of a request row from its send time, TTFT and E2E.
 *
 * @module
 */
import type { RequestRow } from "./result_schema.ts";

/** A JSON object, or `{}` for anything else. */
export const obj = (v: unknown): Record<string, unknown> =>
  v && typeof v === "object" && !Array.isArray(v) ? v as Record<string, unknown> : {};

/** A finite number, or null. */
export const num = (v: unknown): number | null =>
  typeof v === "number" && Number.isFinite(v) ? v : null;

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
