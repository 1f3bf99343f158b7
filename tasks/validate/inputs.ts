/**
 * What `deno task validate` supplies that a recording may lack: vLLM's
 * default engine settings for the GPU (a vLLM bench JSON or a topobench run
 * directory holds none), and arrival times for a vLLM bench JSON without
 * `start_times`.
 *
 * vLLM's defaults for `vllm serve` (usage context OPENAI_API_SERVER), from
 * `EngineArgs._set_default_args` in vllm-project/vllm `vllm/engine/arg_utils.py`
 * @ 99d7eb5d6a512cfcc5a2b104f24ebf2d6cda772b: on a GPU with >= 70 GiB whose
 * name does not contain "a100", max_num_batched_tokens 8192 and max_num_seqs
 * 1024; else 2048 and 256 (max_num_seqs capped at max_num_batched_tokens);
 * tensor_parallel_size 1 (`EngineArgs`).
 *
 * @module
 */
import type { EngineSettings, RecordedRun } from "../../lib/recorded_run.ts";
import { Rng } from "../../lib/rng.ts";
import type { GpuProfile } from "../../launch/sim/core/profiles.ts";
import { arrivalStream } from "../../bench/workload/arrivals.ts";

/** vLLM's defaults on `gpu` (see the module note), with where they come from. */
export function vllmDefaults(gpu: GpuProfile): EngineSettings & { source: string } {
  const big = gpu.memGiB >= 70 && !/a100/i.test(`${gpu.id} ${gpu.name}`);
  const budget = big ? 8192 : 2048;
  return {
    maxNumBatchedTokens: budget,
    maxNumSeqs: Math.min(big ? 1024 : 256, budget),
    tensorParallelSize: 1,
    source: `vLLM's defaults for ${gpu.name} (${
      big ? ">= 70 GiB, not A100" : "< 70 GiB or A100"
    }; vllm/engine/arg_utils.py @ 99d7eb5)`,
  };
}

/**
 * Gives every request of a run without arrival times (`run.arrivals` is what
 * its schedule was drawn from) an arrival drawn the way `vllm bench serve`
 * draws its schedule: gamma gaps of shape `burstiness` and mean 1/rate,
 * rescaled so the last lands at count / rate (all at 0 for rate inf), with our
 * own generator seeded by `seed`. The same process, NOT the same draws as the
 * recorded run (vLLM's numpy stream is not reproduced); a note says so.
 * Returns the run unchanged when its arrivals were recorded.
 */
export function withArrivals(run: RecordedRun, seed: number): RecordedRun {
  const a = run.arrivals;
  if (a === "recorded") return run;
  const offsets = [
    ...arrivalStream({
      rateRps: a.rateRps,
      burstiness: a.burstiness,
      count: run.requests.length,
      vllmRescale: true,
    }, new Rng(seed)),
  ];
  const requests = run.requests.map((r, i) => {
    const t = offsets[i] / 1000;
    return {
      ...r,
      arrivalS: t,
      queuedS: r.queuedS + t,
      scheduledS: r.scheduledS + t,
      firstTokenS: r.firstTokenS + t,
      lastTokenS: r.lastTokenS + t,
    };
  });
  const rate = Number.isFinite(a.rateRps) ? `${a.rateRps} req/s` : "inf (all at once)";
  const note =
    `arrivals REBUILT, not recorded (the file has no start_times): request_rate ${rate}, ` +
    `burstiness ${a.burstiness}${
      a.maxConcurrency ? `, max_concurrency ${a.maxConcurrency} (replayed as --concurrency)` : ""
    }, drawn with seed ${seed}: the same process as vLLM's schedule, not the same draws`;
  return { ...run, requests, notes: [...run.notes, note] };
}
