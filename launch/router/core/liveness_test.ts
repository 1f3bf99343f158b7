/**
 * The liveness core on a manual clock: which evidence takes a backend out,
 * a busy backend (slow `/health`, streams flowing) is kept, and the last of
 * its role is kept while it answers anything.
 */
import assert from "node:assert/strict";
import { classifyFailure, Liveness, type Verdict } from "./liveness.ts";

const kind = (v: Verdict) => v.kind;
const reason = (v: Verdict) => (v.kind === "eject" ? v.reason : "");

Deno.test("liveness: a /health timeout while its streams flow keeps it; with no byte, ejects it", () => {
  const l = new Liveness({ lastOfRoleSilentMs: 10_000 });
  let t = 1000;
  const probe = t;
  l.answered(t += 300); // a token on a stream while the probe waits
  t += 1700;
  assert.equal(kind(l.healthFailed(probe, t, "timeout", "no answer within 2000 ms")), "keep");
  // the next probe: nothing flows meanwhile (SIGSTOP)
  const probe2 = t + 10;
  t += 2010;
  const v = l.healthFailed(probe2, t, "timeout", "no answer within 2000 ms");
  assert.equal(v.kind, "eject");
  assert.match(reason(v), /no answer within 2000 ms; no byte from it on any leg meanwhile/);
  assert.ok(l.ejects(v, false), "one of several is taken out");
  assert.ok(!l.ejects(v, true), "the last of its role is kept: silent for 2.7 s only");
  // still no answer 10 s after its last byte: the last one goes too
  const later = l.healthFailed(probe2, 1300 + 10_000, "timeout", "no answer within 2000 ms");
  assert.ok(l.ejects(later, true));
});

Deno.test("liveness: refused or reset ejects at once, even the last one, unless it answered since the leg began", () => {
  const l = new Liveness();
  const v = l.legFailed(0, 1, "refused", "Connection refused");
  assert.equal(v.kind, "eject");
  assert.ok(l.ejects(v, true));
  const m = new Liveness();
  m.answered(50);
  assert.equal(kind(m.legFailed(40, 55, "reset", "Connection reset")), "keep");
  assert.equal(kind(m.legFailed(60, 61, "reset", "Connection reset")), "eject");
  const h = m.healthFailed(60, 61, "refused", "Connection refused");
  assert.ok(m.ejects(h, true));
});

Deno.test("liveness: other failures eject after failedLegsToEject in a row; any byte resets the count", () => {
  const l = new Liveness({ failedLegsToEject: 3, lastOfRoleSilentMs: 1000 });
  assert.equal(kind(l.legFailed(10, 11, "other", "closed")), "keep");
  assert.equal(kind(l.legFailed(20, 21, "other", "closed")), "keep");
  l.answered(25);
  assert.equal(l.failedLegs, 0);
  assert.equal(kind(l.legFailed(30, 31, "other", "closed")), "keep");
  assert.equal(kind(l.legFailed(40, 41, "timeout", "closed")), "keep");
  const v = l.legFailed(50, 51, "other", "closed before the response head");
  assert.match(reason(v), /^3 legs failed in a row with no answer; last: closed before/);
  assert.ok(l.ejects(v, false));
  assert.ok(!l.ejects(v, true), "the last one answered 26 ms ago");
  assert.throws(
    () => new Liveness({ failedLegsToEject: 0 }),
    /failedLegsToEject.*current value is 0/,
  );
});

Deno.test("liveness: /health 200 puts it back; another status ejects, but not the last of its role", () => {
  const l = new Liveness();
  assert.equal(kind(l.healthAnswered(0, 5, 200)), "up");
  assert.equal(l.lastAnswerMs, 5);
  const v = l.healthAnswered(10, 20, 503);
  assert.equal(reason(v), "/health answered 503");
  assert.ok(l.ejects(v, false));
  assert.ok(!l.ejects(v, true), "the last backend of a role stays while it answers");
  assert.ok(!l.ejects({ kind: "keep" }, false));
  // an answer at the probe's start counts for that probe
  assert.equal(kind(l.healthFailed(20, 30, "timeout", "slow")), "keep");
});

Deno.test("liveness: classifyFailure reads Deno errors, fetch's wrapped causes and messages", () => {
  assert.equal(classifyFailure(new Deno.errors.ConnectionRefused("x")), "refused");
  assert.equal(classifyFailure(new Deno.errors.ConnectionReset("x")), "reset");
  assert.equal(classifyFailure(new Deno.errors.BrokenPipe("x")), "reset");
  const wrapped = new TypeError("error sending request", {
    cause: new Error("tcp connect error: Connection refused (os error 111)"),
  });
  assert.equal(classifyFailure(wrapped), "refused");
  assert.equal(classifyFailure(new DOMException("signal timed out", "TimeoutError")), "timeout");
  assert.equal(classifyFailure(new Error("connection closed before the response head")), "other");
  assert.equal(classifyFailure(undefined), "other");
});

Deno.test("liveness: the router's own shortage (out of file descriptors) is never held against a backend", () => {
  const emfile = new Error("Too many open files (os error 24)");
  assert.equal(classifyFailure(emfile), "local");
  assert.equal(classifyFailure(new TypeError("connect failed", { cause: emfile })), "local");
  const l = new Liveness({ failedLegsToEject: 1 });
  assert.deepEqual(l.legFailed(0, 5, "local", "Too many open files"), { kind: "keep" });
  assert.deepEqual(l.healthFailed(0, 5, "local", "Too many open files"), { kind: "keep" });
  assert.equal(l.failedLegs, 0);
});
