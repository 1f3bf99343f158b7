/**
 * Command-line flags over `node:util` parseArgs: aliases (vLLM's spellings),
 * usage text, typed readers that throw clear errors, and the `main` runner.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage, fieldError } from "./errors.ts";

/** One flag. */
export interface FlagDef {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** One line for `--help`. */
  help: string;
  /** Other long names accepted for this flag. */
  aliases?: string[];
  /** Value name in `--help`. */
  placeholder?: string;
}

/** Flags by canonical long name. */
export type FlagSpec = Record<string, FlagDef>;

/** Parsed values by canonical name. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** Parses `args` strictly; aliases map to their canonical name; `-h/--help` is always known. */
export function parseFlags(
  args: string[],
  spec: FlagSpec,
  opts: { allowPositionals?: boolean } = {},
): { values: FlagValues; positionals: string[] } {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {
    help: { type: "boolean", short: "h" },
  };
  const canon = new Map<string, string>();
  for (const [name, d] of Object.entries(spec)) {
    options[name] = { type: d.type, multiple: d.multiple ?? false };
    if (d.short) options[name].short = d.short;
    for (const a of d.aliases ?? []) {
      options[a] = { type: d.type, multiple: d.multiple ?? false };
      canon.set(a, name);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: opts.allowPositionals ?? false,
    });
  } catch (e) {
    const m = /'(-[^']+)'|"(-[^"]+)"/.exec(errorMessage(e));
    const flag = m ? (m[1] ?? m[2]) : args.join(" ");
    throw new TypeError(
      `Cannot use ${flag} as a flag: current value is ${JSON.stringify(flag)} (${
        errorMessage(e)
      }); see --help`,
    );
  }
  const values: FlagValues = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    const name = canon.get(k) ?? k;
    if (values[name] !== undefined) {
      throw fieldError({
        field: `--${k}`,
        value: v,
        expected: `a flag not given twice (it is an alias of --${name})`,
      });
    }
    values[name] = v as string | boolean | string[];
  }
  for (const [name, d] of Object.entries(spec)) {
    if (values[name] === undefined && d.default !== undefined) values[name] = d.default;
  }
  return { values, positionals: parsed.positionals };
}

/** `--help` text: summary, then one line per flag with aliases and default. */
export function usage(cmd: string, summary: string, spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([name, d]) => {
    const names = [
      d.short ? `-${d.short}, --${name}` : `--${name}`,
      ...(d.aliases ?? []).map((a) => `--${a}`),
    ]
      .join(", ");
    const arg = d.type === "string" ? ` <${d.placeholder ?? "value"}>` : "";
    const def = d.default !== undefined && d.default !== false ? ` (default: ${d.default})` : "";
    return [`  ${names}${arg}`, `${d.help}${def}`];
  });
  const w = Math.min(44, Math.max(...rows.map((r) => r[0].length)) + 2);
  const lines = rows.map(([a, b]) =>
    a.length >= w ? `${a}\n${" ".repeat(w)}${b}` : a.padEnd(w) + b
  );
  return `Usage: ${cmd} [options]\n\n${summary}\n\nOptions:\n  -h, --help\n` + lines.join("\n");
}

/** Options of {@linkcode numberFlag}. */
export interface NumberFlagOptions {
  min?: number;
  max?: number;
  integer?: boolean;
  /** Used when the flag is absent. */
  default?: number;
  /** Accept `inf`/`Infinity`. @default false */
  allowInf?: boolean;
}

/** Reads a numeric flag; throws `Cannot use --name as ...` when it is not one. */
export function numberFlag(
  values: FlagValues,
  name: string,
  o: NumberFlagOptions = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined || raw === "") return o.default;
  const s = String(raw).trim();
  const n = o.allowInf && /^(inf|infinity)$/i.test(s) ? Infinity : Number(s);
  const kind = o.integer ? "an integer" : "a number";
  const range = o.min !== undefined && o.max !== undefined && o.max < Number.MAX_SAFE_INTEGER
    ? ` in [${o.min}, ${o.max}]`
    : o.min !== undefined
    ? ` >= ${o.min}`
    : "";
  const expected = `${kind}${range}${o.allowInf ? " or inf" : ""}`;
  if (s === "" || Number.isNaN(n) || (!Number.isFinite(n) && !(o.allowInf && n === Infinity))) {
    throw fieldError({ field: `--${name}`, value: raw, expected, kind: "type" });
  }
  if (o.integer && Number.isFinite(n) && !Number.isInteger(n)) {
    throw fieldError({ field: `--${name}`, value: raw, expected, kind: "type" });
  }
  if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
    throw fieldError({ field: `--${name}`, value: raw, expected });
  }
  return n;
}

/** Reads a flag that must be one of `allowed`. */
export function enumFlag<T extends string>(
  values: FlagValues,
  name: string,
  allowed: readonly T[],
  def?: T,
): T | undefined {
  const raw = values[name];
  if (raw === undefined) return def;
  if (!allowed.includes(raw as T)) {
    throw fieldError({ field: `--${name}`, value: raw, expected: `one of ${allowed.join(", ")}` });
  }
  return raw as T;
}

/** Reads a comma-separated (or repeated) flag as a list of non-empty strings. */
export function listFlag(values: FlagValues, name: string): string[] {
  const raw = values[name];
  if (raw === undefined || raw === false) return [];
  const parts = (Array.isArray(raw) ? raw : [String(raw)]).flatMap((s) => s.split(","));
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Runs `main(Deno.args)`: exits with its code; on a throw prints one `error:` line and exits 1. */
export async function runMain(main: (args: string[]) => Promise<number | void>): Promise<void> {
  let code = 0;
  try {
    code = (await main(Deno.args)) ?? 0;
  } catch (e) {
    console.error(`error: ${errorMessage(e)}`);
    code = 1;
  }
  Deno.exit(code);
}
