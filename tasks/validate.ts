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
import { listGpus } from "../launch/sim/core/profiles.ts";
import { loadGpu } from "../launch/sim/core/profile_files.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import { replayRun } from "./validate/replay.ts";
import { reportText } from "./validate/report.ts";
import { sameGpu, validation } from "./validate/validation.ts";
import { vllmDefaults, withArrivals } from "./validate/inputs.ts";
import { writeFigures } from "./validate/figures.ts";

/**
 * The GPU simulated when neither `--gpu` names one nor a profile matches the
 * recorded GPU: of the profiles, the nearest to an RTX PRO 6000 Blackwell (the
 * GPU of ../shared/calibration/traces) in memory bandwidth (2,039 vs 1,792
 * GB/s) and memory (80 vs 96 GB, which sets the KV capacity a queue-heavy run
 * leans on).
 */
export const DEFAULT_GPU = "a100";

/**
 * The profile simulated unless `--gpu` says otherwise: the recorded GPU's own
 * profile when one matches its name (id, name or alias, ignoring case and
 * punctuation: `RTXPRO6000` -> `rtx-pro-6000`), else {@link DEFAULT_GPU}.
 */
export function defaultGpuFor(realGpu: string | null): string {
  if (realGpu === null) return DEFAULT_GPU;
  return listGpus().find((g) => sameGpu(realGpu, g))?.id ?? DEFAULT_GPU;
}

const FLAGS: FlagSpec = {
  gpu: {
    type: "string",
    help:
      "GPU profile to simulate (default: the recorded GPU's profile when one matches, e.g. rtx-pro-6000 for RTXPRO6000; else a100, of the profiles the nearest to the RTX PRO 6000 of ../shared's runs)",
  },
  "real-gpu": {
    type: "string",
    help:
      "The GPU the run was recorded on (default: the folder name's part before its first '_', e.g. RTXPRO6000)",
  },
  out: {
    type: "string",
    help: "Output folder (default results/validate/<folder name>)",
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
 * The recorded GPU: `--real-gpu`, else (a trace folder) the folder name's part
 * before its first `_`, else null.
 */
export function realGpuOf(dir: string, given: unknown, traceFolder = true): string | null {
  if (typeof given === "string" && given.trim()) return given.trim();
  if (!traceFolder) return null;
  const name = basename(resolve(dir));
  const i = name.indexOf("_");
  return i > 0 ? name.slice(0, i) : null;
}

/** The reader's options from the flags: settings given, vLLM's defaults on `gpu`. */
function readOptions(values: Record<string, unknown>, gpu: string): RecordedReadOptions {
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
    defaults: vllmDefaults(loadGpu(gpu)),
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

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const dir = onePositional(positionals, "one recorded run (folder or .json file)");
  const seed = numberFlag(values, "seed", { min: 0, integer: true }) ?? 0;
  const ext = extname(dir);
  const name = basename(resolve(dir), ext === ".json" || ext === ".jsonl" ? ext : "");
  const outDir = String(values.out ?? join("results/validate", name));
  const realGpu = realGpuOf(
    dir,
    values["real-gpu"],
    await recordedFormatOf(dir) === "trace-folder",
  );
  const gpu = typeof values.gpu === "string" ? values.gpu : defaultGpuFor(realGpu);
  const run = withVersion(
    withArrivals(await readRecorded(dir, readOptions(values, gpu)), seed),
    values["vllm-version"],
  );
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
