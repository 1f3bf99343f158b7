import assert from "node:assert/strict";
import { ManualClock } from "./manual_clock.ts";
import { formatSeconds, Progress, type ProgressOptions } from "./progress.ts";

/** A progress on a manual clock, recording its log lines and raw writes. */
function recorded(o: Partial<ProgressOptions> = {}) {
  const clock = new ManualClock();
  const lines: string[] = [];
  const writes: string[] = [];
  const p = new Progress({
    name: "sweep",
    clock,
    tty: false,
    log: (l) => lines.push(l),
    write: (t) => writes.push(t),
    ...o,
  });
  return { clock, lines, writes, p };
}

Deno.test("progress: formatSeconds reads as s, m s and h m", () => {
  assert.equal(formatSeconds(4.4), "4 s");
  assert.equal(formatSeconds(185), "3 m 05 s");
  assert.equal(formatSeconds(3720), "1 h 02 m");
  assert.equal(formatSeconds(NaN), "?");
});

Deno.test("progress: one plain line per finished point, with k of N, its figures and an ETA from the mean point", () => {
  const { clock, lines, writes, p } = recorded();
  using _ = p;
  p.plan("agg", 3);
  p.start("agg-r1");
  clock.advance(4000);
  p.done({
    label: "agg-r1",
    target: "1 conv/s",
    achievedRps: 2.0437,
    p90TtftMs: 45.26,
    simulatedS: 60,
    detail: "(/r/agg-r1)",
  });
  clock.advance(2000);
  p.done({ label: "agg-r2", achievedRps: 4 });
  p.done({ label: "agg-r3" });
  assert.deepEqual(lines, [
    "agg-r1: done 1 of 3, 1 conv/s, throughput 2.04 req/s, p90 TTFT 45.3 ms, simulated 60 s, 4.0 s wall, ETA 8 s (/r/agg-r1)",
    "agg-r2: done 2 of 3, throughput 4 req/s, 2.0 s wall, ETA 3 s",
    "agg-r3: done 3 of 3, 0 ms wall",
  ]);
  assert.deepEqual(writes, [], "no status line without a terminal");
});

Deno.test("progress: a growing estimated total reads ~N; resumed points count but leave the ETA alone", () => {
  const { clock, lines, p } = recorded();
  using _ = p;
  p.plan("agg", 4, true);
  p.plan("pd", 4, true);
  p.done({ label: "agg-r1", resumed: true });
  assert.equal(p.etaS(), null, "no ETA before a point has run");
  clock.advance(10_000);
  p.done({ label: "agg-r2" });
  assert.equal(p.etaS(), 60, "6 left at 10 s each");
  p.plan("agg", 6, false); // the search added points; pd is still an estimate
  assert.equal(p.count(), "2 of ~10");
  p.plan("pd", 3, false);
  assert.equal(p.count(), "2 of 9");
  assert.equal(lines[0], "agg-r1: already done 1 of ~8");
  assert.equal(lines[1], "agg-r2: done 2 of ~8, 10.0 s wall, ETA 1 m 00 s");
  p.start("agg-r3");
  clock.advance(4000);
  assert.equal(p.etaS(), 66, "7 left at 10 s, less the 4 s the current one has run");
});

Deno.test("progress: on a terminal the status line is rewritten in place, refreshed, and log lines go above it", () => {
  const { clock, lines, writes, p } = recorded({ tty: true, columns: 200, name: "pipeline" });
  p.plan("agg", 2);
  p.start("agg-r1");
  assert.equal(writes.at(-1), "\r\x1b[K[pipeline] 0 of 2 points, 0 s wall, agg-r1");
  p.note("simulated 12 s, done 40/52");
  assert.equal(
    writes.at(-1),
    "\r\x1b[K[pipeline] 0 of 2 points, 0 s wall, agg-r1: simulated 12 s, done 40/52",
  );
  clock.advance(3000); // refreshed every second
  assert.equal(
    writes.at(-1),
    "\r\x1b[K[pipeline] 0 of 2 points, 3 s wall, agg-r1: simulated 12 s, done 40/52",
  );
  writes.length = 0;
  p.done({ label: "agg-r1", simulatedS: 30 });
  assert.deepEqual(writes, [
    "\r\x1b[K", // the status line cleared, the point's line logged, the status line again
    "\r\x1b[K[pipeline] 1 of 2 points, 3 s wall, simulated 30 s (10x real time), ETA 3 s",
  ]);
  assert.deepEqual(lines, ["agg-r1: done 1 of 2, simulated 30 s, 3.0 s wall, ETA 3 s"]);
  writes.length = 0;
  p[Symbol.dispose]();
  assert.deepEqual(writes, ["\r\x1b[K"], "disposing clears the status line");
  assert.equal(clock.pending, 0, "and stops its refresh");
});

Deno.test("progress: printed text (a result block) goes above the status line as it is", () => {
  const { writes, lines, p } = recorded({ tty: true, columns: 200 });
  using _ = p;
  p.plan("agg", 1);
  writes.length = 0;
  p.print("==== Result ====\nTTFT 1\n");
  assert.deepEqual(writes, [
    "\r\x1b[K",
    "==== Result ====\nTTFT 1\n",
    "\r\x1b[K[sweep] 0 of 1 points, 0 s wall",
  ]);
  assert.deepEqual(lines, [], "not a log line");
});

Deno.test("progress: the status line is cut to the terminal's width", () => {
  const { writes, p } = recorded({ tty: true, columns: 20 });
  using _ = p;
  p.plan("agg", 2);
  assert.equal(writes.at(-1), "\r\x1b[K[sweep] 0 of 2 poin");
});

Deno.test("progress: plan refuses a count that is not a whole number", () => {
  const { p } = recorded();
  using _ = p;
  assert.throws(() => p.plan("agg", 1.5), /Cannot plan 1.5 points of agg in lib\/progress.ts/);
});

Deno.test("progress: quietResumed counts points found finished without a line each", () => {
  const lines: string[] = [];
  const p = new Progress({ name: "x", tty: false, log: (l) => lines.push(l), quietResumed: true });
  p.plan("agg", 2);
  p.done({ label: "agg-r1", resumed: true });
  p.done({ label: "agg-r2" });
  assert.equal(p.finished, 2);
  assert.deepEqual(lines.map((l) => l.split(":")[0]), ["agg-r2"]);
});
