/**
 * The load driver's schedule on the virtual clock: what it sends of bench's
 * own plan (`--rate 50 --duration 20 --seed 3`), through a sender that ends
 * each request at once, keeps the rate and the Poisson gaps. The live path
 * (the HTTP sender on the wall clock) is checked in `run_test.ts`.
 */
import assert from "node:assert/strict";
import { EventLoop } from "../lib/event_loop.ts";
import { cv } from "../lib/stats.ts";
import { LazyTokenizer } from "../lib/tokenizer.ts";
import type { ClientResult } from "./client.ts";
import { runLoad, type Sender, type Sent } from "./load_driver.ts";
import { benchWork, offsetsOf } from "./_test_harness.ts";
import type { Job } from "./work_source.ts";
import { JobFeed } from "./_job_feed.ts";

/** Ends every request at the instant it was sent; notes when each was sent. */
class InstantSender implements Sender {
  readonly sentMs: number[] = [];
  constructor(readonly loop: EventLoop) {}

  send(_req: unknown, done: (s: Sent) => void): void {
    const now = this.loop.nowMs();
    this.sentMs.push(now);
    const result: ClientResult = {
      sentMs: now,
      firstTokenMs: now,
      endMs: now,
      ttftMs: 0,
      e2eMs: 0,
      tokenTimesMs: [],
      contentChunks: 1,
      text: "",
      promptTokens: null,
      completionTokens: 1,
      cachedTokens: null,
      status: 200,
      error: "",
      backend: "",
      streamed: true,
      oddContentType: "",
    };
    this.loop.at(now, () => done({ result, outputTokens: 1, outputFromTokenizer: false }));
  }
}

const RATE_ARGS = ["--rate", "50", "--duration", "20", "--seed", "3"] as const;

Deno.test(
  "rate 50 over 20 s: every job is sent on time, the rate is within 10% of 50 req/s, gaps have CV near 1",
  async () => {
    const { cfg, work } = await benchWork(...RATE_ARGS);
    const { work: again } = await benchWork(...RATE_ARGS);
    const scheduledMs = offsetsOf(again);
    const loop = new EventLoop();
    const sender = new InstantSender(loop);
    const late: number[] = [];
    const done = runLoad(
      {
        tokenizer: new LazyTokenizer(),
        endpoint: cfg.dataset.endpoint,
        jobs: work.jobs,
        closedLoop: work.closedLoop,
        durationMs: work.durationMs,
      },
      loop,
      sender,
      { onResult: (f) => late.push(f.result.sentMs - f.scheduledMs) },
    );
    loop.run();
    const state = await done;
    const sent = sender.sentMs;
    assert.equal(state.sent, scheduledMs.length);
    assert.equal(state.failed, 0);
    assert.deepEqual(sent, scheduledMs, "sent at other instants than scheduled");
    assert.ok(late.every((ms) => ms === 0));
    assert.ok(sent.at(-1)! < 20_000, `last sent at ${sent.at(-1)} ms`);
    const rateRps = sent.length / 20;
    assert.ok(Math.abs(rateRps - 50) / 50 < 0.1, `rate ${rateRps} req/s`);
    const c = cv(sent.slice(1).map((t, i) => t - sent[i]));
    assert.ok(c > 0.85 && c < 1.15, `sent-gap cv ${c}`);
  },
);

Deno.test("a live job feed (moreJobs): jobs handed over in batches ahead of time are all sent on time", async () => {
  const { cfg, work } = await benchWork("--rate", "50", "--duration", "3", "--seed", "5");
  const { work: again } = await benchWork("--rate", "50", "--duration", "3", "--seed", "5");
  const all: Job[] = [];
  for (let j = again.jobs.next(); !j.done; j = again.jobs.next()) all.push(j.value);
  const loop = new EventLoop();
  const sender = new InstantSender(loop);
  const feed = new JobFeed();
  // a dealer as `_sender_pool.ts` deals: every 100 ms, the jobs due in the next 150 ms
  let next = 0;
  const deal = (t: number) => {
    const batch: Job[] = [];
    while (next < all.length && all[next].offsetMs <= t + 150) batch.push(all[next++]);
    feed.add(batch, next === all.length);
    if (next < all.length) loop.at(t + 100, () => deal(t + 100));
  };
  deal(0);
  const done = runLoad(
    {
      tokenizer: new LazyTokenizer(),
      endpoint: cfg.dataset.endpoint,
      jobs: feed,
      moreJobs: feed.more,
      closedLoop: false,
    },
    loop,
    sender,
  );
  // the feed resolves a promise when jobs come: let its callbacks run between timers
  while (loop.pending) {
    loop.step();
    for (let i = 0; i < 4; i++) await null;
  }
  const state = await done;
  assert.equal(all.length, offsetsOf(work).length);
  assert.equal(state.sent, all.length);
  assert.deepEqual(sender.sentMs, all.map((j) => j.offsetMs));
});
