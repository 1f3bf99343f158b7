/**
 * The one validator of our file formats (topology and experiment YAML,
 * `router.json`): a {@linkcode Reader} walks a parsed document block by block,
 * with typed getters that check type, enum, range and pattern, refuse unknown
 * keys, and name the file and the full field path in every error
 * (`Cannot use FIELD in FILE as EXPECTED: current value is V`, see `errors.ts`).
 *
 * @example
 * ```ts
 * const r = Reader.root("t.yaml", { router: { port: 10001 } }, ["router"]);
 * const router = r.obj("router", ["port", "host"]);
 * router.port("port"); // 10001; a bad value throws naming `router.port in t.yaml`
 * router.str("host") ?? "127.0.0.1";
 * ```
 *
 * @module
 */
import { fieldError } from "./errors.ts";

/** A parsed mapping. */
export type Obj = Record<string, unknown>;
/** A mapping key or a list index. */
export type Key = string | number;
/** Error class of a failed check. */
export type ErrorKind = "type" | "range";

/** How a file format words the checks that differ between formats. */
export interface ReaderStyle {
  /** What an unknown key is told is allowed, given the known keys. */
  unknownKey: (allowed: readonly string[]) => string;
  /** An unknown key's error shows the key itself (else its value). */
  showKey: boolean;
  /** What a field that must be a mapping and is not is told is allowed. */
  mapping: (allowed: readonly string[]) => string;
  /** `null` (YAML `key:` with nothing after it) counts as absent. */
  nullIsAbsent: boolean;
  /** Error class of a fraction where an integer is wanted. */
  fractionKind: ErrorKind;
}

/** The topology file's wording; the default. */
export const DEFAULT_STYLE: ReaderStyle = {
  unknownKey: (allowed) => `a known key (one of ${allowed.join(", ")})`,
  showKey: false,
  mapping: (allowed) => `a mapping with keys ${allowed.join(", ")}`,
  nullIsAbsent: true,
  fractionKind: "type",
};

/** True for a plain mapping (an object, not a list, not null). */
export function isMapping(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const isScalar = (v: unknown) => ["string", "number", "boolean"].includes(typeof v);

/**
 * Reads one block (a mapping or a list) of a parsed file. Getters take a key
 * of this block (a list index for lists) and name it by its full path;
 * absent values (undefined, and null unless the style says otherwise) come
 * back as undefined, so defaults are `?? value`.
 */
export class Reader {
  /**
   * @param file the file named in errors
   * @param raw the block read
   * @param path the block's field path ("" at the top)
   * @param style the format's wording @default DEFAULT_STYLE
   */
  constructor(
    readonly file: string,
    readonly raw: Obj | readonly unknown[] = {},
    readonly path = "",
    readonly style: ReaderStyle = DEFAULT_STYLE,
  ) {}

  /**
   * The top of a document: a mapping with keys in `allowed` (any keys when
   * null); absent reads as empty. `field` names the top in its own errors.
   */
  static root(
    file: string,
    raw: unknown,
    allowed: readonly string[] | null,
    o: { style?: ReaderStyle; field?: string } = {},
  ): Reader {
    const top = new Reader(file, {}, "", o.style);
    return new Reader(file, top.#mapping(raw, o.field ?? "", allowed) ?? {}, "", o.style);
  }

  /** Full path of `key` in this block. */
  at(key: Key): string {
    if (typeof key === "number") return `${this.path}[${key}]`;
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The raw value at `key`. */
  value(key: Key): unknown {
    return (this.raw as Record<Key, unknown>)[key];
  }

  /** Whether `key` is absent (undefined, or null when the style says so). */
  absent(key: Key): boolean {
    const v = this.value(key);
    return v === undefined || (v === null && this.style.nullIsAbsent);
  }

  /** The keys and values of this block. */
  entries(): [string, unknown][] {
    return Object.entries(this.raw);
  }

  /** Indices of this block (a list). */
  indices(): number[] {
    return Array.isArray(this.raw) ? this.raw.map((_, i) => i) : [];
  }

  /** An error for `key` (relative to this block) holding `value`, where `expected` is allowed. */
  fail(key: Key, value: unknown, expected: string, kind: ErrorKind = "range"): Error {
    return fieldError({ field: this.at(key), value, expected, file: this.file, kind });
  }

  /** `v` when defined; else an error for `key` showing `undefined`. */
  need<T>(v: T | undefined, key: Key, expected: string, kind: ErrorKind = "range"): T {
    if (v === undefined) throw this.fail(key, undefined, expected, kind);
    return v;
  }

  /** The value at `key` if `ok` accepts it (absent values included); else an error. */
  check<T = unknown>(
    key: Key,
    ok: (v: unknown) => boolean,
    expected: string,
    kind: ErrorKind = "range",
  ): T {
    const v = this.value(key);
    if (!ok(v)) throw this.fail(key, v, expected, kind);
    return v as T;
  }

  /** A reader of any value below this block (not checked), named `key`. */
  child(raw: Obj | readonly unknown[], key: Key): Reader {
    return new Reader(this.file, raw, this.at(key), this.style);
  }

  /**
   * The mapping at `key` with keys in `allowed` (any keys when omitted); absent
   * reads as empty. `notMapping` words the error when it is something else.
   */
  obj(
    key: Key,
    allowed: readonly string[] | null = null,
    notMapping?: { expected: string; kind: ErrorKind },
  ): Reader {
    const v = this.absent(key) ? undefined : this.value(key);
    return this.child(this.#mapping(v, this.at(key), allowed, notMapping) ?? {}, key);
  }

  /** The list at `key` with at least `min` items (absent is an error). */
  list(key: Key, expected: string, kind: ErrorKind = "type", min = 1): Reader {
    const v = this.check<unknown[]>(
      key,
      (v) => Array.isArray(v) && v.length >= min,
      expected,
      kind,
    );
    return this.child(v, key);
  }

  /** A non-empty string. */
  str(key: Key): string | undefined {
    if (this.absent(key)) return undefined;
    return this.check(
      key,
      (v) => typeof v === "string" && v.length > 0,
      "a non-empty string",
      "type",
    );
  }

  /** A string matching `re` (described by `what`). */
  pattern(key: Key, re: RegExp, what: string): string | undefined {
    const s = this.str(key);
    if (s !== undefined && !re.test(s)) throw this.fail(key, s, what);
    return s;
  }

  /** One of `allowed`. */
  oneOf<T extends string>(
    key: Key,
    allowed: readonly T[],
    expected = `one of ${allowed.join(", ")}`,
  ): T | undefined {
    if (this.absent(key)) return undefined;
    return this.check(key, (v) => typeof v === "string" && allowed.includes(v as T), expected);
  }

  /** A boolean. */
  bool(key: Key): boolean | undefined {
    if (this.absent(key)) return undefined;
    return this.check(key, (v) => typeof v === "boolean", "true or false", "type");
  }

  /** An integer in [min, max]. */
  int(key: Key, min: number, max: number): number | undefined {
    if (this.absent(key)) return undefined;
    const v = this.value(key);
    const expected = `an integer in [${min}, ${max}]`;
    if (typeof v !== "number") throw this.fail(key, v, expected, "type");
    if (!Number.isInteger(v)) throw this.fail(key, v, expected, this.style.fractionKind);
    if (v < min || v > max) throw this.fail(key, v, expected);
    return v;
  }

  /** A TCP port in [1, 65535]. */
  port(key: Key): number | undefined {
    return this.int(key, 1, 65535);
  }

  /** A finite number in (min, max] (`minOpen`) or [min, max]. */
  num(key: Key, min: number, max: number, minOpen = false): number | undefined {
    if (this.absent(key)) return undefined;
    const v = this.value(key);
    const range = `a number in ${minOpen ? "(" : "["}${min}, ${max}]`;
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.fail(key, v, range, "type");
    if ((minOpen ? v <= min : v < min) || v > max) throw this.fail(key, v, range);
    return v;
  }

  /** A finite number (an integer when `integer`) of at least `min`. */
  atLeast(key: Key, min: number, integer = false): number | undefined {
    if (this.absent(key)) return undefined;
    return this.check(
      key,
      (v) =>
        typeof v === "number" && Number.isFinite(v) && v >= min &&
        (!integer || Number.isInteger(v)),
      `${integer ? "an integer" : "a number"} >= ${min}`,
    );
  }

  /** A list of strings (numbers are accepted and written as strings, as in a command line). */
  args(key: Key): string[] {
    if (this.absent(key)) return [];
    const v = this.check<unknown[]>(
      key,
      (v) => Array.isArray(v) && v.every((a) => ["string", "number"].includes(typeof a)),
      "a list of strings (command-line arguments)",
      "type",
    );
    return v.map(String);
  }

  /** An environment mapping NAME -> value (numbers and booleans written as strings). */
  env(key: Key): Record<string, string> {
    if (this.absent(key)) return {};
    const v = this.check<Obj>(
      key,
      isMapping,
      "a mapping of environment variables NAME: value",
      "type",
    );
    const env = this.child(v, key);
    const out: Record<string, string> = {};
    for (const k of Object.keys(v)) {
      if (!ENV_NAME.test(k)) {
        throw env.fail(k, k, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
      }
      out[k] = String(env.check(k, isScalar, "a string, number or boolean", "type"));
    }
    return out;
  }

  #mapping(
    v: unknown,
    field: string,
    allowed: readonly string[] | null,
    notMapping = { expected: this.style.mapping(allowed ?? []), kind: "type" as ErrorKind },
  ): Obj | undefined {
    if (v === undefined || (v === null && this.style.nullIsAbsent)) return undefined;
    const at = (k: string) => field ? `${field}.${k}` : k;
    const fail = (f: string, value: unknown, expected: string, kind: ErrorKind = "range") =>
      fieldError({ field: f, value, expected, file: this.file, kind });
    if (!isMapping(v)) throw fail(field, v, notMapping.expected, notMapping.kind);
    for (const k of Object.keys(v)) {
      if (allowed && !allowed.includes(k)) {
        throw fail(at(k), this.style.showKey ? k : v[k], this.style.unknownKey(allowed));
      }
    }
    return v;
  }
}
