import assert from "node:assert/strict";
import { LruMap, Picker, prefixHashes, promptText } from "./policy.ts";

const backends = () => [
  { name: "a", inFlight: 0 },
  { name: "b", inFlight: 0 },
  { name: "c", inFlight: 0 },
];

Deno.test("Picker round_robin cycles; empty gives undefined", () => {
  const p = new Picker("round_robin");
  const bs = backends();
  assert.deepEqual([0, 1, 2, 3].map(() => p.pick(bs)!.name), ["a", "b", "c", "a"]);
  assert.equal(p.pick([]), undefined);
});

Deno.test("Picker least_loaded takes the fewest in flight", () => {
  const p = new Picker("least_loaded");
  const bs = backends();
  bs[0].inFlight = 3;
  bs[1].inFlight = 1;
  bs[2].inFlight = 2;
  assert.equal(p.pick(bs)!.name, "b");
  bs[1].inFlight = 5;
  assert.equal(p.pick(bs)!.name, "c");
});

Deno.test("Picker session sticks, and moves when its backend is gone", () => {
  const p = new Picker("session");
  const bs = backends();
  const first = p.pick(bs, { sessionKey: "s1" })!;
  for (let i = 0; i < 5; i++) assert.equal(p.pick(bs, { sessionKey: "s1" })!.name, first.name);
  const rest = bs.filter((b) => b.name !== first.name);
  const moved = p.pick(rest, { sessionKey: "s1" })!;
  assert.notEqual(moved.name, first.name);
  assert.equal(p.pick(bs, { sessionKey: "s1" })!.name, moved.name);
});

Deno.test("Picker prefix follows the longest seen prefix", () => {
  const p = new Picker("prefix");
  const bs = backends();
  const doc = (t: string) => prefixHashes(t + " shared system prompt ".repeat(40));
  const where = new Map(
    ["x", "y", "z"].map((t) => [t, p.pick(bs, { prefixHashes: doc(t) })!.name]),
  );
  assert.equal(new Set(where.values()).size, 3);
  for (const t of ["z", "y", "x"]) {
    assert.equal(p.pick(bs, { prefixHashes: doc(t) })!.name, where.get(t));
  }
});

Deno.test("prefixHashes: full blocks, chained", () => {
  assert.equal(prefixHashes("x".repeat(127)).length, 0);
  const a = prefixHashes("a".repeat(128) + "b".repeat(128));
  const b = prefixHashes("c".repeat(128) + "b".repeat(128));
  assert.equal(a.length, 2);
  assert.notEqual(a[1], b[1], "block 1 depends on block 0");
  assert.deepEqual(prefixHashes("a".repeat(128) + "b".repeat(200)).slice(0, 2), a);
});

Deno.test("promptText: chat parts and completion prompts", () => {
  const t = promptText({
    messages: [{
      role: "user",
      content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "u" } }],
    }],
  });
  assert.equal(t, "\u0001user\u0002hiu");
  assert.equal(promptText({ prompt: "abc" }), "abc");
  assert.equal(promptText({ prompt: [1, 2] }), "[1,2]");
});

Deno.test("LruMap evicts the least recently used", () => {
  const m = new LruMap<string, number>(2);
  m.set("a", 1);
  m.set("b", 2);
  m.get("a");
  m.set("c", 3);
  assert.equal(m.has("b"), false);
  assert.equal(m.get("a"), 1);
  assert.equal(m.size, 2);
});
