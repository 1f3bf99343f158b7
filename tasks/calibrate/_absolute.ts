/**
 * The absolute rows of ../shared/calibration/published.md, reproduced in
 * virtual time on one simulated instance: each row's setup as the source states
 * it, and what the source leaves unstated named in `assumed`.
 *
 * @module
 */
import { VLLM_V0_REQUEST_FLOOR_MS } from "../../launch/sim/core/cost_model.ts";
import { closedLoop, type Instance, openLoop, stat } from "./_bench.ts";

/** One compared figure. */
export interface Row {
  /** Row id in published.md. */
  id: string;
  /** What is compared. */
  metric: string;
  published: number;
  simulated: number;
  /** Allowed relative error. @default 0.15 */
  tolerance?: number;
  /** Setup the source does not state, as simulated. */
  assumed?: string;
  /** Not gated (say why), e.g. a figure that depends on unstated inputs. */
  ungated?: string;
}

const LAMBDA_PROMPTS = [13, 25, 27, 10, 329, 29, 399, 328, 4, 205];
const LLAMA = "llama-3.1-8b";

/** L-H100 / L-A100: 10 ShareGPT prompts at once, vLLM 0.5/0.6 (V0, multi-step). */
async function lambda(
  id: string,
  gpu: string,
  outputs: number,
  ttft: number,
  tpot: number,
): Promise<Row[]> {
  // V0 without chunked prefill: the batch budget is max-model-len 2048
  const inst: Instance = {
    gpu,
    model: LLAMA,
    budget: 2048,
    requestFloorMs: VLLM_V0_REQUEST_FLOOR_MS,
  };
  const each = Math.round(outputs / LAMBDA_PROMPTS.length);
  const r = await openLoop(
    inst,
    LAMBDA_PROMPTS.map((p) => ({ atMs: 0, promptTokens: p, outputTokens: each })),
  );
  const assumed =
    `Llama-3-8B as Llama-3.1-8B (same shapes); ${each} output tokens each (${outputs} in all, split not stated)`;
  return [
    {
      id,
      metric: "mean TTFT (ms)",
      published: ttft,
      simulated: stat(r, "ttft_ms").mean,
      assumed,
      ...(gpu === "h100" ? { ungated: "fitted: sets the V0 frontend floor" } : {}),
    },
    {
      id,
      metric: "median TPOT (ms)",
      published: tpot,
      simulated: stat(r, "tpot_ms").median,
      assumed,
    },
  ];
}

/** JM-A100: A100 40GB, random 1024/128 closed loop at concurrency 1 and 8. */
async function johnMusgrave(): Promise<Row[]> {
  // under 70 GiB of memory vLLM's OpenAI server batches 2048 tokens per step
  const inst: Instance = { gpu: "a100-40gb", model: LLAMA, budget: 2048 };
  const job = { promptTokens: 1024, outputTokens: 128 };
  const c1 = await closedLoop(inst, 1, 20, job);
  const c8 = await closedLoop(inst, 8, 160, job);
  return [
    {
      id: "JM-A100",
      metric: "decode tok/s at concurrency 1",
      published: 75,
      simulated: 1000 / stat(c1, "tpot_ms").median,
    },
    {
      id: "JM-A100",
      metric: "output throughput, concurrency 8 / 1",
      published: 6.6,
      simulated: c8.outputTokS / c1.outputTokS,
    },
  ];
}

/** PPD-floor: one turn-2 request at a time on an idle H100 (0.1 conversations/s, 2 replicas). */
async function ppdFloor(): Promise<Row[]> {
  const inst: Instance = { gpu: "h100", model: LLAMA };
  const rows: Row[] = [];
  const W: [string, number, number, number][] = [
    ["W1", 512, 256, 30],
    ["W2", 4096, 128, 99],
    ["W3", 256, 1024, 30],
    ["W4", 8192, 64, 179],
  ];
  const assumed =
    "round robin sends turn 2 to the other replica: it prefills turn 1's ~20 tokens and the new input";
  let tpot = 0;
  for (const [w, inLen, outLen, ttft] of W) {
    const r = await openLoop(inst, [{ atMs: 0, promptTokens: inLen + 20, outputTokens: outLen }]);
    rows.push({
      id: "PPD-floor",
      metric: `${w} turn-2 P50 TTFT (ms)`,
      published: ttft,
      simulated: stat(r, "ttft_ms").median,
      assumed,
    });
    if (w === "W3") tpot = stat(r, "tpot_ms").median;
  }
  rows.push({
    id: "PPD-floor",
    metric: "low-load TPOT (ms), W3",
    published: 8.1,
    simulated: tpot,
    assumed: "published 8.0-8.2 ms: the middle taken",
  });
  return rows;
}

/** Every absolute row, simulated. */
export async function absoluteRows(): Promise<Row[]> {
  return [
    ...await lambda("L-H100", "h100", 1867, 62.43, 7.56),
    ...await lambda("L-A100", "a100", 1945, 126.87, 12.01),
    ...await johnMusgrave(),
    ...await ppdFloor(),
  ];
}
