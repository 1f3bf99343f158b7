/**
 * `deno task validate`: replays a recorded real vLLM run in virtual time and
 * reports the model's error (DESIGN.md, "Answers come from search, proven on
 * real runs"; issue 30).
 *
 *     deno task validate ../shared/calibration/traces/RTXPRO6000_Llama-3.1-8B [--gpu rtx-pro-6000]
 *
 * Input: a folder in LLMServingSim's layout (`meta.json` + `requests.jsonl`
 * [+ `timeseries.csv`], read by `lib/recorded_run.ts`). Output: the table on
 * stdout, `validation.json` in `--out`, with the replay's trace, topology and
 * run directory beside it; the last stdout line is the path of validation.json.
 *
 * @module
 */
import { basename, join, resolve } from "node:path";
import {
  type CommandHelp,
  type FlagSpec,
  numberFlag,
  onePositional,
  parseCommand,
  runMain,
} from "../lib/args.ts";
import { readRecordedRun } from "../lib/recorded_run.ts";
import { listGpus } from "../launch/sim/core/profiles.ts";
import { writeJsonAtomic } from "../lib/write_file.ts";
import { replayRun } from "./validate/replay.ts";
import { reportText } from "./validate/report.ts";
import { sameGpu, validation } from "./validate/validation.ts";

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
  seed: { type: "string", default: "0", help: "Seed of the synthesised prompts" },
};

const HELP: CommandHelp = {
  cmd: "deno task validate <recorded run folder>",
  summary: "Replays a recorded real vLLM run (meta.json + requests.jsonl [+ timeseries.csv]) " +
    "on the SIMULATED engine in virtual time and prints the error of TTFT, TPOT and E2E " +
    "(mean, p50, p90, p95, p99, KS distance) and of the running/waiting series; " +
    "writes validation.json.",
};

/** The recorded GPU: `--real-gpu`, else the folder name's part before its first `_`, else null. */
export function realGpuOf(dir: string, given: unknown): string | null {
  if (typeof given === "string" && given.trim()) return given.trim();
  const name = basename(resolve(dir));
  const i = name.indexOf("_");
  return i > 0 ? name.slice(0, i) : null;
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseCommand(args, FLAGS, HELP, { allowPositionals: true });
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const dir = onePositional(positionals, "one recorded run folder");
  const seed = numberFlag(values, "seed", { min: 0, integer: true }) ?? 0;
  const outDir = String(values.out ?? join("results/validate", basename(resolve(dir))));
  const run = await readRecordedRun(dir);
  const realGpu = realGpuOf(dir, values["real-gpu"]);
  const gpu = typeof values.gpu === "string" ? values.gpu : defaultGpuFor(realGpu);
  const rp = await replayRun(run, { gpu, outDir, seed });
  const v = validation(run, rp, realGpu);
  const path = join(outDir, "validation.json");
  await writeJsonAtomic(path, v);
  console.log(reportText(v));
  console.log(path);
  return 0;
}

if (import.meta.main) await runMain(main);
