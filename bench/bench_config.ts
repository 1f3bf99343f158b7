/**
 * Flags of `deno task bench` (with vLLM's `vllm bench serve` spellings as
 * aliases) and their validation into a {@linkcode BenchConfig}: a pure function
 * of the parsed flags and an optional workload YAML object (flags win). Each
 * setting is declared once in `_bench_settings.ts` (flag, help, default,
 * check, config field); the flag table and the config type come from there.
 *
 * @module
 */
import type { FlagSpec, FlagValues } from "../lib/args.ts";
import { fieldError } from "../lib/errors.ts";
import type { SamplingOptions } from "./request_body.ts";
import type { DatasetOptions } from "./workload/datasets.ts";
import { type FieldsOf, fill, flagSpecOf, mergeValues, type SpreadOf } from "./_setting_table.ts";
import { BENCH_SETTINGS, setting } from "./_bench_settings.ts";
import { checkCombinations } from "./_config_checks.ts";
import { parseClass } from "./_config_file.ts";
import { withSizeCaps } from "./size_caps.ts";

export { parseClass, valuesFromFile } from "./_config_file.ts";

/** Flags of the bench CLI, by canonical name. */
export const BENCH_FLAGS: FlagSpec = flagSpecOf(BENCH_SETTINGS);

type Settings = typeof BENCH_SETTINGS;

/**
 * Everything a run needs, validated: one field per setting that fills one
 * (named in `_bench_settings.ts`, e.g. `--rate` fills `rateRps`), and the
 * groups below.
 */
export interface BenchConfig extends FieldsOf<Settings>, SpreadOf<Settings> {
  /** The workload: `--dataset`, lengths, multiturn and image settings. */
  dataset: DatasetOptions;
  /** Sampling fields sent with OpenAI bodies; none unless asked, as `vllm bench serve` does. */
  sampling: SamplingOptions;
  /**
   * Request classes (`--class`): each its own options (dataset, rate, lengths)
   * over the shared ones; one schedule, rows and summaries per class. @default []
   */
  classes: { name: string; cfg: BenchConfig }[];
  /** `--platform kubernetes`: the load runs in `replicas` pods of a Job. */
  kubernetes?: FieldsOf<Settings, "kubernetes">;
}

/** Flag spec without defaults, so a parse tells which flags were given. */
export function flagsWithoutDefaults(): FlagSpec {
  return Object.fromEntries(
    Object.entries(BENCH_FLAGS).map(([k, d]) => [k, { ...d, default: undefined }]),
  );
}

/**
 * Validates flag values (CLI over file over defaults) into a config. Pure but
 * for the size caps a test may set in the environment (`size_caps.ts`).
 */
export function resolveBenchConfig(cli: FlagValues, file: FlagValues = {}): BenchConfig {
  const classSpecs = (cli.class ?? file.class) as string[] | undefined;
  if (classSpecs?.length) return withClasses(cli, file, classSpecs);
  const v = mergeValues(BENCH_SETTINGS, cli, file);
  const lengths = checkCombinations(v, (k) => cli[k] ?? file[k]);
  const kubernetes = setting(v, "platform") === "kubernetes";
  return withSizeCaps({
    ...fill(BENCH_SETTINGS, v),
    dataset: { ...fill(BENCH_SETTINGS, v, "dataset"), ...lengths },
    sampling: fill(BENCH_SETTINGS, v, "sampling"),
    classes: [],
    ...(kubernetes ? { kubernetes: fill(BENCH_SETTINGS, v, "kubernetes") } : {}),
  });
}

/**
 * A config with request classes: each class is the shared options with its own
 * over them (validated as a run of its own); the run's rate is their sum.
 */
function withClasses(cli: FlagValues, file: FlagValues, specs: string[]): BenchConfig {
  const base = { ...cli, class: undefined };
  const baseFile = { ...file, class: undefined };
  const classes = specs.map((sp) => {
    const { name, values } = parseClass(sp);
    let cfg: BenchConfig;
    try {
      cfg = resolveBenchConfig({ ...base, ...values }, baseFile);
    } catch (e) {
      const E = e instanceof RangeError ? RangeError : TypeError;
      throw new E(`In --class ${name}: ${(e as Error).message}`);
    }
    if (!Number.isFinite(cfg.rateRps) || cfg.concurrency !== undefined) {
      throw fieldError({
        field: `--class ${name}`,
        value: sp,
        expected: "a class with a finite rate (classes are open-loop)",
      });
    }
    return { name, cfg };
  });
  const names = classes.map((c) => c.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw fieldError({ field: "--class", value: dup, expected: "unique class names" });
  const rateRps = classes.reduce((a, c) => a + c.cfg.rateRps, 0);
  const first = classes[0].cfg;
  return { ...first, rateRps, classes };
}
