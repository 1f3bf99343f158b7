import assert from "node:assert/strict";
import { CostModel } from "./cost_model.ts";
import type { EngineRequest } from "./engine.ts";
import { EventLoop } from "../../../lib/event_loop.ts";
import { KvCache } from "./kv_cache.ts";
import { resolveGpu, resolveModel } from "./profiles.ts";
import { VirtualEngine } from "./virtual_engine.ts";

const cost = new CostModel({
  gpu: resolveGpu("h100"),
  model: resolveModel("llama-3.1-8b"),
  requestFloorMs: 0,
  tokenizeUsPerToken: 0,
});

/** Runs A at 0 and B half-way through A's prefill step; the first-token times of both. */
function firstTokens(asyncScheduling: boolean, bAtMs?: number) {
  const loop = new EventLoop();
  const engine = new VirtualEngine({
    cost,
    kv: new KvCache({ numBlocks: 4096, blockSize: 16 }),
    clock: loop,
    jitter: 0,
    asyncScheduling,
  });
  const first = new Map<string, number>();
  const req = (id: string, n: number): EngineRequest => ({
    id,
    promptTokens: Array.from({ length: n }, (_, i) => (i * 31 + id.charCodeAt(0)) % 30000),
    outputIds: [1, 2, 3, 4, 5, 6],
    finishReason: "length",
    recordTimes: true,
    sink: { onFinish: (_r, info) => first.set(id, info.tokenTimesMs![0]) },
  });
  engine.add(req("a", 1024));
  const prefillA = cost.stepMs([{ newTokens: 1024, contextTokens: 0 }]);
  loop.at(bAtMs ?? prefillA / 2, () => engine.add(req("b", 256)));
  loop.run();
  return { a: first.get("a")!, b: first.get("b")!, prefillA };
}

Deno.test("async scheduling: a request that queues during a step waits one more step", () => {
  const sync = firstTokens(false);
  const asy = firstTokens(true);
  // A, alone on an idle engine, is not delayed either way
  assert.ok(Math.abs(sync.a - sync.prefillA) < 1e-9);
  assert.equal(asy.a, sync.a);
  // sync: B joins the step right after A's prefill; async: that step was scheduled
  // when A's prefill started, so B joins the one after it
  const withB = cost.stepMs([
    { newTokens: 1, contextTokens: 1024 },
    { newTokens: 256, contextTokens: 0 },
  ]);
  assert.ok(Math.abs(sync.b - (sync.prefillA + withB)) < 1e-9, `${sync.b}`);
  const decodeA = cost.stepMs([{ newTokens: 1, contextTokens: 1024 }]);
  const withBLater = cost.stepMs([
    { newTokens: 1, contextTokens: 1025 },
    { newTokens: 256, contextTokens: 0 },
  ]);
  assert.ok(Math.abs(asy.b - (asy.prefillA + decodeA + withBLater)) < 1e-9, `${asy.b}`);
});

Deno.test("async scheduling: a request reaching an idle engine starts at once", () => {
  // B arrives long after A has finished: no step is in flight, nothing to wait for
  const asy = firstTokens(true, 10_000);
  const alone = cost.stepMs([{ newTokens: 256, contextTokens: 0 }]);
  assert.ok(Math.abs(asy.b - (10_000 + alone)) < 1e-6, `${asy.b}`);
});
