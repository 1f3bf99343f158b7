/**
 * Sending from several threads under one schedule (`--senders`): the same jobs
 * and rows as one thread, conversations kept on one thread, and the automatic
 * count. No figure of speed is asserted.
 */
import assert from "node:assert/strict";
import type { RequestRow } from "../lib/result_schema.ts";
import { benchSetup, benchWork } from "./_test_harness.ts";
import { ONE_SENDER_RPS, sendersFor } from "./_sender_pool.ts";

const setup = await benchSetup("topobench_senders_");

/**
 * What a run sends and records, whatever its threads: every column but the
 * timing ones (a later turn's schedule follows its previous turn's end).
 */
const sentKey = (rows: RequestRow[]) =>
  rows.map((x) =>
    [
      x.request_id,
      x.conversation_id,
      x.turn,
      x.turn <= 1 ? x.scheduled_ms : "",
      x.prompt_tokens,
      x.output_tokens,
      x.status,
      x.error,
    ].join(":")
  ).sort();

Deno.test("two sender threads send every job of the one schedule once, as one thread does", async () => {
  const { bench } = setup;
  const args = ["--rate", "400", "--num-requests", "300", "--input-len", "32", "--output-len", "4"];
  const [one, two] = await Promise.all([
    bench(...args, "--seed", "7", "--senders", "1"),
    bench(...args, "--seed", "7", "--senders", "2"),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const ids = two.rows.map((r) => r.request_id);
  assert.equal(new Set(ids).size, 300, "distinct ids");
  assert.deepEqual(sentKey(two.rows), sentKey(one.rows));
  assert.equal(two.summary[0].sent, 300);
  assert.equal(two.summary[0].failed, 0);
  assert.equal(two.summary[0].senders, 2);
  assert.equal(one.summary[0].senders, 1);
  // one clock: sends are never before their schedule
  assert.ok(two.rows.every((r) => r.sent_ms >= r.scheduled_ms), "a send before its schedule");
  assert.match(two.stderr, /sending from 2 threads/);
  assert.equal(typeof two.summary[0].p50_ttft_from_scheduled_ms, "number");
});

Deno.test("a conversation stays on one sender thread: its turns follow each other", async () => {
  const { bench } = setup;
  const args = [
    ...["--endpoint", "/v1/chat/completions", "--dataset", "multiturn", "--turns", "3"],
    ...["--think-time", "5", "--rate", "40", "--num-requests", "16", "--seed", "4"],
  ];
  const [one, two] = await Promise.all([
    bench(...args, "--senders", "1"),
    bench(...args, "--senders", "2"),
  ]);
  assert.equal(two.code, 0, two.stderr);
  assert.deepEqual(sentKey(two.rows), sentKey(one.rows));
  const byConv = Map.groupBy(two.rows, (r) => r.conversation_id);
  assert.equal(byConv.size, 16);
  for (const turns of byConv.values()) {
    turns.sort((a, b) => a.turn - b.turn);
    for (let t = 1; t < turns.length; t++) {
      assert.ok(turns[t].sent_ms >= turns[t - 1].end_ms, "a turn before the one before ended");
    }
  }
});

Deno.test("--senders auto: one thread up to a rate one thread keeps, then one per share up to the cores", async () => {
  const at = async (...a: string[]) => (await benchWork("--num-requests", "10", ...a)).cfg;
  assert.equal(sendersFor(await at("--rate", String(ONE_SENDER_RPS)), 2), 1);
  assert.equal(sendersFor(await at("--rate", "2000"), 2), 1);
  assert.equal(sendersFor(await at("--rate", "2000"), 4), 2);
  assert.equal(sendersFor(await at("--rate", "9000"), 2), 1);
  assert.equal(sendersFor(await at("--rate", "9000"), 4), 3);
  assert.equal(sendersFor(await at("--rate", "9000"), 8), 6);
  // a server-time rate 4x real time: 1,000 real req/s
  assert.equal(sendersFor(await at("--rate", "4000", "--time-scale", "4"), 2), 1);
  assert.equal(sendersFor(await at("--rate", "9000", "--max-concurrency", "8"), 2), 1);
  assert.equal(sendersFor(await at("--rate", "9000", "--saturation-stop", "on"), 2), 1);
  assert.equal(sendersFor(await at("--rate", "10", "--senders", "3"), 2), 3);
  await assert.rejects(at("--rate", "10", "--senders", "2", "--max-concurrency", "4"), /--senders/);
});

Deno.test.afterAll(async () => {
  const { server, tmp } = setup;
  await server.stop();
  await Deno.remove(tmp, { recursive: true });
});
