/**
 * The liveness core on a manual clock: which evidence takes a backend out,
 * and a busy backend (slow `/health`, streams flowing) is kept.
 */
import assert from "node:assert/strict";
import { classifyFailure, ejects, Liveness, type Verdict } from "./liveness.ts";

const kind = (v: Verdict) => v.kind;

Deno.test("liveness: a /health timeout while its streams flow keeps it; with no byte, ejects it", () => {
  const l = new Liveness();
  let t = 1000;
  const probe = t;
  t += 300;
  l.answered(t); // a token on a stream while the probe waits
  t += 1700;
  assert.equal(kind(l.healthFailed(probe, "timeout", "no answer in 2000 ms")), "keep");
  // next probe: nothing flows meanwhile (SIGSTOP)
  const probe2 = t + 10;
  const v = l.healthFailed(probe2, "timeout", "no answer in 2000 ms");
  assert.equal(v.kind, "eject");
  assert.ok(v.kind === "eject" && !v.answering);
  assert.match(v.kind === "eject" ? v.reason : "", /no answer in 2000 ms; no byte from it/);
  assert.ok(ejects(v, true), "a silent backend is taken out even when it is the last");
});

Deno.test("liveness: refused or reset ejects at once, unless it answered since the leg began", () => {
  const l = new Liveness();
  assert.equal(kind(l.legFailed(0, "refused", "Connection refused")), "eject");
  const m = new Liveness();
  m.answered(50);
  assert.equal(kind(m.legFailed(40, "reset", "Connection reset")), "keep");
  assert.equal(kind(m.legFailed(60, "reset", "Connection reset")), "eject");
  assert.equal(kind(m.healthFailed(60, "refused", "Connection refused")), "eject");
});

Deno.test("liveness: other failures eject after failedLegsToEject in a row; any byte resets the count", () => {
  const l = new Liveness({ failedLegsToEject: 3 });
  assert.equal(kind(l.legFailed(10, "other", "closed")), "keep");
  assert.equal(kind(l.legFailed(20, "other", "closed")), "keep");
  l.answered(25);
  assert.equal(l.failedLegs, 0);
  assert.equal(kind(l.legFailed(30, "other", "closed")), "keep");
  assert.equal(kind(l.legFailed(40, "timeout", "closed")), "keep");
  const v = l.legFailed(50, "other", "closed before the response head");
  assert.equal(v.kind, "eject");
  assert.match(
    v.kind === "eject" ? v.reason : "",
    /^3 legs failed in a row with no answer; last: closed/,
  );
  assert.throws(
    () => new Liveness({ failedLegsToEject: 0 }),
    /failedLegsToEject.*current value is 0/,
  );
});

Deno.test("liveness: /health 200 puts it back; another status ejects, but not the last one of its role", () => {
  const l = new Liveness();
  assert.equal(kind(l.healthAnswered(0, 5, 200)), "up");
  assert.equal(l.lastAnswerMs, 5);
  const v = l.healthAnswered(10, 20, 503);
  assert.equal(v.kind, "eject");
  assert.ok(ejects(v, false));
  assert.ok(!ejects(v, true), "the last backend of a role stays while it answers");
  assert.ok(!ejects({ kind: "keep" }, false));
  // a late byte counts from the probe's start on
  assert.equal(kind(l.healthFailed(20, "timeout", "slow")), "keep");
});

Deno.test("liveness: classifyFailure reads Deno errors, fetch's wrapped causes and messages", () => {
  assert.equal(classifyFailure(new Deno.errors.ConnectionRefused("x")), "refused");
  assert.equal(classifyFailure(new Deno.errors.ConnectionReset("x")), "reset");
  assert.equal(classifyFailure(new Deno.errors.BrokenPipe("x")), "reset");
  assert.equal(
    classifyFailure(
      new TypeError("error sending request", {
        cause: new Error("tcp connect error: Connection refused (os error 111)"),
      }),
    ),
    "refused",
  );
  assert.equal(classifyFailure(new DOMException("signal timed out", "TimeoutError")), "timeout");
  assert.equal(classifyFailure(new Error("connection closed before the response head")), "other");
  assert.equal(classifyFailure(undefined), "other");
});
