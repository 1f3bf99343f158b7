import assert from "node:assert/strict";
import {
  cv,
  describe,
  describeChunks,
  maxOf,
  mean,
  minOf,
  percentile,
  percentileSorted,
  std,
} from "./stats.ts";

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

/** `xs` as chunks of `size` (each call yields them afresh). */
function chunksOf(xs: Float64Array, size: number) {
  return function* () {
    for (let i = 0; i < xs.length; i += size) yield xs.subarray(i, i + size);
  };
}

/** A Distribution as text, -0 and NaN told apart from 0 and null. */
const bits = (d: unknown) =>
  JSON.stringify(d, (_k, v) => (typeof v === "number" ? (Object.is(v, -0) ? "-0" : String(v)) : v));

Deno.test("describeChunks: the same bits as describe, whatever the values and the sort limit", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const odd = [-0, 0, NaN, -Infinity, Infinity, -1.5, 2.5, 1e-300, -1e300];
  /** Some NaNs with the sign bit set (as x86 makes them): the typed sort still puts them last. */
  const signedNaNs = (xs: Float64Array) => {
    const u = new Uint32Array(xs.buffer);
    for (let i = 0; i < xs.length; i += 5) [u[2 * i], u[2 * i + 1]] = [1, 0xfff80000];
    return xs;
  };
  const kinds: Record<string, (n: number) => Float64Array> = {
    spread: (n) => Float64Array.from({ length: n }, () => rnd() * 100),
    "few values": (n) => Float64Array.from({ length: n }, () => 7 + Math.floor(rnd() * 3)),
    "one value": (n) => new Float64Array(n).fill(7.25),
    // differ only in the lowest bits: every digit of the key is needed
    "last bits": (n) => Float64Array.from({ length: n }, () => 7 + rnd() * 1e-12),
    "odd values": (n) =>
      signedNaNs(Float64Array.from({ length: n }, () => odd[Math.floor(rnd() * odd.length)])),
    negative: (n) => Float64Array.from({ length: n }, () => -rnd() * 1e6),
  };
  const ps = [0, 25, 50, 90, 95, 99, 99.9, 100];
  for (const [kind, make] of Object.entries(kinds)) {
    for (const n of [0, 1, 2, 3, 2000]) {
      const xs = make(n);
      for (const limit of [1, 7, 1 << 16]) {
        assert.equal(
          bits(describeChunks(chunksOf(xs, 333), ps, limit)),
          bits(describe(xs, ps)),
          `${kind}, ${n} values, sort limit ${limit}`,
        );
      }
    }
  }
  assert.throws(() => describeChunks(chunksOf(new Float64Array(3), 2), [101]), RangeError);
});

Deno.test("describe: the same bits as a sort gives, selected past 64 values, sorted with NaN or -0", () => {
  const sortedDescribe = (xs: number[], ps: number[]) => {
    const s = Float64Array.from(xs).sort();
    const p: Record<number, number> = {};
    for (const q of ps) p[q] = percentileSorted(s, q);
    return {
      count: s.length,
      mean: mean(xs),
      median: percentileSorted(s, 50),
      std: std(xs),
      min: s.length ? s[0] : NaN,
      max: s.length ? s[s.length - 1] : NaN,
      p,
    };
  };
  let seed = 5;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const n of [0, 1, 64, 65, 1000, 16_638]) {
    const xs = Array.from({ length: n }, () => Math.round(rnd() * 500) / 7);
    for (const ps of [[50, 90, 95, 99], [50, 99], [0, 100, 12.5]]) {
      assert.deepEqual(describe(xs, ps), sortedDescribe(xs, ps), `n ${n}`);
    }
    if (n > 64) {
      const odd = [...xs, NaN, -0, 0];
      assert.deepEqual(describe(odd), sortedDescribe(odd, [50, 90, 95, 99]));
    }
  }
});
