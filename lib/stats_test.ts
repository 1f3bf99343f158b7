import assert from "node:assert/strict";
import { cv, describe, maxOf, mean, minOf, percentile, std } from "./stats.ts";

Deno.test("percentile interpolates linearly between ranks like numpy", () => {
  const xs = [15, 20, 35, 40, 50];
  // numpy.percentile([15,20,35,40,50], q) for q = 0, 40, 50, 90, 100
  assert.equal(percentile(xs, 0), 15);
  assert.equal(percentile(xs, 40), 29);
  assert.equal(percentile(xs, 50), 35);
  assert.ok(Math.abs(percentile(xs, 90) - 46) < 1e-9);
  assert.equal(percentile(xs, 100), 50);
  assert.equal(percentile([3, 1, 2], 50), 2);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.throws(() => percentile(xs, 101), RangeError);
});

Deno.test("mean, population std and cv", () => {
  const xs = [2, 4, 4, 4, 5, 5, 7, 9];
  assert.equal(mean(xs), 5);
  assert.equal(std(xs), 2);
  assert.equal(cv(xs), 0.4);
  assert.ok(Number.isNaN(cv([0, 0])));
});

Deno.test("describe gives median, extremes and requested percentiles", () => {
  const xs = Array.from({ length: 101 }, (_, i) => 100 - i);
  const d = describe(xs, [50, 99]);
  assert.equal(d.count, 101);
  assert.equal(d.median, 50);
  assert.equal(d.p[99], 99);
  assert.equal(d.min, 0);
  assert.equal(d.max, 100);
});

Deno.test("minOf and maxOf: as Math.min/max of a spread, also past the spread's limit", () => {
  assert.equal(minOf([3, -1, 2]), -1);
  assert.equal(maxOf([3, -1, 2]), 3);
  assert.equal(minOf([]), Infinity);
  assert.equal(maxOf([]), -Infinity);
  assert.ok(Number.isNaN(minOf([1, NaN, 0])) && Number.isNaN(maxOf([NaN, 1])));
  const big = Array.from({ length: 500_000 }, (_, i) => i);
  assert.equal(minOf(big), 0);
  assert.equal(maxOf(big), 499_999);
});
