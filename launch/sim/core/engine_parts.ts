/**
 * From one instance's settings (`deno task sim` flags, parsed) to its engine's
 * parts: the GPU and model profiles, the cost model, the KV block pool and the
 * context limit. The live process and the virtual topology both build their
 * engines here, so both clocks read one configuration path.
 *
 * @module
 */
import { CostModel } from "./cost_model.ts";
import type { EngineOptions } from "./engine.ts";
import { KvCache } from "./kv_cache.ts";
import { loadGpu, loadModel } from "./profile_files.ts";
import type { GpuProfile, ModelProfile } from "./profiles.ts";
import type { SimConfig } from "./sim_config.ts";

/** An engine's parts; add a clock to `options` to build it. */
export interface EngineParts {
  gpu: GpuProfile;
  profile: ModelProfile;
  cost: CostModel;
  numBlocks: number;
  /** The context limit: the configured one, capped by the KV pool. */
  maxModelLen: number;
  options: Omit<EngineOptions, "clock">;
  /** Another rank's options (`--data-parallel-size`): the same settings, a KV cache of its own. */
  rankOptions: () => Omit<EngineOptions, "clock">;
}

/** Builds the parts of the engine `cfg` describes. */
export function engineParts(cfg: SimConfig): EngineParts {
  const gpu = loadGpu(cfg.gpu);
  const profile = loadModel(cfg.modelProfile ?? cfg.model);
  const cost = new CostModel({
    gpu,
    model: profile,
    tp: cfg.tp,
    dp: cfg.dp,
    ep: cfg.ep,
    eplb: cfg.eplb,
    ...(cfg.expertImbalance !== undefined ? { expertImbalance: cfg.expertImbalance } : {}),
    maxNumBatchedTokens: cfg.maxNumBatchedTokens,
    maxNumSeqs: cfg.maxNumSeqs,
    dtype: cfg.dtype,
    kvDtype: cfg.kvDtype,
    requestFloorMs: cfg.requestFloorMs,
    customAllReduce: cfg.customAllReduce,
  });
  const numBlocks = cfg.numGpuBlocksOverride ??
    cost.numGpuBlocks(cfg.gpuMemoryUtilization, cfg.blockSize);
  const rankOptions = () => ({
    cost,
    kv: new KvCache({ numBlocks, blockSize: cfg.blockSize, prefixCaching: cfg.prefixCaching }),
    maxNumBatchedTokens: cfg.maxNumBatchedTokens,
    maxNumSeqs: cfg.maxNumSeqs,
    seed: cfg.seed,
    jitter: cfg.jitter,
    asyncScheduling: cfg.asyncScheduling,
  });
  return {
    gpu,
    profile,
    cost,
    numBlocks,
    maxModelLen: Math.min(cfg.maxModelLen ?? profile.maxModelLen, numBlocks * cfg.blockSize),
    options: rankOptions(),
    rankOptions,
  };
}
