import assert from "node:assert/strict";
import { Rng } from "../../lib/rng.ts";
import { maxOf, mean, minOf, std as stdev } from "../../lib/stats.ts";
import { distLabel, drawTokens, parseLengthDist, rangeDist } from "./lengths.ts";

const draws = (spec: string, n = 20_000) => {
  const d = parseLengthDist(spec, "--input-dist");
  const rng = new Rng(7);
  return Array.from({ length: n }, () => drawTokens(d, rng));
};

Deno.test("length distributions: each form draws what it says, in whole tokens >= 1", () => {
  assert.deepEqual([...new Set(draws("choices(32,64,128)"))].sort((a, b) => a - b), [32, 64, 128]);
  assert.deepEqual([...new Set(draws("fixed(77)"))], [77]);
  const u = draws("uniform(10,20)");
  assert.equal(minOf(u), 10);
  assert.equal(maxOf(u), 20);
  const n = draws("normal(500,50)");
  assert.ok(Math.abs(mean(n) - 500) < 2 && Math.abs(stdev(n) - 50) < 2, `${mean(n)} ${stdev(n)}`);
  const l = draws("lognormal(300,150)");
  assert.ok(Math.abs(mean(l) - 300) < 6 && Math.abs(stdev(l) - 150) < 8, `${mean(l)} ${stdev(l)}`);
  assert.ok(l.every((x) => Number.isInteger(x) && x >= 1));
  assert.ok(draws("normal(2,50)").every((x) => x >= 1));
  assert.equal(distLabel(rangeDist(100, 0.25)), "uniform(75,125)");
});

Deno.test("length distributions: bad specs name the flag, the value and the forms allowed", () => {
  for (
    const [spec, why] of [
      ["uniform(20,10)", /min is above max/],
      ["choices()", /one or more/],
      ["poisson(3)", /unknown kind poisson/],
      ["fixed(1.5)", /not a whole number/],
      ["512", /not of the form/],
    ] as const
  ) {
    assert.throws(
      () => parseLengthDist(spec, "--input-dist"),
      (e: Error) =>
        e instanceof RangeError && why.test(e.message) && /--input-dist/.test(e.message) &&
        /allowed: fixed\(n\)/.test(e.message),
    );
  }
});
