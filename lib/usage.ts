/**
 * A server's `usage` object (OpenAI-compatible: `prompt_tokens`,
 * `completion_tokens`, `total_tokens`, `prompt_tokens_details.cached_tokens`)
 * checked before a client records it: each count present must be a whole
 * number from 0 to {@linkcode TOKEN_COUNT_MAX}. A negative or absurd count
 * (`completion_tokens: -999993`) fails that request with the field and value
 * named, rather than entering the results.
 *
 * @module
 */

/** The largest token count one request may report. */
export const TOKEN_COUNT_MAX = 1e9;

/** Why `value` is not a token count (null when it is, or is absent: null or undefined). */
export function tokenCountError(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (
    typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= TOKEN_COUNT_MAX
  ) {
    return null;
  }
  return `server ${field} is ${
    JSON.stringify(value) ?? String(value)
  }; allowed: a whole number from 0 to ${TOKEN_COUNT_MAX.toExponential().replace("e+", "e")}`;
}

/** Why a `usage` object cannot be recorded, or null (also when absent). */
export function usageError(usage: unknown, field = "usage"): string | null {
  if (usage === undefined || usage === null) return null;
  if (typeof usage !== "object" || Array.isArray(usage)) {
    return `server ${field} is ${JSON.stringify(usage)}; allowed: an object of token counts`;
  }
  const u = usage as Record<string, unknown>;
  for (const k of ["prompt_tokens", "completion_tokens", "total_tokens"]) {
    const e = tokenCountError(`${field}.${k}`, u[k]);
    if (e) return e;
  }
  const det = u.prompt_tokens_details;
  if (det === undefined || det === null) return null;
  if (typeof det !== "object") {
    return `server ${field}.prompt_tokens_details is ${JSON.stringify(det)}; allowed: an object`;
  }
  const cached = (det as Record<string, unknown>).cached_tokens;
  return tokenCountError(`${field}.prompt_tokens_details.cached_tokens`, cached);
}
