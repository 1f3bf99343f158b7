import assert from "node:assert/strict";
import { sortsLikeLess, valuesAtRanks } from "./_select_ranks.ts";

let seed = 11;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;

Deno.test("valuesAtRanks: the values a sort holds at the ranks, with duplicates, in any rank order", () => {
  for (const n of [1, 2, 5, 24, 25, 100, 1000, 20_000]) {
    for (const distinct of [1, 3, 50, n]) {
      const xs = Float64Array.from({ length: n }, () => Math.floor(rnd() * distinct) * 1.5 - 7);
      const sorted = xs.slice().sort();
      const ranks = [n - 1, 0, Math.floor(n / 2), Math.floor(n * 0.99), Math.floor(n / 2), 1 % n];
      assert.deepEqual(valuesAtRanks(xs.slice(), n, ranks), ranks.map((r) => sorted[r]), `n ${n}`);
    }
  }
});

Deno.test("valuesAtRanks weighted: each value counts its weight", () => {
  for (const d of [1, 7, 30, 5000]) {
    const values = Float64Array.from({ length: d }, (_, i) => ((i * 7919) % d) / 4 - d / 8);
    const weights = Uint32Array.from({ length: d }, () => 1 + Math.floor(rnd() * 9));
    const all: number[] = [];
    values.forEach((v, i) => all.push(...Array(weights[i]).fill(v)));
    const sorted = Float64Array.from(all).sort();
    const ranks = [0, all.length - 1, Math.floor(all.length / 3), Math.floor(all.length * 0.95)];
    const got = valuesAtRanks(values.slice(), d, ranks, weights.slice());
    assert.deepEqual(got, ranks.map((r) => sorted[r]), `${d} values`);
  }
});

Deno.test("sortsLikeLess: refuses NaN and -0 (where a typed sort orders what < cannot)", () => {
  assert.equal(sortsLikeLess([1, 0, -2]), true);
  assert.equal(sortsLikeLess([1, NaN]), false);
  assert.equal(sortsLikeLess([0, -0]), false);
});
