/**
 * Which GPU `deno task validate` simulates. The GPU a run was recorded on is
 * read from, in this order: `--real-gpu`; the trace folder's `meta.json`
 * `hardware.device_name` (torch's name, e.g. "NVIDIA H100 80GB HBM3"); the
 * trace folder name's part before its first `_` (`H100_Llama-3.1-8B`), else
 * the folder two levels up (LLMServingSim keys its runs by hardware:
 * `bench/examples/<GPU>/<model>/vllm/`), whichever names a profile. The
 * replay runs on `--gpu` when given, else on the profile whose id, name or
 * alias that GPU's name is (ignoring case and punctuation). A GPU without a
 * profile, or a run that names none, is refused naming `--gpu` and what it
 * takes: the replay never falls back to another GPU's figures.
 *
 * @module
 */
import { basename, dirname, resolve } from "node:path";
import type { RecordedFormat } from "../../lib/recorded_run.ts";
import { type GpuProfile, listGpus } from "../../launch/sim/core/profiles.ts";
import { GPU_KEYS } from "../../launch/sim/core/gpu_file.ts";
import { sameGpu } from "./validation.ts";

/** The GPU a recording was made on, and where its name was read. */
export interface RecordedGpu {
  /** As written there (`RTXPRO6000`, `NVIDIA H100 80GB HBM3`). */
  name: string;
  /** Where: `--real-gpu`, `meta.json hardware.device_name` or the folder name. */
  from: string;
}

/** A trace folder name's part before its first `_` (`RTXPRO6000_Llama-3.1-8B` -> `RTXPRO6000`), or null. */
export function folderGpuOf(dir: string): string | null {
  const name = basename(resolve(dir));
  const i = name.indexOf("_");
  return i > 0 ? name.slice(0, i) : null;
}

/**
 * The GPU a trace folder's path names, when it names a profile: the folder
 * name's part before its first `_`, else the folder two levels up
 * (LLMServingSim's `bench/examples/<GPU>/<model>/vllm/`); null otherwise (a
 * folder like `run_1` names no GPU).
 */
function folderProfileGpu(dir: string): RecordedGpu | null {
  const prefix = folderGpuOf(dir);
  if (prefix !== null && gpuProfileNamed(prefix)) {
    return { name: prefix, from: "the folder name's part before its first '_'" };
  }
  const up = basename(dirname(dirname(resolve(dir))));
  return up && gpuProfileNamed(up)
    ? { name: up, from: "the folder two levels up (LLMServingSim's <GPU>/<model>/vllm layout)" }
    : null;
}

/** The profile `name` names (id, name or alias, ignoring case and punctuation), if any. */
export function gpuProfileNamed(name: string): GpuProfile | undefined {
  return listGpus().find((g) => sameGpu(name, g));
}

/**
 * The GPU `run` was recorded on ({@link RecordedGpu}; the module note gives
 * the order), with a note when the folder name names another GPU than
 * meta.json; null when nothing names one. `run.gpuName` is meta.json's.
 */
export function recordedGpuOf(
  run: { dir: string; format: RecordedFormat | null; gpuName?: string },
  given: unknown,
): { gpu: RecordedGpu | null; notes: string[] } {
  if (typeof given === "string" && given.trim()) {
    return { gpu: { name: given.trim(), from: "--real-gpu" }, notes: [] };
  }
  if (run.format !== "trace-folder") return { gpu: null, notes: [] };
  const fromFolder = folderProfileGpu(run.dir);
  const byFolder = fromFolder ? gpuProfileNamed(fromFolder.name) : undefined;
  const torch = run.gpuName;
  if (torch === undefined) return { gpu: fromFolder, notes: [] };
  const gpu = { name: torch, from: "meta.json hardware.device_name" };
  if (!byFolder || byFolder === gpuProfileNamed(torch)) return { gpu, notes: [] };
  return {
    gpu,
    notes: [
      `${fromFolder!.from} says ${
        fromFolder!.name
      }, meta.json hardware.device_name says ${torch}: the latter (torch's) is taken`,
    ],
  };
}

/** The profiles as `id (name)`, for messages. */
function profileList(): string {
  return listGpus().map((g) => `${g.id} (${g.name})`).join(", ");
}

/** What `--gpu` takes, for messages. */
export function gpuAllowed(): string {
  const keys = GPU_KEYS.filter((k) => k !== "id" && k !== "aliases" && k !== "source");
  return `--gpu <id> with one of ${profileList()}; or --gpu <file.yaml> with the GPU's datasheet ` +
    `figures (required: name, memory_gib, memory_gbps, bf16_tflops; optional: ${
      keys.slice(4).join(", ")
    }; fields: launch/sim/core/gpu_file.ts, example: fixtures/gpus/b200.yaml)`;
}

/**
 * The GPU profile to simulate (an id, or the `--gpu` value as given): `flag`
 * when given, else the profile of `real`; throws naming `--gpu` and what it
 * takes when `real` is unknown or has no profile. `what` names the recording,
 * `traceFolder` whether it is a trace folder (the others record no GPU).
 */
export function gpuToSimulate(
  flag: unknown,
  real: RecordedGpu | null,
  what: string,
  traceFolder = true,
): string {
  if (typeof flag === "string" && flag.trim()) return flag.trim();
  if (real === null) {
    const folder = folderGpuOf(what);
    const hint = !traceFolder
      ? "the file records none"
      : folder === null
      ? "no meta.json hardware.device_name, no GPU profile before '_' in the folder's name"
      : `no meta.json hardware.device_name; the folder name's part before '_', ${
        JSON.stringify(folder)
      }, names no GPU profile`;
    throw new RangeError(
      `Cannot tell which GPU ${what} was recorded on: current value is no GPU name (no --real-gpu; ${hint}); allowed: ${gpuAllowed()}; or --real-gpu <name> when a profile has it`,
    );
  }
  const hit = gpuProfileNamed(real.name);
  if (hit) return hit.id;
  throw new RangeError(
    `Cannot use the recorded GPU of ${what} (${real.from}) as a GPU profile: current value is ${
      JSON.stringify(real.name)
    }, which no profile names; allowed: ${gpuAllowed()}`,
  );
}
