/**
 * A minimal benchmark of one simulated engine in virtual time, for the
 * calibration rows: requests at given instants (open loop) or a closed loop of
 * `concurrency` clients, played by bench's one load driver through the virtual
 * sender, straight into one engine (no router, no frontend checks); TTFT / TPOT
 * / E2E are bench's own row values. Prompts are unique token runs, so no prefix
 * is shared unless a row says so.
 *
 * @module
 */
import { CostModel, type CostModelOptions } from "../../launch/sim/core/cost_model.ts";
import type { EngineRequest } from "../../launch/sim/core/engine.ts";
import { KvCache } from "../../launch/sim/core/kv_cache.ts";
import { resolveGpu, resolveModel } from "../../launch/sim/core/profiles.ts";
import { VirtualEngine } from "../../launch/sim/core/virtual_engine.ts";
import { EventLoop } from "../../lib/event_loop.ts";
import { mean, percentile } from "../../lib/stats.ts";
import { LazyTokenizer } from "../../lib/tokenizer.ts";
import type { RequestRow } from "../../lib/result_schema.ts";
import { type LoadPlan, runLoad } from "../../bench/load_driver.ts";
import { requestRow } from "../../bench/record.ts";
import type { Job } from "../../bench/work_source.ts";
import type { RequestSpec } from "../../bench/workload/types.ts";
import {
  type RequestTokens,
  VirtualSender,
  type VirtualTarget,
} from "../predict/virtual_sender.ts";

/** One instance: GPU and model ids, cost-model options, scheduler settings. */
export interface Instance extends Partial<Omit<CostModelOptions, "gpu" | "model">> {
  gpu: string;
  model: string;
  /** `--max-num-batched-tokens`. @default 8192 */
  budget?: number;
}

/** One request: when it arrives (ms), its prompt and output lengths. */
export interface Arrival {
  atMs: number;
  promptTokens: number;
  outputTokens: number;
}

/** Results of one run. */
export interface BenchResult {
  /** One `requests.csv` row per finished request. */
  rows: RequestRow[];
  /** First arrival to last finish, ms. */
  durationMs: number;
  /** Output tokens per second over the duration. */
  outputTokS: number;
}

let salt = 0;
const prompt = (n: number) => {
  const s = ++salt * 7919;
  return Array.from({ length: n }, (_, i) => (s + i * 31) % 120_000);
};

/** A calibration request's prompt: a unique token run of the spec's length. */
const TOKENS: RequestTokens = { promptTokens: (spec) => prompt(spec.promptTokens) };

function engineOf(inst: Instance, loop: EventLoop): VirtualEngine {
  const { gpu, model, budget, ...opts } = inst;
  const cost = new CostModel({ gpu: resolveGpu(gpu), model: resolveModel(model), ...opts });
  const kv = new KvCache({ numBlocks: cost.numGpuBlocks(0.9, 16), blockSize: 16 });
  return new VirtualEngine({
    cost,
    kv,
    clock: loop,
    jitter: 0,
    maxNumBatchedTokens: budget ?? 8192,
  });
}

/**
 * One engine as the virtual sender's target: each request straight into it (no
 * router, no frontend limits), with exactly `max_tokens` fixed output ids.
 */
function engineTarget(engine: VirtualEngine): VirtualTarget {
  return {
    submit({ id, body, promptTokens }, res) {
      const n = Number(body.max_tokens ?? body.max_completion_tokens);
      const outputIds = Array.from({ length: n }, (_, i) => 1000 + (i % 5000));
      const sink: EngineRequest["sink"] = {
        onFinish: (r, info) => {
          const aborted = r === "abort";
          res.onFinish({
            error: aborted ? "aborted" : "",
            status: aborted ? 499 : 200,
            info,
            backend: "",
            outputIds,
          });
        },
      };
      engine.add({
        id,
        promptTokens: promptTokens!,
        outputIds,
        finishReason: "length",
        recordTimes: true,
        sink,
      });
    },
  };
}

function spec(i: number, a: Omit<Arrival, "atMs">): RequestSpec {
  const id = `r${i}`;
  return {
    requestId: id,
    conversationId: id,
    turn: 1,
    promptTokens: a.promptTokens,
    maxTokens: a.outputTokens,
    ignoreEos: true,
  };
}

/** Plays `plan`'s jobs against one instance; `t0Ms` starts the measured duration. */
async function play(
  inst: Instance,
  plan: Pick<LoadPlan, "jobs" | "closedLoop" | "concurrency">,
  t0Ms: number,
): Promise<BenchResult> {
  const loop = new EventLoop();
  const sender = new VirtualSender(loop, engineTarget(engineOf(inst, loop)), TOKENS);
  const rows: RequestRow[] = [];
  const done = runLoad(
    { tokenizer: new LazyTokenizer(), endpoint: "completions", ...plan },
    loop,
    sender,
    {
      onResult: (f) => rows.push(requestRow(f, "calibrate", "calibrate").row),
    },
  );
  loop.run();
  await Promise.race([done, rows]); // the loop ran dry: what finished is the result
  let end = -Infinity;
  let out = 0;
  for (const r of rows) {
    end = Math.max(end, r.end_ms);
    out += r.output_tokens;
  }
  return { rows, durationMs: end - t0Ms, outputTokS: out / ((end - t0Ms) / 1000) };
}

/** Runs `arrivals` (open loop) against one instance. */
export function openLoop(inst: Instance, arrivals: Arrival[]): Promise<BenchResult> {
  const jobs: Job[] = arrivals.map((a, i) => ({ offsetMs: a.atMs, request: spec(i, a) }));
  let t0 = Infinity;
  for (const a of arrivals) t0 = Math.min(t0, a.atMs);
  return play(inst, { jobs: jobs.values(), closedLoop: false }, t0);
}

/** Runs `total` requests from `concurrency` clients that each send the next when one ends. */
export function closedLoop(
  inst: Instance,
  concurrency: number,
  total: number,
  request: Omit<Arrival, "atMs">,
): Promise<BenchResult> {
  const jobs = Array.from({ length: total }, (_, i): Job => ({
    offsetMs: 0,
    request: spec(i, request),
  }));
  return play(inst, { jobs: jobs.values(), closedLoop: true, concurrency }, 0);
}

/** Mean, median and p99 of one metric over finished requests (missing values skipped). */
export function stat(r: BenchResult, key: "ttft_ms" | "tpot_ms" | "e2e_ms"): {
  mean: number;
  median: number;
  p99: number;
} {
  const xs: number[] = [];
  for (const row of r.rows) {
    const x = row[key];
    if (x !== null && Number.isFinite(x)) xs.push(x);
  }
  return { mean: mean(xs), median: percentile(xs, 50), p99: percentile(xs, 99) };
}
