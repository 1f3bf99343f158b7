/**
 * A settings table: each CLI setting declared once, as its flag (type,
 * default, help, aliases), how its value is read and checked, and the config
 * field it fills. The flag spec (`parseFlags`, `--help`), the resolved config
 * and the config's type ({@linkcode FieldsOf}) all come from the table.
 *
 * @module
 */
import {
  enumFlag,
  type FlagDef,
  type FlagSpec,
  type FlagValues,
  numberFlag,
  type NumberFlagOptions,
} from "../lib/args.ts";

/** Reads one flag of the merged values (CLI over file over default); throws on a bad value. */
export type Read<T> = (v: FlagValues, flag: string) => T;

/** One setting: its flag and, when it fills a config field, the field and how it is read. */
export interface Setting<T = unknown> extends Omit<FlagDef, "aliases" | "type"> {
  /** Whether the flag takes a value. @default "string" */
  type?: "string" | "boolean";
  /** Other long names accepted for the flag. */
  aliases?: readonly string[];
  /**
   * The config field it fills: `rateRps`, `dataset.inputLen` (a field of the
   * `dataset` group), or `...` (the read value's own fields). Absent: the flag
   * is read by another setting or by a check of several settings.
   */
  field?: string;
  /** Reads and checks the value. */
  read?: Read<T>;
  /** The field is read (and checked) only when this holds; else it is absent. */
  when?: (v: FlagValues) => boolean;
}

/** Settings by flag name, in `--help` order. */
export type SettingTable = Record<string, Setting>;

/** A number, checked as {@linkcode numberFlag} checks it. */
export const num = (o: NumberFlagOptions): Read<number | undefined> => (v, k) =>
  numberFlag(v, k, o);
/** One of `allowed`. */
export const oneOf = <T extends string>(allowed: readonly T[]): Read<T | undefined> => (v, k) =>
  enumFlag(v, k, allowed);
/** The value as given. */
export const text: Read<string | undefined> = (v, k) => v[k] as string | undefined;
/** A switch. */
export const on: Read<boolean> = (v, k) => v[k] as boolean;
/** The opposite of a `--no-x` switch. */
export const off: Read<boolean> = (v, k) => !(v[k] as boolean);

/** The value type a setting reads: never undefined with a default, unless it has a `when`. */
export type ValueOf<S> = S extends { read: Read<infer T> }
  ? S extends { when: unknown } ? T | undefined
  : S extends { default: string | boolean } ? NonNullable<T>
  : T
  : never;
type FieldKey<S, G extends string> = S extends { field: infer F extends string }
  ? [G] extends [""] ? (F extends "..." | `${string}.${string}` ? never : F)
  : F extends `${G}.${infer N}` ? N
  : never
  : never;
type RequiredFields<T, G extends string> = {
  [K in keyof T as undefined extends ValueOf<T[K]> ? never : FieldKey<T[K], G>]: ValueOf<T[K]>;
};
type OptionalFields<T, G extends string> = {
  [K in keyof T as undefined extends ValueOf<T[K]> ? FieldKey<T[K], G> : never]?: Exclude<
    ValueOf<T[K]>,
    undefined
  >;
};
type Intersect<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I
  : never;

/** The config fields a table fills, at the top level (`G` = "") or in group `G`. */
export type FieldsOf<T, G extends string = ""> = RequiredFields<T, G> & OptionalFields<T, G>;
/** The fields of the `...` settings' values (merged into the top level). */
export type SpreadOf<T> = Intersect<
  { [K in keyof T]: T[K] extends { field: "..." } ? ValueOf<T[K]> : never }[keyof T]
>;

/** The flag spec of a table (for `parseFlags` and `usage`). */
export function flagSpecOf(table: SettingTable): FlagSpec {
  return Object.fromEntries(
    Object.entries(table).map(([k, { field: _f, read: _r, when: _w, type, aliases, ...flag }]) => [
      k,
      { type: type ?? "string", ...flag, ...(aliases ? { aliases: [...aliases] } : {}) },
    ]),
  );
}

/** Each setting's value: the CLI's, else the file's, else its default. */
export function mergeValues(table: SettingTable, cli: FlagValues, file: FlagValues): FlagValues {
  const v: FlagValues = {};
  for (const [k, d] of Object.entries(table)) v[k] = cli[k] ?? file[k] ?? d.default;
  return v;
}

/** Reads one setting of `table` with its own reader (typed by the setting). */
export function readerOf<T extends SettingTable>(table: T) {
  return <K extends keyof T & string>(v: FlagValues, k: K): ValueOf<T[K]> =>
    table[k].read!(v, k) as ValueOf<T[K]>;
}

/**
 * The fields the settings fill, in table order: the top level (with the `...`
 * settings' fields) or group `group`. Absent and undefined values are left out.
 */
export function fill<T extends SettingTable, G extends string = "">(
  table: T,
  v: FlagValues,
  group = "" as G,
): G extends "" ? FieldsOf<T> & SpreadOf<T> : FieldsOf<T, G> {
  const out: Record<string, unknown> = {};
  const prefix = group ? `${group}.` : "";
  for (const [k, s] of Object.entries(table)) {
    if (!s.field || !s.read || s.when?.(v) === false) continue;
    if (s.field === "...") {
      if (!group) Object.assign(out, s.read(v, k));
      continue;
    }
    const inGroup = prefix ? s.field.startsWith(prefix) : !s.field.includes(".");
    if (!inGroup) continue;
    const x = s.read(v, k);
    if (x !== undefined) out[s.field.slice(prefix.length)] = x;
  }
  return out as G extends "" ? FieldsOf<T> & SpreadOf<T> : FieldsOf<T, G>;
}
