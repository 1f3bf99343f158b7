import assert from "node:assert/strict";
import { compareMetric, errorPct, ksDistance, seriesError, stateAt } from "./compare.ts";

const near = (a: number, b: number, eps: number) =>
  assert.ok(Math.abs(a - b) <= eps, `${a} is not within ${eps} of ${b}`);

Deno.test("errorPct: (sim - real) / real in percent; null without a real value", () => {
  near(errorPct(110, 100)!, 10, 1e-12);
  near(errorPct(90, 100)!, -10, 1e-12);
  assert.deepEqual(errorPct(5, 0), null);
  assert.deepEqual(errorPct(NaN, 100), null);
  assert.deepEqual(errorPct(100, NaN), null);
});

Deno.test("ksDistance: the largest gap between the two empirical CDFs", () => {
  assert.deepEqual(ksDistance([1, 2, 3], [1, 2, 3]), 0);
  assert.deepEqual(ksDistance([1, 2], [3, 4, 5]), 1);
  // F_a - F_b = 1/3 at 1, 2 and 3 (scipy.stats.ks_2samp gives 0.333)
  near(ksDistance([1, 2, 3], [2, 3, 4]), 1 / 3, 1e-12);
  // sizes differ: at 2 the CDFs are 0.5 and 0, at 2.5 they are 0.5 and 1
  assert.deepEqual(ksDistance([1, 2, 3, 4], [2.5]), 0.5);
  // ties step together: at 1 the CDFs are 2/3 and 1/3, at 2 both are 1
  near(ksDistance([1, 1, 2], [2, 1, 2]), 1 / 3, 1e-12);
  assert.deepEqual(ksDistance([1, 2], [2, 1]), 0);
  assert.deepEqual(ksDistance([], [1]), NaN);
});

Deno.test("compareMetric: mean and numpy-style percentiles of each side, their errors and KS", () => {
  const real = [10, 20, 30, 40];
  const sim = [11, 22, 33, 44];
  const c = compareMetric(real, sim);
  assert.deepEqual(c.real.mean, 25);
  assert.deepEqual(c.real.p50, 25);
  // numpy.percentile([10, 20, 30, 40], 90) = 37
  near(c.real.p90, 37, 1e-12);
  near(c.sim.p90, 40.7, 1e-12);
  for (const k of ["mean", "p50", "p90", "p95", "p99"] as const) {
    near(c.errorPct[k]!, 10, 1e-9);
  }
  assert.deepEqual(c.ks, 0.25);
  assert.deepEqual([c.realCount, c.simCount], [4, 4]);
});

Deno.test("stateAt: waiting from arrival to first token, running from first token to the end", () => {
  const spans = [
    { arriveMs: 0, firstMs: 100, endMs: 1000 },
    { arriveMs: 50, firstMs: 1500, endMs: 2000 },
  ];
  assert.deepEqual(stateAt(spans, [0, 100, 999, 1000, 1500, 2000]), [
    { running: 0, waiting: 1 },
    { running: 1, waiting: 1 },
    { running: 1, waiting: 1 },
    { running: 0, waiting: 1 },
    { running: 1, waiting: 0 },
    { running: 0, waiting: 0 },
  ]);
});

Deno.test("seriesError: mean and largest absolute gap, and the mean gap relative to the real mean", () => {
  const e = seriesError([10, 20, 30], [12, 20, 25]);
  near(e.maeRequests, 7 / 3, 1e-12);
  assert.deepEqual(e.maxAbsRequests, 5);
  assert.deepEqual(e.realMean, 20);
  near(e.maePctOfMean!, 7 / 3 / 20 * 100, 1e-9);
  assert.deepEqual(seriesError([0, 0], [1, 0]).maePctOfMean, null);
  assert.throws(() => seriesError([1], [1, 2]), {
    name: "RangeError",
    message: /differs in length/,
  });
});
