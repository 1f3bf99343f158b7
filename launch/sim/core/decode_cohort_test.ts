/**
 * The decode cohort against stepping every request one by one: the same
 * requests on the same seeds (arrivals, shared prefixes, chunked prefill,
 * preemption under KV pressure, remote prefill, aborts, step noise) must give
 * the same finish, output count, cached tokens and token times, to the bit.
 */
import assert from "node:assert/strict";
import { CostModel } from "./cost_model.ts";
import type { EngineRequest, FinishInfo } from "./engine.ts";
import { EventLoop } from "../../../lib/event_loop.ts";
import { KvCache } from "./kv_cache.ts";
import { KvLink, linkedRemote } from "./kv_link.ts";
import { resolveGpu, resolveModel } from "./profiles.ts";
import { Rng } from "../../../lib/rng.ts";
import { VirtualEngine } from "./virtual_engine.ts";

const cost = new CostModel({ gpu: resolveGpu("h100"), model: resolveModel("llama-3.1-8b") });

interface Scenario {
  seed: number;
  requests: number;
  numBlocks: number;
  budget: number;
  maxNumSeqs: number;
  /** Share of requests that receive their prompt's KV from a remote prefill. */
  remote: number;
  /** Share of requests aborted mid-way. */
  aborts: number;
  /** Share of requests followed by a next turn (prompt + output + a new message). */
  followUps: number;
}

interface Outcome {
  id: string;
  reason: string;
  info: Omit<FinishInfo, "tokenTimesMs">;
  times: number[];
  endMs: number;
}

/** Runs `s` on one engine; `batchDecodes` on or off. */
function play(s: Scenario, batchDecodes: boolean) {
  const loop = new EventLoop();
  const kv = new KvCache({ numBlocks: s.numBlocks, blockSize: 16 });
  const engine = new VirtualEngine({
    cost,
    kv,
    clock: loop,
    jitter: 0.05,
    seed: s.seed,
    maxNumBatchedTokens: s.budget,
    maxNumSeqs: s.maxNumSeqs,
    batchDecodes,
  });
  const link = new KvLink(cost, 50, 0.5, 0, 16);
  const rng = new Rng(s.seed);
  const out: Outcome[] = [];
  const prefixes = [0, 1, 2].map((p) =>
    Array.from({ length: 160 }, (_, i) => (p * 997 + i) % 50_000)
  );
  let next = 0;
  // one request; when it ends, maybe a next turn: its prompt, its output and a new message
  const submit = (prompt: number[], atMs: number) => {
    const i = next++;
    const outLen = 1 + Math.floor(rng.next() * 200);
    const remote = rng.next() < s.remote;
    const ok = rng.next() < 0.8;
    const abortAt = rng.next() < s.aborts ? atMs + rng.next() * 2000 : -1;
    const followUp = rng.next() < s.followUps;
    const id = `r${i}`;
    const outputIds = Array.from({ length: outLen }, (_, k) => 100 + ((i * 31 + k) % 7000));
    const req: EngineRequest = {
      id,
      promptTokens: prompt,
      outputIds,
      finishReason: "length",
      recordTimes: true,
      sink: {
        onFinish: (reason, info) => {
          const { tokenTimesMs, ...rest } = info;
          const times = [...(tokenTimesMs ?? [])];
          out.push({ id, reason, info: rest, times, endMs: loop.nowMs() });
          if (followUp && reason !== "abort") {
            const more = Array.from({ length: 5 + Math.floor(rng.next() * 40) }, () => i);
            submit(prompt.concat(outputIds.slice(0, info.outputTokens), more), loop.nowMs() + 200);
          }
        },
      },
    };
    if (remote) {
      const at = (ms: number, fn: () => void) => void loop.at(ms, fn);
      req.remotePrefill = linkedRemote(link, loop, at, (_n, answer) => answer(ok));
    }
    loop.at(atMs, () => engine.add(req));
    if (abortAt >= 0) loop.at(abortAt, () => engine.abort(id));
  };
  let t = 0;
  for (let i = 0; i < s.requests; i++) {
    t += -Math.log(1 - rng.next()) * 15;
    const shared = rng.next() < 0.5 ? prefixes[Math.floor(rng.next() * 3)] : [];
    const own = Array.from(
      { length: 20 + Math.floor(rng.next() * 600) },
      () => Math.floor(rng.next() * 50_000),
    );
    submit(shared.concat(own), t);
  }
  loop.run();
  return {
    out,
    steps: engine.steps,
    busyMs: engine.busyMs,
    preemptions: engine.metrics.preemptions,
    batched: engine.batchedSteps,
  };
}

const SCENARIOS: Record<string, Scenario> = {
  "agg, prefix hits, room to spare": {
    seed: 1,
    requests: 300,
    numBlocks: 20_000,
    budget: 8192,
    maxNumSeqs: 256,
    remote: 0,
    aborts: 0,
    followUps: 0.5,
  },
  "chunked prefill (small budget)": {
    seed: 2,
    requests: 200,
    numBlocks: 20_000,
    budget: 512,
    maxNumSeqs: 64,
    remote: 0,
    aborts: 0,
    followUps: 0.5,
  },
  "preemption under KV pressure": {
    seed: 3,
    requests: 300,
    numBlocks: 900,
    budget: 2048,
    maxNumSeqs: 128,
    remote: 0,
    aborts: 0,
    followUps: 0.5,
  },
  "remote prefill (PD decode side), some pulls fail": {
    seed: 4,
    requests: 250,
    numBlocks: 3000,
    budget: 2048,
    maxNumSeqs: 128,
    remote: 0.7,
    aborts: 0,
    followUps: 0.5,
  },
  "aborts mid-decode": {
    seed: 5,
    requests: 250,
    numBlocks: 1500,
    budget: 1024,
    maxNumSeqs: 96,
    remote: 0.3,
    aborts: 0.2,
    followUps: 0.5,
  },
};

for (const [name, s] of Object.entries(SCENARIOS)) {
  Deno.test(`decode cohort: same outcome as stepping one by one - ${name}`, () => {
    const one = play(s, false);
    const batched = play(s, true);
    assert.equal(one.batched, 0);
    assert.ok(
      batched.batched > batched.steps / 4,
      `cohort steps ${batched.batched} of ${batched.steps}`,
    );
    assert.ok(batched.out.length > s.requests, `${batched.out.length} requests`);
    assert.deepEqual(batched.out, one.out);
    assert.equal(batched.steps, one.steps);
    assert.equal(batched.busyMs, one.busyMs);
    assert.equal(batched.preemptions, one.preemptions);
    if (name.startsWith("preemption")) assert.ok(one.preemptions > 0, "the scenario preempts");
  });
}
