/**
 * Validation errors with one message form everywhere:
 * `Cannot use FIELD [in FILE] as EXPECTED: current value is VALUE`.
 *
 * @module
 */

/** What was wrong, for {@linkcode fieldError}. */
export interface FieldErrorOptions {
  /** The flag or config field, e.g. `--rate` or `router.port`. */
  field: string;
  /** The bad value. */
  value: unknown;
  /** What is allowed, e.g. `a positive number` or `one of agg, dp, pd`. */
  expected: string;
  /** The config file it came from, if any. */
  file?: string;
  /** Error class to use. @default "range" */
  kind?: "type" | "range" | "syntax";
}

/** Shows a value as it was given: strings and objects as JSON, numbers as written. */
export function formatValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "function" || typeof v === "symbol") return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Builds a TypeError/RangeError/SyntaxError naming the field, file, value and what is allowed. */
export function fieldError(o: FieldErrorOptions): Error {
  const where = o.file ? ` in ${o.file}` : "";
  const msg = `Cannot use ${o.field}${where} as ${o.expected}: current value is ${
    formatValue(o.value)
  }`;
  if (o.kind === "type") return new TypeError(msg);
  if (o.kind === "syntax") return new SyntaxError(msg);
  return new RangeError(msg);
}

/** One-line message of anything thrown (first line of the message; the error name if empty). */
export function errorMessage(e: unknown): string {
  let m: string;
  if (e instanceof Error) m = e.message || e.name;
  else if (typeof e === "string") m = e;
  else m = formatValue(e);
  return m.split("\n")[0].trimEnd();
}
