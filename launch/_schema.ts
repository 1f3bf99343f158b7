/**
 * Typed field readers for the topology YAML: each check throws
 * `Cannot use FIELD in FILE as EXPECTED: current value is V`.
 *
 * @module
 */
import { fieldError } from "../lib/errors.ts";

/** A plain YAML mapping. */
export type Obj = Record<string, unknown>;

/** Reads fields of one file, naming the file and the full field path in every error. */
export class Reader {
  /** @param file the file named in errors */
  constructor(readonly file: string) {}

  /** An error for `field` holding `value`, where `expected` is allowed. */
  fail(field: string, value: unknown, expected: string, kind: "type" | "range" = "range"): Error {
    return fieldError({ field, value, expected, file: this.file, kind });
  }

  /** A mapping; `undefined` stays `undefined`. Keys outside `allowed` are errors (typos). */
  obj(v: unknown, field: string, allowed: readonly string[]): Obj | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) {
      throw this.fail(field, v, `a mapping with keys ${allowed.join(", ")}`, "type");
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        throw this.fail(
          `${field ? field + "." : ""}${k}`,
          (v as Obj)[k],
          `a known key (one of ${allowed.join(", ")})`,
        );
      }
    }
    return v as Obj;
  }

  /** A non-empty string. */
  str(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v.length === 0) {
      throw this.fail(field, v, "a non-empty string", "type");
    }
    return v;
  }

  /** A string matching `re` (described by `what`). */
  pattern(v: unknown, field: string, re: RegExp, what: string): string | undefined {
    const s = this.str(v, field);
    if (s !== undefined && !re.test(s)) throw this.fail(field, v, what);
    return s;
  }

  /** One of `allowed`. */
  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || !allowed.includes(v as T)) {
      throw this.fail(field, v, `one of ${allowed.join(", ")}`);
    }
    return v as T;
  }

  /** An integer in [min, max]. */
  int(v: unknown, field: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw this.fail(field, v, `an integer in [${min}, ${max}]`, "type");
    }
    if (v < min || v > max) throw this.fail(field, v, `an integer in [${min}, ${max}]`);
    return v;
  }

  /** A TCP port in [1, 65535]. */
  port(v: unknown, field: string): number | undefined {
    return this.int(v, field, 1, 65535);
  }

  /** A finite number in (min, max] (`minOpen`) or [min, max]. */
  num(v: unknown, field: string, min: number, max: number, minOpen = false): number | undefined {
    if (v === undefined || v === null) return undefined;
    const range = `a number in ${minOpen ? "(" : "["}${min}, ${max}]`;
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.fail(field, v, range, "type");
    if ((minOpen ? v <= min : v < min) || v > max) throw this.fail(field, v, range);
    return v;
  }

  /** A boolean. */
  bool(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw this.fail(field, v, "true or false", "type");
    return v;
  }

  /** A list of strings (numbers are accepted and written as strings, as in a command line). */
  args(v: unknown, field: string): string[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((a) => !["string", "number"].includes(typeof a))) {
      throw this.fail(field, v, "a list of strings (command-line arguments)", "type");
    }
    return v.map(String);
  }

  /** An environment mapping NAME -> value (numbers and booleans written as strings). */
  env(v: unknown, field: string): Record<string, string> {
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v)) {
      throw this.fail(field, v, "a mapping of environment variables NAME: value", "type");
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        throw this.fail(
          `${field}.${k}`,
          k,
          "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
        );
      }
      if (!["string", "number", "boolean"].includes(typeof val)) {
        throw this.fail(`${field}.${k}`, val, "a string, number or boolean", "type");
      }
      out[k] = String(val);
    }
    return out;
  }
}
