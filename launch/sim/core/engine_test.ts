import assert from "node:assert/strict";
import { maxOf } from "../../../lib/stats.ts";
import { CostModel } from "./cost_model.ts";
import type { EngineRequest, FinishInfo, FinishReason } from "./engine.ts";
import { EventLoop } from "../../../lib/event_loop.ts";
import { KvCache } from "./kv_cache.ts";
import { KvLink, linkedRemote } from "./kv_link.ts";
import { resolveGpu, resolveModel } from "./profiles.ts";
import { VirtualEngine } from "./virtual_engine.ts";

const cost = new CostModel({ gpu: resolveGpu("h100"), model: resolveModel("llama-3.1-8b") });

function setup(numBlocks = 4096, opts: { budget?: number; seed?: number } = {}) {
  const loop = new EventLoop();
  const kv = new KvCache({ numBlocks, blockSize: 16 });
  const engine = new VirtualEngine({
    cost,
    kv,
    clock: loop,
    jitter: 0,
    maxNumBatchedTokens: opts.budget ?? 8192,
    seed: opts.seed ?? 0,
  });
  return { loop, kv, engine };
}

interface Trace {
  tokens: number[];
  finish?: FinishReason;
  info?: FinishInfo;
  endMs?: number;
}

function request(
  loop: EventLoop,
  id: string,
  prompt: number[],
  out: number,
  extra: Partial<EngineRequest> = {},
): { req: EngineRequest; trace: Trace } {
  const trace: Trace = { tokens: [] };
  const req: EngineRequest = {
    id,
    promptTokens: prompt,
    outputIds: Array.from({ length: out }, (_, i) => 1000 + i),
    finishReason: "length",
    sink: {
      onToken: () => trace.tokens.push(loop.nowMs()),
      onFinish: (r, info) => {
        trace.finish = r;
        trace.info = info;
        trace.endMs = loop.nowMs();
      },
    },
    ...extra,
  };
  return { req, trace };
}

const prompt = (n: number, salt = 0) =>
  Array.from({ length: n }, (_, i) => (i * 7 + salt) % 50_000);

Deno.test("engine core: one request's TTFT is its prefill step, then one decode step per token", () => {
  const { loop, engine } = setup();
  const { req, trace } = request(loop, "a", prompt(512), 4);
  engine.add(req);
  loop.run();
  // the frontend floor, then the prefill step
  const prefill = cost.frontendMs(512) + cost.stepMs([{ newTokens: 512, contextTokens: 0 }]);
  assert.ok(Math.abs(trace.tokens[0] - prefill) < 1e-9);
  for (let i = 1; i < 4; i++) {
    const d = cost.stepMs([{ newTokens: 1, contextTokens: 512 + i - 1 }]);
    assert.ok(Math.abs(trace.tokens[i] - trace.tokens[i - 1] - d) < 1e-9);
  }
  assert.equal(trace.finish, "length");
  assert.equal(trace.info!.outputTokens, 4);
  assert.equal(engine.numActive, 0);
});

Deno.test("engine core: a long prompt is prefilled in chunks of the token budget", () => {
  const { loop, engine } = setup(4096, { budget: 1024 });
  const { req, trace } = request(loop, "a", prompt(2500), 2);
  engine.add(req);
  loop.run();
  // 1024 + 1024 + 452 tokens: three prefill steps before the first token
  const steps = [
    cost.frontendMs(2500),
    cost.stepMs([{ newTokens: 1024, contextTokens: 0 }]),
    cost.stepMs([{ newTokens: 1024, contextTokens: 1024 }]),
    cost.stepMs([{ newTokens: 452, contextTokens: 2048 }]),
  ];
  assert.ok(Math.abs(trace.tokens[0] - steps.reduce((a, b) => a + b)) < 1e-9);
  assert.equal(engine.steps, 4);
});

Deno.test("engine core: simultaneous arrivals share steps; decodes run before new prefills", () => {
  const { loop, engine } = setup();
  const a = request(loop, "a", prompt(256, 1), 8);
  const b = request(loop, "b", prompt(256, 2), 8);
  engine.add(a.req);
  engine.add(b.req);
  loop.run();
  assert.deepEqual(a.trace.tokens, b.trace.tokens);
  assert.equal(engine.steps, 8);
  // A late arrival joins the running batch: its prefill shares the decode step.
  const { loop: l2, engine: e2 } = setup();
  const c = request(l2, "c", prompt(256, 3), 20);
  const d = request(l2, "d", prompt(256, 4), 2);
  e2.add(c.req);
  l2.at(30, () => e2.add(d.req));
  l2.run();
  const joined = c.trace.tokens.find((t) => t >= d.trace.tokens[0]);
  assert.equal(joined, d.trace.tokens[0]);
});

Deno.test("engine core: a repeated prompt hits the prefix cache block for block", () => {
  const { loop, engine } = setup();
  const p = prompt(1000);
  const first = request(loop, "a", p, 2);
  engine.add(first.req);
  loop.run();
  const again = request(loop, "b", [...p, 5, 6, 7], 2);
  engine.add(again.req);
  const t0 = loop.nowMs();
  loop.run();
  assert.equal(first.trace.info!.cachedTokens, 0);
  assert.equal(again.trace.info!.cachedTokens, Math.floor(1000 / 16) * 16);
  const cached = cost.frontendMs(1003) +
    cost.stepMs([{ newTokens: 1003 - 992, contextTokens: 992 }]);
  assert.ok(Math.abs(again.trace.tokens[0] - t0 - cached) < 1e-9);
});

Deno.test("engine core: out of blocks, the newest request is preempted and recomputed", () => {
  // 40 blocks of 16 tokens = 640 tokens; two 300-token prompts growing by 64 tokens each.
  const { loop, engine } = setup(40);
  const a = request(loop, "a", prompt(300, 1), 64);
  const b = request(loop, "b", prompt(300, 2), 64);
  engine.add(a.req);
  engine.add(b.req);
  loop.run();
  assert.equal(a.trace.finish, "length");
  assert.equal(b.trace.finish, "length");
  assert.ok(engine.metrics.preemptions >= 1);
  assert.equal(a.trace.tokens.length, 64);
  assert.equal(b.trace.tokens.length, 64);
  assert.ok(b.trace.endMs! > a.trace.endMs!);
});

Deno.test("engine core: PD hand-off - the decode waits for the booked KV transfer, then decodes", () => {
  const loop = new EventLoop();
  const mk = (seed: number) =>
    new VirtualEngine({
      cost,
      kv: new KvCache({ numBlocks: 4096, blockSize: 16 }),
      clock: loop,
      jitter: 0,
      seed,
    });
  const producer = mk(1);
  const consumer = mk(2);
  const link = new KvLink(cost, 25, 2);
  const p = prompt(2048);
  const pre = request(loop, "p", p, 1, { holdForRemoteDecode: true });
  let arrive = 0;
  pre.req.sink.onFinish = (_r, info) => {
    pre.trace.info = info;
    const dec = request(loop, "d", p, 4, {
      remotePrefill: linkedRemote(link, loop, (t, fn) => loop.at(t, fn), (_n, answer) => {
        answer(producer.releaseHeld("p") !== null);
      }),
    });
    arrive = loop.nowMs() + cost.frontendMs(2048) + link.aloneMs(2048);
    consumer.add(dec.req);
    Object.assign(pre.trace, { dec: dec.trace });
  };
  producer.add(pre.req);
  loop.run();
  const dec = (pre.trace as unknown as { dec: Trace }).dec;
  assert.ok(pre.trace.info!.heldBlockIds!.length === 128);
  assert.equal(producer.numHeld, 0);
  assert.equal(dec.info!.cachedTokens, 2048);
  // first decode token: the KV arrival plus one step that computes the last prompt token
  const step = cost.stepMs([{ newTokens: 1, contextTokens: 2047 }]);
  assert.ok(
    Math.abs(dec.tokens[0] - (arrive + step)) < 1e-6,
    `${dec.tokens[0]} vs ${arrive + step}`,
  );
});

Deno.test("engine core: held producer blocks go back once their wait is over, not before", () => {
  const loop = new EventLoop();
  const kv = new KvCache({ numBlocks: 256, blockSize: 16 });
  const engine = new VirtualEngine({ cost, kv, clock: loop, jitter: 0, holdTimeoutMs: 1000 });
  const a = request(loop, "a", prompt(320), 1, { holdForRemoteDecode: true });
  engine.add(a.req);
  loop.run();
  const b = request(loop, "b", prompt(64, 1), 1, { holdForRemoteDecode: true });
  loop.at(500, () => engine.add(b.req)); // a step within a's wait: a stays held
  loop.run();
  assert.equal(engine.numHeld, 2);
  assert.equal(a.trace.info!.heldBlockIds!.length, 20);
  assert.equal(kv.numFree, 256 - 20 - 4);
  const c = request(loop, "c", prompt(64, 2), 1);
  loop.at(a.trace.endMs! + 1000, () => engine.add(c.req)); // a's wait is over, b's is not
  loop.run();
  assert.equal(engine.numHeld, 1);
  assert.equal(engine.releaseHeld("a"), null);
  assert.equal(engine.releaseHeld("b"), 4);
  assert.equal(kv.numFree, 256);
});

Deno.test("kv link: concurrent transfers queue first come, first served", () => {
  const link = new KvLink(cost, 10, 1);
  const one = link.aloneMs(1000);
  const a = link.book(0, 1000);
  const b = link.book(0, 1000);
  assert.ok(Math.abs(a - one) < 1e-9);
  assert.ok(Math.abs(b - (2 * one - 1)) < 1e-9);
  assert.ok(link.queuedMs > 0);
  assert.equal(link.book(100_000, 0), 100_000);
});

Deno.test("engine core: same seed, same timeline (with jitter)", () => {
  const run = () => {
    const loop = new EventLoop();
    const e = new VirtualEngine({
      cost,
      kv: new KvCache({ numBlocks: 4096, blockSize: 16 }),
      clock: loop,
      seed: 7,
    });
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = request(loop, `r${i}`, prompt(100 + 37 * i, i), 16);
      r.req.sink.onToken = () => times.push(loop.nowMs());
      loop.at(i * 5.5, () => e.add(r.req));
    }
    loop.run();
    return times;
  };
  assert.deepEqual(run(), run());
});

Deno.test("engine core: the frontend floor delays the queue, not running decodes; abort within it", () => {
  const { loop, engine } = setup();
  const a = request(loop, "a", prompt(64, 1), 40);
  engine.add(a.req);
  const b = request(loop, "b", prompt(64, 2), 4);
  const gone = request(loop, "gone", prompt(64, 3), 4);
  loop.at(50, () => {
    engine.add(b.req);
    engine.add(gone.req);
    engine.abort("gone");
  });
  loop.run();
  // a decodes on while b is in its floor: no gap longer than a step around b's arrival
  const gaps = a.trace.tokens.slice(1).map((t, i) => t - a.trace.tokens[i]);
  assert.ok(maxOf(gaps) < 20, `longest gap ${maxOf(gaps).toFixed(1)} ms`);
  assert.ok(b.trace.tokens[0] >= 50 + cost.frontendMs(64));
  assert.equal(gone.trace.finish, "abort");
  assert.deepEqual(gone.trace.tokens, []);
  assert.equal(engine.numActive, 0);
});
