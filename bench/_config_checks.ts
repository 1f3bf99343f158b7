/**
 * The bench settings that constrain each other (each setting's own check is
 * its reader in the settings table): endpoint and URL, load, ramp, dataset
 * and lengths, workers and platform. Checked in this order; the first
 * problem is reported.
 *
 * @module
 */
import type { FlagValues } from "../lib/args.ts";
import { type LengthDist, parseLengthDist } from "./workload/lengths.ts";
import type { DatasetOptions } from "./workload/datasets.ts";
import { BENCH_SETTINGS, setting } from "./_bench_settings.ts";
import { bad, traced } from "./_setting_readers.ts";

/** What a flag was given as (CLI over file), before defaults. */
export type Given = (flag: string) => unknown;

/** The dataset fields that come from several settings (lengths, preset, distributions). */
export type Lengths = Pick<
  DatasetOptions,
  | "endpoint"
  | "inputLen"
  | "outputLen"
  | "outputLenGiven"
  | "inputDist"
  | "outputDist"
  | "firstInputLen"
  | "firstOutputLen"
>;

/**
 * Checks the settings that constrain each other and returns the dataset's
 * lengths. `--sample-prompts-file` becomes `--dataset prompts-file` in `v`.
 */
export function checkCombinations(v: FlagValues, given: Given): Lengths {
  checkEndpoint(v);
  checkLoad(v);
  checkRamp(v);
  usePromptsFile(v, given);
  const lengths = datasetLengths(v, given);
  checkWorkers(v);
  checkSenders(v);
  checkPlatform(v);
  return lengths;
}

const isChat = (endpoint: string) => /\/chat\/completions\/?$/.test(endpoint);

function checkEndpoint(v: FlagValues): void {
  const endpoint = setting(v, "endpoint");
  setting(v, "url");
  const openaiPath = endpoint === "/v1/completions" || endpoint === "/v1/chat/completions";
  if (
    !openaiPath && v["request-body-template"] === undefined &&
    !/\/v1\/(chat\/)?completions\/?$/.test(endpoint)
  ) {
    throw bad(
      "endpoint",
      endpoint,
      "/v1/completions or /v1/chat/completions, or any endpoint with --request-body-template",
    );
  }
  setting(v, "stream");
}

function checkLoad(v: FlagValues): void {
  const rateRps = setting(v, "rate");
  const durationS = setting(v, "duration");
  const numRequests = setting(v, "num-requests");
  if (durationS === undefined && numRequests === undefined && !traced(v)) {
    throw new RangeError(
      "Cannot size the load point: current value has neither --duration S (seconds of arrivals) nor --num-requests N; give one",
    );
  }
  const concurrency = setting(v, "concurrency");
  if (
    rateRps === Infinity && numRequests === undefined && concurrency === undefined && !traced(v)
  ) {
    throw bad(
      "rate",
      "inf",
      "a finite rate with --duration (or give --concurrency or --num-requests)",
    );
  }
}

function checkRamp(v: FlagValues): void {
  setting(v, "arrival");
  const bursts = setting(v, "rate-burst");
  if (bursts.length && ["trace", "mooncake"].includes(String(setting(v, "dataset")))) {
    throw bad(
      "rate-burst",
      v["rate-burst"],
      "absent with a trace (its own times are the schedule)",
    );
  }
  if (bursts.length && setting(v, "rate") === Infinity) {
    throw bad("rate-burst", v["rate-burst"], "absent with rate inf (nothing to speed up)");
  }
  if (setting(v, "ramp") === "none") return;
  if (setting(v, "ramp-to") === undefined) {
    throw bad("ramp-to", undefined, "a rate when --ramp is given");
  }
  if (setting(v, "rate") === Infinity) {
    throw bad("rate", "inf", "a finite start rate when --ramp is given");
  }
  if (setting(v, "ramp-duration") === undefined && setting(v, "duration") === undefined) {
    throw bad("ramp-duration", undefined, "seconds when --ramp is given without --duration");
  }
}

/** `--sample-prompts-file F` is `--dataset prompts-file --dataset-path F`. */
function usePromptsFile(v: FlagValues, given: Given): void {
  const spf = v["sample-prompts-file"] as string | undefined;
  if (spf === undefined) return;
  if ((given("dataset") ?? "prompts-file") !== "prompts-file") {
    throw bad("sample-prompts-file", spf, "absent with a --dataset other than prompts-file");
  }
  v.dataset = "prompts-file";
  v["dataset-path"] ??= spf;
}

const NEEDS_FILE = ["sharegpt", "prompts-file", "mooncake", "trace", "sharegpt-multiturn"];

function datasetLengths(v: FlagValues, given: Given): Lengths {
  const name = setting(v, "dataset");
  const path = setting(v, "dataset-path");
  if (NEEDS_FILE.includes(name) && !path) {
    throw bad("dataset-path", path, `a file for --dataset ${name}`);
  }
  let inputLen = setting(v, "input-len");
  let outputLen = setting(v, "output-len");
  const outputLenGiven = outputLen !== undefined;
  const p = setting(v, "preset");
  if (p !== undefined) {
    if (given("input-len") === undefined) inputLen = p.inputLen;
    if (given("output-len") === undefined) outputLen = p.outputLen;
  }
  const endpoint = setting(v, "endpoint");
  if ((name === "sharegpt-multiturn" || name === "random-mm") && !isChat(endpoint)) {
    throw bad("endpoint", endpoint, `/v1/chat/completions for --dataset ${name}`);
  }
  return {
    endpoint: isChat(endpoint) ? "chat" : "completions",
    inputLen,
    outputLen: outputLen ?? 128,
    outputLenGiven,
    ...lengthDists(v, name),
    ...(p?.firstInputLen !== undefined
      ? { firstInputLen: p.firstInputLen, firstOutputLen: p.firstOutputLen }
      : {}),
  };
}

/** `--input-dist`/`--output-dist`, or the Poisson framework's `--prompt-dist` spelling. */
function lengthDists(
  v: FlagValues,
  dataset: string,
): { inputDist?: LengthDist; outputDist?: LengthDist } {
  let input = v["input-dist"] as string | undefined;
  const pd = v["prompt-dist"] as string | undefined;
  if (pd !== undefined) {
    if (input !== undefined) throw bad("prompt-dist", pd, "absent with --input-dist");
    if (pd === "uniform") input = `uniform(${v["min-tokens"] ?? ""},${v["max-tokens"] ?? ""})`;
    else if (pd === "choices") input = `choices(${v["choices-tokens"] ?? ""})`;
    else throw bad("prompt-dist", pd, "uniform or choices");
  }
  const output = v["output-dist"] as string | undefined;
  if ((input !== undefined || output !== undefined) && dataset !== "random") {
    throw bad(
      input !== undefined ? "input-dist" : "output-dist",
      input ?? output,
      "absent unless --dataset random",
    );
  }
  return {
    ...(input !== undefined ? { inputDist: parseLengthDist(input, "--input-dist") } : {}),
    ...(output !== undefined ? { outputDist: parseLengthDist(output, "--output-dist") } : {}),
  };
}

function checkWorkers(v: FlagValues): void {
  if (!setting(v, "workers").length) return;
  if (!Number.isFinite(setting(v, "rate")) || setting(v, "concurrency") !== undefined) {
    throw bad("workers", v.workers, "workers with a finite --rate and no --concurrency");
  }
  if (setting(v, "runs") > 1) throw bad("runs", v.runs, "1 with --workers");
}

/** Several sender threads split an open-loop schedule: no cap or saturation rule spans them. */
function checkSenders(v: FlagValues): void {
  const n = setting(v, "senders");
  if (n === "auto" || n === 1) return;
  if (!Number.isFinite(setting(v, "rate")) || setting(v, "concurrency") !== undefined) {
    throw bad("senders", n, "1 or auto with --concurrency or an infinite --rate");
  }
  if (setting(v, "saturation-stop") === "on") {
    throw bad("senders", n, "1 or auto with --saturation-stop on");
  }
}

/** The pods split one Poisson schedule: a finite rate, open loop, one run, no local GPU. */
function checkPlatform(v: FlagValues): void {
  const kubernetes = setting(v, "platform") === "kubernetes";
  setting(v, "replicas");
  if (!kubernetes) {
    // cluster options without the cluster would be silently ignored
    for (const f of ["replicas", "namespace", "image", "context"] as const) {
      const d = (BENCH_SETTINGS[f] as { default?: string }).default;
      if (v[f] !== undefined && String(v[f]) !== d) {
        throw bad(f, v[f], "given only with --platform kubernetes");
      }
    }
    return;
  }
  if (setting(v, "workers").length) {
    throw bad("workers", v.workers, "absent with --platform kubernetes (the pods are the workers)");
  }
  const concurrency = setting(v, "concurrency");
  if (concurrency !== undefined) {
    throw bad(
      "concurrency",
      concurrency,
      "absent with --platform kubernetes (the pods split a --rate)",
    );
  }
  if (!Number.isFinite(setting(v, "rate"))) {
    throw bad("rate", v.rate, "a finite rate with --platform kubernetes (the pods split it)");
  }
  if (setting(v, "runs") > 1) throw bad("runs", v.runs, "1 with --platform kubernetes");
  if (v["gpu-monitor"] === true) {
    throw bad(
      "gpu-monitor",
      true,
      "off with --platform kubernetes (the GPUs are on the cluster's nodes)",
    );
  }
}
