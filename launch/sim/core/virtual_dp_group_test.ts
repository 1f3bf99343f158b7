import assert from "node:assert/strict";
import { CostModel, StepShape } from "./cost_model.ts";
import type { EngineRequest } from "./engine.ts";
import { KvCache } from "./kv_cache.ts";
import { EventLoop } from "../../../lib/event_loop.ts";
import { type ModelProfile, resolveGpu, resolveModel } from "./profiles.ts";
import { VirtualDpGroup } from "./virtual_dp_group.ts";
import { VirtualEngine } from "./virtual_engine.ts";

const RTX = resolveGpu("rtx-pro-6000");
const LLAMA = resolveModel("llama-3.1-8b");
const MOE: ModelProfile = {
  ...LLAMA,
  id: "test-moe",
  moe: {
    experts: 64,
    expertsPerToken: 4,
    expertIntermediate: 1024,
    sharedIntermediate: 0,
    moeLayers: 32,
  },
};

function group(model: ModelProfile, asyncScheduling = false) {
  const loop = new EventLoop();
  const cost = new CostModel({
    gpu: RTX,
    model,
    dp: 2,
    ep: model.moe !== undefined,
    requestFloorMs: 0,
    tokenizeUsPerToken: 0,
  });
  const g = new VirtualDpGroup({
    clock: loop,
    cost,
    jitter: 0,
    rankOptions: () => ({
      cost,
      kv: new KvCache({ numBlocks: 4096, blockSize: 16 }),
      jitter: 0,
      asyncScheduling,
    }),
  });
  return { loop, cost, g };
}

/** A request of `prompt` tokens and `out` outputs; its token times land in `times`. */
function req(id: string, prompt: number, out: number, times: Map<string, number[]>): EngineRequest {
  return {
    id,
    promptTokens: Array.from({ length: prompt }, (_, i) => (i * 13 + id.length * 7919) % 30000),
    outputIds: Array.from({ length: out }, (_, i) => 100 + i),
    finishReason: "length",
    recordTimes: true,
    sink: { onFinish: (_r, info) => times.set(id, [...info.tokenTimesMs!]) },
  };
}

Deno.test("dp group: requests go to the rank with the lowest waiting x 4 + running", () => {
  const { loop, g } = group(MOE);
  const times = new Map<string, number[]>();
  for (let i = 0; i < 6; i++) g.add(req(`r${i}`, 64, 3, times));
  // the balancer's view rises by one waiting request per pick: the ranks alternate
  assert.deepEqual(g.ranks.map((r) => r.numWaiting), [3, 3]);
  loop.run();
  assert.equal(times.size, 6);
});

Deno.test("dp group: MoE ranks step in lockstep, each step as long as the group's step time", () => {
  const { loop, g, cost } = group(MOE);
  const times = new Map<string, number[]>();
  g.add(req("a", 512, 4, times)); // rank 0
  g.add(req("b", 64, 4, times)); // rank 1
  loop.run();
  const [a, b] = [times.get("a")!, times.get("b")!];
  // both ranks' tokens come out at the same step ends
  assert.deepEqual(a, b);
  // the first step: rank 0's 512-token prefill sets the pace, and pads rank 1
  const first = cost.groupStepMs([prefillShape(512), prefillShape(64)]);
  assert.ok(Math.abs(a[0] - first) < 1e-9, `${a[0]} vs ${first}`);
});

Deno.test("dp group: a dense model's ranks step on their own (no lockstep)", () => {
  const { loop, g } = group(LLAMA);
  assert.ok(g.ranks.every((r) => r instanceof VirtualEngine));
  const times = new Map<string, number[]>();
  g.add(req("a", 2048, 3, times));
  g.add(req("b", 64, 3, times));
  loop.run();
  // the short request's rank is not held back by the long prefill on the other
  assert.ok(times.get("b")![0] < times.get("a")![0] / 2);
});

function prefillShape(n: number): StepShape {
  const s = new StepShape();
  s.add(n, 0);
  return s;
}
