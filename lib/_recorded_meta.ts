/**
 * The `meta.json` of a recorded run in LLMServingSim's layout (the engine
 * settings, `engine_kwargs`, and what vLLM resolved, `resolved_config`), read
 * into a {@linkcode RecordedMeta} for `lib/recorded_run.ts`. Every field is
 * checked as it is read; a bad one throws naming the file, field, value and
 * what is allowed.
 *
 * @module
 */
import { fieldError } from "./errors.ts";
import { parseJson } from "./_peer.ts";
import type { EngineSettings } from "./_recorded_settings.ts";

/** The engine settings of the run (`meta.json`, `engine_kwargs`). */
export interface RecordedMeta {
  /** Hugging Face name of the model. */
  model: string;
  vllmVersion?: string;
  tensorParallelSize: number;
  dataParallelSize: number;
  expertParallel: boolean;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /**
   * The GPU the run was recorded on as torch named it (`hardware.device_name`,
   * e.g. "NVIDIA H100 80GB HBM3"); absent: not recorded.
   */
  gpuName?: string;
  /** When the recording started (epoch ms); `timeseries.csv`'s `t` counts from here. */
  startedAtMs?: number;
  /**
   * Weight quantization (`engine_kwargs.quantization`, else vLLM's resolved
   * `model_config.quantization`, e.g. "fp8" from the checkpoint); absent: none.
   */
  quantization?: string;
  /**
   * KV cache dtype (`engine_kwargs.kv_cache_dtype`, else vLLM's resolved
   * `cache_config.cache_dtype`, e.g. "auto" or "fp8"); absent: not recorded (auto).
   */
  kvCacheDtype?: string;
  /** The KV cache vLLM sized (`meta.json` `kv_cache`, per engine core), when recorded. */
  kvCache?: { numGpuBlocks: number; blockSize: number };
  /**
   * vLLM's custom all-reduce off (`engine_kwargs.disable_custom_all_reduce`, else the
   * resolved `parallel_config`'s); absent: not recorded (vLLM's default, on).
   */
  disableCustomAllReduce?: boolean;
}

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** `v` as a JSON object; a TypeError naming `field` in `file` otherwise. */
export function objectAt(v: unknown, field: string, file: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw fieldError({ field, file, value: v, expected: "a JSON object", kind: "type" });
  }
  return v as Obj;
}

/** `o[k]` (else `fallback`) as a whole number >= `min`; a RangeError naming it otherwise. */
export function intAt(o: Obj, k: string, file: string, min: number, fallback?: number): number {
  const v = o[k] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
    throw fieldError({ field: k, file, value: o[k], expected: `a whole number >= ${min}` });
  }
  return v;
}

/** `resolved_config.<part>` (vLLM's resolved engine config) when the meta has it, else `{}`. */
function resolvedPart(top: Obj, part: string): Obj {
  const rc = top.resolved_config;
  const p = rc && typeof rc === "object" ? (rc as Obj)[part] : undefined;
  return p && typeof p === "object" && !Array.isArray(p) ? p as Obj : {};
}

/** The scheduler settings a meta.json may leave null, and the flag that gives each. */
const SCHEDULER = {
  max_num_seqs: ["maxNumSeqs", "--max-num-seqs"],
  max_num_batched_tokens: ["maxNumBatchedTokens", "--max-num-batched-tokens"],
} as const;

/**
 * `engine_kwargs[key]`, else vLLM's resolved `scheduler_config[key]`, else the
 * value `given` on the command line; throws naming the flag when none has it.
 */
function schedulerSetting(
  top: Obj,
  kw: Obj,
  key: keyof typeof SCHEDULER,
  file: string,
  given: Partial<EngineSettings>,
  notes: string[],
): number {
  const v = kw[key] ?? resolvedPart(top, "scheduler_config")[key];
  const [name, flag] = SCHEDULER[key];
  if ((v === undefined || v === null) && given[name] !== undefined) {
    notes.push(`engine setting from the command line: ${flag} ${given[name]} (meta.json has none)`);
    return given[name]!;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw fieldError({
      field: key,
      file: `${file} engine_kwargs`,
      value: kw[key],
      expected: `a whole number >= 1 (else resolved_config.scheduler_config's; or give ${flag})`,
    });
  }
  return v;
}

/** `engine_kwargs[key]`, else `resolved_config.parallel_config[key]`, else 1, as a whole number. */
function parallelSize(top: Obj, kw: Obj, key: string, file: string): number {
  const v = kw[key] ?? resolvedPart(top, "parallel_config")[key] ?? 1;
  return intAt({ [key]: v }, key, `${file} engine_kwargs`, 1);
}

/**
 * Refuses a run with pipeline parallelism (`pipeline_parallel_size` in
 * engine_kwargs or the resolved parallel_config above 1): the simulated engine
 * has none.
 */
function refusePipeline(top: Obj, kw: Obj, file: string): void {
  const pp = parallelSize(top, kw, "pipeline_parallel_size", file);
  if (pp === 1) return;
  throw fieldError({
    field: "pipeline_parallel_size",
    file: `${file} engine_kwargs`,
    value: pp,
    expected: "1 (the simulated engine has no pipeline parallelism; TP, DP and EP are replayed)",
  });
}

/** `hardware.device_name` (the GPU as torch named it; newer LLMServingSim runs), when recorded. */
function gpuNameOf(top: Obj, file: string): Pick<RecordedMeta, "gpuName"> {
  if (top.hardware === undefined || top.hardware === null) return {};
  const n = objectAt(top.hardware, "hardware", file).device_name;
  if (n === undefined || n === null || n === "") return {};
  if (typeof n !== "string") {
    throw fieldError({
      field: "hardware.device_name",
      file,
      value: n,
      expected: "a GPU name as torch reports it, e.g. NVIDIA H100 80GB HBM3",
    });
  }
  return { gpuName: n.trim() };
}

/** `started_at` as epoch ms, when recorded. */
function startedAtOf(top: Obj, file: string): Pick<RecordedMeta, "startedAtMs"> {
  if (top.started_at === undefined) return {};
  const startedAtMs = Date.parse(String(top.started_at));
  if (Number.isNaN(startedAtMs)) {
    throw fieldError({
      field: "started_at",
      file,
      value: top.started_at,
      expected: "an ISO date-time",
    });
  }
  return { startedAtMs };
}

/**
 * Parses `meta.json`; `given` (the command line's settings) fills a scheduler
 * setting the meta leaves null or out, with a note pushed to `notes`.
 */
export function parseRecordedMeta(
  text: string,
  file: string,
  given: Partial<EngineSettings> = {},
  notes: string[] = [],
): RecordedMeta {
  const raw = parseJson(text, file, "a recorded run's meta.json");
  const top = objectAt(raw, "the file", file);
  const kw = objectAt(top.engine_kwargs, "engine_kwargs", file);
  const model = kw.model ?? top.model;
  if (typeof model !== "string" || !model.trim()) {
    throw fieldError({ field: "model", file, value: model, expected: "a model name" });
  }
  const ep = kw.enable_expert_parallel ?? resolvedPart(top, "parallel_config")
    .enable_expert_parallel ??
    false;
  if (typeof ep !== "boolean") {
    throw fieldError({
      field: "enable_expert_parallel",
      file: `${file} engine_kwargs`,
      value: ep,
      expected: "true or false",
    });
  }
  refusePipeline(top, kw, file);
  return {
    model,
    ...(typeof top.vllm_version === "string" ? { vllmVersion: top.vllm_version } : {}),
    tensorParallelSize: parallelSize(top, kw, "tensor_parallel_size", file),
    dataParallelSize: parallelSize(top, kw, "data_parallel_size", file),
    expertParallel: ep,
    maxNumSeqs: schedulerSetting(top, kw, "max_num_seqs", file, given, notes),
    maxNumBatchedTokens: schedulerSetting(top, kw, "max_num_batched_tokens", file, given, notes),
    ...startedAtOf(top, file),
    ...gpuNameOf(top, file),
    ...kvCacheOf(top, file),
    ...quantizationOf(top, kw, file),
    ...kvCacheDtypeOf(top, kw, file),
    ...customAllReduceOf(top, kw, file),
  };
}

/** `engine_kwargs.disable_custom_all_reduce`, else `resolved_config.parallel_config`'s, when recorded. */
function customAllReduceOf(
  top: Obj,
  kw: Obj,
  file: string,
): Pick<RecordedMeta, "disableCustomAllReduce"> {
  const d = kw.disable_custom_all_reduce ??
    resolvedPart(top, "parallel_config").disable_custom_all_reduce;
  if (d === undefined || d === null) return {};
  if (typeof d !== "boolean") {
    throw fieldError({
      field: "disable_custom_all_reduce",
      file,
      value: d,
      expected: "true or false",
    });
  }
  return { disableCustomAllReduce: d };
}

/**
 * `engine_kwargs[key]`, else vLLM's resolved `resolved_config[part][resolvedKey]`,
 * when recorded: a non-empty string (`expected` names it in the error), or undefined.
 */
function stringSetting(
  top: Obj,
  kw: Obj,
  key: string,
  [part, resolvedKey]: [string, string],
  file: string,
  expected: string,
): string | undefined {
  const v = kw[key] ?? resolvedPart(top, part)[resolvedKey];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || !v.trim()) {
    throw fieldError({ field: key, file, value: v, expected });
  }
  return v;
}

/** `engine_kwargs.kv_cache_dtype`, else `resolved_config.cache_config.cache_dtype`, when a string. */
function kvCacheDtypeOf(top: Obj, kw: Obj, file: string): Pick<RecordedMeta, "kvCacheDtype"> {
  const where: [string, string] = ["cache_config", "cache_dtype"];
  const d = stringSetting(top, kw, "kv_cache_dtype", where, file, "a dtype name or null");
  return d === undefined ? {} : { kvCacheDtype: d };
}

/** `engine_kwargs.quantization`, else `resolved_config.model_config.quantization`, when a string. */
function quantizationOf(top: Obj, kw: Obj, file: string): Pick<RecordedMeta, "quantization"> {
  const where: [string, string] = ["model_config", "quantization"];
  const q = stringSetting(top, kw, "quantization", where, file, "a method name or null");
  return q === undefined ? {} : { quantization: q };
}

/** `kv_cache.num_gpu_blocks` and `block_size` when the meta records them (newer LLMServingSim runs). */
function kvCacheOf(top: Obj, file: string): Pick<RecordedMeta, "kvCache"> {
  if (top.kv_cache === undefined || top.kv_cache === null) return {};
  const kv = objectAt(top.kv_cache, "kv_cache", file);
  if (kv.num_gpu_blocks === undefined || kv.num_gpu_blocks === null) return {};
  const where = `${file} kv_cache`;
  return {
    kvCache: {
      numGpuBlocks: intAt(kv, "num_gpu_blocks", where, 1),
      blockSize: intAt(kv, "block_size", where, 1),
    },
  };
}
