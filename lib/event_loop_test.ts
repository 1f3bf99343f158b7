import assert from "node:assert/strict";
import { EventLoop } from "./event_loop.ts";
import { Rng } from "./rng.ts";

Deno.test("event loop: runs events in time order, ties in schedule order, whatever events schedule as they run", () => {
  const rng = new Rng(5);
  const loop = new EventLoop();
  const ran: [number, number][] = [];
  const scheduled: [number, number][] = [];
  let id = 0;
  const add = (atMs: number) => {
    const me = id++;
    const at = Math.max(atMs, loop.nowMs());
    scheduled.push([at, me]);
    const fire = (x: number) => {
      ran.push([loop.nowMs(), x]);
      // some events schedule more: now (a tie after those already due now), or later
      if (id < 4000 && rng.next() < 0.6) add(loop.nowMs() + Math.floor(rng.next() * 4));
      if (id < 4000 && rng.next() < 0.4) add(loop.nowMs());
    };
    if (me % 2) loop.call(at, fire, me);
    else loop.at(at, () => fire(me));
  };
  for (let i = 0; i < 300; i++) add(Math.floor(rng.next() * 40)); // many equal times
  loop.run();
  assert.equal(loop.pending, 0);
  assert.equal(loop.events, scheduled.length);
  // each event ran at its time, and in (time, schedule order)
  scheduled.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  assert.deepEqual(ran, scheduled);
});

Deno.test("event loop: run(untilMs) stops before later events and stands the clock there; a past time runs now", () => {
  const loop = new EventLoop();
  const ran: string[] = [];
  loop.at(5, () => ran.push("a"));
  loop.after(20, () => ran.push("b"));
  loop.run(10);
  assert.deepEqual(ran, ["a"]);
  assert.equal(loop.nowMs(), 10);
  assert.equal(loop.pending, 1);
  loop.call(3, (x: string) => ran.push(x), "c"); // in the past: runs now, before b
  loop.run();
  assert.deepEqual(ran, ["a", "c", "b"]);
  assert.equal(loop.nowMs(), 20);
  assert.throws(() => loop.at(NaN, () => {}), /Cannot schedule an event at NaN ms/);
});

Deno.test("event loop: an event may jump the clock only to before the next event and within step's bound", () => {
  const loop = new EventLoop();
  const seen: string[] = [];
  loop.at(10, () => seen.push("later"));
  loop.at(0, () => {
    assert.equal(loop.canJumpTo(4.5), true);
    assert.equal(loop.canJumpTo(5), false); // a tie: the event scheduled first runs first
    assert.equal(loop.canJumpTo(-1), false);
    loop.jumpTo(4);
    assert.equal(loop.nowMs(), 4);
    assert.throws(
      () => loop.jumpTo(12),
      /Cannot jump the virtual clock to 12 ms: current value is 4 ms, next event 5/,
    );
    seen.push("jumped");
  });
  loop.at(5, () => {
    assert.equal(loop.canJumpTo(7), false); // past step(6)'s bound
    assert.equal(loop.canJumpTo(6), true);
    seen.push("bounded");
  });
  assert.ok(loop.step());
  assert.ok(loop.step(6));
  loop.run();
  assert.deepEqual(seen, ["jumped", "bounded", "later"]);
});
