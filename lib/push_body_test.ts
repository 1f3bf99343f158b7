import assert from "node:assert/strict";
import { PushBody } from "./push_body.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("PushBody: chunks in order, a waiting read gets the next, done at the end; text", async () => {
  const b = new PushBody(1024);
  const waiting = b.read();
  assert.equal(b.push(bytes("ab")), undefined);
  assert.deepEqual(await waiting, { done: false, value: bytes("ab") });
  b.push(bytes("c"));
  b.push(bytes("d"));
  b.end();
  b.push(bytes("late"));
  assert.equal(await b.text(), "cd");
  assert.equal((await b.read()).done, true);
});

Deno.test("PushBody: the producer is held back past the high-water mark until the reader catches up", async () => {
  const b = new PushBody(4);
  assert.equal(b.push(bytes("ab")), undefined);
  const held = b.push(bytes("cdef"));
  assert.ok(held instanceof Promise);
  assert.equal(b.paused, true);
  let resumed = false;
  held!.then(() => (resumed = true));
  await b.read(); // 4 bytes left: still held
  await Promise.resolve();
  assert.equal(resumed, false);
  await b.read();
  await held;
  assert.equal(b.paused, false);
});

Deno.test("PushBody: a failure rejects after the queued chunks; cancel drops them, releases the producer, calls onCancel once", async () => {
  const f = new PushBody(16);
  f.push(bytes("x"));
  f.fail(new RangeError("cut"));
  assert.deepEqual(await f.read(), { done: false, value: bytes("x") });
  await assert.rejects(() => f.read(), { name: "RangeError", message: "cut" });

  const reasons: unknown[] = [];
  const c = new class extends PushBody {
    protected override onCancel(why: unknown): void {
      reasons.push(why);
    }
  }(1);
  const held = c.push(bytes("yy"));
  await c.cancel("gone");
  await c.cancel("again");
  await held;
  assert.deepEqual(reasons, ["gone"]);
  assert.equal((await c.read()).done, true);
  assert.equal(c.push(bytes("z")), undefined);
});

Deno.test("PushBody: a cancel after the body failed, or ended and was read out, stops no producer", async () => {
  const calls: unknown[] = [];
  class Watched extends PushBody {
    protected override onCancel(why: unknown): void {
      calls.push(why);
    }
  }
  const failed = new Watched(16);
  failed.fail(new Error("cut"));
  await failed.cancel("after fail");
  const ended = new Watched(16);
  ended.push(bytes("x"));
  ended.end();
  await ended.read();
  await ended.cancel("after the end");
  const unread = new Watched(16);
  unread.push(bytes("y"));
  unread.end();
  await unread.cancel("ended, not read");
  assert.deepEqual(calls, ["ended, not read"]);
});
