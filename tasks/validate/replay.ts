/**
 * The replay of `deno task validate`: a recorded run played again in virtual
 * time through predict's own path (`--dataset trace` on one simulated engine),
 * each request at its arrival offset with its exact input and output lengths
 * (`ignore_eos`), under the recorded engine settings (max_num_seqs,
 * max_num_batched_tokens, tensor parallel size; prefix caching on). The trace
 * and topology it plays are written beside the result (`trace.jsonl`,
 * `topology.yaml`), so the replay can be rerun with `deno task predict`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { readRequestCsv } from "../../lib/request_csv.ts";
import type { RequestRow } from "../../lib/result_schema.ts";
import type { RecordedRun } from "../../lib/recorded_run.ts";
import { writeFileAtomic } from "../../lib/write_file.ts";
import { minOf } from "../../lib/stats.ts";
import { readRunItls } from "../../lib/run_dir.ts";
import {
  type GpuProfile,
  type ModelProfile,
  resolveModel,
} from "../../launch/sim/core/profiles.ts";
import { isGpuFile, isModelFile, loadGpu, loadModel } from "../../launch/sim/core/profile_files.ts";
import { KV_CACHE_DTYPES } from "../../launch/sim/core/sim_config.ts";
import { parseTopology } from "../../launch/topology.ts";
import { benchConfigOf, predictRun } from "../predict/run_point.ts";

/** Options of {@linkcode replayRun}. */
export interface ReplayOptions {
  /** GPU profile id (or name/alias) the engine is simulated on. */
  gpu: string;
  /** Folder the trace, topology and run directory go into. */
  outDir: string;
  /** Seed of the synthesised prompts and output ids. @default 0 */
  seed?: number;
  /**
   * Model profile: a built-in id or a Hugging Face `config.json` path
   * (`--model-profile`). @default the profile the recording's model name resolves to
   */
  modelProfile?: string;
}

/** What a replay produced. */
export interface Replay {
  gpu: GpuProfile;
  model: ModelProfile;
  /** The predict run directory (requests.csv, summary.json, config.json). */
  runDir: string;
  tracePath: string;
  topologyPath: string;
  /** Rows of the simulated run, one per request. */
  rows: RequestRow[];
  /** Inter-token gaps of the simulated run's successful requests, ms, pooled. */
  itlMs: number[];
  simulatedMs: number;
  wallMs: number;
}

/**
 * The model profile the replay simulates, throwing unless the recorded
 * settings are ones it can play: `modelProfile` (an id or a `config.json`
 * path) when given, else the recording's model name's profile.
 */
export function checkReplayable(run: RecordedRun, modelProfile?: string): ModelProfile {
  const { meta } = run;
  const file = run.format === "trace-folder" ? join(run.dir, "meta.json") : run.dir;
  if (meta.quantization !== undefined && meta.quantization !== "fp8") {
    throw new RangeError(
      `Cannot replay quantization in ${file} as a simulated precision: current value is ${
        JSON.stringify(meta.quantization)
      }; allowed: fp8 or none (BF16)`,
    );
  }
  if (meta.kvCacheDtype !== undefined && !(meta.kvCacheDtype in KV_CACHE_DTYPES)) {
    throw new RangeError(
      `Cannot replay kv_cache_dtype in ${file} as a simulated KV precision: current value is ${
        JSON.stringify(meta.kvCacheDtype)
      }; allowed: ${Object.keys(KV_CACHE_DTYPES).join(", ")}`,
    );
  }
  if (modelProfile !== undefined) return loadModel(modelProfile);
  try {
    return resolveModel(meta.model);
  } catch (e) {
    throw new RangeError(
      `Cannot use model in ${file} as a model with a profile: current value is ${
        JSON.stringify(meta.model)
      }; ${
        (e as Error).message.replace(/^.*; allowed: /, "allowed: ")
      } (or give --model-profile with an id or a Hugging Face config.json)`,
    );
  }
}

/**
 * Whether the recording's times are the engine's own (a trace folder: TTFT and
 * E2E from the scheduler's queue), not the client's (from the send): then the
 * replay starts each request at its queue time with no frontend floor.
 */
export function engineSide(run: RecordedRun): boolean {
  return run.format === "trace-folder";
}

/**
 * vLLM schedules asynchronously by default from 0.12 on (vllm-project/vllm#27614;
 * the traces' README says their 0.19 runs did): on unless the recorded version
 * is older (unknown: on, as vLLM is today).
 */
export function asyncScheduling(version: string | undefined): boolean {
  const m = version?.match(/^v?(\d+)\.(\d+)/);
  return !m || Number(m[1]) > 0 || Number(m[2]) >= 12;
}

/**
 * The recorded requests as a Mooncake-format trace, file order, ms after the
 * first: at the engine's queue time when the recording has it
 * ({@linkcode engineSide}), else at the client's send time.
 */
export function traceText(run: RecordedRun): string {
  const at = (r: RecordedRun["requests"][number]) => engineSide(run) ? r.queuedS : r.arrivalS;
  const t0 = minOf(run.requests.map(at));
  return run.requests.map((r) =>
    JSON.stringify({
      timestamp: Math.round((at(r) - t0) * 1000),
      input_length: r.inputTokens,
      output_length: r.outputTokens,
    })
  ).join("\n") + "\n";
}

/**
 * One simulated engine with the recorded settings, as a topology file's text;
 * `modelProfile` (a `config.json` path) is written absolute in place of the
 * profile's id.
 */
export function topologyText(
  run: RecordedRun,
  gpu: GpuProfile,
  model: ModelProfile,
  modelProfile?: string,
  gpuFile?: string,
): string {
  const { meta } = run;
  const tp = meta.tensorParallelSize;
  const dp = meta.dataParallelSize;
  return `# deno task validate: the engine of ${run.dir}, simulated\n` + stringify({
    name: "validate",
    engine: "sim",
    model: meta.model,
    kind: "agg",
    server: {
      // one instance of dp ranks of tp GPUs each (the ranks are the sim's, not separate instances)
      gpus: [Array.from({ length: tp }, (_, i) => i)],
      port: 8000,
      extra_args: [
        ...(dp > 1 ? ["--data-parallel-size", String(dp)] : []),
        ...(meta.expertParallel ? ["--enable-expert-parallel"] : []),
        "--max-num-seqs",
        String(meta.maxNumSeqs),
        "--max-num-batched-tokens",
        String(meta.maxNumBatchedTokens),
        "--enable-prefix-caching",
        ...(meta.quantization === "fp8" ? ["--quantization", "fp8"] : []),
        // vLLM keeps the KV cache BF16 for an FP8 checkpoint unless kv_cache_dtype says fp8
        ...(meta.kvCacheDtype && meta.kvCacheDtype !== "auto"
          ? ["--kv-cache-dtype", meta.kvCacheDtype]
          : []),
        // the KV cache vLLM sized, when recorded: the replay keeps it rather than re-deriving it
        ...(meta.kvCache
          ? [
            "--block-size",
            String(meta.kvCache.blockSize),
            "--num-gpu-blocks-override",
            String(meta.kvCache.numGpuBlocks),
          ]
          : []),
        ...(asyncScheduling(meta.vllmVersion) ? ["--async-scheduling"] : []),
        ...(meta.disableCustomAllReduce ? ["--disable-custom-all-reduce"] : []),
        // engine-side times start at the scheduler's queue: no API server in front
        ...(engineSide(run) ? ["--request-floor-ms", "0"] : []),
      ],
    },
    router: { enabled: false },
    sim: {
      gpu: gpuFile && isGpuFile(gpuFile) ? resolve(gpuFile) : gpu.id,
      model_profile: modelProfile && isModelFile(modelProfile) ? resolve(modelProfile) : model.id,
    },
  });
}

/** Plays `run` in virtual time; writes trace.jsonl, topology.yaml and a run directory under `o.outDir`. */
export async function replayRun(run: RecordedRun, o: ReplayOptions): Promise<Replay> {
  const model = checkReplayable(run, o.modelProfile);
  const gpu = loadGpu(o.gpu);
  await Deno.mkdir(o.outDir, { recursive: true });
  const tracePath = join(o.outDir, "trace.jsonl");
  const topologyPath = join(o.outDir, "topology.yaml");
  const yaml = topologyText(run, gpu, model, o.modelProfile, o.gpu);
  await writeFileAtomic(tracePath, traceText(run));
  await writeFileAtomic(topologyPath, yaml);
  const topology = parseTopology(yaml, topologyPath);
  const limit = run.arrivals === "recorded" ? null : run.arrivals.maxConcurrency;
  const { cfg, args } = benchConfigOf({
    ...(limit ? { concurrency: limit } : {}),
    dataset: "trace",
    "dataset-path": tracePath,
    seed: o.seed ?? 0,
    "saturation-stop": "off",
    topology: "validate",
    out: join(o.outDir, "replay"),
  });
  // the real latencies are engine-side (from queued): no router hop in front
  const r = await predictRun(topology, cfg, { routerHopMs: 0, argv: args, writeItl: true });
  const rows = readRequestCsv(
    await Deno.readFile(join(r.runDir, "requests.csv")),
    join(r.runDir, "requests.csv"),
  );
  const ok = new Set(rows.filter((x) => x.status === 200).map((x) => x.request_id));
  const gaps = await readRunItls(r.runDir, (_, rid) => (ok.has(rid) ? "ok" : undefined));
  return {
    gpu,
    model,
    runDir: r.runDir,
    tracePath,
    topologyPath,
    rows,
    itlMs: gaps?.get("ok") ?? [],
    simulatedMs: r.simulatedMs,
    wallMs: r.wallMs,
  };
}
