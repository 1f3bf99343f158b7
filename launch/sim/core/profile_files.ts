/**
 * `--gpu` and `--model-profile` values: a built-in profile's id or name, or a
 * file (`.yaml`/`.yml`: GPU datasheet figures, {@linkcode gpuFromYaml};
 * `.json`: a Hugging Face `config.json`, {@linkcode modelFromConfig}). The one
 * place the core reads a file: once, synchronously, when an engine is built
 * (its callers are synchronous), never in the step loop.
 *
 * @module
 */
import { gpuFromYaml } from "./gpu_file.ts";
import { modelFromConfig } from "./model_config.ts";
import { type GpuProfile, type ModelProfile, resolveGpu, resolveModel } from "./profiles.ts";

/** True when `name` names a GPU profile file rather than a built-in profile. */
export function isGpuFile(name: string): boolean {
  return /\.ya?ml$/i.test(name.trim());
}

/** True when `name` names a `config.json` rather than a built-in profile or HF name. */
export function isModelFile(name: string): boolean {
  return /\.json$/i.test(name.trim());
}

/** The text of `path`; a missing file is a TypeError naming `flag` and the path. */
function readProfileText(path: string, flag: string, what: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new TypeError(
        `Cannot read ${path} as ${flag} (${what}): current value is ${
          JSON.stringify(path)
        } (no such file); allowed: a built-in profile id or a readable file`,
      );
    }
    throw e;
  }
}

/** A GPU profile by id, name or alias, or from a `.yaml`/`.yml` file of datasheet figures. */
export function loadGpu(nameOrPath: string): GpuProfile {
  if (!isGpuFile(nameOrPath)) return resolveGpu(nameOrPath);
  const path = nameOrPath.trim();
  return gpuFromYaml(readProfileText(path, "--gpu", "a GPU YAML file"), path);
}

/** A model profile by id or Hugging Face name, or from a Hugging Face `config.json` file. */
export function loadModel(nameOrPath: string): ModelProfile {
  if (!isModelFile(nameOrPath)) return resolveModel(nameOrPath);
  const path = nameOrPath.trim();
  const text = readProfileText(path, "--model-profile", "a Hugging Face config.json");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Cannot parse ${path} as JSON: current value is ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return modelFromConfig(json, path);
}
