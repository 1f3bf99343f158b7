/**
 * A minimal benchmark of one simulated engine in virtual time, for the
 * calibration rows: requests at given instants (open loop) or a closed loop of
 * `concurrency` clients, per-request TTFT / TPOT / E2E as `vllm bench serve`
 * defines them. Prompts are unique token runs, so no prefix is shared unless a
 * row says so.
 *
 * @module
 */
import { CostModel, type CostModelOptions } from "../../launch/sim/cost_model.ts";
import { EventLoop } from "../../launch/sim/event_loop.ts";
import { KvCache } from "../../launch/sim/kv_cache.ts";
import { resolveGpu, resolveModel } from "../../launch/sim/profiles.ts";
import { VirtualEngine } from "../../launch/sim/virtual_engine.ts";
import { mean, percentile } from "../../lib/stats.ts";

/** One instance: GPU and model ids, cost-model options, scheduler settings. */
export interface Instance extends Partial<Omit<CostModelOptions, "gpu" | "model">> {
  gpu: string;
  model: string;
  /** `--max-num-batched-tokens`. @default 8192 */
  budget?: number;
}

/** One request: when it arrives (ms), its prompt and output lengths. */
export interface Job {
  atMs: number;
  promptTokens: number;
  outputTokens: number;
}

/** One finished request, ms. */
export interface Done {
  ttftMs: number;
  /** (E2E - TTFT) / (output - 1); NaN for one output token. */
  tpotMs: number;
  e2eMs: number;
  outputTokens: number;
  endMs: number;
}

/** Results of one run. */
export interface BenchResult {
  done: Done[];
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

function engineOf(inst: Instance, loop: EventLoop): { engine: VirtualEngine; cost: CostModel } {
  const { gpu, model, budget, ...opts } = inst;
  const cost = new CostModel({ gpu: resolveGpu(gpu), model: resolveModel(model), ...opts });
  const kv = new KvCache({ numBlocks: cost.numGpuBlocks(0.9, 16), blockSize: 16 });
  const engine = new VirtualEngine({
    cost,
    kv,
    clock: loop,
    jitter: 0,
    maxNumBatchedTokens: budget ?? 8192,
  });
  return { engine, cost };
}

function submit(
  engine: VirtualEngine,
  loop: EventLoop,
  job: Job,
  id: string,
  onDone: (d: Done) => void,
): void {
  const start = loop.nowMs();
  let first = -1;
  engine.add({
    id,
    promptTokens: prompt(job.promptTokens),
    outputIds: Array.from({ length: job.outputTokens }, (_, i) => 1000 + (i % 5000)),
    finishReason: "length",
    sink: {
      onToken: () => {
        if (first < 0) first = loop.nowMs();
      },
      onFinish: () => {
        const end = loop.nowMs();
        const ttft = first - start, e2e = end - start;
        onDone({
          ttftMs: ttft,
          tpotMs: job.outputTokens > 1 ? (e2e - ttft) / (job.outputTokens - 1) : NaN,
          e2eMs: e2e,
          outputTokens: job.outputTokens,
          endMs: end,
        });
      },
    },
  });
}

function result(done: Done[], t0: number): BenchResult {
  const end = Math.max(...done.map((d) => d.endMs));
  const out = done.reduce((a, d) => a + d.outputTokens, 0);
  return { done, durationMs: end - t0, outputTokS: out / ((end - t0) / 1000) };
}

/** Runs `jobs` (open loop) against one instance. */
export function openLoop(inst: Instance, jobs: Job[]): BenchResult {
  const loop = new EventLoop();
  const { engine } = engineOf(inst, loop);
  const done: Done[] = [];
  jobs.forEach((j, i) =>
    loop.at(j.atMs, () => submit(engine, loop, j, `r${i}`, (d) => done.push(d)))
  );
  loop.run();
  return result(done, Math.min(...jobs.map((j) => j.atMs)));
}

/** Runs `total` requests from `concurrency` clients that each send the next when one ends. */
export function closedLoop(
  inst: Instance,
  concurrency: number,
  total: number,
  job: Omit<Job, "atMs">,
): BenchResult {
  const loop = new EventLoop();
  const { engine } = engineOf(inst, loop);
  const done: Done[] = [];
  let sent = 0;
  const next = () => {
    if (sent >= total) return;
    const id = `r${sent++}`;
    submit(engine, loop, { ...job, atMs: loop.nowMs() }, id, (d) => {
      done.push(d);
      next();
    });
  };
  loop.at(0, () => {
    for (let c = 0; c < concurrency; c++) next();
  });
  loop.run();
  return result(done, 0);
}

/** Mean and median of one metric over finished requests (NaN values skipped). */
export function stat(r: BenchResult, key: "ttftMs" | "tpotMs" | "e2eMs"): {
  mean: number;
  median: number;
  p99: number;
} {
  const xs = r.done.map((d) => d[key]).filter((x) => Number.isFinite(x));
  return { mean: mean(xs), median: percentile(xs, 50), p99: percentile(xs, 99) };
}
