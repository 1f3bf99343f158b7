import assert from "node:assert/strict";
import { type Clock, WallClock } from "./clock.ts";
import { EventLoop } from "./event_loop.ts";
import { ManualClock } from "./manual_clock.ts";

/** Sets timers out of order (two at the same instant) and records the order they ran in. */
function order(clock: Clock, baseMs: number): { ran: string[]; synchronous: boolean } {
  const ran: string[] = [];
  for (const [name, at] of [["c", 30], ["a", 10], ["b1", 20], ["b2", 20], ["past", -5]] as const) {
    clock.at(baseMs + at, () => ran.push(name));
  }
  return { ran, synchronous: ran.length > 0 };
}

Deno.test("clock: both clocks run timers in time order, ties in the order set, never inside at()", async () => {
  const loop = new EventLoop();
  const v = order(loop, 0);
  loop.run();
  assert.deepEqual(v, { ran: ["past", "a", "b1", "b2", "c"], synchronous: false });
  using wall = new WallClock();
  const w = order(wall, wall.nowMs());
  assert.equal(w.synchronous, false);
  await new Promise<void>((r) => wall.at(wall.nowMs() + 40, r));
  assert.deepEqual(w.ran, ["past", "a", "b1", "b2", "c"]);
});

Deno.test("clock: the test clock is a Clock too: at() in time order, ties as set, on advance only", () => {
  const manual = new ManualClock(100);
  const m = order(manual, 100);
  assert.equal(m.synchronous, false);
  manual.advance(20);
  assert.deepEqual(m.ran, ["past", "a", "b1", "b2"]);
  const seen: number[] = [];
  manual.at(125, () => seen.push(manual.nowMs()));
  manual.advance(10);
  assert.deepEqual(m.ran, ["past", "a", "b1", "b2", "c"]);
  assert.deepEqual(seen, [125]);
  assert.throws(() => manual.at(NaN, () => {}), RangeError);
});

Deno.test("clock: a timer set earlier than the one the wall clock sleeps for wakes it; dispose drops the rest", async () => {
  using wall = new WallClock();
  const ran: [string, number][] = [];
  wall.at(5_000, () => ran.push(["late", wall.nowMs()]));
  await new Promise((r) => setTimeout(r, 20)); // the clock is asleep until 5 s now
  const early = wall.nowMs() + 10;
  await new Promise<void>((r) => wall.at(early, () => r(void ran.push(["early", wall.nowMs()]))));
  assert.equal(ran.length, 1);
  assert.ok(ran[0][1] >= early && ran[0][1] < 2_000, `the early timer ran at ${ran[0][1]}`);
  wall[Symbol.dispose]();
  wall.at(0, () => ran.push(["after dispose", 0]));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(ran.map(([n]) => n), ["early"]);
});

Deno.test("clock: a scaled wall clock reads clock ms (speed x real ms)", async () => {
  using fast = new WallClock({ speed: 50 });
  const t0 = fast.nowMs();
  await new Promise<void>((r) => fast.at(t0 + 500, r)); // 10 real ms
  assert.ok(fast.nowMs() >= t0 + 500);
  assert.throws(() => new WallClock({ speed: 0 }), /Cannot use WallClock speed/);
});
