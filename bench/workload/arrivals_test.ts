import assert from "node:assert/strict";
import { Rng } from "../../lib/rng.ts";
import { cv, mean } from "../../lib/stats.ts";
import { arrivalOffsets, arrivalStream, burstWarp, expectedArrivals } from "./arrivals.ts";

const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - xs[i]);

Deno.test("Poisson gaps have CV near 1 and the target mean", () => {
  const t = arrivalOffsets({ rateRps: 50, count: 20000 }, new Rng(1));
  assert.equal(t[0], 0);
  const g = gaps(t);
  assert.ok(Math.abs(cv(g) - 1) < 0.03, `cv ${cv(g)}`);
  assert.ok(Math.abs(mean(g) - 20) < 0.5, `mean ${mean(g)}`);
});

Deno.test("constant gaps have CV 0; gamma CV is 1/sqrt(burstiness)", () => {
  const c = gaps(arrivalOffsets({ process: "constant", rateRps: 10, count: 100 }, new Rng(1)));
  assert.ok(cv(c) < 1e-9);
  assert.ok(Math.abs(c[0] - 100) < 1e-9);
  for (const b of [0.25, 4]) {
    const g = gaps(arrivalOffsets({ rateRps: 100, burstiness: b, count: 20000 }, new Rng(2)));
    const want = 1 / Math.sqrt(b);
    assert.ok(Math.abs(cv(g) - want) / want < 0.06, `burstiness ${b}: cv ${cv(g)} want ${want}`);
    assert.ok(Math.abs(mean(g) - 10) < 0.4, `mean ${mean(g)}`);
  }
});

Deno.test("duration bounds the schedule; infinite rate sends all at 0", () => {
  const t = arrivalOffsets({ rateRps: 100, durationMs: 10_000 }, new Rng(3));
  assert.ok(t.at(-1)! < 10_000);
  assert.ok(Math.abs(t.length - 1000) < 100, `${t.length}`);
  assert.deepEqual(arrivalOffsets({ rateRps: Infinity, count: 3 }, new Rng(3)), [0, 0, 0]);
  assert.throws(() => arrivalOffsets({ rateRps: Infinity, durationMs: 5 }, new Rng(3)), RangeError);
  assert.throws(() => arrivalOffsets({ rateRps: -1, count: 5 }, new Rng(3)), /rateRps/);
});

Deno.test("linear and exponential ramps raise the rate as planned", () => {
  for (const ramp of ["linear", "exponential"] as const) {
    const t = arrivalOffsets(
      { process: "constant", rateRps: 10, ramp, rampToRps: 90, durationMs: 10_000 },
      new Rng(4),
    );
    const first = t.filter((x) => x < 1000).length;
    const last = t.filter((x) => x >= 9000).length;
    assert.ok(first >= 10 && first <= 20, `${ramp} first second: ${first}`);
    assert.ok(last >= 75 && last <= 91, `${ramp} last second: ${last}`);
    // expected total: linear 500, exponential (80 / ln 9) * 10 ≈ 364
    const want = ramp === "linear" ? 500 : (80 / Math.log(9)) * 10;
    assert.ok(Math.abs(t.length - want) <= 2, `${ramp} total ${t.length} want ${want}`);
  }
});

Deno.test("a schedule too large for memory is refused up front, naming the flags", () => {
  assert.throws(
    () => arrivalOffsets({ rateRps: 100000, durationMs: 100000 * 1000 }, new Rng(1)),
    /Cannot use --rate 100000 --duration 100000 as one run's schedule: current value is 10,000,000,000 requests; allowed: at most 2,000,000/,
  );
  assert.throws(() => arrivalOffsets({ rateRps: 10, count: 3_000_000 }, new Rng(1)), /3,000,000/);
  assert.equal(arrivalOffsets({ rateRps: 1000, durationMs: 2000 }, new Rng(1)).length > 1500, true);
});

Deno.test("the stream draws the same schedule one arrival at a time, unbounded", () => {
  const o = { rateRps: 200, burstiness: 0.5, durationMs: 5_000 };
  assert.deepEqual([...arrivalStream(o, new Rng(9))], arrivalOffsets(o, new Rng(9)));
  // 10 billion expected arrivals: the first ones come at once
  const it = arrivalStream({ rateRps: 100000, durationMs: 100000 * 1000 }, new Rng(1));
  let last = -1;
  for (let i = 0; i < 1000; i++) {
    const t = it.next();
    assert.ok(!t.done && t.value >= last);
    last = t.value as number;
  }
  assert.ok(last > 5 && last < 15, `1000th arrival at ${last} ms`);
});

Deno.test("vLLM's schedule: the first request waits its gap, the last lands at count / rate exactly", () => {
  const t = arrivalOffsets({ rateRps: 10, count: 500, vllmRescale: true }, new Rng(3));
  const plain = arrivalOffsets({ rateRps: 10, count: 500 }, new Rng(3));
  assert.equal(t.length, 500);
  assert.ok(t[0] > 0);
  assert.ok(Math.abs(t.at(-1)! - 50_000) < 1e-6, `last at ${t.at(-1)}`);
  assert.ok(Math.abs(cv(gaps(t)) - cv(gaps(plain))) < 0.1); // still Poisson-shaped
  // with a duration (no fixed count) there is nothing to rescale to
  const d = arrivalOffsets({ rateRps: 10, durationMs: 5000, vllmRescale: true }, new Rng(3));
  assert.equal(d[0], 0);
});

Deno.test("arrivals: a rate burst makes arrivals factor times as fast for its duration", () => {
  const o = { process: "constant" as const, rateRps: 10, durationMs: 60_000 };
  const base = [...arrivalStream(o, new Rng("b"))];
  const burst = [
    ...arrivalStream(
      { ...o, bursts: [{ atMs: 20_000, durationMs: 10_000, factor: 3 }] },
      new Rng("b"),
    ),
  ];
  const inWindow = (xs: number[], a: number, b: number) => xs.filter((t) => t >= a && t < b).length;
  assert.equal(base.length, 600);
  assert.equal(inWindow(burst, 0, 20_000), 200);
  assert.equal(inWindow(burst, 20_000, 30_000), 300); // 30 req/s
  assert.equal(inWindow(burst, 30_000, 60_000), 300); // back to 10 req/s
  assert.equal(
    expectedArrivals({ ...o, bursts: [{ atMs: 0, durationMs: 10_000, factor: 3 }] }),
    800,
  );
  assert.deepEqual(burstWarp([])(123), 123);
});
