import assert from "node:assert/strict";
import { Reader } from "./schema.ts";
import { burstFlag, eventText, readEvents } from "./scenario_events.ts";

const read = (events: unknown) => readEvents(Reader.root("x.yaml", { events }, null));

Deno.test("scenario events: read in time order, with their fields", () => {
  const ev = read([
    { at: 40, action: "burst", factor: 3, duration: 30 },
    { at: 20, action: "kill", target: "decode[1]" },
    { at: 10, action: "start", target: "decode", startup: 5 },
    { at: 5, action: "pause", target: "decode[0]", duration: 20 },
    { at: 30, action: "slow", target: "prefill[0]", factor: 2, duration: 10 },
  ]);
  assert.deepEqual(ev.map((e) => e.atS), [5, 10, 20, 30, 40]);
  assert.deepEqual(ev[2].target, { role: "decode", index: 1 });
  assert.deepEqual(ev[1].target, { role: "decode", index: null });
  assert.equal(ev[1].startupS, 5);
  assert.equal(eventText(ev[3]), "30 s slow prefill[0] x2 for 10 s");
  assert.equal(burstFlag(ev), "40:30:3");
  assert.deepEqual(read(undefined), []);
});

Deno.test("scenario events: errors name the field, the value and what is allowed", () => {
  const bad: [unknown, RegExp][] = [
    [[{ at: 1, action: "explode", target: "decode[0]" }], /events\[0\]\.action.*kill, stop/],
    [[{ at: -1, action: "kill", target: "decode[0]" }], /events\[0\]\.at.*>= 0.*-1/],
    [[{ at: 1, action: "kill", target: "gpu[0]" }], /events\[0\]\.target.*role\[index\].*gpu\[0\]/],
    [[{ at: 1, action: "kill", target: "decode" }], /events\[0\]\.target.*decode\[1\]/],
    [[{ at: 1, action: "start", target: "decode[2]" }], /events\[0\]\.target.*a role to start/],
    [[{ at: 1, action: "slow", target: "decode[0]", factor: 2 }], /events\[0\]\.duration.*present/],
    [[{ at: 1, action: "kill", target: "decode[0]", factor: 2 }], /events\[0\]\.factor.*absent/],
    [[{ at: 1, action: "burst", factor: 0, duration: 3 }], /events\[0\]\.factor.*\(0, 1000\]/],
    [[{ at: 1, action: "resume", target: "decode[0]" }], /events\[0\]\.action.*after a pause/],
    [[
      { at: 1, action: "kill", target: "decode[0]" },
      { at: 2, action: "pause", target: "decode[0]" },
    ], /events\[1\]\.action.*after its kill \(events\[0\]\)/],
    [[
      { at: 1, action: "burst", factor: 2, duration: 10 },
      { at: 5, action: "burst", factor: 2, duration: 10 },
    ], /events\[1\]\.at.*after the previous burst ends \(11 s\)/],
    [{ at: 1 }, /events.*a list of events/],
  ];
  for (const [events, re] of bad) assert.throws(() => read(events), re, JSON.stringify(events));
});
