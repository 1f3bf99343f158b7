import assert from "node:assert/strict";
import { WallClock } from "../lib/clock.ts";
import { Waker } from "./_waker.ts";

Deno.test("waker: the live clock (wall clock woken by the worker thread) runs an earlier timer set while it sleeps for a later one", async () => {
  using waker = new Waker();
  await waker.ready();
  using wall = new WallClock({ sleep: (t, s) => waker.sleepUntil(t, s) });
  const ran: string[] = [];
  wall.at(5_000, () => ran.push("late"));
  for (const ms of [2, 1, 0]) {
    // into the worker's own wait (the last 3 ms), then earlier still, then due at once
    const at = wall.nowMs() + ms;
    await new Promise<void>((r) => wall.at(at, () => r(void ran.push(`+${ms}`))));
    assert.ok(wall.nowMs() >= at);
  }
  assert.deepEqual(ran, ["+2", "+1", "+0"]);
});
