/**
 * Command-line flags over `node:util` parseArgs: aliases (vLLM's spellings),
 * usage text, typed readers that throw clear errors, and the `main` runner.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { errorMessage, fieldError } from "./errors.ts";
import { maxOf } from "./stats.ts";

/** One flag. */
export interface FlagDef {
  /** Whether the flag takes a value. */
  type: "string" | "boolean";
  /** One-letter form, e.g. `p` for `-p`. */
  short?: string;
  /** Collect repeated values into a list. @default false */
  multiple?: boolean;
  /** Value when the flag is absent. */
  default?: string | boolean;
  /** One line for `--help`. */
  help: string;
  /** Other long names accepted for this flag, e.g. vLLM's `request-rate` for `rate`. */
  aliases?: string[];
  /** Value name in `--help`. @default "value" */
  placeholder?: string;
  /**
   * Names this flag had before (not accepted: using one is an error naming
   * this flag), e.g. `target` for `attainment`. @default []
   */
  formerly?: string[];
}

/** Flags by canonical long name. */
export interface FlagSpec {
  [name: string]: FlagDef;
}

/** Parsed values by canonical name. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** Options of {@linkcode parseFlags}. */
export interface ParseFlagsOptions {
  /** Accept arguments that are not flags. @default false */
  allowPositionals?: boolean;
  /** The flags an unknown flag's error lists (those `--help` shows). @default the parsed ones */
  shown?: FlagSpec;
}

type ParseArgsOption = { type: "string" | "boolean"; short?: string; multiple?: boolean };

function knownFlags(spec: FlagSpec): string {
  const names = [
    "--help",
    ...Object.entries(spec).flatMap(([n, d]) => [n, ...(d.aliases ?? [])])
      .filter((n) => n !== "help").map((n) => `--${n}`),
  ];
  return names.join(", ");
}

/**
 * `--rate -1` as `--rate=-1`: a value that reads as a negative number after a
 * flag that takes a value is that flag's value (node's parser would call it a
 * missing value), so the flag's own check can say what is allowed.
 */
function joinNegativeValues(args: string[], options: Record<string, ParseArgsOption>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i])?.[1];
    const next = args[i + 1];
    if (
      name !== undefined && options[name]?.type === "string" && next !== undefined &&
      /^-(\d|\.\d|inf(inity)?$)/i.test(next)
    ) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

/** The error of an unknown flag: the flag that replaced it, else the known flags. */
function unknownFlag(flag: string, spec: FlagSpec, shown: FlagSpec = spec): TypeError {
  const name = flag.replace(/^-+/, "");
  const now = Object.entries(spec).find(([, d]) => d.formerly?.includes(name));
  if (now) {
    return new TypeError(`Cannot use ${flag}: it was renamed --${now[0]} (${now[1].help})`);
  }
  return new TypeError(
    `Cannot use ${flag} as a flag of this command: it is not one; known flags: ${
      knownFlags(shown)
    }`,
  );
}

/**
 * Parses `args` strictly. Aliases map to their canonical name (giving both is an
 * error); defaults fill absent flags; `help` (`-h/--help`) is always known and
 * always present in the result.
 */
export function parseFlags(
  args: string[],
  spec: FlagSpec,
  opts: ParseFlagsOptions = {},
): { values: FlagValues; positionals: string[] } {
  const options: Record<string, ParseArgsOption> = { help: { type: "boolean", short: "h" } };
  const canon = new Map<string, string>();
  // A spec may redefine `help`; any other name used twice is a bug in the spec.
  const taken = (n: string, what: string, mayBeHelp: boolean) => {
    if (Object.hasOwn(options, n) && !(mayBeHelp && n === "help")) {
      throw fieldError({ field: `--${n}`, value: n, expected: what, kind: "type" });
    }
  };
  for (const [name, d] of Object.entries(spec)) {
    taken(name, "a flag name (an alias of another flag already uses it)", true);
    const o: ParseArgsOption = { type: d.type, multiple: d.multiple ?? false };
    if (d.short) o.short = d.short;
    options[name] = o;
    for (const a of d.aliases ?? []) {
      taken(a, `an alias of --${name} (another flag already uses that name)`, false);
      options[a] = { type: d.type, multiple: d.multiple ?? false };
      canon.set(a, name);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, options),
      options,
      strict: true,
      allowPositionals: opts.allowPositionals ?? false,
    });
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = errorMessage(e);
    const quoted = /'([^']+)'/.exec(msg)?.[1] ?? args.join(" ");
    const flag = quoted.split(" ")[0];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw unknownFlag(flag, spec, opts.shown);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      throw new TypeError(
        `Cannot use ${flag} as an argument: current value is ${
          JSON.stringify(flag)
        }; this command takes flags only (see --help)`,
      );
    }
    const expected = /does not take/.test(msg) ? "a flag without a value" : "a flag with a value";
    throw fieldError({ field: flag, value: flag, expected, kind: "type" });
  }
  const values: FlagValues = {};
  const givenAs = new Map<string, string>();
  for (const [k, v] of Object.entries(parsed.values)) {
    const name = canon.get(k) ?? k;
    const other = givenAs.get(name);
    if (other !== undefined) {
      throw fieldError({
        field: `--${k}`,
        value: v,
        expected: `a flag given once (--${other} is the same flag)`,
        kind: "type",
      });
    }
    givenAs.set(name, k);
    values[name] = v as string | boolean | string[];
  }
  for (const [name, d] of Object.entries(spec)) {
    if (values[name] === undefined && d.default !== undefined) values[name] = d.default;
  }
  values.help ??= false;
  return { values, positionals: parsed.positionals };
}

/** `--help` text: usage line, summary, then one line per flag with aliases and default. */
export function usage(cmd: string, summary: string, spec: FlagSpec): string {
  const rows: [string, string][] = [["  -h, --help", "Show this help and exit"]];
  for (const [name, d] of Object.entries(spec)) {
    if (name === "help") continue;
    const names = [
      d.short ? `-${d.short}, --${name}` : `--${name}`,
      ...(d.aliases ?? []).map((a) => `--${a}`),
    ].join(", ");
    const arg = d.type === "string" ? ` <${d.placeholder ?? "value"}>` : "";
    const more = d.multiple ? " (repeatable)" : "";
    const def = d.default !== undefined && d.default !== false ? ` (default: ${d.default})` : "";
    rows.push([`  ${names}${arg}`, `${d.help}${more}${def}`]);
  }
  const w = Math.min(44, maxOf(rows.map((r) => r[0].length)) + 2);
  const lines = rows.map(([a, b]) =>
    a.length >= w ? `${a}\n${" ".repeat(w)}${b}` : a.padEnd(w) + b
  );
  return `Usage: ${cmd} [options]\n\n${summary}\n\nOptions:\n${lines.join("\n")}`;
}

/** Options of {@linkcode numberFlag}. */
export interface NumberFlagOptions {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive); `Number.MAX_SAFE_INTEGER` or more reads as no limit. */
  max?: number;
  /** Require a whole number. @default false */
  integer?: boolean;
  /** Used when the flag is absent or empty. */
  default?: number;
  /** Accept `inf`/`Infinity`. @default false */
  allowInf?: boolean;
}

function describe(o: NumberFlagOptions): string {
  const kind = o.integer ? "an integer" : "a number";
  const hasMax = o.max !== undefined && o.max < Number.MAX_SAFE_INTEGER;
  const range = o.min !== undefined && hasMax
    ? ` in [${o.min}, ${o.max}]`
    : o.min !== undefined
    ? ` >= ${o.min}`
    : hasMax
    ? ` <= ${o.max}`
    : "";
  return `${kind}${range}${o.allowInf ? " or inf" : ""}`;
}

/** Reads a numeric flag; throws `Cannot use --name as ...` when it is not one or out of range. */
export function numberFlag(
  values: FlagValues,
  name: string,
  o: NumberFlagOptions = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined || raw === "") return o.default;
  const expected = describe(o);
  const bad = (kind: "type" | "range") =>
    fieldError({ field: `--${name}`, value: raw, expected, kind });
  if (typeof raw !== "string") throw bad("type");
  const s = raw.trim();
  const n = o.allowInf && /^\+?(inf|infinity)$/i.test(s) ? Infinity : Number(s);
  if (s === "" || Number.isNaN(n) || (n === Infinity ? !o.allowInf : !Number.isFinite(n))) {
    throw bad("type");
  }
  if (o.integer && Number.isFinite(n) && !Number.isInteger(n)) throw bad("type");
  if ((o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
    throw bad("range");
  }
  return n;
}

/** Reads a flag that must be one of `allowed`; `def` when absent. */
export function enumFlag<T extends string>(
  values: FlagValues,
  name: string,
  allowed: readonly T[],
  def?: T,
): T | undefined {
  const raw = values[name];
  if (raw === undefined) return def;
  if (typeof raw !== "string" || !allowed.includes(raw as T)) {
    throw fieldError({ field: `--${name}`, value: raw, expected: `one of ${allowed.join(", ")}` });
  }
  return raw as T;
}

/** Reads a comma-separated (or repeated) flag as a list of non-empty, trimmed strings. */
export function listFlag(values: FlagValues, name: string): string[] {
  const raw = values[name];
  if (raw === undefined) return [];
  if (typeof raw === "boolean") {
    throw fieldError({
      field: `--${name}`,
      value: raw,
      expected: "a comma-separated list",
      kind: "type",
    });
  }
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(","));
  return parts.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** What a command's `--help` prints first (see {@linkcode usage}). */
export interface CommandHelp {
  /** The usage line without `[options]`, e.g. `deno task merge <run dirs...>`. */
  cmd: string;
  /** One sentence on what the command does. */
  summary: string;
  /** The flags it lists, when not those parsed (e.g. parsed without defaults, listed with them). */
  flags?: FlagSpec;
}

/**
 * {@linkcode parseFlags} for a command's `main`: with `-h/--help` it prints the
 * {@linkcode usage} text and returns null (the command then exits 0).
 *
 * @example
 * ```ts
 * const parsed = parseCommand(args, FLAGS, { cmd: "deno task x <file>", summary: "Does x." });
 * if (!parsed) return 0;
 * ```
 */
export function parseCommand(
  args: string[],
  spec: FlagSpec,
  help: CommandHelp,
  opts: ParseFlagsOptions = {},
): { values: FlagValues; positionals: string[] } | null {
  const parsed = parseFlags(args, spec, { shown: help.flags, ...opts });
  if (!parsed.values.help) return parsed;
  console.log(usage(help.cmd, help.summary, help.flags ?? spec));
  return null;
}

/**
 * The one positional argument; else a TypeError naming `what` (e.g. "one
 * topology file") and how many were given.
 */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length === 0) {
    throw new TypeError(
      `Cannot run without ${what}: current value has none; give one (--help shows how)`,
    );
  }
  if (positionals.length !== 1) {
    throw new TypeError(
      `Cannot use ${
        JSON.stringify(positionals)
      } as ${what}: current value has ${positionals.length} arguments`,
    );
  }
  return positionals[0];
}

/**
 * Runs `main(Deno.args)` and exits with its code (0 when it returns nothing);
 * on a throw prints one `error: <message>` line on stderr and exits 1.
 */
export async function runMain(main: (args: string[]) => Promise<number | void>): Promise<void> {
  let code = 0;
  try {
    code = (await main(Deno.args)) ?? 0;
  } catch (e) {
    Deno.stderr.writeSync(new TextEncoder().encode(`error: ${errorMessage(e)}\n`));
    // an error that carries an exit code (an interruption: 130/143) keeps it
    const x = (e as { exitCode?: unknown })?.exitCode;
    code = typeof x === "number" && Number.isInteger(x) && x > 0 ? x : 1;
  }
  Deno.exit(code);
}
