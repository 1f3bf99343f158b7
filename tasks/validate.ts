/**
 * `deno task validate`: replays a recorded real vLLM run in virtual time and
 * reports the model's error (DESIGN.md, "Answers come from search, proven on
 * real runs"; issue 30).
 *
 *     deno task validate ../shared/calibration/traces/RTXPRO6000_Llama-3.1-8B [--gpu rtx-pro-6000]
 *     deno task validate results/x/20260101-120000-run --max-num-seqs 128 --max-num-batched-tokens 2048
 *     deno task validate openai-chat-2.0qps-Llama-3.1-8B-20260101-120000.json --real-gpu H100
 *     deno task validate fixtures/validate/heldout/RTXPRO6000_DeepSeek-V3.2-Exp-16L64E --model-profile path/to/config.json
 *
 * Input (read by `lib/recorded_run.ts`, by what the path is): a folder in
 * LLMServingSim's layout (`meta.json` + `requests.jsonl` [+ `timeseries.csv`]),
 * a topobench run directory recorded against real vLLM (`requests.csv` +
 * `config.json`), a `vllm bench serve --save-detailed` JSON file, or a client
 * request log `.jsonl` (`lib/_recorded_client_jsonl.ts`); the engine settings
 * the last three lack come from the flags, else vLLM's defaults
 * (`validate/inputs.ts`). Output: the table on stdout, `validation.json` and
 * the figures (`validation_cdf.{png,svg}`, `validation_state.{png,svg}` when
 * there is a running/waiting series) in `--out`, with the replay's trace,
 * topology and run directory beside them; the last stdout line is the path of
 * validation.json.
 *
 * @module
 */
import { basename, extname, join, resolve } from "node:path";
import {
  type CommandHelp,
  type FlagSpec,
  numberFlag,
  onePositional,
  parseCommand,
  runMain,
} from "../lib/args.ts";
import {
  readRecorded,
  recordedFormatOf,
  type RecordedReadOptions,
  type RecordedRun,
} from "../lib/recorded_run.ts";
import { loadGpu } from "../launch/sim/core/profile_files.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import { replayRun } from "./validate/replay.ts";
import { reportText } from "./validate/report.ts";
import { validation } from "./validate/validation.ts";
import { gpuToSimulate, recordedGpuOf } from "./validate/gpu.ts";
import { vllmDefaults, withArrivals } from "./validate/inputs.ts";
import { writeFigures } from "./validate/figures.ts";

const FLAGS: FlagSpec = {
  gpu: {
    type: "string",
    help:
      "GPU profile to simulate: an id or a YAML file of datasheet figures (default: the recorded GPU's profile, e.g. rtx-pro-6000 for RTXPRO6000; a GPU without one is refused)",
  },
  "real-gpu": {
    type: "string",
    help:
      "The GPU the run was recorded on (default: meta.json hardware.device_name, else the folder name's part before its first '_', e.g. RTXPRO6000)",
  },
  out: {
    type: "string",
    help: "Output folder (default results/validate/<folder name>, plus -on-<gpu> with --gpu)",
  },
  seed: {
    type: "string",
    default: "0",
    help: "Seed of the synthesised prompts (and of rebuilt arrivals)",
  },
  model: { type: "string", help: "Model (default: the recording's)" },
  "model-profile": {
    type: "string",
    help:
      "Model profile to simulate: a built-in id or a Hugging Face config.json path (default: the profile the recorded model name resolves to)",
  },
  "max-num-seqs": {
    type: "string",
    help: "Engine setting (default: the recording's, else vLLM's default for the GPU)",
  },
  "max-num-batched-tokens": {
    type: "string",
    help: "Engine setting (default: the recording's, else vLLM's default for the GPU)",
  },
  tp: { type: "string", help: "Tensor parallel size (default: the recording's, else 1)" },
  "vllm-version": {
    type: "string",
    help:
      "vLLM version the run was recorded with, for the behaviours that depend on it, e.g. async scheduling from 0.12 (default: the recording's, else unknown: today's vLLM)",
  },
  "allow-simulated": {
    type: "boolean",
    default: false,
    help:
      "Accept a run directory recorded against the SIMULATED engine (the simulator against itself)",
  },
};

const HELP: CommandHelp = {
  cmd:
    "deno task validate <recorded run folder | run directory | vllm bench .json | client log .jsonl>",
  summary: "Replays a recorded real vLLM run (a folder with meta.json + requests.jsonl " +
    "[+ timeseries.csv]; a topobench run directory with requests.csv + config.json; a " +
    "`vllm bench serve --save-detailed` JSON; or a client request log .jsonl, with --model) " +
    "on the SIMULATED engine in virtual time and " +
    "prints the error of TTFT, TPOT, E2E and ITL (mean, p50, p90, p95, p99, KS distance) and " +
    "of the running/waiting series; writes validation.json and CDF / engine-state figures.",
};

/**
 * The reader's options from the flags: settings given; vLLM's defaults on the
 * GPU `gpu()` picks, asked for only when the recording lacks a setting.
 */
function readOptions(values: Record<string, unknown>, gpu: () => string): RecordedReadOptions {
  const int = (k: string) => numberFlag(values as never, k, { min: 1, integer: true });
  const model = typeof values.model === "string" && values.model ? values.model : undefined;
  return {
    given: {
      ...(model ? { model } : {}),
      ...(int("max-num-seqs") ? { maxNumSeqs: int("max-num-seqs") } : {}),
      ...(int("max-num-batched-tokens")
        ? { maxNumBatchedTokens: int("max-num-batched-tokens") }
        : {}),
      ...(int("tp") ? { tensorParallelSize: int("tp") } : {}),
    },
    defaults: () => vllmDefaults(loadGpu(gpu())),
    allowSimulated: values["allow-simulated"] === true,
  };
}

/** `run` with `--vllm-version` as its version, noted (a recorded one it overrides is named). */
export function withVersion(run: RecordedRun, given: unknown): RecordedRun {
  if (typeof given !== "string" || !given.trim()) return run;
  const v = given.trim();
  if (!/^v?\d+\.\d+/.test(v)) {
    throw new RangeError(
      `Cannot use --vllm-version as a vLLM version: current value is ${
        JSON.stringify(v)
      }; allowed: e.g. 0.8.4`,
    );
  }
  const was = run.meta.vllmVersion;
  const note = `vLLM version from the command line: ${v}${was ? ` (recorded ${was})` : ""}`;
  return { ...run, meta: { ...run.meta, vllmVersion: v }, notes: [...run.notes, note] };
}

/**
 * Reads the recording at `dir` and picks the GPU to simulate (`validate/gpu.ts`;
 * a trace folder's meta.json may name it); vLLM's defaults for that GPU fill
 * the settings a recording lacks. The file is checked before the GPU is asked
 * for. The recorded GPU and where its name was read are noted.
 */
async function readWithGpu(dir: string, values: Record<string, unknown>) {
  const format = await recordedFormatOf(dir);
  const pick = (gpuName?: string) => {
    const real = recordedGpuOf(
      { dir, format, ...(gpuName ? { gpuName } : {}) },
      values["real-gpu"],
    );
    return {
      ...real,
      id: gpuToSimulate(values.gpu, real.gpu, dir, format === "trace-folder"),
    };
  };
  const read = await readRecorded(dir, readOptions(values, () => pick().id));
  const { gpu: real, notes, id } = pick(read.meta.gpuName);
  const where = real ? [`recorded on ${real.name} (${real.from})`] : [];
  const run = { ...read, notes: [...where, ...notes, ...read.notes] };
  return { run, gpu: id, realGpu: real?.name ?? null };
}

/**
 * `path`, or the one client log `.jsonl` a folder of no other recorded format
 * holds (a held-out run's folder names its file).
 */
async function soleLogOf(path: string): Promise<string> {
  if (await recordedFormatOf(path) !== null) return path;
  const logs: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) {
      if (e.isFile && e.name.endsWith(".jsonl")) logs.push(e.name);
    }
  } catch {
    return path; // not a folder: the reader names what it is
  }
  return logs.length === 1 ? join(path, logs[0]) : path;
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const dir = await soleLogOf(
    onePositional(positionals, "one recorded run (folder or .json file)"),
  );
  const seed = numberFlag(values, "seed", { min: 0, integer: true }) ?? 0;
  const ext = extname(dir);
  const name = basename(resolve(dir), ext === ".json" || ext === ".jsonl" ? ext : "");
  const { run: read, gpu, realGpu } = await readWithGpu(dir, values);
  // a replay on another GPU than the default one (--gpu) keeps its own folder, beside the first
  const onGpu = typeof values.gpu === "string" && values.gpu ? `-on-${basename(gpu, ".yaml")}` : "";
  const outDir = String(values.out ?? join("results/validate", `${name}${onGpu}`));
  const run = withVersion(withArrivals(read, seed), values["vllm-version"]);
  const modelProfile = typeof values["model-profile"] === "string" && values["model-profile"]
    ? values["model-profile"]
    : undefined;
  const rp = await replayRun(run, { gpu, outDir, seed, ...(modelProfile ? { modelProfile } : {}) });
  const v = validation(run, rp, realGpu);
  const path = join(outDir, "validation.json");
  await writeJsonAtomic(path, v);
  const figs = await writeFigures(v, run, rp, outDir);
  console.log(reportText(v));
  for (const f of figs) console.log(`figure: ${f}`);
  console.log(path);
  return 0;
}

if (import.meta.main) await runMain(main);
