/**
 * Where bench settings come from besides the command line: a workload YAML
 * file (`--config`, kebab or snake case keys) and `--class NAME:flag=value,...`
 * specs. Both name settings by flag or alias.
 *
 * @module
 */
import type { FlagValues } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import { flagSpecOf } from "./_setting_table.ts";
import { BENCH_SETTINGS } from "./_bench_settings.ts";

const FLAGS = flagSpecOf(BENCH_SETTINGS);

/** Canonical flag name by flag, alias and their snake_case forms. */
const CANONICAL = new Map<string, string>();
for (const [k, d] of Object.entries(FLAGS)) {
  for (const n of [k, ...(d.aliases ?? [])]) CANONICAL.set(n, k).set(n.replaceAll("-", "_"), k);
}

/** Flag values from a workload YAML object (kebab or snake case keys); throws on unknown keys. */
export function valuesFromFile(obj: unknown, file: string): FlagValues {
  if (obj === null || obj === undefined) return {};
  if (typeof obj !== "object" || Array.isArray(obj)) {
    throw fieldError({
      field: "the top level",
      file,
      value: obj,
      expected: "a mapping of options",
    });
  }
  const out: FlagValues = {};
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const name = CANONICAL.get(k);
    if (name === "class") {
      out.class = classSpecs(k, v, file);
      continue;
    }
    if (!name || name === "config") {
      throw fieldError({ field: k, file, value: v, expected: "a bench option (see --help)" });
    }
    if (FLAGS[name].type === "boolean") {
      if (typeof v !== "boolean") {
        throw fieldError({ field: k, file, value: v, expected: "true or false", kind: "type" });
      }
      out[name] = v;
    } else {
      if (typeof v === "object" && v !== null) {
        throw fieldError({
          field: k,
          file,
          value: v,
          expected: "a string or number",
          kind: "type",
        });
      }
      out[name] = String(v);
    }
  }
  return out;
}

/** `classes: [{name: text, rate: 30, input-len: 256}, ...]` as `--class` specs. */
function classSpecs(k: string, v: unknown, file: string): string[] {
  if (!Array.isArray(v)) {
    throw fieldError({ field: k, file, value: v, expected: "a list of {name, option: value}" });
  }
  return v.map((c, i) => {
    if (
      typeof c !== "object" || c === null || typeof (c as { name?: unknown }).name !== "string"
    ) {
      throw fieldError({
        field: `${k}[${i}]`,
        file,
        value: c,
        expected: "{name, option: value, ...}",
      });
    }
    const { name: cn, ...opts } = c as Record<string, unknown>;
    return `${cn}:${Object.entries(opts).map(([a, b]) => `${a}=${b}`).join(",")}`;
  });
}

/** Options a class may set (the rest are the run's). */
const CLASS_OPTIONS = new Set([
  "rate",
  "arrival",
  "burstiness",
  "dataset",
  "dataset-path",
  "input-len",
  "output-len",
  "range-ratio",
  "input-dist",
  "output-dist",
  "prefix-len",
  "num-prefixes",
  "turns",
  "think-time",
  "preset",
  "image-size",
  "images-per-request",
  "no-ignore-eos",
  "trace-speedup",
]);

/** Parses `--class NAME:flag=value,...` into its name and flag values. */
export function parseClass(spec: string): { name: string; values: FlagValues } {
  const m = /^([A-Za-z0-9_-]+):(.*)$/s.exec(spec);
  if (!m) {
    throw fieldError({
      field: "--class",
      value: spec,
      expected: "NAME:flag=value,... (NAME of letters, digits, _ -)",
    });
  }
  const values: FlagValues = {};
  for (const part of m[2].split(",").map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = CANONICAL.get(eq < 0 ? part : part.slice(0, eq));
    if (!key || !CLASS_OPTIONS.has(key)) {
      throw fieldError({
        field: `--class ${m[1]}`,
        value: part,
        expected: `flag=value with a flag of ${[...CLASS_OPTIONS].join(", ")}`,
      });
    }
    values[key] = FLAGS[key].type === "boolean"
      ? (eq < 0 || part.slice(eq + 1) !== "false")
      : part.slice(eq + 1);
  }
  return { name: m[1], values };
}
