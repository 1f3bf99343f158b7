/**
 * The workload settings of `deno task bench` (they fill `dataset`, the
 * `DatasetOptions` of `workload/datasets.ts`), each declared once; part of
 * `BENCH_SETTINGS` (`_bench_settings.ts`), in `--help` order.
 *
 * @module
 */
import { DATASETS } from "./workload/datasets.ts";
import { num, off, oneOf, type SettingTable, text } from "./_setting_table.ts";
import { imageSizes, preset, rangeRatio, traced } from "./_setting_readers.ts";

/** Dataset, lengths, multiturn and images: `dataset.*` fields. */
export const WORKLOAD_SETTINGS = {
  dataset: {
    field: "dataset.name",
    read: oneOf(DATASETS),
    default: "random",
    aliases: ["dataset-name"],
    help: DATASETS.join(", "),
  },
  "dataset-path": {
    field: "dataset.path",
    read: text,
    help: "File for sharegpt, prompts-file, mooncake, trace, sharegpt-multiturn",
  },
  class: {
    multiple: true,
    aliases: ["classes"],
    help:
      "A request class with its own options, NAME:flag=value,...  e.g. text:rate=30,input-len=256; one schedule, rows and summaries per class",
    placeholder: "spec",
  },
  "trace-speedup": {
    field: "dataset.traceSpeedup",
    read: num({ min: 1e-6 }),
    when: traced,
    default: "1",
    help: "mooncake / trace: replay this many times faster than the trace's timestamps",
  },
  "sample-prompts-file": {
    help:
      "A prompts file (the Poisson framework's spelling of --dataset prompts-file --dataset-path F)",
  },
  "input-len": {
    read: num({ integer: true, min: 1 }),
    default: "512",
    aliases: ["random-input-len"],
    help: "Input tokens per request (suffix for prefix-repetition, per turn for multiturn)",
  },
  "output-len": {
    read: num({ integer: true, min: 1 }),
    aliases: ["random-output-len"],
    help: "Output tokens per request (default 128)",
  },
  "range-ratio": {
    field: "dataset.rangeRatio",
    read: rangeRatio,
    default: "0",
    aliases: ["random-range-ratio"],
    help: "Lengths uniform in [len(1-r), len(1+r)]",
  },
  "input-dist": {
    help:
      "Input length distribution (random): fixed(n), uniform(min,max), choices(a,b,..), normal(mean,sd), lognormal(mean,sd)",
    placeholder: "dist",
  },
  "output-dist": {
    help: "Output length distribution (random), same forms as --input-dist",
    placeholder: "dist",
  },
  "prompt-dist": {
    help:
      "Poisson-framework spelling: uniform (--min-tokens, --max-tokens) or choices (--choices-tokens)",
  },
  "min-tokens": { help: "With --prompt-dist uniform: fewest input tokens" },
  "max-tokens": { help: "With --prompt-dist uniform: most input tokens" },
  "choices-tokens": { help: "With --prompt-dist choices: input lengths, a,b,c" },
  "prefix-len": {
    field: "dataset.prefixLen",
    read: num({ integer: true, min: 0 }),
    default: "0",
    aliases: ["random-prefix-len"],
    help: "Shared prefix tokens (random, prefix-repetition)",
  },
  "num-prefixes": {
    field: "dataset.numPrefixes",
    read: num({ integer: true, min: 1 }),
    default: "4",
    help: "Distinct prefixes for prefix-repetition",
  },
  turns: {
    field: "dataset.turns",
    read: num({ integer: true, min: 1 }),
    default: "4",
    help: "Turns per conversation (multiturn)",
  },
  "think-time": {
    field: "dataset.thinkTimeMs",
    read: num({ min: 0 }),
    default: "1000",
    help: "Mean think time between turns, ms (exponential; 0 none)",
  },
  preset: {
    read: preset,
    help:
      "Multiturn preset (PPD suite: a ~20-token turn 1, then W1 512/256, W2 4096/128, W3 256/1024, W4 8192/64 per turn; W1-uniform..W4-uniform: every turn W-sized)",
  },
  "image-size": {
    field: "dataset.imageSizes",
    read: imageSizes,
    default: "512x512",
    help: "random-mm image sizes, WxH[,WxH]",
  },
  "images-per-request": {
    field: "dataset.imagesPerRequest",
    read: num({ integer: true, min: 0 }),
    default: "1",
    help: "random-mm images per request",
  },
  "no-ignore-eos": {
    field: "dataset.ignoreEos",
    read: off,
    type: "boolean",
    default: false,
    help: "Do not send ignore_eos (outputs may end early)",
  },
  seed: {
    field: "dataset.seed",
    read: num({ integer: true, min: 0 }),
    default: "0",
    help: "Seed of the workload and arrivals",
  },
} as const satisfies SettingTable;
